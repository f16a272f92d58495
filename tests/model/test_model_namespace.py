"""Creating and removing names: whiteouts, opaque dirs, emptiness on the merged view
(catalogue §2.5–§2.8)."""

from __future__ import annotations

import errno
import os
import stat

from ovl_helpers import OPQ, D, F, W, errno_of, mount, names, up

from model.config import Config


def test_unlink_of_lower_file_leaves_whiteout_in_upper() -> None:
    o = mount([D(b"d"), F(b"d/f")])
    o.unlink(b"/d/f")
    assert up(o, b"/d/f").kind == "whiteout"  # type: ignore[union-attr]
    assert errno_of(o.lstat, b"/d/f") == errno.ENOENT


def test_unlink_of_copied_up_file_leaves_whiteout() -> None:
    o = mount([F(b"f")])
    o.chmod(b"/f", 0o600)
    o.unlink(b"/f")
    assert up(o, b"/f").kind == "whiteout"  # type: ignore[union-attr]


def test_unlink_of_pure_upper_file_leaves_no_whiteout() -> None:
    o = mount([], upper=[F(b"f")])
    o.unlink(b"/f")
    assert up(o, b"/f") is None


def test_unlink_of_upper_file_over_a_lower_whiteout_leaves_no_whiteout() -> None:
    # The parent's lower stack has a whiteout under the name: not lower-positive.
    o = mount([W(b"f")], [F(b"f")], upper=[F(b"f")])
    o.unlink(b"/f")
    assert up(o, b"/f") is None


def test_rmdir_of_lower_dir_leaves_whiteout() -> None:
    o = mount([D(b"d")])
    o.rmdir(b"/d")
    assert up(o, b"/d").kind == "whiteout"  # type: ignore[union-attr]


def test_rmdir_of_non_empty_merged_dir_is_enotempty_before_any_copy_up() -> None:
    o = mount([D(b"a"), D(b"a/d"), F(b"a/d/f")])
    assert errno_of(o.rmdir, b"/a/d") == errno.ENOTEMPTY
    assert up(o, b"/a") is None


def test_rmdir_of_merged_dir_holding_only_whiteouts_leaves_a_single_whiteout() -> None:
    o = mount([D(b"d"), F(b"d/f")], upper=[D(b"d"), W(b"d/f")])
    o.rmdir(b"/d")
    assert up(o, b"/d").kind == "whiteout"  # type: ignore[union-attr]
    assert up(o, b"/d/f") is None


def test_rmdir_of_pure_upper_dir_holding_a_whiteout_is_enotempty() -> None:
    # The real fs refuses: pure upper dirs are removed by the upper fs's rmdir.
    o = mount([], upper=[D(b"d"), W(b"d/w")])
    assert errno_of(o.rmdir, b"/d") == errno.ENOTEMPTY


def test_rmdir_of_opaque_dir_created_over_whiteout_becomes_whiteout_again() -> None:
    o = mount([D(b"d"), F(b"d/f")])
    o.unlink(b"/d/f")
    o.rmdir(b"/d")
    o.mkdir(b"/d", 0o755)
    assert up(o, b"/d").opaque == b"y"  # type: ignore[union-attr]
    o.rmdir(b"/d")
    assert up(o, b"/d").kind == "whiteout"  # type: ignore[union-attr]


def test_mkdir_over_whiteout_makes_an_opaque_dir() -> None:
    o = mount([D(b"d"), F(b"d/f")], upper=[W(b"d")])
    o.mkdir(b"/d", 0o755)
    assert up(o, b"/d").opaque == b"y"  # type: ignore[union-attr]
    assert names(o, b"/d") == set()


def test_mkdir_in_merged_parent_is_not_opaque_by_default() -> None:
    o = mount([D(b"p")], upper=[D(b"p")])
    o.mkdir(b"/p/new", 0o755)
    assert up(o, b"/p/new").opaque is None  # type: ignore[union-attr]


