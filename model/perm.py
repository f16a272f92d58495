"""Permission checks as the VFS makes them on the overlay inode (fs/namei.c, fs/attr.c).

The overlay inode carries the real inode's mode and owner, so every check here reads the
*real* node that provides the object (upper, else top lower).  ``ovl_permission`` then checks
the real inode again with the mounter's credentials; the mounter is root in the tests, so
that second check always passes and is not modelled (catalogue §6 "Permissions are evaluated
twice").
"""

from __future__ import annotations

import errno
import stat as _stat

from model.errors import fail
from model.layer import DIR, LNK, REG, Node
from model.types import Cred

MAY_EXEC = 1
MAY_WRITE = 2
MAY_READ = 4


def in_group(cred: Cred, gid: int) -> bool:
    return cred.gid == gid or gid in cred.groups


def generic_permission(cred: Cred, node: Node, mask: int) -> bool:
    """``generic_permission``: owner bits for the owner, else group bits for a group member,
    else other bits; root passes everything except executing a file with no x bit."""
    if cred.is_root:
        if node.kind == DIR or not mask & MAY_EXEC:
            return True
        return bool(node.mode & 0o111)  # pragma: no cover - no execve in difftest
    mode = node.mode
    if cred.uid == node.uid:
        bits = mode >> 6
    elif in_group(cred, node.gid):
        bits = mode >> 3
    else:
        bits = mode
    return (mask & ~bits & 7) == 0


def inode_permission(cred: Cred, node: Node, mask: int, readonly: bool) -> None:
    """``inode_permission``: EROFS for writing a regular file, dir or symlink on a
    read-only superblock (``sb_permission``), then EACCES from ``generic_permission``."""
    if mask & MAY_WRITE and readonly and node.kind in (REG, DIR, LNK):
        raise fail(errno.EROFS, "read-only overlay")
    if not generic_permission(cred, node, mask):
        raise fail(errno.EACCES, "permission denied")


def may_lookup(cred: Cred, node: Node) -> None:
    """Search permission on each directory of a path walk (``may_lookup``)."""
    if not cred.is_root and not generic_permission(cred, node, MAY_EXEC):
        raise fail(errno.EACCES, "no search permission")


def owner_or_capable(cred: Cred, node: Node) -> bool:
    """``inode_owner_or_capable`` (CAP_FOWNER)."""
    return cred.is_root or cred.uid == node.uid


def check_sticky(cred: Cred, parent: Node, victim: Node) -> bool:
    """True when the sticky bit of ``parent`` forbids ``cred`` to remove or rename
    ``victim`` (``check_sticky``): not the owner of either and not CAP_FOWNER."""
    if not parent.mode & _stat.S_ISVTX:
        return False
    return not (cred.is_root or victim.uid == cred.uid or parent.uid == cred.uid)


def should_remove_suid(cred: Cred, node: Node, userns: bool = False) -> bool:
    """Writing or truncating as a caller without CAP_FSETID kills setuid, and setgid when
    group-exec is set (``setattr_should_drop_suidgid``, regular files only).  The check is
    ``capable()``, in the initial user namespace: in a user namespace its root kills them
    too (checked on 6.18: truncate of a 2755 file by the namespace's root leaves 0755)."""
    if (cred.is_root and not userns) or node.kind != REG:
        return False
    return bool(node.mode & _stat.S_ISUID) or (
        bool(node.mode & _stat.S_ISGID) and bool(node.mode & _stat.S_IXGRP)
    )


def kill_suid(node: Node) -> None:
    node.mode &= ~_stat.S_ISUID
    if node.mode & _stat.S_IXGRP:
        node.mode &= ~_stat.S_ISGID
