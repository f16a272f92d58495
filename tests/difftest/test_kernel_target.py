"""The kernel target: layers built on disk, syscalls through a real overlay mount, the upper
dump, credentials, remount, teardown and cleanup on signals."""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from difftest import realfs
from difftest.layers import LayerDirs
from difftest.runconfig import PRESETS
from difftest.scratch import Scratch
from difftest.targets.kernel import (
    KernelOverlay,
    MountError,
    escape_layer_path,
    kernel_overlay_problem,
    mount_data,
)
from model.config import Config
from model.content import content_digest
from model.spec import Entry, LayersSpec
from model.types import OVERLAYFS_SUPER_MAGIC, ROOT, Cred, DirEntry

ROOT_DIR = Path(__file__).resolve().parents[2]
USER = Cred(1000, 1000)
GiB = 1 << 30
Make = Callable[..., KernelOverlay]


def _errno(fn: Callable[..., object], *args: object, **kw: object) -> int:
    try:
        fn(*args, **kw)
    except OSError as e:
        assert e.errno is not None
        return e.errno
    raise AssertionError(f"{fn} did not fail")


def _names(entries: list[DirEntry]) -> set[bytes]:
    return {e.name for e in entries} - {b".", b".."}


def _mine_mounted(path: str | bytes) -> list[tuple[str, str]]:
    return realfs.mounts_under(os.fsdecode(path))


@pytest.fixture
def scratch() -> Iterator[Scratch]:
    with Scratch() as s:
        yield s
    assert not _mine_mounted(s.path)
    assert not os.path.exists(s.path)


@pytest.fixture
def make(scratch: Scratch) -> Iterator[Make]:
    made: list[KernelOverlay] = []

    def _make(spec: LayersSpec, config: Config | None = None) -> KernelOverlay:
        t = KernelOverlay(scratch.new_dir(), spec, config, helpers=scratch.helpers)
        made.append(t)
        return t

    yield _make
    for t in made:
        t.teardown()


EVERY_KIND = LayersSpec(
    lowers=(
        (
            Entry(b"d", "dir", 0o2775, uid=1000, gid=50, xattrs=((b"user.dir", b"yes"),)),
            Entry(b"d/f", "reg", 0o4755, uid=1000, gid=100, data=b"hello"),
            Entry(b"d/sparse", "reg", 0o644, data=b"head", size=5 * GiB),
            Entry(b"d/hole", "reg", 0o600, size=4096),
            Entry(b"d/h", "hardlink", target=b"d/f"),
            Entry(b"lnk", "lnk", uid=7, gid=8, target=b"d/f"),
            Entry(b"chr", "chr", 0o620, rdev=os.makedev(1, 3)),
            Entry(b"blk", "blk", 0o660, rdev=os.makedev(7, 0)),
            Entry(b"fifo", "fifo", 0o640),
            Entry(b"sock", "sock", 0o755),
            Entry(b"sticky", "dir", 0o1777),
            Entry(b"gone", "whiteout"),
            Entry(b"x", "reg", data=b"x", xattrs=((b"user.a", b"1"), (b"trusted.t", b"2"))),
        ),
        (
            Entry(b"gone", "reg", data=b"hidden by the whiteout above"),
            Entry(b"d", "dir", 0o755),
            Entry(b"d/low", "reg", data=b"from lower1"),
        ),
    ),
    upper=(
        Entry(b"u", "dir", 0o3750, uid=1000, gid=1000),
        Entry(b"u/data", "reg", 0o6711, uid=1000, gid=1000, data=b"\0\0abc\0def", size=20),
        Entry(b"u/wh", "whiteout"),
        Entry(b"u/l", "lnk", target=b"/abs/target"),
        Entry(b"u/x", "reg", xattrs=((b"trusted.overlay.overlay.esc", b"e"),)),
    ),
)


