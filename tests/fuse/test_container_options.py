"""The options a container engine passes to its mount program (fuse-overlayfs's), each test
named after the behaviour: implemented, accepted without effect, or refused with a one-line
message and exit status 2 — never handed to libfuse to fail there."""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ovlfuse_testlib import (
    OVLFUSE,
    REPO,
    make_layers,
    mounted,
    ovlfuse,
    run_as,
    start_ovlfuse,
    umount,
)

from fuse_impl.errors import UsageError
from fuse_impl.options import IdRange, parse_options

pytestmark = pytest.mark.privileged

MAP = "uidmapping=0:100000:65536,gidmapping=0:100000:65536"
OVERRIDE_USER = "user.fuseoverlayfs.override_stat"
OVERRIDE_CONTAINERS = "user.containers.override_stat"


def owner(path: Path) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def chowned(root: Path, ids: dict[str, tuple[int, int]]) -> None:
    for name, (uid, gid) in ids.items():
        os.chown(root / name, uid, gid, follow_symlinks=False)


def run_ovlfuse(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OVLFUSE, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)


def expect_usage_error(layers_options: str, mnt: Path, message: str) -> None:
    res = run_ovlfuse("-o", layers_options, str(mnt))
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ovlfuse: ") and message in lines[0], lines
    assert not mounted(mnt)


# -- parsing -----------------------------------------------------------------------------------

def test_mapping_takes_triples_and_skips_empty_fields() -> None:
    cfg = parse_options("uidmapping=:0:100000:1:1:200000:65535,gidmapping=0:5:1")
    assert cfg.uid_map == (IdRange(0, 100000, 1), IdRange(1, 200000, 65535))
    assert cfg.gid_map == (IdRange(0, 5, 1),)


def test_a_quoted_context_keeps_its_commas() -> None:
    cfg = parse_options('lowerdir=/a,context="system_u:object_r:container_file_t:s0:c1,c2",ro')
    assert cfg.context == "system_u:object_r:container_file_t:s0:c1,c2"
    assert cfg.readonly


@pytest.mark.parametrize("text", ["uidmapping=0:1", "uidmapping=0:1:0", "gidmapping=a:b:c",
                                  "squash_to_uid=-1", "xattr_permissions=3"])
def test_malformed_id_options_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_options(text)


# -- refused and accepted-without-effect options -----------------------------------------------

