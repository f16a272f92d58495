"""Paths of any length the kernel allows work through ovlfuse as on the kernel overlay.

A path handed to a syscall may be up to PATH_MAX - 1 = 4095 bytes long, relative to a
directory descriptor (pjdfstest's long-path tests use the current directory).  ovlfuse reaches
a layer's object as ``/proc/self/fd/N/<path in the layer>``, which for such a path is longer
than the limit: each call below gave ENAMETOOLONG before it walked by directory descriptors.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from ovlfuse_testlib import kernel_overlay, make_layers, ovlfuse

pytestmark = pytest.mark.privileged

PATH_MAX = 4096
MODES = {"exact": "exact", "cached": "timeout=60"}
DIR = b"d" * 250  # 16 of these and their slashes: 4016 bytes


def chain(depth: int) -> list[bytes]:
    return [DIR[:-2] + b"%02d" % i for i in range(depth)]


def make_chain(root_fd: int, parts: list[bytes]) -> None:
    """mkdir each part below the previous one, by descriptor (no long string needed)."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            os.mkdir(part, 0o755, dir_fd=fd)
            new = os.open(part, os.O_PATH | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = new
    finally:
        os.close(fd)


def padded(parts: list[bytes], length: int = PATH_MAX - 1) -> bytes:
    """The path below *parts* of exactly *length* bytes."""
    head = b"/".join(parts) + b"/"
    name = b"f" * (length - len(head))
    assert 0 < len(name) <= 255
    return head + name


@contextmanager
def mount(kind: str, tmpfs: Path, in_lower: bool) -> Iterator[int]:
    layers = make_layers(tmpfs, {}, name=kind)
    if in_lower:
        fd = os.open(layers.lowers[0], os.O_PATH | os.O_DIRECTORY)
        make_chain(fd, chain(16))
        os.close(fd)
    ctx = kernel_overlay(layers) if kind == "kernel" else ovlfuse(layers, MODES[kind])
    with ctx as m:
        fd = os.open(m, os.O_PATH | os.O_DIRECTORY)
        try:
            yield fd
        finally:
            os.close(fd)


@pytest.mark.parametrize("kind", ["kernel", "exact", "cached"])
@pytest.mark.parametrize("in_lower", [False, True], ids=["upper-chain", "lower-chain"])
def test_a_4095_byte_path_can_be_created_opened_renamed_linked_chmodded_and_removed(
    tmpfs: Path, kind: str, in_lower: bool
) -> None:
    with mount(kind, tmpfs, in_lower) as root:
        parts = chain(16)
        if not in_lower:
            make_chain(root, parts)
        path = padded(parts)
        assert len(path) == PATH_MAX - 1
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644, dir_fd=root)
        assert os.write(fd, b"long") == 4
        os.close(fd)
        os.chmod(path, 0o600, dir_fd=root)
        st = os.stat(path, dir_fd=root, follow_symlinks=False)
        assert (stat.S_IMODE(st.st_mode), st.st_size) == (0o600, 4)
        sibling = [*parts[:-1], b"e" * 250]
        os.mkdir(b"/".join(sibling), 0o755, dir_fd=root)
        other = padded(sibling)  # the same length in a sibling directory
        os.rename(path, other, src_dir_fd=root, dst_dir_fd=root)
        os.link(other, path, src_dir_fd=root, dst_dir_fd=root, follow_symlinks=False)
        assert os.stat(path, dir_fd=root).st_nlink == 2
        fd = os.open(path, os.O_RDONLY, dir_fd=root)
        assert os.read(fd, 10) == b"long"
        os.close(fd)
        os.unlink(other, dir_fd=root)
        os.unlink(path, dir_fd=root)
        os.symlink(b"target", path, dir_fd=root)
        assert os.readlink(path, dir_fd=root) == b"target"
        os.unlink(path, dir_fd=root)
        fd = os.open(b"/".join(parts), os.O_RDONLY | os.O_DIRECTORY, dir_fd=root)
        try:
            assert os.listdir(fd) == []
        finally:
            os.close(fd)
