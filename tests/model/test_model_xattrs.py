"""Extended attributes through the overlay (catalogue §2.13)."""

from __future__ import annotations

import errno

from ovl_helpers import OPQ, USER, D, F, errno_of, mount, up

from model.spec import Entry
from model.types import Cred

XATTR_CREATE, XATTR_REPLACE = 1, 2


def test_private_overlay_xattrs_are_hidden() -> None:
    o = mount([D(b"d"), F(b"d/f")], upper=[OPQ(b"d")])
    assert o.listxattr(b"/d") == []
    assert errno_of(o.getxattr, b"/d", b"trusted.overlay.opaque") == errno.ENODATA


def test_setting_trusted_overlay_name_is_stored_escaped_and_read_back() -> None:
    o = mount([F(b"f")])
    o.setxattr(b"/f", b"trusted.overlay.x", b"v")
    assert up(o, b"/f").xattrs == ((b"trusted.overlay.overlay.x", b"v"),)  # type: ignore[union-attr]
    assert o.listxattr(b"/f") == [b"trusted.overlay.x"]
    assert o.getxattr(b"/f", b"trusted.overlay.x") == b"v"


def test_escaped_lower_xattr_appears_unescaped() -> None:
    o = mount([Entry(b"f", "reg", 0o644, xattrs=((b"trusted.overlay.overlay.foo", b"1"),))])
    assert o.listxattr(b"/f") == [b"trusted.overlay.foo"]


def test_merged_dir_shows_upper_xattrs_only() -> None:
    o = mount(
        [D(b"d", xattrs=((b"user.low", b"1"),))], upper=[D(b"d", xattrs=((b"user.up", b"2"),))]
    )
    assert o.listxattr(b"/d") == [b"user.up"]
    o2 = mount([D(b"d", xattrs=((b"user.low", b"1"),))])
    assert o2.listxattr(b"/d") == [b"user.low"]


def test_setxattr_copies_up_only_the_dir() -> None:
    o = mount([D(b"d"), F(b"d/f")])
    o.setxattr(b"/d", b"user.a", b"1")
    assert up(o, b"/d") is not None and up(o, b"/d/f") is None


def test_create_and_replace_flags() -> None:
    o = mount([F(b"f", xattrs=((b"user.a", b"1"),))])
    assert errno_of(o.setxattr, b"/f", b"user.a", b"2", XATTR_CREATE) == errno.EEXIST
    assert errno_of(o.setxattr, b"/f", b"user.b", b"2", XATTR_REPLACE) == errno.ENODATA
    assert errno_of(o.getxattr, b"/f", b"user.none") == errno.ENODATA


def test_xattr_flag_failures_come_after_the_copy_up() -> None:
    o = mount([F(b"f", xattrs=((b"user.a", b"1"),))])
    errno_of(o.setxattr, b"/f", b"user.a", b"2", XATTR_CREATE)
    assert up(o, b"/f") is not None


def test_trusted_xattrs_need_root() -> None:
    o = mount([F(b"f", mode=0o666, xattrs=((b"trusted.t", b"1"), (b"user.u", b"2")))])
    assert o.listxattr(b"/f", cred=USER) == [b"user.u"]
    assert sorted(o.listxattr(b"/f")) == [b"trusted.t", b"user.u"]
    assert errno_of(o.getxattr, b"/f", b"trusted.t", cred=USER) == errno.ENODATA
    assert errno_of(o.setxattr, b"/f", b"trusted.t", b"2", cred=USER) == errno.EPERM
    assert up(o, b"/f") is None


def test_user_xattrs_need_write_permission_and_a_regular_file_or_dir() -> None:
    o = mount([F(b"ro", mode=0o644), D(b"d", 0o777)])
    assert errno_of(o.setxattr, b"/ro", b"user.a", b"1", cred=USER) == errno.EACCES
    o.symlink(b"ro", b"/d/l")
    o.mknod(b"/d/p", 0o010666)
    assert errno_of(o.setxattr, b"/d/p", b"user.a", b"1", cred=USER) == errno.EPERM
    assert errno_of(o.getxattr, b"/d/p", b"user.a", cred=USER) == errno.ENODATA


def test_bad_names_and_flags() -> None:
    o = mount([F(b"f")])
    assert errno_of(o.setxattr, b"/f", b"", b"1") == errno.ERANGE
    assert errno_of(o.setxattr, b"/f", b"user." + b"a" * 251, b"1") == errno.ERANGE
    assert errno_of(o.setxattr, b"/f", b"user.a", b"1", 4) == errno.EINVAL
    assert errno_of(o.setxattr, b"/f", b"other.a", b"1") == errno.EOPNOTSUPP


def test_a_system_name_is_refused_by_the_layer_after_the_lookup_and_the_copy_up() -> None:
    """fs/xattr.c checks only the name's length before the lookup, and ``xattr_permission``
    leaves system.* to the filesystem: a missing path is ENOENT, a value over 64 KiB E2BIG,
    and the layer's tmpfs, which has no handler for ``system.x``, says EOPNOTSUPP only after
    ``ovl_xattr_set`` copied the file up (checked on 6.18)."""
    o = mount([F(b"f")])
    assert errno_of(o.getxattr, b"/nope", b"system.x") == errno.ENOENT
    assert errno_of(o.setxattr, b"/f", b"system.x", b"v" * 65537) == errno.E2BIG
    assert errno_of(o.removexattr, b"/f", b"system.x") == errno.EOPNOTSUPP
    assert up(o, b"/f") is None  # removexattr asks the lower first
    assert errno_of(o.setxattr, b"/f", b"system.x", b"v", 0, cred=Cred(1000, 1000)) == (
        errno.EOPNOTSUPP  # no permission check of the VFS for system.*
    )
    assert up(o, b"/f") is not None
