"""stat: attributes from the providing layer, st_nlink and st_ino rules (catalogue §2.1,
§3)."""

from __future__ import annotations

import os

from ovl_helpers import D, F, H, mount, up

from model.config import Config


def test_merged_dir_nlink_is_1() -> None:
    o = mount([D(b"d"), D(b"d/s")], upper=[D(b"d")])
    assert o.lstat(b"/d").nlink == 1


def test_dir_merged_from_two_lowers_has_nlink_1() -> None:
    o = mount([D(b"d")], [D(b"d")])
    assert o.lstat(b"/d").nlink == 1


def test_lower_only_dir_shows_real_nlink_and_becomes_1_after_copy_up() -> None:
    o = mount([D(b"d"), D(b"d/s1"), D(b"d/s2"), F(b"d/f")])
    assert o.lstat(b"/d").nlink == 4  # tmpfs: 2 + subdirs
    o.chmod(b"/d", 0o700)
    assert o.lstat(b"/d").nlink == 1


def test_pure_upper_dir_shows_real_nlink() -> None:
    o = mount([], upper=[D(b"u"), D(b"u/a")])
    assert o.lstat(b"/u").nlink == 3


def test_root_is_merged_and_shows_upper_root_ino() -> None:
    o = mount([D(b"d")])
    st = o.lstat(b"/")
    assert st.nlink == 1
    assert st.ino == o.fs.upper.root.ino  # type: ignore[union-attr]


def test_root_without_upper_shows_top_lower_root_ino() -> None:
    o = mount([D(b"d")], [D(b"e")], upper=None)
    assert o.lstat(b"/").ino == o.fs.lowers[0].root.ino


def test_metadata_of_merged_dir_comes_from_upper() -> None:
    o = mount([D(b"d", 0o700, uid=5)], upper=[D(b"d", 0o755, uid=7)])
    st = o.lstat(b"/d")
    assert (st.mode & 0o777, st.uid) == (0o755, 7)


def test_st_ino_kept_across_copy_up_of_a_file_with_nlink_1() -> None:
    o = mount([F(b"f", b"x")])
    before = o.lstat(b"/f").ino
    o.chmod(b"/f", 0o600)
    assert o.lstat(b"/f").ino == before
    assert up(o, b"/f").origin  # type: ignore[union-attr]


def test_st_ino_changes_at_copy_up_of_hardlinked_lower_with_index_off() -> None:
    o = mount([F(b"f", b"x"), H(b"g", b"f")])
    before = o.lstat(b"/f").ino
    assert o.lstat(b"/g").ino == before
    o.chmod(b"/f", 0o600)
    assert o.lstat(b"/f").ino != before
    assert o.lstat(b"/g").ino == before
    assert not up(o, b"/f").origin  # type: ignore[union-attr]


def test_merged_dir_ino_is_the_top_lower_dirs_and_survives_remount() -> None:
    o = mount([D(b"d")], [D(b"d")], upper=[D(b"d")])
    ino = o.lstat(b"/d").ino
    assert ino == o.fs.lowers[0].root.children[b"d"].ino  # type: ignore[index]
    o.remount()
    assert o.lstat(b"/d").ino == ino


def test_object_created_over_a_whiteout_has_its_upper_ino() -> None:
    o = mount([F(b"f")])
    lower_ino = o.lstat(b"/f").ino
    o.unlink(b"/f")
    fd = o.open(b"/f", os.O_WRONLY | os.O_CREAT, 0o644)
    o.close(fd)
    assert o.lstat(b"/f").ino != lower_ino


def test_stat_follows_symlinks_lstat_does_not() -> None:
    from ovl_helpers import L

    o = mount([F(b"f", b"abc"), L(b"l", b"f")])
    assert o.stat(b"/l").size == 3
    assert o.lstat(b"/l").size == 1  # the target's length


def test_mtime_is_preserved_by_copy_up() -> None:
    o = mount([F(b"f", b"x")])
    m = o.lstat(b"/f").mtime
    o.chmod(b"/f", 0o600)
    assert o.lstat(b"/f").mtime == m


def test_index_on_keeps_st_ino_of_a_copied_up_hard_link() -> None:
    o = mount([F(b"f", b"x"), H(b"g", b"f")], config=Config(index=True))
    before = o.lstat(b"/f").ino
    o.chmod(b"/f", 0o600)
    assert o.lstat(b"/f").ino == before == o.lstat(b"/g").ino


def test_a_removed_dir_seen_through_an_open_handle_has_nlink_0_unless_merged() -> None:
    """The removed real dir's nlink is 0; a merged dir still shows 1 (``ovl_getattr``
    overrides it), a lower-only one its lower's (found by difftest, 3 lowers, 6.18)."""
    opaque = D(b"d", xattrs=((b"trusted.overlay.opaque", b"y"),))
    for upper, lowers, want in (
        ([D(b"d")], [F(b"x")], 0),  # pure upper
        ([opaque], [D(b"d")], 0),  # opaque over a lower dir: not merged
        ([D(b"d")], [D(b"d")], 1),  # merged
        ([], [D(b"d")], 2),  # lower only: whited out, the lower dir is untouched
    ):
        o = mount(lowers, upper=upper)
        fd = o.open(b"/d", os.O_RDONLY | os.O_DIRECTORY)
        o.rmdir(b"/d")
        assert o.fstat(fd).nlink == want, (upper, lowers)


def test_an_empty_dir_renamed_over_has_nlink_0_through_an_open_handle() -> None:
    o = mount([F(b"x")], upper=[D(b"d"), D(b"e")])
    fd = o.open(b"/d", os.O_RDONLY | os.O_DIRECTORY)
    o.rename(b"/e", b"/d")
    assert o.fstat(fd).nlink == 0
