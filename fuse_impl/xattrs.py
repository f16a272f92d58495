"""Extended attributes through the overlay (xattrs.c, catalogue §2.13).

* Private ``trusted.overlay.*`` xattrs (``user.overlay.*`` with userxattr) are never shown.
* Escaping: a name in the private namespace set through the overlay is stored with an
  extra ``overlay.`` (``trusted.overlay.X`` → ``trusted.overlay.overlay.X``), and stored
  escaped names are shown unescaped.
* Values come from the providing object; a merged directory shows its upper's only.
* set/remove copy up first (a directory alone); removing a missing xattr of a lower-only
  object gives ENODATA without copy-up.
* ``trusted.*`` names are listed to privileged callers only.
* POSIX ACL xattrs are not listed: the mount runs without FUSE ACL support, so the kernel
  answers their get/set with EOPNOTSUPP itself (they are still copied up with the file).
* Stat-override xattrs in force (``xattr_permissions``, owners.py) are hidden: not listed,
  get gives ENODATA, set and remove EPERM.  ``noxattrs=1`` makes every xattr call ENOSYS.
"""

from __future__ import annotations

import errno

import pyfuse3

from . import layers
from .copy_up import copy_up
from .errors import fail
from .inode import Node, real_path, upper_path
from .namespace import Invalidate
from .super import OverlayFs

ENOATTR: int = pyfuse3.ENOATTR
ESCAPE = b"overlay."
ACL_NAMES = (b"system.posix_acl_access", b"system.posix_acl_default")


def escape(ofs: OverlayFs, name: bytes) -> bytes:
    """The name stored in the real layer for *name* set through the overlay."""
    if not name.startswith(ofs.prefix):
        return name
    escaped = ofs.prefix + ESCAPE + name[len(ofs.prefix):]
    if len(escaped) > 255:
        fail(errno.EOPNOTSUPP, name)
    return escaped


def _shown_name(ofs: OverlayFs, name: bytes, privileged: bool) -> bytes | None:
    """How a real xattr name appears through the overlay, or None if hidden."""
    if ofs.is_private_xattr(name) or name in ACL_NAMES or ofs.owners.is_override_name(name):
        return None
    if name.startswith(b"trusted.") and not privileged:
        return None
    if name.startswith(ofs.prefix + ESCAPE):
        return ofs.prefix + name[len(ofs.prefix) + len(ESCAPE):]
    return name


def _check_supported(ofs: OverlayFs) -> None:
    """With ``noxattrs=1`` no xattr call is supported (the kernel then answers EOPNOTSUPP)."""
    if ofs.cfg.noxattrs:
        fail(errno.ENOSYS)


def _check_settable(ofs: OverlayFs, name: bytes) -> None:
    """Stat-override xattrs in force cannot be set or removed through the overlay."""
    _check_supported(ofs)
    if ofs.owners.is_override_name(name):
        fail(errno.EPERM, name)


def getxattr(ofs: OverlayFs, node: Node, name: bytes) -> bytes:
    _check_supported(ofs)
    if ofs.owners.is_override_name(name):
        fail(ENOATTR, name)
    value = layers.xattr_value(real_path(ofs, node), escape(ofs, name))
    if value is None:
        fail(ENOATTR, name)
    return value


def listxattr(ofs: OverlayFs, node: Node, privileged: bool) -> list[bytes]:
    _check_supported(ofs)
    shown = (_shown_name(ofs, n, privileged) for n in layers.listxattr(real_path(ofs, node)))
    return [n for n in shown if n is not None]


def setxattr(ofs: OverlayFs, node: Node, name: bytes, value: bytes,
             invalidate: Invalidate = None) -> None:
    _check_settable(ofs, name)
    if not ofs.writable:
        fail(errno.EROFS)
    real_name = escape(ofs, name)
    layers.setxattr(_xattr_target(ofs, node, invalidate), real_name, value)


def _xattr_target(ofs: OverlayFs, node: Node, invalidate: Invalidate) -> bytes:
    """Where ``ovl_xattr_set`` writes: the overlay inode's upper object if it has one (with
    index=on a name of an indexed file not yet copied up has the index entry, and is not
    linked up: found by difftest, reports/ovlfuse-index-20261205), else a copy-up's."""
    if not node.upper and node.index is not None:
        return node.index
    copy_up(ofs, node, invalidate=invalidate)
    return upper_path(ofs, node)


def before_flag_check(ofs: OverlayFs, node: Node, name: bytes,
                      invalidate: Invalidate = None) -> None:
    """setxattr with XATTR_CREATE/REPLACE copies up before the flag is checked (ovl_xattr_set),
    but after the name is escaped: a private name too long once escaped is EOPNOTSUPP with
    nothing copied up (ovl_own_xattr_set; found by difftest, reports/ovlfuse-20261205b)."""
    _check_settable(ofs, name)
    if ofs.writable:
        escape(ofs, name)
        _xattr_target(ofs, node, invalidate)


def removexattr(ofs: OverlayFs, node: Node, name: bytes, invalidate: Invalidate = None) -> None:
    _check_settable(ofs, name)
    if not ofs.writable:
        fail(errno.EROFS)
    real_name = escape(ofs, name)
    if not node.upper and layers.xattr_value(real_path(ofs, node), real_name) is None:
        fail(ENOATTR, name)  # a name the lower cannot hold is its EOPNOTSUPP (ovl_xattr_set)
    layers.removexattr(_xattr_target(ofs, node, invalidate), real_name)