def test_unknown_option_is_a_one_line_usage_error(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    expect_usage_error(layers.options("frobnicate=1"), layers.mnt,
                       "unknown mount option 'frobnicate'")


@pytest.mark.parametrize(("option", "why"), [
    ("plugins=/usr/lib/plugin.so", "no plugins"),
    ("blksize=4096", "block-device"),
])
def test_refused_options_say_why(tmpfs: Path, option: str, why: str) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    expect_usage_error(layers.options(option), layers.mnt, why)


def test_atime_options_libfuse_rejects_are_accepted(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    extra = "exact,relatime,norelatime,strictatime,nostrictatime,lazytime,nolazytime," \
            "diratime,nodiratime,noatime"
    with ovlfuse(layers, extra) as m:
        assert (m / "f").read_text() == "x"


def test_fuse_overlayfs_tuning_options_are_accepted(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    extra = "exact,threaded=1,fast_ino=1,writeback=0,noacl,splice_read,splice_write," \
            "splice_move,kernel_cache,max_write"
    with ovlfuse(layers, extra) as m:
        (m / "g").write_text("y")
        assert sorted(os.listdir(m)) == ["f", "g"]


def test_context_is_accepted_and_ignored_without_selinux(tmpfs: Path) -> None:
    assert not os.path.exists("/sys/fs/selinux/enforce")
    layers = make_layers(tmpfs, {"f": "x"})
    options = layers.options('exact,context="system_u:object_r:container_file_t:s0:c1,c2"')
    daemon = start_ovlfuse(layers.mnt, options, "-d")
    try:
        assert (layers.mnt / "f").read_text() == "x"
    finally:
        assert daemon.stop() == 0
    assert "context=system_u:object_r:container_file_t:s0:c1,c2 ignored" in daemon.stderr()


def test_containers_entry_point_runs_the_aufs_role(tmpfs: Path) -> None:
    program = Path(sys.executable).parent / "ovlfuse-containers"
    layers = make_layers(tmpfs, {".wh.gone": "", "kept": "k"}, {"gone": "g"})
    res = subprocess.run([str(program), "-o", layers.options(), str(layers.mnt)],
                         capture_output=True, text=True, timeout=60, check=False)
    try:
        assert res.returncode == 0, res.stderr
        assert os.listdir(layers.mnt) == ["kept"]
    finally:
        umount(layers.mnt)


# -- implemented ---------------------------------------------------------------------------------

def test_uidmapping_shows_stored_ids_shifted_and_overflow_outside(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"root": "r", "five": "5", "far": "f"})
    chowned(layers.lowers[0], {"root": (0, 0), "five": (5, 6), "far": (70000, 70000)})
    with ovlfuse(layers, "exact," + MAP) as m:
        assert owner(m / "root") == (100000, 100000)
        assert owner(m / "five") == (100005, 100006)
        assert owner(m / "far") == (65534, 65534)


def test_uidmapping_stores_callers_ids_back(public_tmpfs: Path) -> None:
    layers = make_layers(public_tmpfs, {"d": {}, "f": "x"})
    os.chmod(layers.lowers[0] / "d", 0o777)
    assert layers.upper is not None
    with ovlfuse(layers, "exact," + MAP) as m:
        os.chown(m / "f", 100007, 100008)
        res = run_as(100003, 100004, "open(__import__('sys').argv[1], 'w').write('mine')",
                     str(m / "d" / "new"))
        assert res.returncode == 0, res.stderr
        assert owner(m / "f") == (100007, 100008)
        assert owner(m / "d" / "new") == (100003, 100004)
    assert owner(layers.upper / "f") == (7, 8)
    assert owner(layers.upper / "d" / "new") == (3, 4)


def idmapped_bind(src: Path, dst: Path, shift: int) -> None:
    """Mount *src* at *dst* through an idmapped mount: IDs 0..65535 appear shifted by *shift*
    (open_tree, mount_setattr with MOUNT_ATTR_IDMAP, move_mount)."""
    libc = ctypes.CDLL(None, use_errno=True)
    holder = subprocess.Popen(["unshare", "--user", "sleep", "60"])
    try:
        for _ in range(200):  # until unshare has made the namespace
            if os.readlink(f"/proc/{holder.pid}/ns/user") != os.readlink("/proc/self/ns/user"):
                break
            time.sleep(0.01)
        for kind in ("uid", "gid"):
            Path(f"/proc/{holder.pid}/{kind}_map").write_text(f"0 {shift} 65536\n")
        userns = os.open(f"/proc/{holder.pid}/ns/user", os.O_RDONLY)
        tree = libc.syscall(428, -100, os.fsencode(src), 1 | os.O_CLOEXEC)  # OPEN_TREE_CLONE
        assert tree >= 0, os.strerror(ctypes.get_errno())
        attr = (ctypes.c_uint64 * 4)(0x100000, 0, 0, userns)  # MOUNT_ATTR_IDMAP
        assert libc.syscall(442, tree, b"", 0x1000, attr, 32) == 0, os.strerror(
            ctypes.get_errno())
        assert libc.syscall(429, tree, b"", -100, os.fsencode(dst), 4) == 0, os.strerror(
            ctypes.get_errno())
        os.close(tree)
        os.close(userns)
    finally:
        holder.kill()
        holder.wait()


def test_idmapped_lower_with_the_same_mapping_is_not_shifted_twice(tmpfs: Path) -> None:
    """podman 4.3 idmaps the lower layers and passes the same mapping as uidmapping."""
    layers = make_layers(tmpfs, {"f": "x", "g": "y"})
    chowned(layers.lowers[0], {"f": (0, 0), "g": (5, 6)})
    mapped = tmpfs / "mapped"
    mapped.mkdir()
    idmapped_bind(layers.lowers[0], mapped, 100000)
    assert owner(mapped / "g") == (100005, 100006)
    layers.lowers[0] = mapped
    assert layers.upper is not None
    with ovlfuse(layers, "exact," + MAP) as m:
        assert owner(m / "f") == (100000, 100000)
        assert owner(m / "g") == (100005, 100006)
        os.chmod(m / "g", 0o600)  # copy-up stores the layer's own IDs
    assert owner(layers.upper / "g") == (5, 6)


def test_squash_to_uid_and_gid_show_one_owner(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"a": "1", "b": "2"})
    chowned(layers.lowers[0], {"a": (0, 0), "b": (5, 6)})
    with ovlfuse(layers, "exact,squash_to_uid=1000,squash_to_gid=2000") as m:
        assert owner(m / "a") == owner(m / "b") == (1000, 2000)
        assert owner(m) == (1000, 2000)


def test_squash_to_root_shows_root_unless_an_explicit_squash_wins(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"a": "1"})
    chowned(layers.lowers[0], {"a": (5, 6)})
    with ovlfuse(layers, "exact,squash_to_root") as m:
        assert owner(m / "a") == (0, 0)
    with ovlfuse(layers, "exact,squash_to_root,squash_to_gid=44") as m:
        assert owner(m / "a") == (0, 44)


