"""rename / renameat2 (the kernel's ovl_rename, catalogue §2.9).

Order of checks: VFS-level ones (EINVAL for unknown flags and for EXCHANGE with NOREPLACE or
WHITEOUT, ENOENT, EEXIST for NOREPLACE, ENOTDIR/EISDIR, EINVAL for a move into its own
subtree, same object → no-op, whatever the flags), then the overlay's:

1. RENAME_WHITEOUT: EINVAL (ovl_rename takes NOREPLACE and EXCHANGE only);
2. a lower or merged directory (either side with EXCHANGE): EXDEV, unless
   ``redirect_dir=on`` — checked before any copy-up ("don't copy up directory trees");
3. overwriting a merged directory: it must be empty in the merged view (ENOTEMPTY); a
   pure-upper one is checked by the upper fs's rename(2) at step 6, after the marks;
4. copy up the source, the new parent chain and, with EXCHANGE, the target;
5. a moved lower/merged directory gets ``overlay.redirect`` (its old name in the same
   directory, else the absolute old path; an existing absolute one is kept); a pure-upper
   directory that is not opaque moving into a merged parent gets ``opaque=y``;
6. the old name becomes a whiteout if it has a lower entry.

Between 4 and 5, an object with an origin moving to another directory marks its new upper
parent impure (so a redirect too long for ``redirect_max``, EXDEV, leaves the mark made).
"""

from __future__ import annotations

import errno
import os

from . import aufs, index, layers, syscalls
from .copy_up import copy_up
from .errors import fail
from .inode import Node, NodeTable, origin_type, upper_path
from .layers import join
from .lookup import lower_positive, set_impure
from .namespace import REDIRECT_MAX, Invalidate, clear_dir, nlink_end, nlink_start
from .readdir import check_empty
from .super import OverlayFs

ALLOWED_FLAGS = syscalls.RENAME_NOREPLACE | syscalls.RENAME_EXCHANGE
VFS_FLAGS = ALLOWED_FLAGS | syscalls.RENAME_WHITEOUT


def _vfs_checks(src: Node, tgt: Node | None, old_parent: Node, new_parent: Node,
                flags: int) -> None:
    """The checks the VFS makes before any filesystem code runs."""
    if flags & syscalls.RENAME_EXCHANGE:
        if tgt is None:
            fail(errno.ENOENT)
    elif tgt is not None:
        if flags & syscalls.RENAME_NOREPLACE:
            fail(errno.EEXIST, tgt.name)
        if src.is_dir and not tgt.is_dir:
            fail(errno.ENOTDIR, tgt.name)
        if not src.is_dir and tgt.is_dir:
            fail(errno.EISDIR, tgt.name)
    if src.is_dir and _is_ancestor(src, new_parent):
        fail(errno.EINVAL, src.name)
    if tgt is not None and flags & syscalls.RENAME_EXCHANGE and tgt.is_dir and _is_ancestor(
        tgt, old_parent
    ):
        fail(errno.EINVAL, tgt.name)


def _is_ancestor(node: Node, other: Node | None) -> bool:
    while other is not None:
        if other is node:
            return True
        other = other.parent
    return False


def _same_upper_object(ofs: OverlayFs, src: Node, tgt: Node | None) -> bool:
    """Two upper hard links of one file: rename(2) of the same inode does nothing.  With
    index=on, so do two names of one lower hard link, indexed or not yet copied up (one
    overlay inode, hashed by its lower: ``ovl_hash_bylower``)."""
    if tgt is None:
        return False
    if index.active(ofs) and not src.is_dir and not tgt.is_dir and not (
            src.upper and tgt.upper):
        return src.real == tgt.real and (src.index is not None or not (src.upper or tgt.upper))
    if not (src.upper and tgt.upper):
        return False
    a, b = os.lstat(upper_path(ofs, src)), os.lstat(upper_path(ofs, tgt))
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _movable(ofs: OverlayFs, node: Node) -> bool:
    """A directory can move if it is pure upper, or if redirects may be created."""
    return not node.is_dir or not node.lowers or ofs.cfg.redirect_create


