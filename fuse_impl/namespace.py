"""Namespace changes (the kernel's dir.c, catalogue §2.5–§2.10).

Each operation resolves first, checks second, and only then changes the upper layer:

* create / mknod / mkdir / symlink / link copy the parent chain up; a new object replaces an
  upper whiteout by being built in ``work/`` and renamed over it; ``mkdir`` over a whiteout
  gives an opaque directory, and so does ``mkdir`` in a merged parent when offline changes
  are not allowed (redirect_dir=on, xino);
* unlink / rmdir remove a name without a lower entry outright, and replace a name with one
  by a whiteout (char device 0:0); directories must be empty in the merged view, whiteouts
  inside are cleared;
* rename lives in :mod:`fuse_impl.rename`.

New objects belong to the caller (uid, and gid or the setgid parent's gid).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

from . import aufs, index, layers, owners, syscalls
from .copy_up import copy_up
from .errors import fail
from .inode import Node, NodeTable, origin_type, upper_path
from .layers import join
from .lookup import Resolved, lower_positive, set_impure
from .readdir import check_empty
from .super import OverlayFs

Invalidate = Callable[[Node], None] | None
REDIRECT_MAX = 256


@dataclass
class NewObject:
    """What to create: S_IFMT|mode, device number, symlink target, caller's ids."""

    mode: int
    uid: int
    gid: int
    rdev: int = 0
    target: bytes = b""


def _upper(ofs: OverlayFs, rel: bytes) -> bytes:
    assert ofs.upper is not None
    return ofs.upper.real(rel)


def _check_new(ofs: OverlayFs, table: NodeTable, parent: Node, name: bytes) -> Resolved:
    """The name must be free (EEXIST wins over EROFS, catalogue §7) and, with AUFS whiteouts,
    not one of theirs."""
    aufs.check_new_name(ofs, name)
    res, _node = table.lookup(parent, name)
    if res.positive:
        fail(errno.EEXIST, name)
    if not ofs.writable:
        fail(errno.EROFS)
    return res


def _owner(ofs: OverlayFs, parent_rel: bytes, obj: NewObject) -> tuple[int, int, int]:
    """Stored uid, gid and mode after setgid-directory inheritance (inode_init_owner)."""
    path = _upper(ofs, parent_rel)
    pmode, _puid, pgid = ofs.owners.stored(ofs.upper, path, os.lstat(path))
    uid, gid = ofs.owners.store_ids(obj.uid, obj.gid)
    mode = obj.mode
    if pmode & stat.S_ISGID:
        if stat.S_ISDIR(mode):
            mode |= stat.S_ISGID
        return uid, pgid, mode
    return uid, gid, mode


def _make(ofs: OverlayFs, path: bytes, obj: NewObject, mode: int,
          open_flags: int | None) -> int | None:
    """Create the real object; returns an fd when *open_flags* asks to open the new file."""
    kind = stat.S_IFMT(mode)
    perm = stat.S_IMODE(mode)
    if ofs.owners.upper_override is not None:
        perm |= owners.BACKING_BITS
    if open_flags is not None:
        flags = (open_flags & ~(os.O_TRUNC | os.O_APPEND)) | os.O_CREAT | os.O_EXCL
        return layers.open_file(path, flags & ~os.O_ACCMODE | os.O_RDWR, perm)
    if kind == stat.S_IFDIR:
        layers.mkdir(path, perm)
    elif kind == stat.S_IFLNK:
        layers.symlink(obj.target, path)
    else:
        layers.mknod(path, mode, obj.rdev)
    return None


@dataclass
class Owner:
    """Who owns a new object as stored, and its mode."""

    uid: int
    gid: int
    mode: int


def _set_owner(ofs: OverlayFs, path: bytes, owner: Owner) -> None:
    ofs.owners.chown_new(path, owner.uid, owner.gid)
    ofs.owners.set_new(path, owner.uid, owner.gid, owner.mode)  # after chown: it clears suid


