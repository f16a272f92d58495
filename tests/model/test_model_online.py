"""Layers changed underneath a mount in the model (model.online): the change itself, and the
view after the next mount, which is the changed layers' as if changed offline."""

from __future__ import annotations

import errno

import pytest

from model.config import Config
from model.errors import OvlError
from model.online import DATA, allowed, change_layer, feasible
from model.overlay import Overlay
from model.spec import Entry, LayersSpec

SPEC = LayersSpec(
    lowers=((Entry(b"d", "dir", 0o755), Entry(b"d/a", "reg", 0o644, data=b"a")),),
    upper=(Entry(b"u", "reg", 0o644, data=b"u"),),
)


def test_after_a_remount_the_view_is_the_changed_layers() -> None:
    ovl = Overlay.from_spec(SPEC, Config())
    change_layer(ovl, 1, "remove", b"/d/a")
    change_layer(ovl, 1, "create", b"/d/new")
    change_layer(ovl, 0, "rename", b"/u", b"/v")
    ovl.remount()
    assert sorted(e.name for e in ovl.readdir(b"/d")) == [b".", b"..", b"new"]
    fd = ovl.open(b"/d/new", 0)
    assert ovl.read(fd, 100) == DATA
    with pytest.raises(OvlError):
        ovl.lstat(b"/u")
    assert ovl.lstat(b"/v").size == 1


@pytest.mark.parametrize(("layer", "action", "path", "new", "err"), [
    (1, "remove", b"/d/missing", b"", errno.ENOENT),
    (1, "create", b"/d/a", b"", errno.EEXIST),
    (1, "mkdir", b"/d/a/x", b"", errno.ENOTDIR),
    (0, "rename", b"/u", b"/u", errno.EEXIST),
    (1, "create", b"/d/" + b"n" * 256, b"", errno.ENAMETOOLONG),
    (3, "create", b"/x", b"", errno.ENOENT),
])  # fmt: skip
def test_a_change_fails_as_the_layers_filesystem_would(layer: int, action: str, path: bytes,
                                                      new: bytes, err: int) -> None:
    ovl = Overlay.from_spec(SPEC, Config())
    assert not feasible(ovl, layer, action, path, new) or err == errno.ENAMETOOLONG
    with pytest.raises(OvlError) as raised:
        change_layer(ovl, layer, action, path, new)
    assert raised.value.errno == err


def test_the_allowed_range_holds_stale_and_vanished_names_but_not_every_errno() -> None:
    assert allowed(frozenset({errno.ESTALE})) and allowed(frozenset({errno.ENOENT}))
    assert not allowed(frozenset({errno.EPERM})) and not allowed(frozenset())