@pytest.mark.privileged
def test_every_entry_kind_reads_back(make: Make) -> None:
    t = make(EVERY_KIND)
    assert _names(t.readdir(b"/")) == {
        b"d", b"lnk", b"chr", b"blk", b"fifo", b"sock", b"sticky", b"x", b"u",
    }  # fmt: skip
    assert _errno(t.lstat, b"/gone") == errno.ENOENT

    st = t.lstat(b"/d")
    assert (stat.S_IFMT(st.mode), stat.S_IMODE(st.mode), st.uid, st.gid) == (
        stat.S_IFDIR, 0o2775, 1000, 50,
    )  # fmt: skip
    assert st.nlink == 1  # merged dir (lower0 + lower1)
    assert _names(t.readdir(b"/d")) == {b"f", b"sparse", b"hole", b"h", b"low"}
    assert t.getxattr(b"/d", b"user.dir") == b"yes"

    f = t.lstat(b"/d/f")
    assert (stat.S_IMODE(f.mode), f.uid, f.gid, f.size, f.nlink) == (0o4755, 1000, 100, 5, 2)
    assert t.lstat(b"/d/h").ino == f.ino
    assert t.content_digest(b"/d/f") == content_digest(5, [(0, b"hello")])

    sp = t.lstat(b"/d/sparse")
    assert sp.size == 5 * GiB
    start = time.perf_counter()
    assert t.content_digest(b"/d/sparse") == content_digest(5 * GiB, [(0, b"head")])
    assert time.perf_counter() - start < 0.5
    assert t.content_digest(b"/d/hole") == content_digest(4096, [])

    lnk = t.lstat(b"/lnk")
    assert stat.S_ISLNK(lnk.mode) and (lnk.uid, lnk.gid) == (7, 8)
    assert t.readlink(b"/lnk") == b"d/f"
    assert t.stat(b"/lnk").ino == f.ino  # stat follows

    for path, fmt, perm, rdev in (
        (b"/chr", stat.S_IFCHR, 0o620, os.makedev(1, 3)),
        (b"/blk", stat.S_IFBLK, 0o660, os.makedev(7, 0)),
        (b"/fifo", stat.S_IFIFO, 0o640, 0),
        (b"/sock", stat.S_IFSOCK, 0o755, 0),
        (b"/sticky", stat.S_IFDIR, 0o1777, 0),
    ):
        s = t.lstat(path)
        assert (stat.S_IFMT(s.mode), stat.S_IMODE(s.mode), s.rdev) == (fmt, perm, rdev), path

    assert sorted(t.listxattr(b"/x")) == [b"trusted.t", b"user.a"]
    assert t.getxattr(b"/x", b"trusted.t") == b"2"

    u = t.lstat(b"/u/data")
    assert (stat.S_IMODE(u.mode), u.uid, u.size) == (0o6711, 1000, 20)
    assert stat.S_IMODE(t.lstat(b"/u").mode) == 0o3750
    assert t.content_digest(b"/u/data") == content_digest(20, [(0, b"\0\0abc\0def")])
    # /u is pure upper, so it is read straight from the real dir: a whiteout the layer
    # builder put there is listed, although lstat says ENOENT (§2.2 "non-merged dirs").
    assert _names(t.readdir(b"/u")) == {b"data", b"l", b"x", b"wh"}
    assert _errno(t.lstat, b"/u/wh") == errno.ENOENT
    # The escaped xattr shows through the overlay under its unescaped name.
    assert t.getxattr(b"/u/x", b"trusted.overlay.esc") == b"e"

    fs = t.statfs(b"/")
    assert (fs.f_type, fs.namelen, fs.readonly) == (OVERLAYFS_SUPER_MAGIC, 255, False)


