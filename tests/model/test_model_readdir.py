"""readdir: merged listings, the per-handle cache, lseek, d_type/d_ino (catalogue §2.2)."""

from __future__ import annotations

import errno
import os

from ovl_helpers import D, F, L, W, errno_of, mount, names, up

from model.layer import DTYPE


def test_merged_listing_is_the_union_minus_whiteouts_with_dots_once() -> None:
    o = mount([D(b"d"), F(b"d/a"), F(b"d/b")], upper=[D(b"d"), W(b"d/a"), F(b"d/c")])
    listing = [e.name for e in o.readdir(b"/d")]
    assert sorted(listing) == [b".", b"..", b"b", b"c"]


def test_first_layer_decides_d_type() -> None:
    o = mount([D(b"d"), D(b"d/x")], upper=[D(b"d"), L(b"d/x", b"t")])
    types = {e.name: e.d_type for e in o.readdir(b"/d")}
    assert types[b"x"] == DTYPE["lnk"]
    assert types[b"."] == types[b".."] == DTYPE["dir"]


def test_real_dir_lists_whiteouts_raw() -> None:
    # A bottom-layer-only directory is read straight from the real dir.
    o = mount([D(b"d"), W(b"d/w"), F(b"d/f")], [D(b"e")], upper=None)
    assert names(o, b"/d") == {b"w", b"f"}


def test_d_ino_equals_st_ino() -> None:
    o = mount([D(b"d"), F(b"d/a")], upper=[D(b"d"), F(b"d/b")])
    o.chmod(b"/d/a", 0o600)
    for e in o.readdir(b"/d"):
        if e.name not in (b".", b".."):
            assert e.ino == o.lstat(b"/d/" + e.name).ino
    dot = {e.name: e.ino for e in o.readdir(b"/d")}
    assert dot[b"."] == o.lstat(b"/d").ino
    assert dot[b".."] == o.lstat(b"/").ino


def test_merged_dir_handle_caches_until_lseek_to_0() -> None:
    o = mount([D(b"d"), F(b"d/a")], upper=[D(b"d")])
    fd = o.open(b"/d", os.O_RDONLY | os.O_DIRECTORY)
    assert {e.name for e in o.getdents(fd)} == {b".", b"..", b"a"}
    o.mknod(b"/d/new", 0o100644)
    assert o.getdents(fd) == []
    assert o.lseek(fd, 0, os.SEEK_SET) == 0
    assert b"new" in {e.name for e in o.getdents(fd)}


def test_merged_dir_seek_end_is_einval() -> None:
    o = mount([D(b"d")], upper=[D(b"d")])
    fd = o.open(b"/d", os.O_RDONLY | os.O_DIRECTORY)
    assert errno_of(o.lseek, fd, 0, os.SEEK_END) == errno.EINVAL
    assert errno_of(o.lseek, fd, -1, os.SEEK_SET) == errno.EINVAL


def test_real_dir_handle_reads_to_end_then_nothing_until_seek() -> None:
    o = mount([], upper=[D(b"u")])
    fd = o.open(b"/u", os.O_RDONLY | os.O_DIRECTORY)
    assert {e.name for e in o.getdents(fd)} == {b".", b".."}
    o.mkdir(b"/u/x", 0o755)
    assert o.getdents(fd) == []
    o.lseek(fd, 0, os.SEEK_SET)
    assert b"x" in {e.name for e in o.getdents(fd)}


def test_dir_handle_opened_before_copy_up_lists_the_merged_view() -> None:
    o = mount([D(b"d"), F(b"d/a"), F(b"d/b")])
    fd = o.open(b"/d", os.O_RDONLY | os.O_DIRECTORY)
    o.unlink(b"/d/a")  # copies /d up
    o.mknod(b"/d/c", 0o100644)
    assert {e.name for e in o.getdents(fd)} == {b".", b"..", b"b", b"c"}


def test_read_on_a_dir_handle_is_eisdir() -> None:
    o = mount([D(b"d")])
    fd = o.open(b"/d", os.O_RDONLY)
    assert errno_of(o.read, fd, 10) == errno.EISDIR


def test_readdir_of_a_file_is_enotdir() -> None:
    o = mount([F(b"f")])
    assert errno_of(o.readdir, b"/f") == errno.ENOTDIR


def test_readdir_of_a_real_impure_upper_dir_drops_the_needless_impure_flag() -> None:
    o = mount([F(b"f")], upper=[D(b"u")])
    o.rename(b"/f", b"/u/f")  # a copy with origin moves in: /u becomes impure
    assert up(o, b"/u").impure  # type: ignore[union-attr]
    o.readdir(b"/u")
    assert up(o, b"/u").impure  # type: ignore[union-attr]  # an entry with an origin ino remains
    o.unlink(b"/u/f")
    o.readdir(b"/u")
    assert not up(o, b"/u").impure  # type: ignore[union-attr]


def test_a_merged_dir_lists_its_lowest_layers_names_first() -> None:
    """``ovl_dir_read_merged`` inserts the lowest layer's entries before the others
    (``ovl_fill_lowest``), so a handle's offsets past ``.`` and ``..`` name the lowest
    layer's names first (checked on 6.18: after lseek(fd, 3) in the root of lowers ``c``
    over ``a``, no upper, the kernel reads ``c``, where the model used to read ``a``)."""
    o = mount([F(b"c")], [F(b"a")], upper=None)
    fd = o.open(b"/", os.O_RDONLY | os.O_DIRECTORY)
    assert [e.name for e in o.getdents(fd)] == [b".", b"..", b"a", b"c"]
    o.lseek(fd, 3, os.SEEK_SET)
    assert [e.name for e in o.getdents(fd)] == [b"c"]


def test_a_handle_on_a_removed_directory_reads_enoent() -> None:
    """``vfs_rmdir`` marks the overlay inode S_DEAD and ``iterate_dir`` then refuses it with
    ENOENT, also on a directory with nothing below it (checked on 6.18)."""
    o = mount([], upper=[D(b"a")])
    fd = o.open(b"/a", os.O_RDONLY | os.O_DIRECTORY)
    o.rmdir(b"/a")
    assert errno_of(o.getdents, fd) == errno.ENOENT
