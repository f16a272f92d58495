"""rename / renameat2 (catalogue §2.9)."""

from __future__ import annotations

import errno

from ovl_helpers import OPQ, USER, D, F, H, W, errno_of, mount, names, up

from model.config import Config

NOREPLACE, EXCHANGE, WHITEOUT = 1, 2, 4
ON = Config(redirect_dir="on")


def test_rename_of_pure_upper_file_leaves_no_whiteout() -> None:
    o = mount([], upper=[F(b"a")])
    o.rename(b"/a", b"/b")
    assert up(o, b"/a") is None and up(o, b"/b") is not None


def test_rename_of_lower_file_copies_up_with_origin_and_whites_out_the_old_name() -> None:
    o = mount([F(b"a", b"x")])
    o.rename(b"/a", b"/b")
    assert up(o, b"/a").kind == "whiteout"  # type: ignore[union-attr]
    assert up(o, b"/b").origin  # type: ignore[union-attr]


def test_rename_of_lower_or_merged_dir_is_exdev_before_any_copy_up() -> None:
    o = mount([D(b"p"), D(b"p/d")], upper=[])
    assert errno_of(o.rename, b"/p/d", b"/p/e") == errno.EXDEV
    assert up(o, b"/p") is None


def test_exdev_wins_over_enotempty() -> None:
    o = mount([D(b"d"), D(b"t"), F(b"t/x")])
    assert errno_of(o.rename, b"/d", b"/t") == errno.EXDEV


def test_pure_upper_dir_moved_into_merged_parent_becomes_opaque() -> None:
    o = mount([D(b"m")], upper=[D(b"m"), D(b"u")])
    o.rename(b"/u", b"/m/u")
    assert up(o, b"/m/u").opaque == b"y"  # type: ignore[union-attr]


def test_pure_upper_dir_over_empty_lower_dir_is_opaque_and_over_non_empty_enotempty() -> None:
    o = mount([D(b"e"), D(b"n"), F(b"n/f")], upper=[D(b"u"), D(b"v")])
    o.rename(b"/u", b"/e")
    assert up(o, b"/e").opaque == b"y"  # type: ignore[union-attr]
    assert names(o, b"/e") == set()
    assert errno_of(o.rename, b"/v", b"/n") == errno.ENOTEMPTY


def test_rename_to_the_same_name_is_a_no_op() -> None:
    o = mount([F(b"a")])
    o.rename(b"/a", b"/a")
    assert up(o, b"/a") is None


def test_file_over_dir_is_eisdir_and_dir_over_file_enotdir() -> None:
    o = mount([], upper=[F(b"f"), D(b"d")])
    assert errno_of(o.rename, b"/f", b"/d") == errno.EISDIR
    assert errno_of(o.rename, b"/d", b"/f") == errno.ENOTDIR


def test_noreplace_onto_existing_is_eexist_and_onto_whiteout_works() -> None:
    o = mount([F(b"w")], upper=[F(b"a"), F(b"b"), W(b"w")])
    assert errno_of(o.rename, b"/a", b"/b", NOREPLACE) == errno.EEXIST
    o.rename(b"/a", b"/w", NOREPLACE)
    assert up(o, b"/w").kind == "reg"  # type: ignore[union-attr]


def test_exchange_swaps_lower_files_and_leaves_no_whiteout() -> None:
    o = mount([F(b"a", b"A"), F(b"b", b"BB")])
    o.rename(b"/a", b"/b", EXCHANGE)
    assert o.lstat(b"/a").size == 2 and o.lstat(b"/b").size == 1
    assert {up(o, p).kind for p in (b"/a", b"/b")} == {"reg"}  # type: ignore[union-attr]


def test_exchange_with_missing_name_is_enoent_and_with_lower_dir_exdev() -> None:
    o = mount([D(b"d")], upper=[F(b"f")])
    assert errno_of(o.rename, b"/f", b"/x", EXCHANGE) == errno.ENOENT
    assert errno_of(o.rename, b"/f", b"/d", EXCHANGE) == errno.EXDEV