@pytest.mark.privileged
def test_upper_dump_of_a_fresh_mount_is_the_spec(make: Make) -> None:
    t = make(EVERY_KIND)
    dump = t.upper_dump()
    assert set(dump) == {b"/", b"/u", b"/u/data", b"/u/wh", b"/u/l", b"/u/x"}
    root = dump[b"/"]
    assert root.kind == "dir" and root.size == 0 and root.xattrs == ()  # uuid is not shown
    d = dump[b"/u/data"]
    assert (d.kind, d.mode, d.uid, d.gid, d.size) == ("reg", 0o6711, 1000, 1000, 20)
    assert d.digest == content_digest(20, [(0, b"\0\0abc\0def")])
    wh = dump[b"/u/wh"]
    assert (wh.kind, wh.mode) == ("whiteout", 0)
    assert dump[b"/u/l"].kind == "lnk" and dump[b"/u/l"].digest == b"/abs/target".hex()
    assert dump[b"/u/x"].xattrs == ((b"trusted.overlay.overlay.esc", b"e"),)
    assert dump[b"/u"].mode == 0o3750 and not dump[b"/u"].origin


@pytest.mark.privileged
def test_renameat2_flags(make: Make) -> None:
    spec = LayersSpec(
        lowers=((Entry(b"a", "reg", data=b"A"), Entry(b"b", "reg", data=b"B")),),
        upper=(Entry(b"c", "reg", data=b"C"),),
    )
    t = make(spec)
    t.rename(b"/a", b"/c", realfs.RENAME_EXCHANGE)
    assert t.content_digest(b"/a") == content_digest(1, [(0, b"C")])
    assert t.content_digest(b"/c") == content_digest(1, [(0, b"A")])
    assert _errno(t.rename, b"/a", b"/b", realfs.RENAME_NOREPLACE) == errno.EEXIST
    t.rename(b"/a", b"/new", realfs.RENAME_NOREPLACE)
    assert _errno(t.lstat, b"/a") == errno.ENOENT
    assert _errno(t.rename, b"/b", b"/w", realfs.RENAME_WHITEOUT) == errno.EINVAL
    assert _errno(t.rename, b"/nope", b"/b", realfs.RENAME_EXCHANGE) == errno.ENOENT
    t.rename(b"/b", b"/b2")  # plain rename (flags 0)
    dump = t.upper_dump()
    assert dump[b"/b"].kind == "whiteout"  # the lower name is whited out
    assert dump[b"/b2"].kind == "reg"


@pytest.mark.privileged
def test_getdents_keeps_the_per_fd_cache_until_lseek_0(make: Make) -> None:
    spec = LayersSpec(
        lowers=(
            (Entry(b"d", "dir", 0o755), Entry(b"d/a", "reg")),
            (Entry(b"d", "dir", 0o755), Entry(b"d/b", "reg")),
        ),
        upper=(),
    )
    t = make(spec)
    fd = t.open(b"/d", os.O_RDONLY | os.O_DIRECTORY)
    first = t.getdents(fd)
    assert _names(first) == {b"a", b"b"}
    assert len(first) == 4  # with . and ..
    assert all(e.ino == t.lstat(b"/d/" + e.name).ino for e in first if e.name not in (b".", b".."))
    assert t.getdents(fd) == []  # at the end
    t.mknod(b"/d/new", stat.S_IFREG | 0o644)
    assert b"new" in _names(t.readdir(b"/d"))  # a fresh open sees it at once
    # Seeking elsewhere than 0 keeps the cached merged list: the new name is not there.
    assert t.lseek(fd, 1, os.SEEK_SET) == 1
    assert _names(t.getdents(fd)) == {b"a", b"b"}
    # lseek(0) discards the cache.
    assert t.lseek(fd, 0, os.SEEK_SET) == 0
    assert _names(t.getdents(fd)) == {b"a", b"b", b"new"}
    assert _errno(t.lseek, fd, 0, os.SEEK_END) == errno.EINVAL  # merged dir: no SEEK_END
    assert _errno(t.read, fd, 10) == errno.EISDIR
    t.close(fd)
    assert _errno(t.getdents, fd) == errno.EBADF