def _replace_whiteout(tmp: bytes, dest: bytes, is_dir: bool) -> None:
    """Move a finished object from work/ over the upper whiteout at *dest*."""
    if is_dir:
        layers.rename(tmp, dest, syscalls.RENAME_EXCHANGE)
        layers.unlink(tmp)  # the whiteout, now in work/
    else:
        layers.rename(tmp, dest)


def create(ofs: OverlayFs, table: NodeTable, parent: Node, name: bytes, obj: NewObject,
           open_flags: int | None = None, invalidate: Invalidate = None) -> tuple[Node, int | None]:
    """Create *name* in *parent* (mknod, mkdir, symlink, or create+open). Returns node, fd."""
    res = _check_new(ofs, table, parent, name)
    copy_up(ofs, parent, invalidate=invalidate)
    parent_rel = parent.path()
    owner = Owner(*_owner(ofs, parent_rel, obj))
    dest = _upper(ofs, join(parent_rel, name))
    is_dir = stat.S_ISDIR(owner.mode)
    opaque = is_dir and (res.upper_whiteout or res.aufs_whiteout or (
        bool(parent.lowers) and not ofs.cfg.offline_changes_allowed))
    # Always built in work/: made in place, a daemon killed before its chown would leave an
    # object of the wrong owner (the kernel creates it with the caller's fsuid in one call;
    # found by the crash lane, reports/crash-lane-20261206).
    fd = _create_in_work(ofs, dest, obj, owner, open_flags, opaque, res.upper_whiteout)
    _res, node = table.lookup(parent, name)
    if node is None:
        fail(errno.ENOENT, name)
    return node, fd


def _create_in_work(ofs: OverlayFs, dest: bytes, obj: NewObject, owner: Owner,
                    open_flags: int | None, opaque: bool, over_whiteout: bool) -> int | None:
    """Build the object in work/ (owner, mode, opaque xattr) and move it into place: the
    name appears complete or not at all."""
    tmp = ofs.work_tmp()
    fd = _make(ofs, tmp, obj, owner.mode, open_flags)
    try:
        _set_owner(ofs, tmp, owner)
        if opaque:
            layers.setxattr(tmp, ofs.private(b"opaque"), b"y")
        if over_whiteout:
            _replace_whiteout(tmp, dest, stat.S_ISDIR(owner.mode))
        else:
            layers.rename(tmp, dest, syscalls.RENAME_NOREPLACE)
    except BaseException:
        if fd is not None:
            os.close(fd)
        layers.remove_tree(tmp)
        raise
    return fd


def link(ofs: OverlayFs, table: NodeTable, src: Node, parent: Node, name: bytes,
         invalidate: Invalidate = None) -> Node:
    """Hard link: copy the source (with data) and the new parent up, link in the upper."""
    if src.is_dir:
        fail(errno.EPERM, name)
    res = _check_new(ofs, table, parent, name)
    copy_up(ofs, src, invalidate=invalidate)
    table.track(src)  # indexed under its upper object before that gets a second node
    copy_up(ofs, parent, invalidate=invalidate)
    parent_rel = parent.path()
    source = upper_path(ofs, src)
    dest = _upper(ofs, join(parent_rel, name))
    if res.upper_whiteout:
        tmp = ofs.work_tmp()
        layers.link(source, tmp)
        layers.rename(tmp, dest)
    else:
        layers.link(source, dest)
    if origin_type(ofs, src):
        set_impure(ofs, parent_rel)
    if invalidate is not None:
        invalidate(src)  # nlink of every name; the new name is a separate FUSE node
    _res, node = table.lookup(parent, name)
    if node is None:
        fail(errno.ENOENT, name)
    return node


def _whiteout_tmp(ofs: OverlayFs) -> bytes:
    tmp = ofs.work_tmp()
    layers.mknod(tmp, stat.S_IFCHR, os.makedev(0, 0))
    return tmp


