"""Changing attributes: chmod, chown, utimensat, truncate (``notify_change`` →
``ovl_setattr``) and the xattr syscalls (catalogue §2.4, §2.12, §2.13).

Every change copies the object up first — even chmod to the same mode, chown(-1, -1) and
truncate to the same size — except utimensat(UTIME_OMIT, UTIME_OMIT), which returns before
the path is even looked up, and removexattr of a name a lower-only object lacks.  A denied
change (EPERM, EACCES) copies nothing up.  On a directory only the directory is copied.
"""

from __future__ import annotations

import errno
import stat as _stat

from model.copy_up import copy_up
from model.errors import fail
from model.fs import OvlFs
from model.layer import DIR, REG, Node
from model.lookup import Dentry
from model.namei import Nameidata, check_path, resolve
from model.perm import (
    MAY_READ,
    MAY_WRITE,
    in_group,
    inode_permission,
    kill_suid,
    owner_or_capable,
    should_remove_suid,
)
from model.types import Cred
from model.xattrs import (
    XATTR_CREATE,
    XATTR_REPLACE,
    XATTR_SIZE_MAX,
    check_name,
    get_value,
    listed_names,
    remove_value,
    set_value,
    stored_name,
    xattr_permission,
)

UTIME_NOW = -1


def _target(fs: OvlFs, cred: Cred, path: bytes) -> Dentry:
    """The object a setattr-style call acts on (symlinks followed), then EROFS
    (``mnt_want_write``)."""
    check_path(path)
    d = resolve(Nameidata(fs, cred), path, follow=True)
    if fs.readonly:
        raise fail(errno.EROFS, "read-only overlay")
    return d


def do_chmod(fs: OvlFs, cred: Cred, path: bytes, mode: int) -> None:
    """chmod(2): owner or CAP_FOWNER (EPERM); setgid is dropped silently for a caller
    outside the file's group (``setattr_prepare``)."""
    d = _target(fs, cred, path)
    real = d.real
    if not owner_or_capable(cred, real):
        raise fail(errno.EPERM, "chmod: not the owner")
    mode &= 0o7777
    if not cred.is_root and not in_group(cred, real.gid):
        mode &= ~_stat.S_ISGID
    copy_up(fs, d).mode = mode


def do_chown(fs: OvlFs, cred: Cred, path: bytes, uid: int, gid: int) -> None:
    """chown(2) (``chown_common``): changing the owner needs CAP_CHOWN unless it stays the
    same; the group may be changed by the owner to one of their groups.  A non-dir loses
    setuid, and setgid when group-exec is set (or the caller is outside its group) — also
    for root, and also for chown(-1, -1); that mode change itself needs ownership
    (``notify_change`` turns ATTR_KILL_S*ID into ATTR_MODE)."""
    d = _target(fs, cred, path)
    real = d.real
    if uid != -1 and not (cred.is_root or (cred.uid == real.uid and uid == real.uid)):
        raise fail(errno.EPERM, "chown: needs CAP_CHOWN")
    may_chgrp = cred.uid == real.uid and (gid == real.gid or in_group(cred, gid))
    if gid != -1 and not cred.is_root and not may_chgrp:
        raise fail(errno.EPERM, "chgrp: not permitted")
    mode = real.mode
    if real.kind != DIR:
        mode &= ~_stat.S_ISUID
        if mode & _stat.S_ISGID and (
            mode & _stat.S_IXGRP or not (cred.is_root or in_group(cred, real.gid))
        ):
            mode &= ~_stat.S_ISGID
    if mode != real.mode and not owner_or_capable(cred, real):
        raise fail(errno.EPERM, "chown: clearing setuid needs ownership")
    node = copy_up(fs, d)
    node.mode = mode
    if uid != -1:
        node.uid = uid
    if gid != -1:
        node.gid = gid


def do_utimens(
    fs: OvlFs, cred: Cred, path: bytes, atime_ns: int | None, mtime_ns: int | None
) -> None:
    """utimensat(2): (OMIT, OMIT) returns 0 without looking at the path (no copy-up,
    §2.12); (NOW, NOW) needs ownership or write permission; explicit times (or one NOW with
    an OMIT) need ownership.  Only mtime is modelled."""
    if atime_ns is None and mtime_ns is None:
        return
    d = _target(fs, cred, path)
    real = d.real
    if atime_ns == UTIME_NOW and mtime_ns == UTIME_NOW:
        if not owner_or_capable(cred, real):
            inode_permission(cred, real, MAY_WRITE, fs.readonly)
    elif not owner_or_capable(cred, real):
        raise fail(errno.EPERM, "utimens: explicit times need ownership")
    node = copy_up(fs, d)
    if mtime_ns is not None:
        node.mtime = fs.tick() if mtime_ns == UTIME_NOW else mtime_ns