@pytest.mark.privileged
def test_unlink_of_a_lower_file_leaves_a_whiteout(make: Make) -> None:
    spec = LayersSpec(
        lowers=((Entry(b"d", "dir", 0o755), Entry(b"d/f", "reg", data=b"x")),), upper=()
    )
    t = make(spec)
    assert t.upper_dump().keys() == {b"/"}
    t.unlink(b"/d/f")
    dump = t.upper_dump()
    assert dump[b"/d/f"].kind == "whiteout"
    assert dump[b"/d"].kind == "dir" and dump[b"/d"].origin  # copied-up parent
    assert _names(t.readdir(b"/d")) == set()
    t.rmdir(b"/d")
    dump = t.upper_dump()
    assert dump[b"/d"].kind == "whiteout" and b"/d/f" not in dump
    t.mkdir(b"/d", 0o700)
    assert t.upper_dump()[b"/d"].opaque == b"y"  # mkdir over a whiteout


@pytest.mark.privileged
def test_content_digest_does_not_copy_up(make: Make) -> None:
    spec = LayersSpec(lowers=((Entry(b"f", "reg", 0o600, data=b"abc"),),), upper=())
    t = make(spec)
    assert t.content_digest(b"/f") == content_digest(3, [(0, b"abc")])
    assert b"/f" not in t.upper_dump()
    fd = t.open(b"/f", os.O_WRONLY)  # opening for write copies up
    t.close(fd)
    assert t.upper_dump()[b"/f"].digest == content_digest(3, [(0, b"abc")])


@pytest.mark.privileged
def test_other_users_run_in_helpers_with_their_permissions(make: Make) -> None:
    spec = LayersSpec(
        lowers=(
            (
                Entry(b"root", "dir", 0o755),
                Entry(b"secret", "reg", 0o600, data=b"s"),
                Entry(b"shared", "dir", 0o770, gid=50),
                Entry(b"pub", "dir", 0o777),
                Entry(b"w", "reg", 0o666, data=b"old"),
            ),
        ),
        upper=(),
    )
    t = make(spec)
    assert _errno(t.mkdir, b"/root/x", 0o755, cred=USER) == errno.EACCES
    t.mkdir(b"/root/x", 0o755)  # root may
    assert _errno(t.open, b"/secret", os.O_RDONLY, cred=USER) == errno.EACCES
    assert _errno(t.readdir, b"/shared", cred=USER) == errno.EACCES
    assert _names(t.readdir(b"/shared", cred=Cred(1000, 1000, (50,)))) == set()
    assert _errno(t.chown, b"/w", 1000, 1000, cred=USER) == errno.EPERM
    # Created as the user: owned by the user, mode exactly as asked (umask 0).
    t.mkdir(b"/pub/mine", 0o777, cred=USER)
    st = t.lstat(b"/pub/mine")
    assert (st.uid, st.gid, stat.S_IMODE(st.mode)) == (1000, 1000, 0o777)
    # A handle opened as the user lives in the helper; later calls on it go there.
    h = t.open(b"/w", os.O_RDWR | os.O_TRUNC, cred=USER)
    assert t.write(h, b"new") == 3
    assert t.pread(h, 10, 0) == b"new"
    assert t.fstat(h).size == 3
    t.close(h)
    assert t.content_digest(b"/w") == content_digest(3, [(0, b"new")])
    assert t.lstat(b"/w").uid == 0  # copy-up keeps the owner


@pytest.mark.privileged
def test_remount_keeps_the_upper_and_closes_handles(make: Make) -> None:
    spec = LayersSpec(lowers=((Entry(b"f", "reg", data=b"lower"),),), upper=())
    t = make(spec)
    h = t.open(b"/f", os.O_WRONLY | os.O_TRUNC)
    t.write(h, b"upper!")
    hu = t.open(b"/", os.O_RDONLY | os.O_DIRECTORY, cred=USER)
    t.mkdir(b"/dir", 0o700)
    before = t.upper_dump()
    t.remount()
    assert t.open_handles == 0
    assert _errno(t.read, h, 1) == errno.EBADF
    assert _errno(t.getdents, hu) == errno.EBADF
    assert t.content_digest(b"/f") == content_digest(6, [(0, b"upper!")])
    assert t.lstat(b"/dir").mode == stat.S_IFDIR | 0o700
    assert t.upper_dump() == before
    assert len(_mine_mounted(t.mountpoint)) == 1