def clear_dir(ofs: OverlayFs, dest: bytes, replacement: bytes | None) -> None:
    """Take the upper dir at *dest* (holding only whiteouts) away, atomically.

    With a *replacement* in work/ the two are exchanged; without one the dir is moved to
    work/.  The old dir is then deleted there.
    """
    if replacement is not None:
        layers.rename(replacement, dest, syscalls.RENAME_EXCHANGE)
        layers.remove_tree(replacement)
    else:
        tmp = ofs.work_tmp()
        layers.rename(dest, tmp)
        layers.remove_tree(tmp)


def _remove(ofs: OverlayFs, table: NodeTable, parent: Node, name: bytes, node: Node,
            invalidate: Invalidate) -> None:
    """Remove a resolved name: plain upper removal, or a whiteout if a lower entry exists."""
    whiteout = not node.upper or lower_positive(ofs, parent.lowers, name)
    has_upper_entries = check_empty(ofs, node, covers_lower=whiteout) if node.is_dir else False
    if whiteout:
        copy_up(ofs, parent, invalidate=invalidate)
    nlink_start(ofs, node, invalidate)
    table.pin(node)
    try:
        dest = _upper(ofs, join(parent.path(), name))
        if whiteout:
            _put_whiteout(ofs, dest, node)
        elif node.is_dir and has_upper_entries:
            clear_dir(ofs, dest, None)
        elif node.is_dir:
            layers.rmdir(dest)
        else:
            layers.unlink(dest)
    except BaseException:
        table.unpin(node)
        raise
    if invalidate is not None:
        invalidate(node)  # the other names of a hard link lose one from nlink
    table.detach(node)
    nlink_end(ofs, node)


def nlink_start(ofs: OverlayFs, node: Node, invalidate: Invalidate) -> None:
    """Before a name of a file that is or would be indexed is removed or renamed over, it is
    copied up, so that its link count has somewhere to live (``ovl_nlink_start``)."""
    if node.upper or node.is_dir or not index.active(ofs):
        return
    if node.index is not None or (
            node.lowers and index.need_index(ofs, os.lstat(node.lowers[0].real()))):
        copy_up(ofs, node, invalidate=invalidate)


def nlink_end(ofs: OverlayFs, node: Node) -> None:
    """After a name of an indexed file went: the entry goes with the last name
    (``ovl_nlink_end``)."""
    if node.index is not None:
        index.drop_if_unlinked(ofs, node.index)


def _put_whiteout(ofs: OverlayFs, dest: bytes, node: Node) -> None:
    """Make *dest* a whiteout, replacing the node's upper object if it has one."""
    tmp = _whiteout_tmp(ofs)
    if not node.upper:
        layers.rename(tmp, dest, syscalls.RENAME_NOREPLACE)
    elif node.is_dir:
        clear_dir(ofs, dest, tmp)
    else:
        layers.rename(tmp, dest)


def unlink(ofs: OverlayFs, table: NodeTable, parent: Node, name: bytes,
           invalidate: Invalidate = None) -> None:
    if not ofs.writable:
        fail(errno.EROFS)  # before the lookup, as the VFS takes the write lock first
    _res, node = table.lookup(parent, name)
    if node is None:
        fail(errno.ENOENT, name)
    if node.is_dir:
        fail(errno.EISDIR, name)
    _remove(ofs, table, parent, name, node, invalidate)


def rmdir(ofs: OverlayFs, table: NodeTable, parent: Node, name: bytes,
          invalidate: Invalidate = None) -> None:
    if not ofs.writable:
        fail(errno.EROFS)
    _res, node = table.lookup(parent, name)
    if node is None:
        fail(errno.ENOENT, name)
    if not node.is_dir:
        fail(errno.ENOTDIR, name)
    _remove(ofs, table, parent, name, node, invalidate)