def test_mkdir_in_merged_parent_is_opaque_when_offline_changes_are_not_allowed() -> None:
    for config in (Config(index=True), Config(redirect_dir="on")):
        o = mount([D(b"p")], upper=[D(b"p")], config=config)
        o.mkdir(b"/p/new", 0o755)
        assert up(o, b"/p/new").opaque == b"y", config  # type: ignore[union-attr]


def test_mkdir_in_lower_only_parent_copies_up_the_parent_chain() -> None:
    o = mount([D(b"a"), D(b"a/b")])
    o.mkdir(b"/a/b/c", 0o700)
    assert up(o, b"/a/b").origin  # type: ignore[union-attr]
    assert up(o, b"/a/b/c").mode == 0o700  # type: ignore[union-attr]


def test_mkdir_of_existing_name_is_eexist() -> None:
    o = mount([D(b"d")])
    assert errno_of(o.mkdir, b"/d", 0o755) == errno.EEXIST


def test_create_over_whiteout_replaces_it() -> None:
    o = mount([F(b"f", b"old")], upper=[W(b"f")])
    o.close(o.open(b"/f", os.O_WRONLY | os.O_CREAT, 0o600))
    e = up(o, b"/f")
    assert e is not None and e.kind == "reg" and e.mode == 0o600 and not e.origin


def test_new_objects_get_no_overlay_xattrs_and_the_callers_owner() -> None:
    from ovl_helpers import USER

    o = mount([D(b"d", 0o777)], upper=[D(b"d", 0o777)])
    o.symlink(b"t", b"/d/s", cred=USER)
    o.mknod(b"/d/p", stat.S_IFIFO | 0o644, cred=USER)
    for p, mode in ((b"/d/s", 0o777), (b"/d/p", 0o644)):
        e = up(o, p)
        assert e is not None and (e.uid, e.gid, e.mode) == (1000, 1000, mode)
        assert not e.origin and e.opaque is None


def test_mknod_of_a_whiteout_through_the_overlay_is_eperm() -> None:
    o = mount([])
    assert errno_of(o.mknod, b"/w", stat.S_IFCHR, 0) == errno.EPERM
    o.mknod(b"/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    assert o.lstat(b"/null").rdev == os.makedev(1, 3)


def test_mknod_of_a_directory_is_eperm() -> None:
    o = mount([])
    assert errno_of(o.mknod, b"/x", stat.S_IFDIR | 0o755) == errno.EPERM


def test_file_in_setgid_dir_takes_the_dirs_group_and_dirs_inherit_setgid() -> None:
    from ovl_helpers import USER

    o = mount([], upper=[D(b"g", 0o2777, gid=50)])
    o.mkdir(b"/g/sub", 0o755, cred=USER)
    o.symlink(b"t", b"/g/l", cred=USER)
    assert (up(o, b"/g/sub").gid, up(o, b"/g/sub").mode) == (50, 0o2755)  # type: ignore[union-attr]
    assert up(o, b"/g/l").gid == 50  # type: ignore[union-attr]


def test_whiteout_creation_changes_the_upper_parents_mtime() -> None:
    o = mount([D(b"d"), F(b"d/f")])
    before = o.lstat(b"/d").mtime
    o.unlink(b"/d/f")
    assert o.lstat(b"/d").mtime != before


def test_link_of_a_directory_is_eperm_and_link_to_existing_is_eexist() -> None:
    o = mount([D(b"d"), F(b"f")])
    assert errno_of(o.link, b"/d", b"/e") == errno.EPERM
    assert errno_of(o.link, b"/f", b"/d") == errno.EEXIST
    assert errno_of(o.link, b"/missing", b"/e") == errno.ENOENT


def test_opaque_dir_removed_then_parent_lists_nothing_of_it() -> None:
    o = mount([D(b"d"), F(b"d/f")], upper=[OPQ(b"d")])
    o.rmdir(b"/d")
    assert b"d" not in names(o, b"/")
