"""Hard links with index=off and index=on (catalogue §2.10, §3)."""

from __future__ import annotations

import errno
import os

from ovl_helpers import F, H, errno_of, mount, up

from model.config import Config

INDEX = Config(index=True)


def test_index_off_copy_up_breaks_a_lower_hard_link() -> None:
    o = mount([F(b"a", b"old"), H(b"b", b"a"), H(b"c", b"a")])
    fd = o.open(b"/a", os.O_WRONLY)
    o.write(fd, b"NEW")
    assert o.content_digest(b"/a") != o.content_digest(b"/b")
    assert o.lstat(b"/a").nlink == 1  # the upper copy's own nlink
    assert o.lstat(b"/b").nlink == 3  # stale lower nlink
    o.unlink(b"/c")
    assert o.lstat(b"/b").nlink == 3  # does not drop


def test_index_off_link_of_a_nlink_1_file_keeps_origin_ino_with_nlink_2() -> None:
    o = mount([F(b"f")])
    ino = o.lstat(b"/f").ino
    o.link(b"/f", b"/g")
    assert o.lstat(b"/f").ino == o.lstat(b"/g").ino == ino
    assert o.lstat(b"/g").nlink == 2
    assert up(o, b"/").impure  # type: ignore[union-attr]


def test_link_replaces_a_whiteout() -> None:
    from ovl_helpers import W

    o = mount([F(b"f"), F(b"g")], upper=[W(b"g")])
    o.link(b"/f", b"/g")
    assert up(o, b"/g").kind == "reg"  # type: ignore[union-attr]


def test_index_on_keeps_hard_links_with_shared_data_and_exact_nlink() -> None:
    o = mount([F(b"a", b"old"), H(b"b", b"a"), H(b"c", b"a")], config=INDEX)
    fd = o.open(b"/a", os.O_WRONLY)
    o.write(fd, b"NEW")
    o.close(fd)
    assert o.content_digest(b"/b") == o.content_digest(b"/a")
    assert o.lstat(b"/b").ino == o.lstat(b"/a").ino
    assert o.lstat(b"/a").nlink == 3
    o.unlink(b"/c")
    assert o.lstat(b"/a").nlink == 2
    o.link(b"/a", b"/d")
    assert o.lstat(b"/b").nlink == 3
    assert up(o, b"/c").kind == "whiteout"  # type: ignore[union-attr]
    assert up(o, b"/b") is None  # an alias not copied up has no upper entry


def test_index_on_unlink_of_a_lower_alias_copies_it_up_first() -> None:
    o = mount([F(b"a"), H(b"b", b"a")], config=INDEX)
    o.unlink(b"/b")
    assert up(o, b"/b").kind == "whiteout"  # type: ignore[union-attr]
    assert o.lstat(b"/a").nlink == 1


def test_index_on_nlink_survives_remount() -> None:
    o = mount([F(b"a"), H(b"b", b"a"), H(b"c", b"a")], config=INDEX)
    o.unlink(b"/c")
    o.remount()
    assert o.lstat(b"/a").nlink == 2


def test_index_on_xattr_change_on_an_alias_writes_the_index_copy_without_linking_it_up() -> None:
    """``ovl_xattr_set`` copies up only an inode without an upper; an alias of an indexed
    lower hard link has the index copy as its upper (found by difftest, index=on, 6.18)."""
    o = mount([F(b"a", b"data"), H(b"b", b"a")], config=INDEX)
    o.chown(b"/a", -1, -1)  # copies /a up into the index
    assert errno_of(o.removexattr, b"/b", b"user.none") == errno.ENODATA
    assert up(o, b"/b") is None
    o.setxattr(b"/b", b"user.k", b"v", 0)
    assert up(o, b"/b") is None
    assert o.getxattr(b"/a", b"user.k") == b"v"  # one inode
