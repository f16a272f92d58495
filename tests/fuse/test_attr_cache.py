"""ovlfuse's caching mode (entry and attribute timeouts): what the kernel caches never
outlives a change.  Each name of a hard-linked file is a FUSE inode of its own, so a change
through one name must reach the cached attributes of every other name of the same real
object, as the kernel overlay (one overlay inode per upper inode) shows at once."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from ovlfuse_testlib import make_layers, ovlfuse, run_as

pytestmark = pytest.mark.privileged

CACHED = "timeout=60"
USER = 1000


def _attrs(st: os.stat_result) -> tuple[int, int, int, int, int, int]:
    return (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size, st.st_nlink,
            st.st_mtime_ns)


def _write_through_a_handle(m: Path) -> Callable[[], None]:
    fd = os.open(m / "a", os.O_WRONLY)
    os.write(fd, b"longer than before")
    return lambda: os.close(fd)


def _ftruncate_through_a_handle(m: Path) -> Callable[[], None]:
    fd = os.open(m / "a", os.O_WRONLY)
    os.ftruncate(fd, 2)
    return lambda: os.close(fd)


def _open_with_o_trunc(m: Path) -> Callable[[], None]:
    fd = os.open(m / "a", os.O_WRONLY | os.O_TRUNC)
    return lambda: os.close(fd)


def _done(fn: Callable[[Path], object]) -> Callable[[Path], Callable[[], None]]:
    def run(m: Path) -> Callable[[], None]:
        fn(m)
        return lambda: None
    return run


# Each change goes through the name "a"; it returns what to do once the others are checked.
CHANGES: dict[str, Callable[[Path], Callable[[], None]]] = {
    "chmod": _done(lambda m: os.chmod(m / "a", 0o600)),
    "chown": _done(lambda m: os.chown(m / "a", USER, USER)),
    "truncate": _done(lambda m: os.truncate(m / "a", 3)),
    "utimens": _done(lambda m: os.utime(m / "a", ns=(10**9, 10**9))),
    "write through a handle": _write_through_a_handle,
    "ftruncate through a handle": _ftruncate_through_a_handle,
    "open with O_TRUNC": _open_with_o_trunc,
    "link": _done(lambda m: os.link(m / "a", m / "d" / "new")),
    "unlink": _done(lambda m: os.unlink(m / "a")),
    "rename over it": _done(lambda m: os.rename(m / "other", m / "a")),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_through_one_hard_link_shows_under_every_other_name_at_once(
        tmpfs: Path, change: str) -> None:
    layers = make_layers(tmpfs, {}, upper={"a": "hello", "d": {}, "other": "x"})
    assert layers.upper is not None
    os.link(layers.upper / "a", layers.upper / "b")
    os.link(layers.upper / "a", layers.upper / "d" / "c")
    real = layers.upper / "b"
    with ovlfuse(layers, CACHED) as m:
        others = [m / "b", m / "d" / "c"]
        for path in [m / "a", *others]:
            os.stat(path)  # now in the kernel's attribute cache
        finish = CHANGES[change](m)
        try:
            for path in others:
                assert _attrs(os.stat(path)) == _attrs(os.lstat(real)), path
        finally:
            finish()


def test_copy_up_breaks_a_lower_hard_link_and_links_made_afterwards_share_changes(
        tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"h1": "data"})
    lower = layers.lowers[0]
    os.link(lower / "h1", lower / "h2")
    with ovlfuse(layers, CACHED) as m:
        os.stat(m / "h2")
        os.chmod(m / "h1", 0o600)  # copy-up of one name: the other keeps the lower file
        assert _attrs(os.stat(m / "h2")) == _attrs(os.lstat(lower / "h2"))
        os.link(m / "h1", m / "h1b")
        os.stat(m / "h1")
        os.chmod(m / "h1b", 0o640)
        st = os.stat(m / "h1")
        assert (stat.S_IMODE(st.st_mode), st.st_nlink) == (0o640, 2)
        assert stat.S_IMODE(os.stat(m / "h2").st_mode) == 0o644


READ = r'''
import errno, sys
try:
    open(sys.argv[1], "rb").read()
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
'''


def test_chmod_through_one_name_revokes_access_through_the_others_at_once(
        public_tmpfs: Path) -> None:
    layers = make_layers(public_tmpfs, {}, upper={"a": "secret"})
    assert layers.upper is not None
    os.chmod(layers.upper / "a", 0o644)
    os.link(layers.upper / "a", layers.upper / "b")
    with ovlfuse(layers, CACHED) as m:
        assert run_as(USER, USER, READ, str(m / "b")).stdout.strip() == "ok"
        os.chmod(m / "a", 0o600)
        assert run_as(USER, USER, READ, str(m / "b")).stdout.strip() == "EACCES"


def test_data_written_through_one_name_is_read_through_an_open_handle_on_another(
        tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {}, upper={"a": "hello world"})
    assert layers.upper is not None
    os.link(layers.upper / "a", layers.upper / "b")
    with ovlfuse(layers, CACHED) as m:
        fb = os.open(m / "b", os.O_RDONLY)
        try:
            assert os.pread(fb, 100, 0) == b"hello world"  # now in b's page cache
            fa = os.open(m / "a", os.O_WRONLY)
            os.pwrite(fa, b"HELLO", 0)
            os.close(fa)
            assert os.pread(fb, 100, 0) == b"HELLO world"  # b's new mtime drops its pages
        finally:
            os.close(fb)
