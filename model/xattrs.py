"""Extended attributes through the overlay (``fs/overlayfs/xattrs.c``, catalogue §2.13).

* The overlay's own ``trusted.overlay.*`` xattrs are private: never listed, never readable.
* Since 6.7 a name ``trusted.overlay.X`` given through the overlay is *escaped*: stored as
  ``trusted.overlay.overlay.X`` in the real layer, and such escaped names list unescaped.
* A merged dir shows the upper dir's xattrs only (the real node is the upper).
* Other ``trusted.*`` names are listed for root only (``ovl_can_list``).
"""

from __future__ import annotations

import errno

from model.errors import fail
from model.layer import DIR, REG, Node
from model.perm import MAY_WRITE, inode_permission, owner_or_capable
from model.types import Cred

PRIVATE = b"trusted.overlay."
ESCAPE = b"overlay."
ESCAPED = PRIVATE + ESCAPE
XATTR_NAME_MAX = 255
XATTR_SIZE_MAX = 65536
XATTR_CREATE = 1
XATTR_REPLACE = 2
POSIX_ACL = b"system.posix_acl_"
# Namespaces tmpfs (the layers' filesystem in the tests) stores.
SUPPORTED = (b"user.", b"trusted.", b"security.")


def is_escaped(name: bytes) -> bool:
    """``ovl_is_escaped_xattr``: compares one byte short of ``trusted.overlay.overlay.``."""
    return name.startswith(ESCAPED[:-1])


def is_private(name: bytes) -> bool:
    """``ovl_is_private_xattr``: the overlay's own namespace, escaped names excepted."""
    return name.startswith(PRIVATE) and not is_escaped(name)


def real_name(name: bytes) -> bytes:
    """The name stored in the real layer for ``name`` given through the overlay: every
    ``trusted.overlay.`` name is escaped (``ovl_own_xattr_get/set``); an escaped name longer
    than XATTR_NAME_MAX gives EOPNOTSUPP (``ovl_xattr_escape_name``)."""
    if not name.startswith(PRIVATE):
        return name
    escaped = ESCAPED + name[len(PRIVATE) :]
    if len(escaped) > XATTR_NAME_MAX:
        raise fail(errno.EOPNOTSUPP, "escaped xattr name too long")
    return escaped


def listed_names(node: Node, cred: Cred) -> list[bytes]:
    """``ovl_listxattr``: hide private names, unescape escaped ones, hide other trusted.*
    from callers without CAP_SYS_ADMIN."""
    out = []
    for name in node.xattrs:
        if is_private(name):
            continue
        if name.startswith(b"trusted.") and not cred.is_root:
            continue
        if is_escaped(name):
            name = PRIVATE + name[len(ESCAPED) :]
        out.append(name)
    return out


def check_name(name: bytes) -> None:
    """``import_xattr_name``: an empty name or one over 255 bytes is ERANGE.  Nothing else
    about the name is checked before the path is looked up: a ``system.*`` name other than
    a POSIX ACL's is refused only by the layer's filesystem (tmpfs has no handler for it:
    :func:`check_supported`), after the lookup and, for setxattr, after the copy-up
    (``ovl_xattr_set``; checked on 6.18: ``system.x`` on a missing path is ENOENT)."""
    if not name or len(name) > XATTR_NAME_MAX:
        raise fail(errno.ERANGE, "bad xattr name length")
    if name.startswith(POSIX_ACL):  # pragma: no cover - difftest gives no ACL name
        raise fail(errno.EOPNOTSUPP, "system.posix_acl_* (POSIX ACLs) is not modelled")


def check_supported(name: bytes) -> None:
    """The real filesystem rejects namespaces it has no handler for (tmpfs: user, trusted,
    security)."""
    if not name.startswith(SUPPORTED):
        raise fail(errno.EOPNOTSUPP, "xattr namespace not supported by the layer fs")


def xattr_permission(cred: Cred, node: Node, name: bytes, mask: int, readonly: bool) -> None:
    """``xattr_permission`` on the overlay inode: trusted.* needs CAP_SYS_ADMIN (EPERM to
    write, ENODATA to read); user.* only on regular files and dirs, and on a sticky dir
    only for its owner; then ordinary read/write permission.  security.* and system.* have
    "no restriction ... from the VFS" (fs/xattr.c): security.* is left to the LSM
    (commoncap: writing needs CAP_SYS_ADMIN), system.* to the filesystem."""
    write = bool(mask & MAY_WRITE)
    if name.startswith(b"system."):
        return
    if name.startswith(b"security."):
        if write and not cred.is_root:
            raise fail(errno.EPERM, "security.* needs CAP_SYS_ADMIN")
        return
    if name.startswith(b"trusted."):
        if not cred.is_root:
            raise fail(errno.EPERM if write else errno.ENODATA, "trusted.* needs root")
        return
    if name.startswith(b"user."):
        if node.kind not in (REG, DIR):
            raise fail(errno.EPERM if write else errno.ENODATA, "user.* on a special file")
        if node.kind == DIR and node.mode & 0o1000 and write and not owner_or_capable(cred, node):
            raise fail(errno.EPERM, "user.* on a sticky dir of another owner")
    inode_permission(cred, node, mask, readonly)


def set_value(node: Node, name: bytes, value: bytes, flags: int) -> None:
    """The real filesystem's setxattr (``simple_xattr_set``): XATTR_CREATE on an existing
    name is EEXIST, XATTR_REPLACE on a missing one ENODATA."""
    check_supported(name)
    exists = name in node.xattrs
    if flags & XATTR_CREATE and exists:
        raise fail(errno.EEXIST, "xattr exists")
    if flags & XATTR_REPLACE and not exists:
        raise fail(errno.ENODATA, "no such xattr")
    node.xattrs[name] = value


def get_value(node: Node, name: bytes) -> bytes:
    check_supported(name)
    try:
        return node.xattrs[name]
    except KeyError:
        raise fail(errno.ENODATA, "no such xattr") from None


def remove_value(node: Node, name: bytes) -> None:
    check_supported(name)
    if node.xattrs.pop(name, None) is None:
        raise fail(errno.ENODATA, "no such xattr")
