"""rename / renameat2 (``do_renameat2``, ``vfs_rename``, ``ovl_rename``; catalogue §2.9).

VFS first: flags, the two parent walks, ``.``/``..`` (EBUSY), EROFS, the lookups, NOREPLACE
and EXCHANGE, trailing slashes, moving into one's own subtree, "same inode is a no-op",
permission and types.  Then the overlay (``ovl_rename_start``/``ovl_rename_upper``):
RENAME_WHITEOUT is EINVAL; a merged or lower dir cannot move without ``redirect_dir=on``
(EXDEV, before any copy-up); a non-pure-upper dir target must be empty in the merged view;
copy-ups; the old name becomes a whiteout when a lower layer still has it; a moved merged
dir gets a redirect (bare old name in the same dir, absolute path across dirs, EXDEV after
the copy-ups when longer than redirect_max); a pure-upper dir moved into a merged parent
becomes opaque.
"""

from __future__ import annotations

import errno

from model.copy_up import copy_up
from model.errors import fail
from model.fs import OvlFs, impurity_changed, move_kept_origins
from model.inode import const_ino, lose_link, overlay_links, same_inode
from model.layer import Node
from model.lookup import Dentry, lower_positive, set_impure
from model.namei import LAST_NORM, LAST_ROOT, Nameidata, Parent, check_path, walk_parent
from model.namespace import (
    clear_whiteouts,
    may_create,
    may_delete,
    new_whiteout,
    nlink_drop,
    nlink_start,
    pure_upper,
)
from model.perm import MAY_WRITE, inode_permission
from model.readdir import check_empty_dir
from model.redirect import set_redirect
from model.spec import OPAQUE
from model.types import Cred

RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
RENAME_WHITEOUT = 4


def do_rename(fs: OvlFs, cred: Cred, old: bytes, new: bytes, flags: int) -> None:
    """renameat2(2) as the VFS runs it, then :func:`ovl_rename`."""
    _check_flags(cred, flags)
    # do_renameat2: the old name's getname error or parent lookup comes before anything
    # of the new name's (filename_parentat of one, then of the other)
    check_path(old)
    po = walk_parent(Nameidata(fs, cred), old)
    check_path(new)
    pn = walk_parent(Nameidata(fs, cred), new)
    if po.type == LAST_ROOT or pn.type == LAST_ROOT:
        # "/" is the mountpoint itself, whose parent is outside the mount: renaming it
        # onto itself is a no-op, anything else crosses mounts.
        if po.type != pn.type:
            raise fail(errno.EXDEV, "rename across the mountpoint")
        if flags & RENAME_NOREPLACE:
            raise fail(errno.EEXIST, "RENAME_NOREPLACE onto an existing name")
        return
    if po.type != LAST_NORM or pn.type != LAST_NORM:
        raise fail(errno.EBUSY, "rename of . or .. or /")
    if fs.readonly:
        raise fail(errno.EROFS, "read-only overlay")
    nd = Nameidata(fs, cred)
    od = po.lookup(nd)
    if not od.positive:
        raise fail(errno.ENOENT, "no such source")
    tgt = pn.lookup(nd)
    _check_names(flags, po, pn, od, tgt)
    if same_inode(fs, od, tgt):
        return  # vfs_rename: source and target are one inode
    _vfs_permission(nd, flags, po, pn, od, tgt)
    ovl_rename(fs, od, tgt, flags)


def _check_flags(cred: Cred, flags: int) -> None:
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT):
        raise fail(errno.EINVAL, "unknown rename flags")
    if flags & RENAME_EXCHANGE and flags & (RENAME_NOREPLACE | RENAME_WHITEOUT):
        raise fail(errno.EINVAL, "RENAME_EXCHANGE with another flag")
    # No CAP_MKNOD check: since whiteouts may be made by unprivileged users (vfs_mknod
    # exempts them) do_renameat2 no longer checks; overlayfs refuses the flag itself.


def _check_names(flags: int, po: Parent, pn: Parent, od: Dentry, tgt: Dentry) -> None:
    """The checks of ``do_renameat2`` between the lookups and ``vfs_rename``."""
    if flags & RENAME_NOREPLACE and tgt.positive:
        raise fail(errno.EEXIST, "RENAME_NOREPLACE onto an existing name")
    if flags & RENAME_EXCHANGE:
        if not tgt.positive:
            raise fail(errno.ENOENT, "RENAME_EXCHANGE with a missing target")
        if not tgt.is_dir and pn.trailing:
            raise fail(errno.ENOTDIR, "trailing slash on a non-dir target")
    if not od.is_dir and (po.trailing or (not flags & RENAME_EXCHANGE and pn.trailing)):
        raise fail(errno.ENOTDIR, "trailing slash on a non-dir")
    op, np = po.dir.path(), pn.dir.path()
    if op != np:
        # lock_rename's trap: moving a dir under itself, or over one of its ancestors.
        if np[: len(op) + 1] == (*op, po.last):
            raise fail(errno.EINVAL, "rename into its own subtree")
        if op[: len(np) + 1] == (*np, pn.last):
            raise fail(
                errno.EINVAL if flags & RENAME_EXCHANGE else errno.ENOTEMPTY,
                "target is an ancestor of the source",
            )


