"""Extended attributes through the overlay (``fs/overlayfs/xattrs.c``, catalogue §2.13).

* The overlay's own xattrs are private: never listed, never readable.  Their namespace is
  ``trusted.overlay.``, or ``user.overlay.`` with ``userxattr`` (``ovl_is_private_xattr``).
* Since 6.7 a name in that namespace given through the overlay is *escaped*: stored with
  one more ``overlay.`` (``trusted.overlay.overlay.X``, ``user.overlay.overlay.X``) in the
  real layer, and such escaped names list unescaped.
* A merged dir shows the upper dir's xattrs only (the real node is the upper).
* Other ``trusted.*`` names are listed for a caller with CAP_SYS_ADMIN in the initial user
  namespace only (``ovl_can_list``); in a user namespace nobody has it.

The model's rules name the private xattrs ``trusted.overlay.*`` whatever the config, as the
kernel names them by an enum (``ovl_xattr(ofs, OVL_XATTR_OPAQUE)``) and picks the spelling
per mount.  With ``userxattr`` the layers spell them ``user.overlay.*``, so a node keeps its
xattrs under their *model* names: :func:`spelled` maps a layer's spelling to the model's and
back, swapping the two prefixes (an involution: an ordinary ``trusted.overlay.X`` of a
userxattr mount is kept as ``user.overlay.X``, never mistaken for a private one).  The
functions taking ``userxattr`` work on names as the layers spell them.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

from model.errors import fail
from model.layer import DIR, REG, Node
from model.perm import MAY_WRITE, inode_permission, owner_or_capable
from model.types import Cred

PRIVATE = b"trusted.overlay."
USER_PRIVATE = b"user.overlay."
ESCAPE = b"overlay."
ESCAPED = PRIVATE + ESCAPE
XATTR_NAME_MAX = 255
XATTR_SIZE_MAX = 65536
XATTR_CREATE = 1
XATTR_REPLACE = 2
POSIX_ACL = b"system.posix_acl_"
# Namespaces tmpfs (the layers' filesystem in the tests) stores.
SUPPORTED = (b"user.", b"trusted.", b"security.")


def own_prefix(userxattr: bool) -> bytes:
    """The overlay's private namespace (``OVL_XATTR_{USER,TRUSTED}_PREFIX``)."""
    return USER_PRIVATE if userxattr else PRIVATE


def spelled(name: bytes, userxattr: bool) -> bytes:
    """A layer's spelling of a model name, and the model name of a layer's spelling: with
    ``userxattr`` the two prefixes trade places, else names are kept."""
    if not userxattr:
        return name
    if name.startswith(PRIVATE):
        return USER_PRIVATE + name[len(PRIVATE) :]
    if name.startswith(USER_PRIVATE):
        return PRIVATE + name[len(USER_PRIVATE) :]
    return name


def is_escaped(name: bytes, userxattr: bool = False) -> bool:
    """``ovl_is_escaped_xattr``: ``user.overlay.overlay.`` in full with userxattr; without,
    one byte short of ``trusted.overlay.overlay.`` (so ``trusted.overlay.overlayX`` counts)."""
    if userxattr:
        return name.startswith(USER_PRIVATE + ESCAPE)
    return name.startswith(ESCAPED[:-1])


def is_private(name: bytes, userxattr: bool = False) -> bool:
    """``ovl_is_private_xattr``: the overlay's own namespace, escaped names excepted."""
    return name.startswith(own_prefix(userxattr)) and not is_escaped(name, userxattr)


def real_name(name: bytes, userxattr: bool = False) -> bytes:
    """The name stored in the real layer for ``name`` given through the overlay: every name
    in the private namespace is escaped (``ovl_own_xattr_get/set``); an escaped name longer
    than XATTR_NAME_MAX gives EOPNOTSUPP (``ovl_xattr_escape_name``)."""
    prefix = own_prefix(userxattr)
    if not name.startswith(prefix):
        return name
    escaped = prefix + ESCAPE + name[len(prefix) :]
    if len(escaped) > XATTR_NAME_MAX:
        raise fail(errno.EOPNOTSUPP, "escaped xattr name too long")
    return escaped


def is_own(name: bytes, userxattr: bool) -> bool:
    """A model name (as a node keeps it) that stands for one of the overlay's private
    xattrs under this config."""
    return is_private(spelled(name, userxattr), userxattr)


def stored_name(name: bytes, userxattr: bool) -> bytes:
    """The model name of what the layer stores for ``name`` given through the overlay
    (escaped if private: :func:`real_name`)."""
    return spelled(real_name(name, userxattr), userxattr)


def layer_names(node: Node, userxattr: bool) -> Iterator[tuple[bytes, bytes]]:
    """``node``'s xattrs as (name as the layer spells it, value)."""
    for name, value in node.xattrs.items():
        yield spelled(name, userxattr), value


def listed_names(node: Node, cred: Cred, userxattr: bool = False,
                 userns: bool = False) -> list[bytes]:
    """``ovl_listxattr``: hide private names, unescape escaped ones, hide other trusted.*
    from callers without CAP_SYS_ADMIN in the initial namespace."""
    out = []
    prefix = own_prefix(userxattr)
    for name, _ in layer_names(node, userxattr):
        if is_private(name, userxattr):
            continue
        if name.startswith(b"trusted.") and not (cred.is_root and not userns):
            continue
        if is_escaped(name, userxattr):
            name = prefix + name[len(prefix) + len(ESCAPE) :]
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


def xattr_permission(cred: Cred, node: Node, name: bytes, mask: int, readonly: bool,
                     userns: bool = False) -> None:
    """``xattr_permission`` on the overlay inode: trusted.* needs CAP_SYS_ADMIN in the
    initial user namespace (EPERM to write, ENODATA to read; in a user namespace even its
    root lacks it, checked on 6.18); user.* only on regular files and dirs, and on a sticky dir
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
        if not cred.is_root or userns:
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