def test_xattr_permissions_reads_the_lower_layers_override(tmpfs: Path) -> None:
    """containers-storage's force_mask: real mode 0700, the real owner and mode in
    user.containers.override_stat (its layer root carries one too)."""
    layers = make_layers(tmpfs, {"f": "x"})
    lower = layers.lowers[0]
    os.setxattr(lower, OVERRIDE_CONTAINERS, b"0:0:755")
    os.chmod(lower / "f", 0o700)
    os.setxattr(lower / "f", OVERRIDE_CONTAINERS, b"5:6:4755")
    with ovlfuse(layers, "exact") as m:
        assert stat.S_IMODE(os.lstat(m / "f").st_mode) == 0o700  # off: real ones
    with ovlfuse(layers, "exact,xattr_permissions=2") as m:
        st = os.lstat(m / "f")
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (5, 6, 0o4755)
        assert OVERRIDE_CONTAINERS not in os.listxattr(m / "f")
        assert (m / "f").read_text() == "x"


def test_xattr_permissions_writes_owner_and_mode_to_the_override(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    assert layers.upper is not None
    with ovlfuse(layers, "exact,xattr_permissions=2") as m:
        os.chmod(m / "f", 0o640)
        os.chown(m / "f", 7, 8)
        fd = os.open(m / "new", os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        st = os.lstat(m / "f")
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (7, 8, 0o640)
        assert stat.S_IMODE(os.lstat(m / "new").st_mode) == 0o600
        assert errno_of(os.setxattr, m / "f", OVERRIDE_USER, b"1:1:777") == errno.EPERM
    upper = layers.upper
    assert os.getxattr(upper / "f", OVERRIDE_USER) == b"7:8:640"
    assert (owner(upper / "f"), stat.S_IMODE(os.lstat(upper / "f").st_mode)) == ((0, 0), 0o755)
    assert os.getxattr(upper / "new", OVERRIDE_USER) == b"0:0:600"
    assert os.getxattr(upper, OVERRIDE_USER) == b"0:0:555"  # a root without one gets it


def test_static_nlink_reports_one_for_directories(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": {"a": {}, "b": {}}})
    with ovlfuse(layers, "exact") as m:
        assert os.lstat(m / "d").st_nlink == 4
    with ovlfuse(layers, "exact,static_nlink") as m:
        assert os.lstat(m / "d").st_nlink == 1


def test_noxattrs_makes_xattr_calls_unsupported(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    with ovlfuse(layers, "exact,noxattrs=1") as m:
        assert errno_of(os.setxattr, m / "f", "user.a", b"1") == errno.EOPNOTSUPP
        assert errno_of(os.listxattr, m / "f") == errno.EOPNOTSUPP
    assert layers.upper is not None
    assert os.listdir(layers.upper) == []  # the refused setxattr copied nothing up


def test_fsync_0_is_volatile(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    assert layers.work is not None
    with ovlfuse(layers, "exact,fsync=0"):
        assert (layers.work / "work" / "incompat" / "volatile").is_dir()


def errno_of(fn, *args) -> int:  # type: ignore[no-untyped-def]
    try:
        fn(*args)
    except OSError as e:
        return e.errno or 0
    return 0
