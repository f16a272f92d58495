"""Nested overlays in the model (model.nested): the lowers' read-only overlay is the outer
overlay's only lower layer.  Checked on the kernel by difftest's ``nested`` presets."""

from __future__ import annotations

import errno
import os

import pytest

from model.config import Config
from model.errors import OvlError
from model.nested import nested
from model.spec import ORIGIN, Entry, LayersSpec

INNER = (
    (
        Entry(b"d", "dir", 0o755),
        Entry(b"d/a", "reg", 0o644, data=b"a"),
        Entry(b"e", "dir", 0o750, xattrs=((b"user.k", b"v"),
                                          (b"trusted.overlay.overlay.x", b"esc"))),
        Entry(b"e/w", "whiteout", 0),
        Entry(b"f", "reg", 0o644, data=b"f"),
        Entry(b"g", "hardlink", 0o644, target=b"f"),
        Entry(b"h", "reg", 0o644, data=b"hidden", xattrs=((b"trusted.overlay.priv", b"p"),)),
    ),
    (Entry(b"d", "dir", 0o755), Entry(b"d/b", "reg", 0o644, data=b"b")),
)
SPEC = LayersSpec(lowers=INNER, upper=())


def test_a_directory_the_inner_overlay_merges_reports_one_link_and_others_their_own() -> None:
    ovl = nested(SPEC, SPEC, Config())
    assert ovl.lstat(b"/d").nlink == 1
    assert ovl.lstat(b"/e").nlink == 2
    assert sorted(e.name for e in ovl.readdir(b"/d")) == [b".", b"..", b"a", b"b"]


def test_hard_links_of_the_inner_view_stay_one_object() -> None:
    ovl = nested(SPEC, SPEC, Config())
    f, g = ovl.lstat(b"/f"), ovl.lstat(b"/g")
    assert f.ino == g.ino and f.nlink == g.nlink == 2


def test_the_inner_overlays_private_names_are_gone_and_its_escaped_ones_are_the_outers() -> None:
    """trusted.overlay.priv is the inner's own; trusted.overlay.overlay.x is shown by the
    inner as trusted.overlay.x, a private name of the outer: neither is listed."""
    ovl = nested(SPEC, SPEC, Config())
    assert ovl.listxattr(b"/h") == []
    assert ovl.listxattr(b"/e") == [b"user.k"]


def test_a_whiteout_the_inner_overlay_lists_is_listed_and_never_found() -> None:
    """A whiteout in a directory the inner overlay does not merge: its readdir lists it and
    its lookup finds nothing.  The outer lists it too, also once the directory is merged."""
    ovl = nested(SPEC, SPEC, Config())
    assert b"w" in [e.name for e in ovl.readdir(b"/e")]
    with pytest.raises(OvlError) as err:
        ovl.lstat(b"/e/w")
    assert err.value.errno == errno.ENOENT
    ovl.mkdir(b"/e/new", 0o755)  # copies /e up: now merged
    assert {b"w", b"new"} <= {e.name for e in ovl.readdir(b"/e")}


def test_a_copy_up_writes_an_empty_origin_and_keeps_the_inode_number_until_a_remount() -> None:
    """No file handles through an overlay (ofs->nofh): index=on falls back to off, and an
    origin is written empty (checked on 6.18)."""
    ovl = nested(SPEC, SPEC, Config(index=True))
    assert not ovl.fs.config.index
    before = ovl.lstat(b"/d/a").ino
    ovl.chmod(b"/d/a", 0o600)
    assert ovl.lstat(b"/d/a").ino == before
    assert ovl.fs.upper is not None
    upper_a = ovl.fs.upper.root.dir_children()[b"d"].dir_children()[b"a"]
    assert upper_a.xattrs[ORIGIN] == b""
    ovl.remount()
    assert ovl.lstat(b"/d/a").ino != before
    fd = ovl.open(b"/d/a", os.O_RDONLY)
    assert ovl.read(fd, 10) == b"a"
