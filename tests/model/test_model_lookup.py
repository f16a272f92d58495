"""Lookup across layers (catalogue §1): whiteouts, opaque dirs, non-dirs ending the stack,
redirects, xwhiteouts, and lookup's side effect on merged upper dirs."""

from __future__ import annotations

import errno

from ovl_helpers import OPQ, RDIR, D, F, L, W, errno_of, mount, names, up

from model.config import Config
from model.spec import XWHITEOUT, Entry


def test_upper_file_hides_lower_file() -> None:
    o = mount([F(b"f", b"lower")], upper=[F(b"f", b"upper!")])
    assert o.lstat(b"/f").size == 6


def test_leftmost_lower_is_on_top() -> None:
    o = mount([F(b"f", b"top")], [F(b"f", b"bottom!")])
    assert o.lstat(b"/f").size == 3


def test_dirs_in_all_layers_merge() -> None:
    o = mount([D(b"d"), F(b"d/a")], [D(b"d"), F(b"d/b")], upper=[D(b"d"), F(b"d/c")])
    assert names(o, b"/d") == {b"a", b"b", b"c"}


def test_whiteout_hides_lower_name() -> None:
    o = mount([F(b"f")], upper=[W(b"f")])
    assert errno_of(o.lstat, b"/f") == errno.ENOENT
    assert names(o, b"/") == set()


def test_whiteout_in_middle_layer_hides_the_layers_below() -> None:
    o = mount([D(b"g"), W(b"g/x")], [D(b"g"), F(b"g/x"), F(b"g/y")])
    assert names(o, b"/g") == {b"y"}


def test_non_dir_in_middle_layer_ends_the_merge() -> None:
    # §1 t14 "b": a dir in L0 and L2 with a file in L1: only L0's dir.
    o = mount([D(b"b"), F(b"b/top")], [F(b"b")], [D(b"b"), F(b"b/bottom")])
    assert names(o, b"/b") == {b"top"}


def test_opaque_dir_stops_the_merge_below_it() -> None:
    o = mount([D(b"c"), F(b"c/a")], [OPQ(b"c"), F(b"c/b")], [D(b"c"), F(b"c/z")])
    assert names(o, b"/c") == {b"a", b"b"}


def test_only_exact_y_makes_a_dir_opaque() -> None:
    for value in (b"n", b"yes", b"x"):
        o = mount([D(b"d"), F(b"d/low")], upper=[OPQ(b"d", value)])
        assert names(o, b"/d") == {b"low"}, value
    o = mount([D(b"d"), F(b"d/low")], upper=[OPQ(b"d")])
    assert names(o, b"/d") == set()


def test_upper_dir_over_lower_symlink_is_pure_upper() -> None:
    o = mount([L(b"h", b"x")], upper=[D(b"h")])
    assert o.lstat(b"/h").nlink == 2  # not merged: the real dir's nlink


def test_char_device_other_than_0_0_is_an_ordinary_device() -> None:
    o = mount([F(b"f")], upper=[Entry(b"f", "chr", 0o644, rdev=1)])
    assert o.lstat(b"/f").rdev == 1


def test_relative_redirect_looks_up_the_lower_dir_under_another_name() -> None:
    o = mount([D(b"a"), F(b"a/x")], upper=[RDIR(b"b", b"a"), W(b"a")])
    assert names(o, b"/b") == {b"x"}


def test_absolute_redirect_is_resolved_from_the_lower_roots() -> None:
    o = mount([D(b"p"), D(b"p/q"), F(b"p/q/x")], upper=[D(b"n"), RDIR(b"n/m", b"/p/q")])
    assert names(o, b"/n/m") == {b"x"}


def test_redirect_with_nofollow_gives_eperm() -> None:
    o = mount(
        [D(b"a"), F(b"a/x")],
        upper=[RDIR(b"b", b"a")],
        config=Config(redirect_dir="nofollow"),
    )
    assert errno_of(o.lstat, b"/b") == errno.EPERM


def test_xwhiteout_in_lower_hides_name_from_lookup() -> None:
    xw = Entry(b"d/gone", "reg", 0o644, xattrs=((XWHITEOUT, b""),))
    o = mount([D(b"d"), xw], [D(b"d"), F(b"d/gone")])
    assert errno_of(o.lstat, b"/d/gone") == errno.ENOENT


def test_xwhiteout_in_upper_is_listed_but_not_found() -> None:
    xw = Entry(b"d/gone", "reg", 0o644, xattrs=((XWHITEOUT, b""),))
    o = mount([D(b"d"), F(b"d/gone")], upper=[D(b"d"), xw])
    assert b"gone" in names(o, b"/d")
    assert errno_of(o.lstat, b"/d/gone") == errno.ENOENT


def test_lookup_of_merged_upper_dir_writes_origin_and_parent_impure() -> None:
    o = mount([D(b"d")], upper=[D(b"d")])
    assert not up(o, b"/d").origin  # type: ignore[union-attr]
    o.lstat(b"/d")
    assert up(o, b"/d").origin  # type: ignore[union-attr]
    assert up(o, b"/").impure  # type: ignore[union-attr]


def test_lookup_side_effect_also_on_a_ro_mount() -> None:
    o = mount([D(b"d")], upper=[D(b"d")], config=Config(ro=True))
    o.stat(b"/d")
    assert up(o, b"/d").origin  # type: ignore[union-attr]
