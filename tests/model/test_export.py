"""File handles under nfs_export=on (model.export); checked on the kernel by difftest's
nfs_export presets and the examples of reports/semantics/option-nfs_export.md."""

from __future__ import annotations

import errno

import pytest

from model.config import Config
from model.errors import OvlError
from model.overlay import Overlay
from model.spec import IMPURE, Entry, LayersSpec

NFS = Config(index=True, nfs_export=True)


def _overlay(config: Config = NFS, upper: tuple[Entry, ...] = ()) -> Overlay:
    lower = (Entry(b"d", "dir", 0o755), Entry(b"d/f", "reg", data=b"x"),
             Entry(b"g", "reg", data=b"y"))  # fmt: skip
    return Overlay.from_spec(LayersSpec(lowers=(lower, ()), upper=upper), config)


def test_without_nfs_export_no_handle_is_encoded() -> None:
    o = _overlay(Config())
    with pytest.raises(OvlError) as info:
        o.name_to_handle_at(b"/g")
    assert info.value.errno == errno.EOPNOTSUPP


def test_a_handle_follows_its_object_through_copy_up_and_rename() -> None:
    o = _overlay()
    fh = o.name_to_handle_at(b"/g")
    o.rename(b"/g", b"/h")
    assert o.open_by_handle_at(fh).ino == o.lstat(b"/h").ino


def test_a_removed_object_is_stale() -> None:
    o = _overlay()
    fh = o.name_to_handle_at(b"/d/f")
    o.unlink(b"/d/f")
    o.mknod(b"/d/f", 0o100644)  # a new object under the old name
    with pytest.raises(OvlError) as info:
        o.open_by_handle_at(fh)
    assert info.value.errno == errno.ESTALE


def test_every_copy_up_is_indexed_so_a_removal_copies_up_first() -> None:
    o = _overlay()
    o.unlink(b"/g")
    assert o.fs.upper is not None
    assert o.fs.upper.root.xattrs.get(IMPURE) == b"y"  # the copy marked the root impure


def test_encoding_a_lower_dir_under_an_unindexed_upper_dir_copies_it_up() -> None:
    lower = (Entry(b"d", "dir", 0o755), Entry(b"d/y", "dir", 0o755))
    o = Overlay.from_spec(LayersSpec(lowers=(lower,), upper=(Entry(b"d", "dir", 0o755),)),
                          NFS)  # fmt: skip
    assert o.name_to_handle_at(b"/d")[0] == "U"  # an upper dir the layers brought
    assert o.fs.upper is not None
    upper_d = o.fs.upper.root.dir_children()[b"d"]
    assert b"y" not in upper_d.dir_children()
    assert o.name_to_handle_at(b"/d/y")[0] == "L"
    assert b"y" in upper_d.dir_children()


def test_an_unindexed_upper_dir_is_not_hashed_by_its_lower_so_moving_it_marks_nothing() -> None:
    lower = (Entry(b"p", "dir", 0o755),)
    upper = (Entry(b"c", "dir", 0o755), Entry(b"p", "dir", 0o755))
    o = Overlay.from_spec(LayersSpec(lowers=(lower,), upper=upper),
                          Config(redirect_dir="on", index=True, nfs_export=True))
    o.rename(b"/p", b"/c/p")
    assert o.fs.upper is not None
    assert b"trusted.overlay.impure" not in o.fs.upper.root.dir_children()[b"c"].xattrs