def do_truncate(fs: OvlFs, cred: Cred, path: bytes, length: int) -> None:
    """truncate(2) (``vfs_truncate``): negative length EINVAL; a dir EISDIR, another
    non-regular EINVAL; EROFS; write permission; then copy-up *with data* and truncate,
    even to the same size (§2.4).  truncate(2) passes no ATTR_MTIME: see
    :func:`truncate_node` for when mtime changes."""
    if length < 0:
        raise fail(errno.EINVAL, "negative length")
    check_path(path)
    d = resolve(Nameidata(fs, cred), path, follow=True)
    if d.is_dir:
        raise fail(errno.EISDIR, "truncate of a directory")
    if d.real.kind != REG:
        raise fail(errno.EINVAL, "truncate of a non-regular file")
    if fs.readonly:
        raise fail(errno.EROFS, "read-only overlay")
    inode_permission(cred, d.real, MAY_WRITE, fs.readonly)
    truncate_node(fs, cred, copy_up(fs, d, data=True), length, touch=False)


def truncate_node(fs: OvlFs, cred: Cred, node: Node, length: int, touch: bool) -> None:
    """``do_truncate`` on the upper node: kill setuid for a caller without CAP_FSETID and
    set the size.  mtime changes always with ``touch`` (ftruncate and O_TRUNC pass
    ATTR_MTIME); else when the size changes, or when it does not grow and the file has
    pages (tmpfs ``shmem_setattr`` calls ``shmem_truncate_range``, which touches mtime;
    checked on 6.18: truncating a 3-byte file to 3 changes mtime, an empty one to 0 not)."""
    data = node.data
    assert data is not None
    if should_remove_suid(cred, node, fs.userns):
        kill_suid(node)
    if touch or data.size != length or (length <= data.size and data.extents):
        node.mtime = fs.tick()
    data.truncate(length)


# ---- xattrs --------------------------------------------------------------------------------


def do_setxattr(fs: OvlFs, cred: Cred, path: bytes, name: bytes, value: bytes, flags: int) -> None:
    """setxattr(2): bad flags EINVAL, bad name ERANGE, value over 64 KiB E2BIG; the path;
    EROFS; ``xattr_permission``; copy-up; then the real setxattr (so XATTR_CREATE/REPLACE
    failures come after the copy-up)."""
    if flags & ~(XATTR_CREATE | XATTR_REPLACE):
        raise fail(errno.EINVAL, "bad setxattr flags")
    check_name(name)
    if len(value) > XATTR_SIZE_MAX:
        raise fail(errno.E2BIG, "xattr value too large")
    d = _target(fs, cred, path)
    xattr_permission(cred, d.real, name, MAY_WRITE, fs.readonly, fs.userns)
    stored = _stored(fs, name)
    set_value(_xattr_node(fs, d), stored, value, flags)


def do_getxattr(fs: OvlFs, cred: Cred, path: bytes, name: bytes) -> bytes:
    """getxattr(2): read from the real node (a merged dir: its upper only)."""
    check_name(name)
    check_path(path)
    d = resolve(Nameidata(fs, cred), path, follow=True)
    xattr_permission(cred, d.real, name, MAY_READ, fs.readonly, fs.userns)
    return get_value(d.real, _stored(fs, name))


def do_listxattr(fs: OvlFs, cred: Cred, path: bytes) -> list[bytes]:
    """listxattr(2): no permission needed; private names hidden (§2.13)."""
    check_path(path)
    d = resolve(Nameidata(fs, cred), path, follow=True)
    return listed_names(d.real, cred, fs.config.userxattr, fs.userns)


def do_removexattr(fs: OvlFs, cred: Cred, path: bytes, name: bytes) -> None:
    """removexattr(2): a name missing on a lower-only object is ENODATA *without* copy-up
    (``ovl_xattr_set`` checks the lower first, §2.13)."""
    check_name(name)
    d = _target(fs, cred, path)
    xattr_permission(cred, d.real, name, MAY_WRITE, fs.readonly, fs.userns)
    stored = _stored(fs, name)
    if d.upper is None:
        get_value(d.real, stored)
    remove_value(_xattr_node(fs, d), stored)


def _stored(fs: OvlFs, name: bytes) -> bytes:
    return stored_name(name, fs.config.userxattr)


def _xattr_node(fs: OvlFs, d: Dentry) -> Node:
    """Where ``ovl_xattr_set`` writes: the overlay inode's upper if it has one (with
    index=on, an alias of a copied-up lower hard link has the index copy as its upper and is
    *not* linked up into its own name), else a copy-up's."""
    return d.upper if d.upper is not None else copy_up(fs, d)
