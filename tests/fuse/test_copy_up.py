"""Copy-up: what reaches the upper layer, sparse and big files, atomicity under SIGKILL,
and copy-up on behalf of non-root users."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
from ovlfuse_testlib import (
    build,
    make_layers,
    mounted,
    ovlfuse,
    run_as,
    scratch,
    start_ovlfuse,
    umount,
)

pytestmark = pytest.mark.privileged

ORIGIN = "trusted.overlay.origin"
IMPURE = "trusted.overlay.impure"
GiB = 1 << 30


def xattr(path: Path, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as e:
        assert e.errno == errno.ENODATA
        return None


def test_copy_up_keeps_mode_owner_times_xattrs_and_symlink_targets(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"a": {"b": {"f": "data", "lnk": ("symlink", "f")}}})
    low = layers.lowers[0]
    os.chmod(low / "a" / "b" / "f", 0o6751)
    os.chown(low / "a" / "b" / "f", 1000, 1000)
    os.chown(low / "a", 1000, 100)
    os.chmod(low / "a", 0o750)
    os.utime(low / "a" / "b" / "f", ns=(1_111_111_111_000_000_001, 1_222_222_222_000_000_002))
    os.utime(low / "a", ns=(1_000_000_000_000_000_000, 1_000_000_001_000_000_000))
    os.setxattr(low / "a" / "b" / "f", "user.colour", b"blue")
    os.setxattr(low / "a" / "b" / "f", "trusted.keep", b"t")
    before = {p: os.lstat(low / p) for p in ("a", "a/b", "a/b/f", "a/b/lnk")}
    with ovlfuse(layers) as m:
        os.close(os.open(m / "a" / "b" / "f", os.O_WRONLY))
        os.chown(m / "a" / "b" / "lnk", 0, 0, follow_symlinks=False)
        assert os.stat(m / "a").st_mtime_ns == before["a"].st_mtime_ns
    up = layers.upper
    for rel in ("a", "a/b", "a/b/f"):
        old, new = before[rel], os.lstat(up / rel)
        assert (new.st_mode, new.st_uid, new.st_gid, new.st_mtime_ns) == \
            (old.st_mode, old.st_uid, old.st_gid, old.st_mtime_ns), rel
        assert xattr(up / rel, ORIGIN) is not None, rel
    assert os.lstat(up / "a/b/f").st_atime_ns == before["a/b/f"].st_atime_ns
    assert os.getxattr(up / "a/b/f", "user.colour") == b"blue"
    assert os.getxattr(up / "a/b/f", "trusted.keep") == b"t"
    assert os.readlink(up / "a/b/lnk") == "f"
    for parent in (up, up / "a", up / "a" / "b"):  # parents of objects with origin
        assert xattr(parent, IMPURE) == b"y"
    assert list((layers.work / "work").iterdir()) == []


def test_copy_up_of_special_files_keeps_their_type(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"fifo": ("fifo",)})
    os.mknod(layers.lowers[0] / "null", stat.S_IFCHR | 0o620, os.makedev(1, 3))
    os.chmod(layers.lowers[0] / "null", 0o620)
    with ovlfuse(layers) as m:
        os.chown(m / "fifo", 7, 7)
        os.chown(m / "null", 8, 8)
    assert stat.S_ISFIFO(os.lstat(layers.upper / "fifo").st_mode)
    st = os.lstat(layers.upper / "null")
    assert (stat.S_ISCHR(st.st_mode), st.st_rdev, stat.S_IMODE(st.st_mode), st.st_uid) == \
        (True, os.makedev(1, 3), 0o620, 8)


def test_copy_up_of_a_hardlinked_lower_file_writes_no_origin(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"h1": "shared"})
    os.link(layers.lowers[0] / "h1", layers.lowers[0] / "h2")
    with ovlfuse(layers) as m:
        with open(m / "h1", "a") as f:
            f.write("+")
        assert (m / "h2").read_text() == "shared"  # the link is broken, as with index=off
        assert os.stat(m / "h2").st_nlink == 2  # stale lower nlink
    assert xattr(layers.upper / "h1", ORIGIN) is None
    assert xattr(layers.upper, IMPURE) == b"y"  # the parent is marked all the same


def test_truncate_copies_only_the_data_that_survives(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "0123456789", "z": "abcdef" * 1000})
    daemon = start_ovlfuse(layers.mnt, layers.options("exact"), "-d")
    try:
        os.truncate(layers.mnt / "f", 3)
        os.close(os.open(layers.mnt / "z", os.O_WRONLY | os.O_TRUNC))
        assert (layers.mnt / "f").read_bytes() == b"012"
        assert (layers.mnt / "z").read_bytes() == b""
    finally:
        assert daemon.stop() == 0
    log = daemon.stderr()
    assert "copy_up(b'f', origin=True, limit=3)" in log
    assert "copy_up(b'z', origin=True, limit=0)" in log


def test_copy_up_of_a_sparse_5gib_file_stays_sparse(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {})
    size = 5 * GiB + 12345
    marks = {0: b"head", 4 * GiB + 7: b"past 4 GiB", size - 4: b"tail"}
    with open(layers.lowers[0] / "sparse", "wb") as f:
        f.truncate(size)
        for offset, data in marks.items():
            f.seek(offset)
            f.write(data)
    with ovlfuse(layers) as m:
        start = time.monotonic()
        fd = os.open(m / "sparse", os.O_RDWR)  # copy-up at open
        elapsed = time.monotonic() - start
        try:
            for offset, data in marks.items():
                assert os.pread(fd, len(data), offset) == data
        finally:
            os.close(fd)
        assert os.stat(m / "sparse").st_size == size
    upper = layers.upper / "sparse"
    st = os.stat(upper)
    used = st.st_blocks * 512
    print(f"\nsparse 5 GiB copy-up: {elapsed * 1000:.1f} ms, upper size {st.st_size} bytes, "
          f"disk use {used} bytes ({used // 1024} KiB)")
    assert st.st_size == size
    assert used < 16 << 20, "holes were filled"  # the kernel uses ~2 MiB here
    with open(upper, "rb") as f:
        hole = os.lseek(f.fileno(), 0, os.SEEK_HOLE)
        assert hole < size
        assert os.lseek(f.fileno(), hole, os.SEEK_DATA) > hole


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            h.update(chunk)
    return h.hexdigest()


def _wait_for_partial_copy(work: Path, timeout: float = 30) -> bool:
    """Wait until a temporary copy in work/ holds some but not all data."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in os.scandir(work):
            with contextlib.suppress(OSError):
                if entry.name.startswith("#") and entry.stat().st_blocks > 0:
                    return True
        time.sleep(0.0005)
    return False