def _vfs_permission(
    nd: Nameidata, flags: int, po: Parent, pn: Parent, od: Dentry, tgt: Dentry
) -> None:
    """``vfs_rename``: may_delete the source; may_create or may_delete the target (which
    also checks dir vs non-dir); write permission on a dir that changes parent ('..')."""
    may_delete(nd, po.dir, od, od.is_dir)
    if not tgt.positive:
        may_create(nd, pn.dir)
    else:
        may_delete(nd, pn.dir, tgt, tgt.is_dir if flags & RENAME_EXCHANGE else od.is_dir)
    if po.dir.path() != pn.dir.path():
        if od.is_dir:
            inode_permission(nd.cred, od.real, MAY_WRITE, nd.fs.readonly)
        if flags & RENAME_EXCHANGE and tgt.is_dir:
            inode_permission(nd.cred, tgt.real, MAY_WRITE, nd.fs.readonly)


def can_move(fs: OvlFs, d: Dentry) -> bool:
    """``ovl_can_move``: "Don't copy up directory trees" — a merged or lower dir moves only
    with redirect_dir=on."""
    return fs.config.redirect_create or not d.is_dir or not d.merge_or_lower


def ovl_rename(fs: OvlFs, old: Dentry, new: Dentry, flags: int) -> None:
    """``ovl_rename``: ``ovl_rename_start`` then ``ovl_rename_upper``."""
    overwrite = not flags & RENAME_EXCHANGE
    if flags & ~(RENAME_EXCHANGE | RENAME_NOREPLACE):
        raise fail(errno.EINVAL, "RENAME_WHITEOUT on overlayfs")
    if not can_move(fs, old) or (not overwrite and not can_move(fs, new)):
        raise fail(errno.EXDEV, "directory rename without redirect_dir=on")
    is_dir = old.is_dir
    new_is_dir = new.positive and new.is_dir
    whiteouts: list[bytes] = []
    if overwrite and new_is_dir and not pure_upper(new):
        whiteouts = check_empty_dir(fs, new.upper, new.lowers, new.xwhiteouts)
    leave_whiteout = switch = cleanup = False
    if overwrite:
        if lower_positive(fs, old):
            leave_whiteout = not new.whiteout
            switch = new.whiteout  # "Switch whiteouts": the target's whiteout moves over
        elif is_dir and new.whiteout:
            switch = cleanup = True
    copy_up(fs, old)
    assert new.parent is not None and old.parent is not None
    copy_up(fs, new.parent)
    if not overwrite:
        copy_up(fs, new)
    elif new.positive:
        nlink_start(fs, new)
    _rename_upper(fs, old, new, overwrite, whiteouts, leave_whiteout, switch, cleanup)


def _rename_upper(
    fs: OvlFs,
    old: Dentry,
    new: Dentry,
    overwrite: bool,
    whiteouts: list[bytes],
    leave_whiteout: bool,
    switch: bool,
    cleanup: bool,
) -> None:
    """``ovl_rename_upper``: impure parents, redirect or opaque, the real rename."""
    assert old.parent is not None and new.parent is not None
    if whiteouts:
        clear_whiteouts(fs, new, whiteouts)
    samedir = old.parent.path() == new.parent.path()
    if fs.impure_lists and (_origin_type(fs, old) or _origin_type(fs, new)):
        impurity_changed(fs, old.parent.upper, new.parent.upper)
    if not samedir:
        if _origin_type(fs, old):
            set_impure(new.parent)
        if not overwrite and _origin_type(fs, new):
            set_impure(old.parent)
    if old.merge_or_lower:
        set_redirect(fs, old, samedir)
    elif old.is_dir and not old.opaque and new.parent.merged:
        _set_opaque(old)
    if not overwrite and new.merge_or_lower:
        set_redirect(fs, new, samedir)
    elif not overwrite and new.is_dir and not new.opaque and old.parent.merged:
        _set_opaque(new)
    victim = (*overlay_links(fs, new), new.is_dir) if overwrite and new.positive else None
    if overwrite and new.positive:
        nlink_drop(fs, new)
    udir_old, udir_new = old.parent.upper, new.parent.upper
    assert udir_old is not None and udir_new is not None
    _real_rename(fs, udir_old, old.name, udir_new, new.name, exchange=switch or not overwrite)
    if victim is not None:
        key, links, is_dir = victim
        lose_link(fs, key, is_dir, links)
    if leave_whiteout:
        udir_old.dir_children()[old.name] = new_whiteout(fs)
    if cleanup:
        del udir_old.dir_children()[old.name]
    udir_old.changed()
    udir_new.changed()


def _origin_type(fs: OvlFs, d: Dentry) -> bool:
    """``OVL_TYPE_ORIGIN``: an upper object whose st_ino is its origin's."""
    return d.upper is not None and const_ino(fs, d.upper, d.lowers)


def _set_opaque(d: Dentry) -> None:
    assert d.upper is not None
    d.upper.xattrs[OPAQUE] = b"y"
    d.opaque = True


def _real_rename(
    fs: OvlFs, odir: Node, oname: bytes, ndir: Node, nname: bytes, exchange: bool
) -> None:
    """The upper filesystem's rename (tmpfs): a dir target must be empty; both parents'
    mtimes change."""
    ochildren, nchildren = odir.dir_children(), ndir.dir_children()
    src = ochildren[oname]
    dst = nchildren.get(nname)
    if fs.named_origins:  # the dentries move, in-memory origins with them
        move_kept_origins(fs, odir, oname, ndir, nname, exchange)
    if exchange:
        assert dst is not None
        ochildren[oname], nchildren[nname] = dst, src
    else:
        if dst is not None and dst.is_dir and dst.dir_children():
            raise fail(errno.ENOTEMPTY, "upper target directory not empty")
        del ochildren[oname]
        if dst is not None:
            if dst.is_dir:
                dst.nlink = 0  # an empty dir renamed over is removed
            else:
                dst.nlink -= 1
        nchildren[nname] = src
    now = fs.tick()
    odir.mtime = now
    ndir.mtime = now