def _redirect_of(ofs: OverlayFs, node: Node) -> bytes | None:
    if not node.upper:
        return None
    return layers.getxattr(upper_path(ofs, node), ofs.private(b"redirect")) or None


def _absolute_redirect(ofs: OverlayFs, node: Node) -> bytes:
    """The node's current location as a path from the lower roots (ovl_get_redirect)."""
    parts: list[bytes] = []
    current: Node | None = node
    while current is not None and current.parent is not None:
        redirect = _redirect_of(ofs, current)
        if redirect and redirect.startswith(b"/"):
            return b"/".join([redirect, *reversed(parts)])
        parts.append(redirect or current.name)
        current = current.parent
    return b"/" + b"/".join(reversed(parts))


def _set_redirect(ofs: OverlayFs, node: Node, samedir: bool) -> None:
    path = upper_path(ofs, node)
    current = _redirect_of(ofs, node)
    if current and (samedir or current.startswith(b"/")):
        return
    value = node.name if samedir else _absolute_redirect(ofs, node)
    if len(value) > REDIRECT_MAX:
        fail(errno.EXDEV, value)  # after the copy-up, as the kernel
    layers.setxattr(path, ofs.private(b"redirect"), value)


def _mark_impure(ofs: OverlayFs, node: Node, dest_parent: Node) -> None:
    """An object with an origin moving into another directory marks that directory impure
    (its listing must then look entries up for d_ino), before the redirect is set: a
    redirect too long gives EXDEV with the mark already made, as in ovl_rename."""
    if origin_type(ofs, node):
        set_impure(ofs, dest_parent.path())


def _mark_moved(ofs: OverlayFs, node: Node, samedir: bool, dest_parent: Node) -> None:
    """Redirect for a moved lower/merged dir; opaque for a pure-upper dir entering a merge."""
    if not node.is_dir:
        return
    if node.lowers:
        _set_redirect(ofs, node, samedir)
        return
    path = upper_path(ofs, node)
    opaque = ofs.private(b"opaque")
    if dest_parent.lowers and layers.getxattr(path, opaque) != b"y":
        layers.setxattr(path, opaque, b"y")


def _move(ofs: OverlayFs, old: bytes, new: bytes, whiteout: bool, new_is_whiteout: bool,
          is_dir: bool) -> None:
    """The upper rename; leaves a whiteout at *old* when asked."""
    if whiteout and new_is_whiteout:
        layers.rename(old, new, syscalls.RENAME_EXCHANGE)  # the whiteouts switch places
    elif whiteout:
        try:
            layers.rename(old, new, syscalls.RENAME_WHITEOUT)
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise
            layers.rename(old, new)
            tmp = ofs.work_tmp()
            layers.mknod(tmp, 0o020000, os.makedev(0, 0))
            layers.rename(tmp, old, syscalls.RENAME_NOREPLACE)
    elif is_dir and new_is_whiteout:
        layers.rename(old, new, syscalls.RENAME_EXCHANGE)
        layers.unlink(old)
    else:
        layers.rename(old, new)


def _target_must_be_cleared(ofs: OverlayFs, tgt: Node) -> bool:
    """A dir being overwritten must be empty in the merged view when it has a lower stack
    (checked before any copy-up).  True if whiteouts must go first.  A pure-upper target is
    left to the upper fs's rename(2), whose ENOTEMPTY (whiteouts count) comes after the
    copy-ups and the opaque/redirect marks, which stay (as ovl_rename)."""
    if tgt.lowers:
        return check_empty(ofs, tgt)
    return False


def _empty_opaque_dir(ofs: OverlayFs) -> bytes:
    tmp = ofs.work_tmp()
    layers.mkdir(tmp, 0o700)
    layers.setxattr(tmp, ofs.private(b"opaque"), b"y")
    return tmp