@pytest.mark.slow
def test_daemon_killed_during_copy_up_leaves_nothing_partial() -> None:
    with scratch(size="3g") as base:
        layers = make_layers(base, {})
        big = layers.lowers[0] / "big"
        with open(big, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(1024):
                f.write(block)
        original = _sha(big)
        daemon = start_ovlfuse(layers.mnt, layers.options("exact"))
        opener = "import os,sys; os.open(sys.argv[1], os.O_WRONLY)"
        writer = subprocess.Popen(["python3", "-c", opener, str(layers.mnt / "big")],
                                  stderr=subprocess.DEVNULL)
        try:
            saw_partial = _wait_for_partial_copy(layers.work / "work")
            daemon.proc.send_signal(signal.SIGKILL)
            daemon.proc.wait(30)
        finally:
            writer.kill()
            writer.wait()
            umount(layers.mnt, lazy=True)
        assert saw_partial, "copy-up finished before it could be interrupted"
        assert not mounted(layers.mnt)
        assert not (layers.upper / "big").exists()
        with ovlfuse(layers) as m:
            assert _sha(m / "big") == original
            assert os.stat(m / "big").st_size == GiB
        assert list((layers.work / "work").iterdir()) == []


def test_non_root_users_write_files_they_may_write_and_own_what_they_create(
        public_tmpfs: Path) -> None:
    layers = make_layers(public_tmpfs, {"home": {"mine": "x", "shared": "s", "theirs": "t"}})
    low = layers.lowers[0] / "home"
    os.chown(low, 1000, 1000)
    os.chown(low / "mine", 1000, 1000)
    os.chmod(low / "shared", 0o666)
    os.chmod(low / "theirs", 0o644)
    with ovlfuse(layers) as m:
        code = (
            "import os,sys,errno\n"
            "d=sys.argv[1]\n"
            "open(d+'/mine','a').write('1')\n"
            "open(d+'/shared','a').write('2')\n"
            "open(d+'/new','w').write('3')\n"
            "os.mkdir(d+'/sub')\n"
            "try: open(d+'/theirs','a')\n"
            "except OSError as e: print(errno.errorcode[e.errno])\n"
        )
        res = run_as(1000, 1000, code, str(m / "home"))
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == "EACCES"
        st_new = os.stat(m / "home" / "new")
        assert (st_new.st_uid, st_new.st_gid) == (1000, 1000)
        assert os.stat(m / "home" / "sub").st_uid == 1000
        assert os.stat(m / "home" / "shared").st_uid == 0
    up = layers.upper / "home"
    assert (up / "mine").read_text() == "x1" and os.stat(up / "mine").st_uid == 1000
    assert (up / "shared").read_text() == "s2"
    assert not (up / "theirs").exists()  # denied: no copy-up
    assert os.stat(up).st_uid == 1000


def test_new_entries_in_a_setgid_directory_take_its_group(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"sg": {}})
    os.chown(layers.lowers[0] / "sg", 0, 1234)
    os.chmod(layers.lowers[0] / "sg", 0o2777)
    with ovlfuse(layers) as m:
        (m / "sg" / "f").write_text("x")
        os.mkdir(m / "sg" / "d")
        assert os.stat(m / "sg" / "f").st_gid == 1234
        st = os.stat(m / "sg" / "d")
        assert st.st_gid == 1234 and st.st_mode & stat.S_ISGID


