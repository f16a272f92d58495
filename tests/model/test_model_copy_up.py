"""Copy-up: what triggers it, what it preserves, origin and impure (catalogue §2.3, §2.4,
§2.12)."""

from __future__ import annotations

import os

import pytest
from ovl_helpers import D, F, L, mount, up

from model.config import Config
from model.content import content_digest
from model.overlay import Overlay
from model.spec import Entry


def lower_file() -> Overlay:
    return mount([D(b"d"), F(b"d/f", b"data", 0o4755, uid=7, gid=8, xattrs=((b"user.k", b"v"),))])


@pytest.mark.parametrize(
    "flags", [os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND]
)
def test_write_open_copies_up_even_without_writing(flags: int) -> None:
    o = lower_file()
    o.close(o.open(b"/d/f", flags))
    assert up(o, b"/d/f") is not None


def test_read_only_open_and_reads_do_not_copy_up() -> None:
    o = lower_file()
    fd = o.open(b"/d/f", os.O_RDONLY)
    assert o.read(fd, 10) == b"data"
    o.fsync(fd)
    o.fstat(fd)
    o.close(fd)
    o.stat(b"/d/f")
    o.getxattr(b"/d/f", b"user.k")
    o.listxattr(b"/d/f")
    assert up(o, b"/d") is None


def test_o_trunc_copies_up_no_data() -> None:
    o = lower_file()
    o.close(o.open(b"/d/f", os.O_RDONLY | os.O_TRUNC))
    assert up(o, b"/d/f").size == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.chmod(b"/d/f", 0o4755),  # the same mode
        lambda o: o.chown(b"/d/f", -1, -1),
        lambda o: o.truncate(b"/d/f", 4),  # the same size
        lambda o: o.utimens(b"/d/f", None, 5),
        lambda o: o.setxattr(b"/d/f", b"user.n", b"1"),
        lambda o: o.removexattr(b"/d/f", b"user.k"),
        lambda o: o.link(b"/d/f", b"/d/g"),
        lambda o: o.rename(b"/d/f", b"/d/h"),
    ],
)
def test_attribute_and_name_changes_copy_up(change: object) -> None:
    o = lower_file()
    change(o)  # type: ignore[operator]
    assert up(o, b"/d") is not None
    assert any(p.startswith(b"/d/") for p in o.upper_dump())


def test_child_create_and_remove_copy_up_the_parent_only() -> None:
    o = mount([D(b"d"), F(b"d/f"), F(b"d/g")])
    o.unlink(b"/d/f")
    assert up(o, b"/d") is not None
    assert up(o, b"/d/g") is None


def test_utimensat_omit_omit_does_not_copy_up() -> None:
    o = lower_file()
    o.utimens(b"/d/f", None, None)
    o.utimens(b"/nonexistent", None, None)  # the path is not even looked up
    assert up(o, b"/d") is None


def test_removexattr_of_missing_name_on_lower_is_enodata_without_copy_up() -> None:
    from ovl_helpers import errno_of

    o = lower_file()
    assert errno_of(o.removexattr, b"/d/f", b"user.none") == 61  # ENODATA
    assert up(o, b"/d") is None


def test_copy_up_keeps_mode_owner_mtime_xattrs_and_data() -> None:
    o = lower_file()
    before = o.lstat(b"/d/f")
    o.close(o.open(b"/d/f", os.O_WRONLY))
    e = up(o, b"/d/f")
    assert e is not None
    assert (e.mode, e.uid, e.gid) == (0o4755, 7, 8)
    assert e.xattrs == ((b"user.k", b"v"),)
    assert e.digest == content_digest(4, [(0, b"data")])
    assert o.lstat(b"/d/f").mtime == before.mtime


def test_copy_up_of_symlink_by_rename_keeps_target() -> None:
    o = mount([L(b"l", b"somewhere")])
    o.rename(b"/l", b"/m")
    assert up(o, b"/m").digest == b"somewhere".hex()  # type: ignore[union-attr]


def test_sparse_5gib_file_copies_up_cheaply() -> None:
    big = 5 * 1024**3
    o = mount([Entry(b"big", "reg", 0o644, data=b"xyz", size=big)])
    o.truncate(b"/big", big)
    e = up(o, b"/big")
    assert e is not None and e.size == big
    assert e.digest == content_digest(big, [(0, b"xyz")])
    assert len(o.fs.upper.root.children[b"big"].data.extents) == 1  # type: ignore[index,union-attr]


def test_parents_are_copied_up_first_with_origin_and_impure_parent() -> None:
    o = mount([D(b"a"), D(b"a/b"), F(b"a/b/f")])
    o.chmod(b"/a/b/f", 0o600)
    for p in (b"/a", b"/a/b", b"/a/b/f"):
        assert up(o, p).origin, p  # type: ignore[union-attr]
    assert up(o, b"/").impure  # type: ignore[union-attr]
    assert up(o, b"/a").impure  # type: ignore[union-attr]
    assert up(o, b"/a/b").impure  # type: ignore[union-attr]
    assert not up(o, b"/a/b").opaque  # type: ignore[union-attr]


def test_copied_up_dir_gets_no_contents() -> None:
    o = mount([D(b"d"), F(b"d/f")])
    o.chmod(b"/d", 0o700)
    assert up(o, b"/d/f") is None


def test_no_origin_for_a_hard_linked_lower_with_index_off() -> None:
    from ovl_helpers import H

    o = mount([F(b"f"), H(b"g", b"f")])
    o.chmod(b"/f", 0o600)
    assert not up(o, b"/f").origin  # type: ignore[union-attr]
    assert up(o, b"/").impure  # type: ignore[union-attr]


def test_origin_for_a_hard_linked_lower_with_index_on() -> None:
    from ovl_helpers import H

    o = mount([F(b"f"), H(b"g", b"f")], config=Config(index=True))
    o.chmod(b"/f", 0o600)
    assert up(o, b"/f").origin  # type: ignore[union-attr]


def test_private_xattrs_are_not_copied_up_but_escaped_ones_are() -> None:
    xattrs = ((b"trusted.overlay.opaque", b"y"), (b"trusted.overlay.overlay.e", b"1"))
    o = mount([Entry(b"f", "reg", 0o644, xattrs=xattrs)])
    o.chmod(b"/f", 0o600)
    assert up(o, b"/f").xattrs == ((b"trusted.overlay.overlay.e", b"1"),)  # type: ignore[union-attr]


def test_handle_opened_read_only_before_copy_up_reads_the_new_data() -> None:
    o = lower_file()
    ro = o.open(b"/d/f", os.O_RDONLY)
    rw = o.open(b"/d/f", os.O_RDWR)
    o.pwrite(rw, b"NEW!", 0)
    assert o.pread(ro, 10, 0) == b"NEW!"
