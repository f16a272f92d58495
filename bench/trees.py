"""Deterministic lower layers and the untar workload's tarball.

Every builder writes the same tree for the same sizes (names, sizes, contents, modes), so
each measurement starts from a freshly built, identical lower layer.
"""

from __future__ import annotations

import io
import os
import sysconfig
import tarfile
from dataclasses import dataclass

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


@dataclass(frozen=True)
class Sizes:
    """Workload sizes; :meth:`quick` gives the smoke test's tiny ones."""

    tree_files: int = 20_000  # W1, W2
    tree_dirs: int = 1_000
    tree_file_size: int = 100
    big: int = 1 << 30  # W3, W4 copy-up of one file
    small_files: int = 2_000  # W4 appends
    small_size: int = 4096
    create_files: int = 5_000  # W5 create
    create_size: int = 4096
    rm_files: int = 5_000  # W5 rm -rf
    rm_size: int = 4096
    tar_max_bytes: int = 48 << 20  # W6 (uncompressed content of the tarball)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(tree_files=300, tree_dirs=15, big=8 << 20, small_files=40, create_files=60,
                   rm_files=60, tar_max_bytes=1 << 20)


def _write(path: str, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, _FLAGS, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _filler(size: int, seed: int) -> bytes:
    line = b"%08d abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\n" % seed
    return (line * (size // len(line) + 1))[:size]


def tree_paths(sizes: Sizes) -> list[str]:
    """Relative paths of the W1/W2 tree's files, in build order."""
    per_dir = sizes.tree_files // sizes.tree_dirs
    return [f"d{d:04d}/f{f:03d}" for d in range(sizes.tree_dirs) for f in range(per_dir)]


def build_tree(root: str, sizes: Sizes) -> None:
    """``tree_files`` files of ``tree_file_size`` bytes in ``tree_dirs`` directories."""
    data = _filler(sizes.tree_file_size, 1)
    for d in range(sizes.tree_dirs):
        os.mkdir(os.path.join(root, f"d{d:04d}"), 0o755)
    for rel in tree_paths(sizes):
        _write(os.path.join(root, rel), data)


def build_big(root: str, sizes: Sizes) -> None:
    """One file ``big`` of ``sizes.big`` bytes, every page written (no holes)."""
    block = os.urandom(1 << 20)
    fd = os.open(os.path.join(root, "big"), _FLAGS, 0o644)
    try:
        left = sizes.big
        while left > 0:
            left -= os.write(fd, block[: min(left, len(block))])
    finally:
        os.close(fd)


def build_small(root: str, sizes: Sizes) -> None:
    """``small/`` holding ``small_files`` files of ``small_size`` bytes."""
    os.mkdir(os.path.join(root, "small"), 0o755)
    data = _filler(sizes.small_size, 2)
    for i in range(sizes.small_files):
        _write(os.path.join(root, "small", f"s{i:05d}"), data)


def build_del(root: str, sizes: Sizes) -> None:
    """``del/`` holding ``rm_files`` files of ``rm_size`` bytes (W5: created next to it,
    removed with rm -rf)."""
    os.mkdir(os.path.join(root, "del"), 0o755)
    data = _filler(sizes.rm_size, 3)
    for i in range(sizes.rm_files):
        _write(os.path.join(root, "del", f"r{i:05d}"), data)


def build_base(root: str, sizes: Sizes) -> None:
    """A small lower for the untar workload: ``base/`` with 100 files."""
    os.mkdir(os.path.join(root, "base"), 0o755)
    data = _filler(1000, 4)
    for i in range(100):
        _write(os.path.join(root, "base", f"b{i:03d}"), data)


def tarball_sources() -> list[str]:
    """Source directories for the tarball: this Python's standard library, then this project."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [sysconfig.get_paths()["stdlib"], here]


_SKIP_DIRS = {"__pycache__", "site-packages", "dist-packages", "lib-dynload", ".git", ".venv",
              ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache", "node_modules"}


@dataclass(frozen=True)
class Tarball:
    path: str
    files: int
    dirs: int
    content_bytes: int
    tar_bytes: int
    sources: tuple[str, ...]


def build_tarball(path: str, max_bytes: int) -> Tarball:
    """An uncompressed tarball of source files (the stdlib, then this project, repeated if
    needed) up to ``max_bytes`` of content; returns what it holds."""
    files = total = 0
    seen_dirs: set[str] = set()
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        copy = 0
        while total < max_bytes and copy < 20:
            added = 0
            for src in tarball_sources():
                prefix = f"src{copy}/{os.path.basename(src.rstrip('/'))}"
                for dirpath, dirnames, filenames in os.walk(src):
                    dirnames[:] = sorted(d for d in dirnames
                                         if d not in _SKIP_DIRS and not d.startswith("config-"))
                    rel = os.path.relpath(dirpath, src)
                    arcdir = prefix if rel == "." else f"{prefix}/{rel}"
                    for name in sorted(filenames):
                        full = os.path.join(dirpath, name)
                        if not os.path.isfile(full) or os.path.islink(full):
                            continue
                        size = os.path.getsize(full)
                        if total + size > max_bytes:
                            continue
                        if arcdir not in seen_dirs:
                            _add_dirs(tar, arcdir, seen_dirs)
                        info = tarfile.TarInfo(f"{arcdir}/{name}")
                        info.size = size
                        info.mode = 0o644
                        info.mtime = int(os.path.getmtime(full))
                        with open(full, "rb") as f:
                            tar.addfile(info, io.BytesIO(f.read()))
                        files += 1
                        total += size
                        added += 1
            copy += 1
            if not added:
                break
    return Tarball(path, files, len(seen_dirs), total, os.path.getsize(path),
                   tuple(tarball_sources()))


def _add_dirs(tar: tarfile.TarFile, arcdir: str, seen: set[str]) -> None:
    parts = arcdir.split("/")
    for i in range(1, len(parts) + 1):
        d = "/".join(parts[:i])
        if d in seen:
            continue
        seen.add(d)
        info = tarfile.TarInfo(d)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        info.mtime = 1_700_000_000
        tar.addfile(info)