def test_rename_whiteout_flag_is_einval_for_root_and_others() -> None:
    o = mount([], upper=[F(b"a"), D(b"w", 0o777)])
    assert errno_of(o.rename, b"/a", b"/b", WHITEOUT) == errno.EINVAL
    o.mknod(b"/w/f", 0o100644, cred=USER)
    assert errno_of(o.rename, b"/w/f", b"/w/g", WHITEOUT, cred=USER) == errno.EINVAL


def test_dir_into_its_own_subdir_is_einval() -> None:
    o = mount([], upper=[D(b"d"), D(b"d/s")])
    assert errno_of(o.rename, b"/d", b"/d/s/x") == errno.EINVAL
    assert errno_of(o.rename, b"/d/s", b"/d") == errno.ENOTEMPTY


def test_redirect_dir_on_same_dir_rename_records_the_bare_old_name() -> None:
    o = mount([D(b"a"), F(b"a/x")], config=ON)
    o.rename(b"/a", b"/b")
    e = up(o, b"/b")
    assert e is not None and e.redirect == b"a" and e.origin
    assert up(o, b"/a").kind == "whiteout"  # type: ignore[union-attr]
    assert names(o, b"/b") == {b"x"}


def test_redirect_dir_on_cross_dir_rename_records_the_absolute_path() -> None:
    o = mount([D(b"p"), D(b"p/a"), F(b"p/a/x"), D(b"q")], config=ON)
    o.rename(b"/p/a", b"/q/a")
    assert up(o, b"/q/a").redirect == b"/p/a"  # type: ignore[union-attr]
    assert up(o, b"/q").impure  # type: ignore[union-attr]
    assert names(o, b"/q/a") == {b"x"}


def test_moving_a_dir_back_keeps_its_redirect() -> None:
    o = mount([D(b"a")], config=ON)
    o.rename(b"/a", b"/b")
    o.rename(b"/b", b"/a")
    assert up(o, b"/a").redirect == b"a"  # type: ignore[union-attr]


def test_redirect_longer_than_redirect_max_is_exdev_after_copy_up() -> None:
    deep = b"d" * 200
    o = mount([D(deep), D(deep + b"/" + b"e" * 60), D(b"t")], config=ON)
    src = b"/" + deep + b"/" + b"e" * 60
    assert errno_of(o.rename, src, b"/t/x") == errno.EXDEV
    assert up(o, src) is not None  # the copy-up stays


def test_exchange_of_two_lower_dirs_with_redirect_on() -> None:
    o = mount([D(b"a"), F(b"a/x"), D(b"b"), F(b"b/y")], config=ON)
    o.rename(b"/a", b"/b", EXCHANGE)
    assert up(o, b"/a").redirect == b"b" and up(o, b"/b").redirect == b"a"  # type: ignore[union-attr]
    assert names(o, b"/a") == {b"y"} and names(o, b"/b") == {b"x"}


def test_hardlink_pitfall_index_off_rename_between_aliases_removes_source() -> None:
    o = mount([F(b"h1", b"x"), H(b"h2", b"h1")])
    o.rename(b"/h1", b"/h2")
    assert errno_of(o.lstat, b"/h1") == errno.ENOENT
    assert up(o, b"/h1").kind == "whiteout"  # type: ignore[union-attr]
    assert up(o, b"/h2").kind == "reg"  # type: ignore[union-attr]


def test_hardlink_aliases_with_index_on_rename_is_a_no_op() -> None:
    o = mount([F(b"h1", b"x"), H(b"h2", b"h1")], config=Config(index=True))
    o.rename(b"/h1", b"/h2")
    assert o.lstat(b"/h1").ino == o.lstat(b"/h2").ino
    assert up(o, b"/h1") is None


def test_rename_over_a_whited_out_dir_name_by_a_dir_removes_the_whiteout() -> None:
    o = mount([D(b"x")], upper=[W(b"x"), D(b"u")])
    o.rename(b"/u", b"/x")
    assert up(o, b"/u") is None
    assert up(o, b"/x").kind == "dir"  # type: ignore[union-attr]


def test_rename_of_opaque_dir_keeps_its_opaque() -> None:
    o = mount([D(b"m")], upper=[D(b"m"), OPQ(b"o")])
    o.rename(b"/o", b"/m/o")
    assert up(o, b"/m/o").opaque == b"y"  # type: ignore[union-attr]