def rename(ofs: OverlayFs, table: NodeTable, old_parent: Node, old_name: bytes,
           new_parent: Node, new_name: bytes, flags: int, invalidate: Invalidate = None) -> None:
    """renameat2 through the overlay (see module doc)."""
    if not ofs.writable:
        fail(errno.EROFS)
    exchange = bool(flags & syscalls.RENAME_EXCHANGE)
    if flags & ~VFS_FLAGS or (exchange and flags & ~syscalls.RENAME_EXCHANGE):
        fail(errno.EINVAL)
    aufs.check_new_name(ofs, new_name)
    _res_s, src = table.lookup(old_parent, old_name)
    if src is None:
        fail(errno.ENOENT, old_name)
    res_t, tgt = table.lookup(new_parent, new_name)
    _vfs_checks(src, tgt, old_parent, new_parent, flags)
    if tgt is src or _same_upper_object(ofs, src, tgt):
        return  # vfs_rename: the same inode, nothing to do (before the filesystem's checks)
    if flags & ~ALLOWED_FLAGS:
        fail(errno.EINVAL)  # RENAME_WHITEOUT
    if not _movable(ofs, src) or (exchange and tgt is not None and not _movable(ofs, tgt)):
        fail(errno.EXDEV)
    clear_target = False
    if tgt is not None and not exchange and tgt.is_dir:
        clear_target = _target_must_be_cleared(ofs, tgt)
    copy_up(ofs, src, invalidate=invalidate)
    copy_up(ofs, new_parent, invalidate=invalidate)
    if exchange and tgt is not None:
        copy_up(ofs, tgt, invalidate=invalidate)
    elif tgt is not None:
        nlink_start(ofs, tgt, invalidate)
    samedir = old_parent is new_parent
    if not samedir:
        _mark_impure(ofs, src, new_parent)
        if exchange and tgt is not None:
            _mark_impure(ofs, tgt, old_parent)
    _mark_moved(ofs, src, samedir, new_parent)
    if exchange and tgt is not None:
        _mark_moved(ofs, tgt, samedir, old_parent)
    _do_rename(ofs, table, (old_parent, old_name, src), (new_parent, new_name, tgt),
               exchange, clear_target, res_t.upper_whiteout)
    if invalidate is not None:
        invalidate(src)  # ctime under every name of a hard link
        if tgt is not None:
            invalidate(tgt)  # overwritten: its other names lose one from nlink
    if tgt is not None and not exchange:
        nlink_end(ofs, tgt)


def _do_rename(ofs: OverlayFs, table: NodeTable, old: tuple[Node, bytes, Node],
               new: tuple[Node, bytes, Node | None], exchange: bool, clear_target: bool,
               new_is_whiteout: bool) -> None:
    """Change the upper layer and the node table."""
    assert ofs.upper is not None
    old_parent, old_name, src = old
    new_parent, new_name, tgt = new
    old_rel, new_rel = old_parent.path(), new_parent.path()
    old_path = ofs.upper.real(join(old_rel, old_name))
    new_path = ofs.upper.real(join(new_rel, new_name))
    overwritten = tgt if tgt is not None and not exchange else None
    if overwritten is not None:
        table.pin(overwritten)
    try:
        if exchange:
            layers.rename(old_path, new_path, syscalls.RENAME_EXCHANGE)
        else:
            if clear_target:
                clear_dir(ofs, new_path, _empty_opaque_dir(ofs))
            whiteout = lower_positive(ofs, old_parent.lowers, old_name)
            _move(ofs, old_path, new_path, whiteout, new_is_whiteout, src.is_dir)
    except BaseException:
        if overwritten is not None:
            table.unpin(overwritten)
        raise
    _update_table(table, old, new, exchange)


def _update_table(table: NodeTable, old: tuple[Node, bytes, Node],
                  new: tuple[Node, bytes, Node | None], exchange: bool) -> None:
    old_parent, old_name, src = old
    new_parent, new_name, tgt = new
    if tgt is not None and not exchange:
        table.detach(tgt)
    table.detach_name(src)
    if exchange and tgt is not None:
        table.detach_name(tgt)
        table.attach(tgt, old_parent, old_name)
    table.attach(src, new_parent, new_name)