@pytest.mark.privileged
def test_teardown_leaves_no_mount_even_with_busy_handles(scratch: Scratch) -> None:
    spec = LayersSpec(lowers=((Entry(b"d", "dir"), Entry(b"d/f", "reg")),), upper=())
    t = KernelOverlay(scratch.new_dir(), spec, helpers=scratch.helpers)
    t.open(b"/d/f", os.O_RDONLY)
    t.open(b"/d", os.O_RDONLY, cred=USER)
    cwd_fd = os.open(t.mountpoint + b"/d", os.O_RDONLY)  # held behind the target's back
    try:
        example = os.fsdecode(t.example_dir)
        assert _mine_mounted(example)
        t.teardown()
        t.teardown()  # idempotent
        with open("/proc/self/mountinfo") as f:
            assert example not in f.read()
        assert not os.path.exists(example)
    finally:
        os.close(cwd_fd)


@pytest.mark.privileged
def test_read_only_configs(make: Make) -> None:
    lower = (Entry(b"f", "reg", data=b"x"),)
    t = make(LayersSpec(lowers=(lower,), upper=()), Config(ro=True))
    assert t.statfs(b"/").readonly
    assert _errno(t.mkdir, b"/d", 0o755) == errno.EROFS
    assert _errno(t.mkdir, b"/f", 0o755) == errno.EEXIST
    no_upper = LayersSpec(lowers=(lower, (Entry(b"g", "reg"),)), upper=None)
    t2 = make(no_upper)
    assert b"upperdir" not in t2.mount_options
    assert t2.statfs(b"/").readonly
    assert _names(t2.readdir(b"/")) == {b"f", b"g"}
    assert _errno(t2.unlink, b"/f") == errno.EROFS
    assert t2.upper_dump() == {}


@pytest.mark.privileged
def test_mount_failure_names_errno_and_options(scratch: Scratch) -> None:
    one_lower_no_upper = LayersSpec(lowers=((Entry(b"f", "reg"),),), upper=None)
    d = scratch.new_dir()
    with pytest.raises(MountError) as info:
        KernelOverlay(d, one_lower_no_upper)
    assert info.value.errno == errno.EINVAL
    assert "EINVAL" in str(info.value) and "lowerdir=" in str(info.value)
    assert "at least 2 lowerdir are needed" in str(info.value)  # from the kernel log
    assert not os.path.exists(d)
    assert not _mine_mounted(d)


@pytest.mark.privileged
def test_redirect_dir_option_is_passed(make: Make) -> None:
    spec = LayersSpec(lowers=((Entry(b"d", "dir"), Entry(b"d/f", "reg")),), upper=())
    follow = make(spec)
    assert _errno(follow.rename, b"/d", b"/e") == errno.EXDEV
    on = make(spec, Config(redirect_dir="on"))
    assert b"redirect_dir=on" in on.mount_options
    on.rename(b"/d", b"/e")
    assert on.upper_dump()[b"/e"].redirect == b"d"
    assert _names(on.readdir(b"/e")) == {b"f"}


@pytest.mark.privileged
@pytest.mark.parametrize("mode", ["off", "nofollow"])
def test_redirect_dir_off_and_nofollow_presets_reach_the_kernel(make: Make, mode: str) -> None:
    """The presets ``redirect_dir=off`` and ``=nofollow`` mount with that option and, as
    ``follow`` does, refuse a lower directory's rename with EXDEV.  The kernel shows
    ``nofollow``; ``off`` it turns into ``follow``, the default it does not show, because
    the module parameter ``redirect_always_follow`` is Y (as the model's
    ``Config.redirect_follow`` and ovlfuse's option parser have it)."""
    spec = LayersSpec(lowers=((Entry(b"d", "dir"), Entry(b"d/f", "reg")),), upper=())
    t = make(spec, PRESETS[f"redirect_dir={mode}"].config)
    assert f"redirect_dir={mode}".encode() in t.mount_options
    with open("/proc/self/mountinfo", "rb") as f:
        line = next(ln for ln in f if ln.split()[4] == t.mountpoint)
    shown = [o for o in line.split()[-1].split(b",") if o.startswith(b"redirect_dir=")]
    always = Path("/sys/module/overlay/parameters/redirect_always_follow").read_text().strip()
    assert shown == ([b"redirect_dir=nofollow"] if mode == "nofollow" or always != "Y" else [])
    assert _errno(t.rename, b"/d", b"/e") == errno.EXDEV