def test_copy_up_into_an_upper_built_offline(tmpfs: Path) -> None:
    """An upper dir made offline (no origin) gets origin at lookup, and its parent impure."""
    layers = make_layers(tmpfs, {"d": {"x": "1"}})
    build(layers.upper, {"d": {"y": "2"}})
    with ovlfuse(layers) as m:
        assert sorted(os.listdir(m / "d")) == ["x", "y"]
        assert os.stat(m / "d").st_ino == os.stat(layers.lowers[0] / "d").st_ino
    assert xattr(layers.upper / "d", ORIGIN) is not None
    assert xattr(layers.upper, IMPURE) == b"y"


def test_truncating_copy_up_changes_times_like_copy_then_truncate(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"t": "hello\n", "o": "hello\n", "same": "abc", "e": ""})
    for name in ("t", "o", "same", "e"):
        os.utime(layers.lowers[0] / name, (1000, 1000))
    with ovlfuse(layers) as m:
        os.truncate(m / "t", 0)
        os.close(os.open(m / "o", os.O_WRONLY | os.O_TRUNC))
        os.truncate(m / "same", 3)
        os.truncate(m / "e", 0)
        for name in ("t", "o", "same"):  # as the upper fs does for a real truncation
            assert os.stat(m / name).st_mtime > 1000, name
        assert os.stat(m / "e").st_mtime == 1000  # tmpfs: truncate(0 -> 0) keeps times
        assert os.stat(m / "t").st_size == 0 and (m / "same").read_text() == "abc"
