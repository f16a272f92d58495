"""The model's userxattr rules: the private namespace per config, and the origins a
userxattr mount (or a user namespace) cannot store.  Each rule was measured on 6.18 (the
kernel side is in tests/difftest/test_userns.py and the ``userxattr``/``userns`` presets)."""

from __future__ import annotations

import errno

import pytest

from model.config import Config
from model.errors import OvlError
from model.overlay import Overlay
from model.spec import Entry, LayersSpec
from model.xattrs import is_escaped, is_private, real_name, spelled

UX = Config(userxattr=True)


@pytest.mark.parametrize("name", [b"trusted.overlay.opaque", b"user.overlay.x", b"user.a",
                                  b"trusted.t", b"security.s"])
def test_spelling_is_an_involution_that_swaps_only_the_two_private_prefixes(name: bytes) -> None:
    assert spelled(spelled(name, True), True) == name
    assert spelled(name, False) == name
    if not name.startswith((b"trusted.overlay.", b"user.overlay.")):
        assert spelled(name, True) == name


def test_the_private_namespace_and_its_escape_follow_the_config() -> None:
    assert is_private(b"user.overlay.opaque", True) and not is_private(b"user.overlay.opaque")
    assert is_private(b"trusted.overlay.opaque") and not is_private(b"trusted.overlay.o", True)
    assert real_name(b"user.overlay.x", True) == b"user.overlay.overlay.x"
    assert real_name(b"user.overlay.x") == b"user.overlay.x"
    assert real_name(b"trusted.overlay.x", True) == b"trusted.overlay.x"
    # trusted compares one byte short of its escape prefix, user the whole of it
    assert is_escaped(b"trusted.overlay.overlayX")
    assert not is_escaped(b"user.overlay.overlayX", True)


def test_a_user_overlay_opaque_dir_hides_the_layers_below_only_with_userxattr() -> None:
    spec = LayersSpec(lowers=(
        (Entry(b"d", "dir", xattrs=((b"user.overlay.opaque", b"y"),)),),
        (Entry(b"d", "dir"), Entry(b"d/low", "reg")),
    ))
    with_ux = Overlay.from_spec(spec, UX)
    assert [e.name for e in with_ux.readdir(b"/d")] == [b".", b".."]
    assert with_ux.listxattr(b"/d") == []
    without = Overlay.from_spec(spec, Config())
    assert b"low" in [e.name for e in without.readdir(b"/d")]
    assert without.listxattr(b"/d") == [b"user.overlay.opaque"]


def test_a_private_name_set_through_a_userxattr_overlay_is_stored_escaped() -> None:
    ov = Overlay.from_spec(LayersSpec(lowers=((Entry(b"f", "reg", data=b"x"),),)), UX)
    ov.setxattr(b"/f", b"user.overlay.x", b"1")
    assert ov.listxattr(b"/f") == [b"user.overlay.x"]
    assert ov.getxattr(b"/f", b"user.overlay.x") == b"1"
    upper = ov.upper_dump()[b"/f"]
    assert upper.origin and upper.xattrs == ((b"user.overlay.overlay.x", b"1"),)


def test_a_fifo_copied_up_under_userxattr_keeps_its_lower_inode_only_under_its_name() -> None:
    spec = LayersSpec(lowers=((Entry(b"p", "fifo"),),))
    ov = Overlay.from_spec(spec, UX)
    lower_ino = ov.lstat(b"/p").ino
    ov.link(b"/p", b"/q")  # copies p up: no user.* xattr on a FIFO, so no origin
    assert not ov.upper_dump()[b"/p"].origin
    assert ov.lstat(b"/p").ino == lower_ino  # the dentry remembers its lower
    assert ov.lstat(b"/q").ino != lower_ino  # a new name does not
    ov.reconfigure(ro=False)  # shrink_dcache_sb: the dentry and what it remembered go
    assert ov.lstat(b"/p").ino == ov.lstat(b"/q").ino != lower_ino


def test_in_a_user_namespace_root_has_no_capability_of_the_initial_one() -> None:
    spec = LayersSpec(lowers=((Entry(b"f", "reg", mode=0o6755, data=b"x"),),))
    ov = Overlay.from_spec(spec, UX, userns=True)
    with pytest.raises(OvlError) as info:
        ov.setxattr(b"/f", b"trusted.t", b"1")
    assert info.value.errno == errno.EPERM
    with pytest.raises(OvlError) as info:
        ov.mknod(b"/null", 0o20666, (1 << 8) | 3)
    assert info.value.errno == errno.EPERM
    ov.truncate(b"/f", 0)
    assert ov.lstat(b"/f").mode & 0o7777 == 0o755  # setattr_should_drop_suidgid
    assert ov.upper_dump()[b"/f"].origin  # written, empty: nothing to decode
    root = Overlay.from_spec(spec, UX)
    root.truncate(b"/f", 0)
    assert root.lstat(b"/f").mode & 0o7777 == 0o6755