@pytest.mark.privileged
def test_utimens_omit_and_now(make: Make) -> None:
    t = make(LayersSpec(lowers=((Entry(b"f", "reg"),),), upper=()))
    t.utimens(b"/f", 1_000_000_000, 2_000_000_123)
    assert t.lstat(b"/f").mtime == 2_000_000_123
    t.utimens(b"/f", -1, None)  # atime now, mtime untouched
    assert t.lstat(b"/f").mtime == 2_000_000_123
    t.utimens(b"/f", None, -1)
    assert t.lstat(b"/f").mtime > 2_000_000_123
    assert _errno(t.utimens, b"/f", 0, 0, cred=USER) == errno.EPERM
    assert _errno(t.utimens, b"/f", -1, -1, cred=USER) == errno.EACCES


@pytest.mark.privileged
def test_xattr_calls_follow_symlinks(make: Make) -> None:
    spec = LayersSpec(lowers=((Entry(b"f", "reg"), Entry(b"l", "lnk", target=b"f")),), upper=())
    t = make(spec)
    t.setxattr(b"/l", b"user.k", b"v")
    assert t.getxattr(b"/f", b"user.k") == b"v"
    assert b"user.k" in t.listxattr(b"/l")
    t.removexattr(b"/l", b"user.k")
    assert _errno(t.getxattr, b"/f", b"user.k") == errno.ENODATA
    t.link(b"/l", b"/l2")  # link(2) does not follow: a second name of the symlink
    assert stat.S_ISLNK(t.lstat(b"/l2").mode)


@pytest.mark.privileged
def test_cached_upper_dump_equals_a_fresh_walk(make: Make) -> None:
    spec = LayersSpec(
        lowers=((Entry(b"d", "dir"), Entry(b"d/f", "reg", data=b"1"), Entry(b"g", "reg")),),
        upper=(),
    )
    t = make(spec)
    assert t.upperdir is not None

    def write(path: bytes, data: bytes, offset: int) -> None:
        fd = t.open(path, os.O_WRONLY)
        t.pwrite(fd, data, offset)
        t.close(fd)

    steps = [
        lambda: t.chmod(b"/d/f", 0o600),
        lambda: t.setxattr(b"/d/f", b"user.a", b"1"),
        lambda: t.setxattr(b"/d/f", b"user.a", b"2"),
        lambda: write(b"/d/f", b"x", 0),
        lambda: write(b"/d/f", b"y", 0),
        lambda: t.truncate(b"/d/f", 0),
        lambda: t.truncate(b"/d/f", 1),
        lambda: t.chown(b"/d/f", 5, 5),
        lambda: t.link(b"/d/f", b"/d/f2"),
        lambda: t.unlink(b"/d/f2"),
        lambda: t.rename(b"/g", b"/d/g"),
        lambda: t.mkdir(b"/n", 0o755),
        lambda: t.rename(b"/d/g", b"/n/g"),
        lambda: write(b"/n/g", b"z", 3),
        lambda: t.unlink(b"/d/f"),
        lambda: t.chmod(b"/n", 0o700),
        lambda: t.symlink(b"t1", b"/n/s"),
        lambda: t.unlink(b"/n/s"),
        lambda: t.symlink(b"t2", b"/n/s"),
    ]
    for i, step in enumerate(steps):
        step()
        assert t.upper_dump() == realfs.dump_tree(t.upperdir), i


