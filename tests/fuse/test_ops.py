"""ovlfuse operations through a real FUSE mount, each test named after the rule it pins down
(rules from the overlayfs catalogue; the kernel overlay is the reference)."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from ovlfuse_testlib import (
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    RENAME_WHITEOUT,
    dump_upper,
    getdents,
    make_layers,
    ovlfuse,
    renameat2,
)

pytestmark = pytest.mark.privileged

OPAQUE = "trusted.overlay.opaque"
ORIGIN = "trusted.overlay.origin"
IMPURE = "trusted.overlay.impure"
REDIRECT = "trusted.overlay.redirect"


def xattr(path: Path, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as e:
        assert e.errno == errno.ENODATA
        return None


def is_whiteout(path: Path) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def errno_of(fn, *args) -> int:  # type: ignore[no-untyped-def]
    try:
        fn(*args)
    except OSError as e:
        return e.errno or 0
    return 0


# -- lookup and stat -------------------------------------------------------------------------

def test_lookup_scans_layers_top_down_with_whiteouts_opaque_and_non_dirs(tmpfs: Path) -> None:
    layers = make_layers(
        tmpfs,
        {"b": {"x0": "0"}, "c": {"c0": "0"}, "g": {}},
        {"b": "file-in-l1", "c": ("opaque", {"c1": "1"}), "d": ("whiteout",),
         "g": {"gone": ("whiteout",)}},
        {"b": {"x2": "2"}, "c": {"c2": "2"}, "d": {"d2": "2"}, "g": {"gone": "2", "kept": "2"}},
    )
    with ovlfuse(layers) as m:
        assert sorted(os.listdir(m / "b")) == ["x0"]  # a file in L1 ends the merge
        assert sorted(os.listdir(m / "c")) == ["c0", "c1"]  # opaque L1 dir stops below it
        assert not (m / "d").exists()  # whiteout in L1 hides L2's dir
        assert sorted(os.listdir(m / "g")) == ["kept"]  # whiteout in a middle dir


def test_upper_dir_over_lower_symlink_is_not_merged(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"h": ("symlink", "elsewhere"), "t": {"y": "1"}},
                         upper={"h": {"mine": "u"}})
    with ovlfuse(layers) as m:
        assert os.listdir(m / "h") == ["mine"]
        assert os.stat(m / "h").st_nlink == 2


def test_st_ino_follows_the_kernel_rules_on_one_filesystem(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "one", "d": {"x": "1"}, "h1": "hard"},
                         upper={"d": {}, "p": "pure"})
    lower = layers.lowers[0]
    os.link(lower / "h1", lower / "h2")
    with ovlfuse(layers) as m:
        assert os.stat(m).st_ino == os.stat(layers.upper).st_ino  # root: upper root
        assert os.stat(m / "f").st_ino == os.stat(lower / "f").st_ino  # lower-only
        assert os.stat(m / "d").st_ino == os.stat(lower / "d").st_ino  # merged: top lower
        assert os.stat(m / "p").st_ino == os.stat(layers.upper / "p").st_ino  # pure upper
        ino = os.stat(m / "f").st_ino
        os.chmod(m / "f", 0o600)  # copy-up with origin keeps the lower ino
        assert os.stat(m / "f").st_ino == ino
        os.chmod(m / "h1", 0o600)  # hardlinked lower: no origin, ino becomes the upper's
        assert xattr(layers.upper / "h1", ORIGIN) is None
        assert os.stat(m / "h1").st_ino == os.stat(layers.upper / "h1").st_ino
        assert os.stat(m / "h2").st_ino == os.stat(lower / "h2").st_ino
        for entry in os.scandir(m):  # d_ino == st_ino for every entry
            assert entry.inode() == os.lstat(entry.path).st_ino, entry.name
    with ovlfuse(layers) as m:  # persistent across remount (origin decoded)
        assert os.stat(m / "f").st_ino == ino


def test_merged_directories_report_nlink_one(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"both": {"a": {}}, "only0": {"s": {}}}, {"both": {"b": {}}})
    with ovlfuse(layers) as m:
        assert os.stat(m).st_nlink == 1
        assert os.stat(m / "both").st_nlink == 1  # two lowers
        assert os.stat(m / "only0").st_nlink == 3  # one layer: real nlink
        os.chmod(m / "only0", 0o755)  # copied up: now merged
        assert os.stat(m / "only0").st_nlink == 1


def test_merged_dir_metadata_and_xattrs_come_from_upper(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": {"x": "1"}}, upper={"d": {}})
    os.chmod(layers.lowers[0] / "d", 0o700)
    os.chmod(layers.upper / "d", 0o751)
    os.setxattr(layers.lowers[0] / "d", "user.lower", b"1")
    with ovlfuse(layers) as m:
        assert stat.S_IMODE(os.stat(m / "d").st_mode) == 0o751
        assert "user.lower" not in os.listxattr(m / "d")


def test_first_lookup_of_a_merged_dir_reports_the_ctime_its_origin_write_gave(
    tmpfs: Path,
) -> None:
    """The lookup that records a merged dir's origin changes the upper dir's ctime; the
    attributes it replies with (cached for the timeout) show the new ctime, as the kernel's
    getattr of the upper inode does."""
    layers = make_layers(tmpfs, {"d": {"x": "1"}}, upper={"d": {}})
    assert layers.upper is not None
    before = os.lstat(layers.upper / "d").st_ctime_ns
    with ovlfuse(layers, "timeout=60") as m:
        seen = os.lstat(m / "d").st_ctime_ns
        now = os.lstat(layers.upper / "d").st_ctime_ns
        assert xattr(layers.upper / "d", "trusted.overlay.origin") is not None
        assert now != before
        assert seen == now


def test_name_too_long_is_enametoolong(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {})
    with ovlfuse(layers) as m:
        assert errno_of(os.stat, m / ("x" * 256)) == errno.ENAMETOOLONG
        assert errno_of(os.mkdir, m / ("x" * 256)) == errno.ENAMETOOLONG


# -- readdir ---------------------------------------------------------------------------------

def test_readdir_merges_hides_whiteouts_and_has_no_duplicates(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": {"a": "0", "b": "0", "dup": "0"}},
                         {"d": {"c": "1", "dup": "1", "wh": "1"}},
                         upper={"d": {"dup": "u", "a": ("whiteout",), "wh": ("whiteout",),
                                      "new": "u"}})
    with ovlfuse(layers) as m:
        fd = os.open(m / "d", os.O_RDONLY | os.O_DIRECTORY)
        try:
            names = []
            while batch := getdents(fd):
                names += [name for _ino, _off, name in batch]
        finally:
            os.close(fd)
        assert sorted(names) == [b".", b"..", b"b", b"c", b"dup", b"new"]


def test_readdir_offsets_stay_valid_while_the_directory_changes(tmpfs: Path) -> None:
    names = {f"f{i:03}": "x" for i in range(200)}
    layers = make_layers(tmpfs, {"d": names})
    with ovlfuse(layers) as m:
        fd = os.open(m / "d", os.O_RDONLY | os.O_DIRECTORY)
        try:
            seen = [name for _i, _o, name in getdents(fd, 400)]
            assert 2 < len(seen) < 100
            for i in range(150, 200):  # delete some not yet read, create new ones
                os.unlink(m / "d" / f"f{i:03}")
            for i in range(30):
                (m / "d" / f"new{i}").write_text("n")
            while batch := getdents(fd, 400):
                seen += [name for _i, _o, name in batch]
            assert len(seen) == len(set(seen)), "duplicates"
            expected = {f"f{i:03}".encode() for i in range(150)}
            assert expected <= set(seen)
            assert not any(n.startswith(b"new") for n in seen)  # snapshot per open
            os.lseek(fd, 0, os.SEEK_SET)  # rewind rebuilds the listing
            again = []
            while batch := getdents(fd, 4096):
                again += [name for _i, _o, name in batch]
            assert {f"new{i}".encode() for i in range(30)} <= set(again)
            assert not any(n in set(again) for n in (b"f150", b"f199"))
        finally:
            os.close(fd)


def test_rm_rf_of_a_directory_with_lower_content(tmpfs: Path) -> None:
    tree = {"top": {f"d{i}": {f"f{j}": "x" for j in range(40)} for i in range(5)}}
    layers = make_layers(tmpfs, tree, {"top": {"d0": {"other": "y"}, "extra": "z"}},
                         upper={"top": {"d1": {"up": "u"}}})
    with ovlfuse(layers) as m:
        subprocess.run(["rm", "-rf", str(m / "top")], check=True)
        assert not (m / "top").exists()
        assert os.listdir(m) == []
    assert is_whiteout(layers.upper / "top")
    assert all(is_whiteout(p) for p in (layers.work / "work").iterdir())  # no leftovers


def test_python_rmtree_of_a_merged_tree(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"t": {"a": {"b": {"c": "1"}}, "z": "2"}},
                         upper={"t": {"a": {"u": "3"}}})
    with ovlfuse(layers) as m:
        shutil.rmtree(m / "t")
        assert not (m / "t").exists()


# -- files -----------------------------------------------------------------------------------

def test_create_write_read_fsync_and_directory_fsync(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": {"old": "o"}})
    with ovlfuse(layers) as m:
        fd = os.open(m / "d" / "new", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o640)
        os.write(fd, b"hello world")
        os.fsync(fd)
        os.fdatasync(fd)
        assert os.pread(fd, 5, 6) == b"world"
        os.close(fd)
        dfd = os.open(m / "d", os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.close(dfd)
        rfd = os.open(m / "d" / "old", os.O_RDONLY)
        os.fsync(rfd)  # fsync of a lower file: no copy-up
        os.close(rfd)
        assert errno_of(os.open, m / "d" / "new", os.O_CREAT | os.O_EXCL | os.O_WRONLY) == \
            errno.EEXIST
        assert (m / "d" / "new").read_bytes() == b"hello world"
        assert stat.S_IMODE(os.stat(m / "d" / "new").st_mode) == 0o640
    assert not (layers.upper / "d" / "old").exists()
    assert xattr(layers.upper / "d", ORIGIN) is not None


def test_write_open_copies_up_even_without_writing(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"w": "data", "r": "data", "t": "data"})
    with ovlfuse(layers) as m:
        os.close(os.open(m / "w", os.O_WRONLY))
        os.close(os.open(m / "r", os.O_RDONLY))
        os.close(os.open(m / "t", os.O_RDONLY | os.O_TRUNC))
        assert (m / "t").read_bytes() == b""
    assert (layers.upper / "w").read_bytes() == b"data"
    assert not (layers.upper / "r").exists()
    assert (layers.upper / "t").read_bytes() == b""


def test_open_errors_match_the_vfs(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x", "d": {}})
    with ovlfuse(layers) as m:
        assert errno_of(os.open, m / "d", os.O_WRONLY) == errno.EISDIR
        assert errno_of(os.open, m / "f", os.O_RDONLY | os.O_DIRECTORY) == errno.ENOTDIR
        assert errno_of(os.stat, str(m / "f") + "/") == errno.ENOTDIR
        fd = os.open(m / "f", os.O_RDONLY)
        assert errno_of(os.write, fd, b"x") == errno.EBADF
        os.close(fd)


def test_handle_opened_before_copy_up_follows_the_file(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "old data"})
    with ovlfuse(layers) as m:
        ro = os.open(m / "f", os.O_RDONLY)
        try:
            wr = os.open(m / "f", os.O_WRONLY)
            os.pwrite(wr, b"NEW", 0)
            os.close(wr)
            assert os.pread(ro, 100, 0) == b"NEW data"
        finally:
            os.close(ro)


def test_unlinked_files_stay_usable_while_open(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"low": "lower data"}, upper={"up": "upper data"})
    with ovlfuse(layers) as m:
        fu = os.open(m / "up", os.O_RDWR)
        fl = os.open(m / "low", os.O_RDONLY)
        os.unlink(m / "up")
        os.unlink(m / "low")
        assert not (m / "up").exists() and not (m / "low").exists()
        os.pwrite(fu, b"UPPER", 0)
        assert os.pread(fu, 100, 0) == b"UPPER data"
        os.ftruncate(fu, 5)
        os.fchmod(fu, 0o600)
        st = os.fstat(fu)
        assert (st.st_size, st.st_nlink, stat.S_IMODE(st.st_mode)) == (5, 0, 0o600)
        assert os.pread(fl, 100, 0) == b"lower data"
        assert os.fstat(fl).st_nlink == 1  # the kernel overlay shows 1 here too
        os.close(fu)
        os.close(fl)
    assert is_whiteout(layers.upper / "low")
    assert not os.path.lexists(layers.upper / "up")


# -- namespace -------------------------------------------------------------------------------

def test_mkdir_over_a_whiteout_gives_an_opaque_dir(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": {"x": "1"}, "f": "file"})
    with ovlfuse(layers) as m:
        shutil.rmtree(m / "d")
        os.unlink(m / "f")
        os.mkdir(m / "d")
        os.mkdir(m / "f")
        assert os.listdir(m / "d") == []
    assert xattr(layers.upper / "d", OPAQUE) == b"y"
    assert xattr(layers.upper / "f", OPAQUE) == b"y"
    with ovlfuse(layers) as m:
        os.rmdir(m / "d")  # an opaque dir made over a whiteout turns back into one
    assert is_whiteout(layers.upper / "d")


@pytest.mark.parametrize("extra,opaque", [("exact", None), ("exact,redirect_dir=on", b"y"),
                                          ("exact,xino=on", b"y"), ("exact,xino=auto", None)])
def test_mkdir_in_a_merged_parent_is_opaque_only_without_offline_changes(
        tmpfs: Path, extra: str, opaque: bytes | None) -> None:
    layers = make_layers(tmpfs, {"p": {"x": "1"}})
    with ovlfuse(layers, extra) as m:
        os.mkdir(m / "p" / "new")
    assert xattr(layers.upper / "p" / "new", OPAQUE) == opaque
    assert xattr(layers.upper / "p", ORIGIN) is not None
    assert xattr(layers.upper, IMPURE) == b"y"


def test_mknod_of_a_whiteout_is_eperm_other_nodes_work(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {})
    with ovlfuse(layers) as m:
        assert errno_of(os.mknod, m / "wh", stat.S_IFCHR | 0o600, os.makedev(0, 0)) == \
            errno.EPERM
        os.mknod(m / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        os.mkfifo(m / "fifo", 0o600)
        os.mknod(m / "reg", stat.S_IFREG | 0o644)
        assert os.stat(m / "null").st_rdev == os.makedev(1, 3)
        assert stat.S_ISFIFO(os.stat(m / "fifo").st_mode)
        with open(m / "null", "wb") as f:
            f.write(b"into the void")
        assert errno_of(os.mkdir, m / "reg") == errno.EEXIST


def test_symlink_and_readlink_never_copy_up(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"lnk": ("symlink", "target/path")})
    with ovlfuse(layers) as m:
        assert os.readlink(m / "lnk") == "target/path"
        os.symlink("../x", m / "new")
        assert os.readlink(m / "new") == "../x"
        assert stat.S_IMODE(os.lstat(m / "new").st_mode) == 0o777
        os.chown(m / "lnk", 1000, 1000, follow_symlinks=False)  # lchown copies up
    assert os.readlink(layers.upper / "lnk") == "target/path"
    assert os.lstat(layers.upper / "lnk").st_uid == 1000
    assert xattr(layers.upper / "lnk", ORIGIN) is not None


def test_link_copies_up_the_source_and_marks_the_new_parent_impure(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "data", "d": {"x": "1"}})
    with ovlfuse(layers) as m:
        ino = os.stat(m / "f").st_ino
        os.link(m / "f", m / "d" / "g")
        assert os.stat(m / "f").st_nlink == 2
        assert os.stat(m / "d" / "g").st_ino == ino == os.stat(m / "f").st_ino
        assert errno_of(os.link, m / "d", m / "dl") == errno.EPERM
        assert errno_of(os.link, m / "f", m / "d" / "x") == errno.EEXIST
    assert xattr(layers.upper / "d", IMPURE) == b"y"
    assert os.stat(layers.upper / "f").st_ino == os.stat(layers.upper / "d" / "g").st_ino


def test_unlink_leaves_a_whiteout_only_where_a_lower_name_exists(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"lower": "l", "copied": "c"}, upper={"pure": "p"})
    with ovlfuse(layers) as m:
        os.chmod(m / "copied", 0o600)
        for name in ("lower", "copied", "pure"):
            os.unlink(m / name)
        assert os.listdir(m) == []
        assert errno_of(os.unlink, m / "lower") == errno.ENOENT
    assert is_whiteout(layers.upper / "lower")
    assert is_whiteout(layers.upper / "copied")
    assert not os.path.lexists(layers.upper / "pure")


def test_rmdir_of_a_merged_dir_holding_only_whiteouts(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": {"a": "1", "b": "2"}, "full": {"x": "1"}},
                         upper={"d": {"c": "3"}})
    with ovlfuse(layers) as m:
        assert errno_of(os.rmdir, m / "full") == errno.ENOTEMPTY
        assert errno_of(os.rmdir, m / "d") == errno.ENOTEMPTY
        for name in ("a", "b", "c"):
            os.unlink(m / "d" / name)
        os.rmdir(m / "d")
        assert not (m / "d").exists()
        assert errno_of(os.rmdir, m / "nope") == errno.ENOENT
        (m / "file").write_text("f")
        assert errno_of(os.rmdir, m / "file") == errno.ENOTDIR
    assert is_whiteout(layers.upper / "d")
    assert not os.path.lexists(layers.upper / "full")
    assert all(is_whiteout(p) for p in (layers.work / "work").iterdir())  # no leftovers


def test_rename_of_a_lower_file_leaves_a_whiteout_and_keeps_the_inode(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "data", "d": {}})
    with ovlfuse(layers) as m:
        ino = os.stat(m / "f").st_ino
        os.rename(m / "f", m / "d" / "g")
        assert os.stat(m / "d" / "g").st_ino == ino
        assert not (m / "f").exists()
    assert is_whiteout(layers.upper / "f")
    assert xattr(layers.upper / "d" / "g", ORIGIN) is not None
    assert xattr(layers.upper / "d", IMPURE) == b"y"
    with ovlfuse(layers) as m:
        assert os.stat(m / "d" / "g").st_ino == ino


def test_rename_of_lower_or_merged_dirs_is_exdev_without_redirect_dir(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"low": {"x": "1"}, "f": "x"}, upper={"pure": {"p": "1"}})
    with ovlfuse(layers) as m:
        assert errno_of(os.rename, m / "low", m / "moved") == errno.EXDEV
        assert errno_of(renameat2, m / "f", m / "low", RENAME_EXCHANGE) == errno.EXDEV
        os.rename(m / "pure", m / "pure2")
        assert (m / "pure2" / "p").read_text() == "1"
    assert not (layers.upper / "low").exists()  # EXDEV before any copy-up


def test_pure_upper_dir_moved_into_a_merged_parent_becomes_opaque(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"merged": {"x": "1"}, "target": {}})
    with ovlfuse(layers) as m:
        os.mkdir(m / "ud")
        os.rename(m / "ud", m / "merged" / "ud")
        os.mkdir(m / "ud2")
        os.rename(m / "ud2", m / "target")  # over an empty lower dir
        assert os.listdir(m / "target") == []
    assert xattr(layers.upper / "merged" / "ud", OPAQUE) == b"y"
    assert xattr(layers.upper / "target", OPAQUE) == b"y"


def test_rename_flags_noreplace_exchange_and_whiteout(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"a": "A", "b": "B", "gone": "g"})
    with ovlfuse(layers) as m:
        assert errno_of(renameat2, m / "a", m / "b", RENAME_NOREPLACE) == errno.EEXIST
        assert errno_of(renameat2, m / "a", m / "b", RENAME_WHITEOUT) == errno.EINVAL
        assert errno_of(renameat2, m / "a", m / "b",
                        RENAME_NOREPLACE | RENAME_EXCHANGE) == errno.EINVAL
        assert errno_of(renameat2, m / "a", m / "zz", RENAME_EXCHANGE) == errno.ENOENT
        renameat2(m / "a", m / "b", RENAME_EXCHANGE)
        assert ((m / "a").read_text(), (m / "b").read_text()) == ("B", "A")
        os.unlink(m / "gone")
        renameat2(m / "a", m / "gone", RENAME_NOREPLACE)  # over a whiteout: allowed
        assert (m / "gone").read_text() == "B"
        assert not (m / "a").exists()
        os.rename(m / "b", m / "b")  # same name: no-op
        assert errno_of(os.rename, m / "b", m / "nodir" / "x") == errno.ENOENT
    assert is_whiteout(layers.upper / "a")


def test_any_rename_between_two_names_of_one_upper_file_does_nothing(tmpfs: Path) -> None:
    """The VFS returns 0 for a rename onto another name of the same inode before the
    filesystem sees any flag, so RENAME_WHITEOUT, which the overlay refuses, is no error
    there (found by difftest, reports/ovlfuse-uuid-20261205/20261205-185840-uuid-on-fuse)."""
    layers = make_layers(tmpfs, {"low": "x"}, upper={"f": "data"})
    os.link(layers.upper / "f", layers.upper / "hl")
    with ovlfuse(layers) as m:
        for flags in (0, RENAME_NOREPLACE, RENAME_WHITEOUT):
            if flags != RENAME_NOREPLACE:
                renameat2(m / "f", m / "hl", flags)
        assert errno_of(renameat2, m / "f", m / "hl", RENAME_NOREPLACE) == errno.EEXIST
        assert (m / "f").read_text() == (m / "hl").read_text() == "data"
    assert os.lstat(layers.upper / "f").st_nlink == 2


def test_rename_type_mismatch_and_subtree_errors(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {}, upper={"d": {"sub": {}}, "e": {"x": "1"}, "f": "f"})
    with ovlfuse(layers) as m:
        assert errno_of(os.rename, m / "f", m / "d") == errno.EISDIR
        assert errno_of(os.rename, m / "d", m / "f") == errno.ENOTDIR
        assert errno_of(os.rename, m / "d", m / "d" / "sub" / "x") == errno.EINVAL
        assert errno_of(os.rename, m / "d", m / "e") == errno.ENOTEMPTY


def test_dir_rename_with_redirect_dir_on_sets_a_redirect(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"a": {"x": {"deep": "1"}}, "b": {}})
    with ovlfuse(layers, "exact,redirect_dir=on") as m:
        ino = os.stat(m / "a" / "x").st_ino
        os.rename(m / "a" / "x", m / "a" / "y")
        os.rename(m / "a", m / "b" / "a2")
        assert (m / "b" / "a2" / "y" / "deep").read_text() == "1"
        assert os.stat(m / "b" / "a2" / "y").st_ino == ino
        assert not (m / "a").exists()
    up = layers.upper
    assert xattr(up / "b" / "a2", REDIRECT) == b"/a"
    assert xattr(up / "b" / "a2" / "y", REDIRECT) == b"x"
    assert is_whiteout(up / "a")
    with ovlfuse(layers) as m:  # default follow mode reads the redirects
        assert (m / "b" / "a2" / "y" / "deep").read_text() == "1"
        assert errno_of(os.rename, m / "b" / "a2", m / "c") == errno.EXDEV


def test_listing_an_upper_dir_drops_an_impure_mark_nothing_needs(tmpfs: Path) -> None:
    """ovl_cache_get_impure: a listing of a non-merged upper dir marked impure whose entries
    all report their real st_ino removes the mark (found by the gate, 2026-12-03)."""
    layers = make_layers(tmpfs, {"a": {"x": {}}}, upper={"p": {}})
    with ovlfuse(layers, "exact,redirect_dir=on") as m:
        os.rename(m / "a" / "x", m / "p" / "x")
        assert xattr(layers.upper / "p", IMPURE) == b"y"
        os.listdir(m / "p")
        assert xattr(layers.upper / "p", IMPURE) == b"y"  # x keeps its lower st_ino
        os.rmdir(m / "p" / "x")
        os.listdir(m / "p")
    assert xattr(layers.upper / "p", IMPURE) is None


def test_rename_between_lower_hardlink_aliases_removes_the_source(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"h1": "same"})
    os.link(layers.lowers[0] / "h1", layers.lowers[0] / "h2")
    with ovlfuse(layers) as m:
        os.rename(m / "h1", m / "h2")
        assert sorted(os.listdir(m)) == ["h2"]


def test_rename_over_an_empty_merged_dir_clears_its_whiteouts(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"t": {"a": "1"}}, upper={"src": {"s": "1"}})
    with ovlfuse(layers) as m:
        os.unlink(m / "t" / "a")
        os.rename(m / "src", m / "t")
        assert os.listdir(m / "t") == ["s"]
    assert xattr(layers.upper / "t", OPAQUE) == b"y"
    assert sorted(os.listdir(layers.upper / "t")) == ["s"]


def test_whiteouts_inside_a_lower_only_dir_do_not_make_it_non_empty(tmpfs: Path) -> None:
    """ovl_check_empty_dir skips whiteouts of every layer; only a pure-upper dir is left to
    the upper fs (found by the interchange gate, 2026-12-03)."""
    layers = make_layers(tmpfs, {"d": {"w": ("whiteout",)}, "t": {"w": ("whiteout",)}},
                         upper={"a": {"y": "1"}})  # fmt: skip
    with ovlfuse(layers) as m:
        os.rename(m / "a", m / "t")
        assert os.listdir(m / "t") == ["y"]
        os.rmdir(m / "d")
        assert not (m / "d").exists()
    assert is_whiteout(layers.upper / "d")
    assert xattr(layers.upper / "t", OPAQUE) == b"y"


def test_rmdir_of_an_upper_dir_of_whiteouts_needs_a_lower_name_under_it(tmpfs: Path) -> None:
    """ovl_do_remove: over a lower name the upper whiteouts are cleared and the dir becomes
    a whiteout; with nothing below, the upper fs's rmdir(2) sees them: ENOTEMPTY (found by
    the interchange gate, 2026-12-03)."""
    layers = make_layers(tmpfs, {"c": "a lower file under the upper dir"},
                         upper={"c": {"z": ("whiteout",)}, "p": {"z": ("whiteout",)}})
    with ovlfuse(layers) as m:
        os.rmdir(m / "c")
        assert not (m / "c").exists()
        assert errno_of(os.rmdir, m / "p") == errno.ENOTEMPTY
    assert is_whiteout(layers.upper / "c")
    assert is_whiteout(layers.upper / "p" / "z")


def test_failed_rename_onto_a_full_upper_dir_keeps_the_opaque_mark_it_set(tmpfs: Path) -> None:
    """ovl_rename marks a pure-upper dir entering a merged parent opaque before the upper
    rename(2), whose ENOTEMPTY for a pure-upper target leaves the mark (kernel 6.18)."""
    layers = make_layers(tmpfs, {"lower-only": "x"},
                         upper={"a": {"y": "1"}, "c": {"y": "1"}})  # fmt: skip
    with ovlfuse(layers) as m:
        assert errno_of(os.rename, m / "a", m / "c") == errno.ENOTEMPTY
        assert sorted(os.listdir(m / "a")) == ["y"]
    assert xattr(layers.upper / "a", OPAQUE) == b"y"
    assert xattr(layers.upper / "c", OPAQUE) is None


# -- attributes and xattrs -------------------------------------------------------------------

def test_chmod_chown_truncate_utimens_copy_up_and_apply(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "0123456789", "same": "s", "d": {"x": "1"}})
    with ovlfuse(layers) as m:
        os.chmod(m / "f", 0o4710)
        os.chown(m / "f", 123, 456)
        os.truncate(m / "f", 4)
        os.utime(m / "f", ns=(1_000_000_123, 2_000_000_456))
        st = os.stat(m / "f")
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size) == \
            (0o710, 123, 456, 4)  # chown clears suid
        assert (st.st_atime_ns, st.st_mtime_ns) == (1_000_000_123, 2_000_000_456)
        assert (m / "f").read_bytes() == b"0123"
        os.chmod(m / "same", os.stat(m / "same").st_mode)  # same mode still copies up
        os.chown(m / "d" / "x", -1, -1)  # so does chown(-1, -1)
        os.chmod(m / "d", 0o700)  # a dir alone
    assert (layers.upper / "same").exists()
    assert os.listdir(layers.upper / "d") == ["x"]


def test_utimensat_copies_up_unless_both_times_are_omitted(tmpfs: Path) -> None:
    import ctypes

    layers = make_layers(tmpfs, {"f": "x", "g": "y"})
    libc = ctypes.CDLL(None, use_errno=True)
    omit = (ctypes.c_long * 4)(0, (1 << 30) - 2, 0, (1 << 30) - 2)  # UTIME_OMIT twice
    with ovlfuse(layers) as m:
        assert libc.utimensat(-100, bytes(m / "g"), omit, 0) == 0
        os.utime(m / "f", ns=(os.stat(m / "f").st_atime_ns, os.stat(m / "f").st_mtime_ns))
    assert (layers.upper / "f").exists()  # explicit (even unchanged) times copy up
    assert not (layers.upper / "g").exists()


def test_private_xattrs_are_hidden_and_escaped(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": ("opaque", {"x": "1"}), "f": "x"},
                         {"d": {"y": "2"}})
    os.setxattr(layers.lowers[0] / "f", "trusted.overlay.overlay.lowerx", b"esc")
    os.setxattr(layers.lowers[0] / "f", "user.plain", b"p")
    with ovlfuse(layers) as m:
        assert xattr(m / "d", OPAQUE) is None
        assert OPAQUE not in os.listxattr(m / "d")
        names = os.listxattr(m / "f")
        assert "trusted.overlay.lowerx" in names and "user.plain" in names
        assert os.getxattr(m / "f", "trusted.overlay.lowerx") == b"esc"
        os.setxattr(m / "f", "trusted.overlay.mine", b"v")
        assert os.getxattr(m / "f", "trusted.overlay.mine") == b"v"
        with pytest.raises(OSError) as e:
            os.setxattr(m / "f", "user.plain", b"x", os.XATTR_CREATE)
        assert e.value.errno == errno.EEXIST
        with pytest.raises(OSError) as e:
            os.setxattr(m / "f", "user.none", b"x", os.XATTR_REPLACE)
        assert e.value.errno == errno.ENODATA
    assert os.getxattr(layers.upper / "f", "trusted.overlay.overlay.mine") == b"v"
    assert os.getxattr(layers.upper / "f", "trusted.overlay.overlay.lowerx") == b"esc"
    assert os.getxattr(layers.upper / "f", "user.plain") == b"p"


def test_removexattr_of_a_missing_name_does_not_copy_up(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x", "g": "y"})
    os.setxattr(layers.lowers[0] / "g", "user.k", b"1")
    with ovlfuse(layers) as m:
        with pytest.raises(OSError) as e:
            os.removexattr(m / "f", "user.none")
        assert e.value.errno == errno.ENODATA
        os.removexattr(m / "g", "user.k")
        assert "user.k" not in os.listxattr(m / "g")
    assert not (layers.upper / "f").exists()
    assert (layers.upper / "g").exists()


def test_statfs_reports_the_upper_filesystem(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    with ovlfuse(layers) as m:
        ours, real = os.statvfs(m), os.statvfs(layers.upper)
        assert (ours.f_blocks, ours.f_bsize, ours.f_namemax) == \
            (real.f_blocks, real.f_bsize, real.f_namemax)


# -- read-only overlays ------------------------------------------------------------------------

def test_overlay_without_upper_is_read_only_with_kernel_errnos(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x", "d": {"a": "1"}}, {"d": {"b": "2"}},
                         with_upper=False)
    with ovlfuse(layers) as m:
        assert sorted(os.listdir(m / "d")) == ["a", "b"]
        assert errno_of(os.unlink, m / "missing") == errno.EROFS
        assert errno_of(os.mkdir, m / "d") == errno.EEXIST
        assert errno_of(os.mkdir, m / "new") == errno.EROFS
        assert errno_of(os.open, m / "f", os.O_WRONLY) == errno.EROFS
        assert errno_of(os.chmod, m / "f", 0o600) == errno.EROFS
        assert errno_of(os.rename, m / "f", m / "g") == errno.EROFS
        assert os.statvfs(m).f_flag & os.ST_RDONLY


def test_ro_option_with_an_upper_changes_nothing(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    with ovlfuse(layers, "exact,ro") as m:
        assert (m / "f").read_text() == "x"
        assert errno_of(os.unlink, m / "f") == errno.EROFS
    assert dump_upper(layers.upper) == {}


def test_redirect_dir_nofollow_refuses_redirected_dirs(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"a": {"x": "1"}})
    with ovlfuse(layers, "exact,redirect_dir=on") as m:
        os.rename(m / "a", m / "b")
    with ovlfuse(layers, "exact,redirect_dir=nofollow") as m:
        assert errno_of(os.stat, m / "b") == errno.EPERM
        assert not (m / "a").exists()


def test_metacopy_files_are_refused_without_metacopy_on(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"meta": "", "plain": "p"})
    os.setxattr(layers.lowers[0] / "meta", "trusted.overlay.metacopy", b"")
    with ovlfuse(layers) as m:
        assert errno_of(os.stat, m / "meta") == errno.EPERM
        assert errno_of(os.open, m / "meta", os.O_RDONLY) == errno.EPERM
        assert (m / "plain").read_text() == "p"


def test_userxattr_uses_the_user_overlay_namespace(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": {"x": "1"}, "f": "f"})
    with ovlfuse(layers, "exact,userxattr") as m:
        shutil.rmtree(m / "d")
        os.mkdir(m / "d")
        os.chmod(m / "f", 0o600)
        assert "user.overlay.opaque" not in os.listxattr(m / "d")
        assert errno_of(os.rename, m / "d", m / "e") == 0  # pure upper: may move
    assert xattr(layers.upper / "e", "user.overlay.opaque") == b"y"
    assert xattr(layers.upper / "f", "user.overlay.origin") is not None
    assert xattr(layers.upper / "f", ORIGIN) is None


def test_a_symlink_copied_up_without_origin_under_userxattr_still_makes_parents_impure(
    tmpfs: Path,
) -> None:
    """A symlink cannot carry user.overlay.origin, so only its name remembers the lower (it
    keeps the lower's st_ino): moving or linking it into another dir marks that dir impure,
    and a listing there keeps the mark while the name shows the lower's number; the new link
    shows the upper's, so a listing of its dir drops the needless mark (found by difftest,
    reports/ovlfuse-userxattr-20261205)."""
    impure = "user.overlay.impure"
    layers = make_layers(tmpfs, {"c": {"y": ("symlink", "x"), "z": ("symlink", "x")}},
                         upper={"a": {}, "b": {}})
    assert layers.upper is not None
    with ovlfuse(layers, "exact,userxattr") as m:
        lower_ino = os.lstat(m / "c" / "y").st_ino
        os.rename(m / "c" / "y", m / "a" / "y")
        os.link(m / "c" / "z", m / "b" / "z", follow_symlinks=False)
        assert [xattr(layers.upper / d, impure) for d in ("a", "b")] == [b"y", b"y"]
        assert os.lstat(m / "a" / "y").st_ino == lower_ino
        assert os.listdir(m / "a") == ["y"] and os.listdir(m / "b") == ["z"]
        assert [xattr(layers.upper / d, impure) for d in ("a", "b")] == [b"y", None]
    assert xattr(layers.upper / "a" / "y", "user.overlay.origin") is None


def test_a_whiteout_in_a_pure_upper_dir_is_listed_but_not_found(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"x": "1"}, upper={"c": ("opaque", {"y": ("whiteout",),
                                                                   "z": "z"})})
    with ovlfuse(layers) as m:
        assert sorted(os.listdir(m / "c")) == ["y", "z"]  # the kernel reads such dirs raw
        assert errno_of(os.stat, m / "c" / "y") == errno.ENOENT
        entries = {e.name: e for e in os.scandir(m / "c")}
        assert entries["y"].inode() == os.lstat(layers.upper / "c" / "y").st_ino
        os.unlink(m / "c" / "z")
        assert errno_of(os.rmdir, m / "c") == errno.ENOTEMPTY  # a listed whiteout counts


def test_flagged_setxattr_that_fails_still_copies_up(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"r": "x", "c": "y", "ok": "z"})
    os.setxattr(layers.lowers[0] / "c", "user.there", b"1")
    with ovlfuse(layers) as m:
        with pytest.raises(OSError) as e:
            os.setxattr(m / "r", "user.none", b"v", os.XATTR_REPLACE)
        assert e.value.errno == errno.ENODATA
        with pytest.raises(OSError) as e:
            os.setxattr(m / "c", "user.there", b"v", os.XATTR_CREATE)
        assert e.value.errno == errno.EEXIST
        os.getxattr(m / "c", "user.there")  # a plain getxattr does not copy up
    assert (layers.upper / "r").exists() and (layers.upper / "c").exists()
    assert not (layers.upper / "ok").exists()


def test_utime_now_sets_a_new_mtime_every_time(tmpfs: Path) -> None:
    """UTIME_NOW twice within one tick of the coarse clock still moves mtime (the kernel
    overlay writes fine-grained times; the FUSE module sends its coarse "now")."""
    layers = make_layers(tmpfs, {"f": "x"})
    with ovlfuse(layers) as m:
        f = m / "f"
        stuck = 0
        for _ in range(300):
            before = os.stat(f).st_mtime_ns
            os.listdir(m)
            os.utime(f)
            stuck += os.stat(f).st_mtime_ns == before
    assert stuck == 0, f"{stuck} of 300 UTIME_NOW calls left mtime as it was"
