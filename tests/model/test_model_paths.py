"""Path walk: length limits, trailing slashes, ``.``/``..``, symlinks, odd names."""

from __future__ import annotations

import errno
import os

from ovl_helpers import D, F, L, errno_of, mount, names, up


def test_name_of_256_bytes_is_enametoolong_and_255_is_fine() -> None:
    o = mount([])
    assert errno_of(o.mkdir, b"/" + b"n" * 256, 0o755) == errno.ENAMETOOLONG
    o.mkdir(b"/" + b"n" * 255, 0o755)
    assert errno_of(o.lstat, b"/" + b"m" * 256) == errno.ENAMETOOLONG


def test_path_of_4096_bytes_is_enametoolong() -> None:
    o = mount([])
    assert errno_of(o.lstat, b"/" + b"a/" * 2048) == errno.ENAMETOOLONG


def test_path_limit_counts_the_string_given_from_the_root_without_its_slash() -> None:
    o = mount([])
    assert errno_of(o.lstat, b"/" + b"a/" * 2047 + b"b") == errno.ENOENT  # a/.../b: 4095
    assert errno_of(o.lstat, b"/" + b"a/" * 2047 + b"bc") == errno.ENAMETOOLONG  # 4096


def test_open_flags_are_refused_before_the_path_is_read() -> None:
    """do_sys_openat2 runs build_open_flags before getname: O_CREAT|O_DIRECTORY is EINVAL
    even with a path of PATH_MAX bytes (found by difftest against the kernel)."""
    o = mount([])
    too_long = b"/" + b"a/" * 2048
    assert errno_of(o.open, too_long, os.O_RDONLY) == errno.ENAMETOOLONG
    assert errno_of(o.open, too_long, os.O_CREAT | os.O_DIRECTORY) == errno.EINVAL


def test_trailing_slash_on_a_file_is_enotdir_and_fine_on_a_dir() -> None:
    o = mount([F(b"f"), D(b"d")])
    assert errno_of(o.lstat, b"/f/") == errno.ENOTDIR
    assert o.lstat(b"/d/").is_dir
    assert errno_of(o.unlink, b"/f/") == errno.ENOTDIR
    assert errno_of(o.open, b"/f/", os.O_RDONLY) == errno.ENOTDIR
    o.rmdir(b"/d/")


def test_dot_and_dotdot_as_last_component() -> None:
    o = mount([], upper=[D(b"d"), D(b"d/s")])
    assert errno_of(o.rmdir, b"/d/.") == errno.EINVAL
    assert errno_of(o.rmdir, b"/d/s/..") == errno.ENOTEMPTY
    assert errno_of(o.unlink, b"/d/.") == errno.EISDIR
    assert errno_of(o.rename, b"/d/.", b"/e") == errno.EBUSY
    assert errno_of(o.rename, b"/d", b"/d/s/..") == errno.EBUSY
    assert errno_of(o.mkdir, b"/d/.", 0o755) == errno.EEXIST
    assert o.lstat(b"/d/s/..").ino == o.lstat(b"/d").ino


def test_root_as_the_mountpoint() -> None:
    o = mount([])
    o.rename(b"/", b"/")  # the same inode: nothing happens
    assert errno_of(o.rename, b"/", b"/x") == errno.EXDEV
    assert errno_of(o.rmdir, b"/") == errno.EBUSY
    assert errno_of(o.unlink, b"/") == errno.EISDIR


def test_symlinks_are_followed_in_the_middle_and_at_the_end_on_request() -> None:
    o = mount([D(b"d"), F(b"d/f", b"xyz"), L(b"l", b"d"), L(b"lf", b"d/f")])
    assert o.lstat(b"/l/f").size == 3
    assert o.stat(b"/lf").size == 3
    assert o.readlink(b"/lf") == b"d/f"
    assert errno_of(o.readlink, b"/d/f") == errno.EINVAL


def test_symlink_loop_is_eloop() -> None:
    o = mount([L(b"loop", b"loop"), L(b"a", b"b"), L(b"b", b"a")])
    assert errno_of(o.stat, b"/loop") == errno.ELOOP
    assert errno_of(o.stat, b"/a/x") == errno.ELOOP


def test_open_nofollow_on_a_symlink_is_eloop() -> None:
    o = mount([F(b"f"), L(b"l", b"f")])
    assert errno_of(o.open, b"/l", os.O_RDONLY | os.O_NOFOLLOW) == errno.ELOOP


def test_open_creat_through_a_dangling_symlink_creates_the_target() -> None:
    o = mount([D(b"d"), L(b"d/l", b"new")])
    o.close(o.open(b"/d/l", os.O_WRONLY | os.O_CREAT, 0o600))
    assert up(o, b"/d/new").kind == "reg"  # type: ignore[union-attr]
    assert errno_of(o.open, b"/d/l", os.O_WRONLY | os.O_CREAT | os.O_EXCL) == errno.EEXIST


def test_absolute_symlink_targets_point_outside_the_mount() -> None:
    o = mount([D(b"d"), L(b"abs", b"/d")])
    assert errno_of(o.stat, b"/abs") == errno.ENOENT


def test_non_utf8_and_whiteout_looking_names_are_ordinary() -> None:
    o = mount([F(b"\xff\xfe"), F(b".wh.a"), F(b"a")])
    assert names(o, b"/") == {b"\xff\xfe", b".wh.a", b"a"}
    o.mkdir(b"/.wh.x", 0o755)
    assert up(o, b"/.wh.x").kind == "dir"  # type: ignore[union-attr]


def test_o_creat_with_trailing_slash_is_eisdir_and_o_directory_on_file_enotdir() -> None:
    o = mount([F(b"f"), D(b"d")])
    assert errno_of(o.open, b"/x/", os.O_CREAT | os.O_WRONLY) == errno.EISDIR
    assert errno_of(o.open, b"/f", os.O_DIRECTORY) == errno.ENOTDIR
    assert errno_of(o.open, b"/d", os.O_WRONLY) == errno.EISDIR
    assert errno_of(o.open, b"/d", os.O_CREAT | os.O_RDONLY) == errno.EISDIR


def test_a_trailing_slash_after_a_symlink_demands_a_directory_at_its_end() -> None:
    """open("link/") follows the link and still needs a directory: a symlink to a regular
    file is ENOTDIR (``LOOKUP_DIRECTORY`` stays set across the link; checked on 6.18)."""
    o = mount([L(b"c", b"a"), F(b"a")])
    assert errno_of(o.open, b"/c/", os.O_RDONLY) == errno.ENOTDIR