@pytest.mark.privileged
def test_open_never_blocks_on_fifos(make: Make) -> None:
    spec = LayersSpec(lowers=((Entry(b"p", "fifo", 0o666), Entry(b"f", "reg")),), upper=())
    t = make(spec)
    assert _errno(t.open, b"/p", os.O_WRONLY) == errno.ENXIO  # no reader (would hang)
    for cred in (ROOT, USER):
        r = t.open(b"/p", os.O_RDONLY, cred=cred)  # would hang until a writer came
        assert t.read(r, 10) == b""  # no writer: EOF
        w = t.open(b"/p", os.O_WRONLY, cred=cred)
        assert _errno(t.read, r, 10) == errno.EAGAIN  # a writer, no data (would hang)
        t.write(w, b"hi")
        assert t.read(r, 10) == b"hi"
        t.close(w)
        t.close(r)
    rw = t.open(b"/p", os.O_RDWR)
    assert _errno(t.read, rw, 1) == errno.EAGAIN
    t.close(rw)
    h = t.open(b"/f", os.O_RDONLY)  # not a FIFO: O_NONBLOCK is cleared again
    assert not fcntl.fcntl(t._fd(h)[1], fcntl.F_GETFL) & os.O_NONBLOCK
    h2 = t.open(b"/f", os.O_RDONLY | os.O_NONBLOCK)  # asked for: kept
    assert fcntl.fcntl(t._fd(h2)[1], fcntl.F_GETFL) & os.O_NONBLOCK
    hp = t.open(b"/f", os.O_PATH)
    assert _errno(t.read, hp, 1) == errno.EBADF


@pytest.mark.privileged
def test_kernel_overlay_problem_is_none_here() -> None:
    assert kernel_overlay_problem() is None


@pytest.mark.privileged
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_run_leaves_no_mount_and_no_scratch(sig: int, tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import os, sys
        from difftest.scratch import Scratch
        from difftest.targets.kernel import KernelOverlay
        from model.spec import Entry, LayersSpec
        from model.types import Cred
        spec = LayersSpec(lowers=((Entry(b"d", "dir"), Entry(b"d/f", "reg")),), upper=())
        with Scratch() as s:
            t = KernelOverlay(s.new_dir(), spec, helpers=s.helpers)
            t.open(b"/d/f", os.O_RDONLY)
            t.open(b"/d", os.O_RDONLY, cred=Cred(1000, 1000))
            print(s.path, flush=True)
            while True:
                t.lstat(b"/d/f")
                t.readdir(b"/d", cred=Cred(1000, 1000))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT_DIR, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    path = proc.stdout.readline().strip()
    try:
        assert path and _mine_mounted(path), "the child did not mount"
        time.sleep(0.2)
        proc.send_signal(sig)
        code = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code != 0
    assert not _mine_mounted(path)
    assert not os.path.exists(path)


def test_mount_data_escapes_and_flags() -> None:
    assert escape_layer_path(b"/a:b,c\\d") == b"/a\\:b\\,c\\\\d"
    dirs = LayerDirs(b"/x", (b"/x/l0", b"/x/l1"), b"/x/u", b"/x/w", b"/x/m")
    flags, data = mount_data(dirs, Config(ro=True, index=True))
    assert flags == realfs.MS_RDONLY
    assert data == b"lowerdir=/x/l0:/x/l1,upperdir=/x/u,workdir=/x/w,index=on"
    no_upper = LayerDirs(b"/x", (b"/x/l0", b"/x/l1"), None, None, b"/x/m")
    assert mount_data(no_upper, Config()) == (realfs.MS_RDONLY, b"lowerdir=/x/l0:/x/l1")


def test_data_extents_never_split_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realfs, "_CHUNK", 7)
    monkeypatch.setattr(realfs, "_SMALL", 0)
    data = b"abcdefghijklmnop\0\0qrstuvwxyz0123456789\0x"
    p = tmp_path / "f"
    with open(p, "wb") as f:
        f.write(data)
        f.truncate(1 << 20)
        f.seek(1 << 19)
        f.write(b"middle\0run")
    fd = os.open(p, os.O_RDONLY)
    try:
        expect = content_digest(1 << 20, [(0, data), (1 << 19, b"middle\0run")])
        assert realfs.fd_digest(fd) == expect
    finally:
        os.close(fd)
