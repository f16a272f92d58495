"""Creating and removing names: mkdir, mknod, symlink, link, open(O_CREAT), unlink, rmdir
(``fs/overlayfs/dir.c``, catalogue §2.5–§2.8, §2.10, §7).

Each syscall runs the VFS checks in the kernel's order (path walk, EEXIST before EROFS for
creates, EROFS before the lookup for removals, permission, type) and then the overlay's part:
copy up the parent chain, then create in the upper dir (replacing a whiteout, setting
``opaque``) or remove (leaving a whiteout when a lower layer still has the name).
"""

from __future__ import annotations

import errno
import stat as _stat

from model.copy_up import copy_up, index_wanted
from model.errors import fail
from model.fs import OvlFs, impurity_changed
from model.inode import index_entry, lose_link, overlay_links
from model.layer import BLK, CHR, DIR, FIFO, LNK, REG, SOCK, Node, is_metacopy, is_whiteout
from model.lookup import Dentry, lower_positive, set_impure
from model.namei import (
    LAST_DOT,
    LAST_DOTDOT,
    LAST_NORM,
    LAST_ROOT,
    Nameidata,
    Parent,
    check_path,
    check_string,
    last_component,
    walk_parent,
)
from model.perm import MAY_EXEC, MAY_WRITE, check_sticky, in_group, inode_permission
from model.readdir import check_empty_dir, is_real_dir
from model.redirect import set_redirect
from model.spec import OPAQUE
from model.types import Cred
from model.xattrs import is_own

WHITEOUT_DEV = 0


# ---- VFS helpers ---------------------------------------------------------------------------


def filename_create(nd: Nameidata, path: bytes, want_dir: bool = False) -> tuple[Parent, Dentry]:
    """``filename_create``: the parent and the (negative) new dentry.  A last component
    ``.``/``..``/root is EEXIST; an existing name EEXIST, before EROFS (catalogue §7); a
    trailing slash on a missing name is ENOENT unless a directory is being made."""
    check_path(path)
    p = walk_parent(nd, path)
    if p.type != LAST_NORM:
        raise fail(errno.EEXIST, "last component is . or .. or /")
    d = p.lookup(nd)
    if d.positive:
        raise fail(errno.EEXIST, "name exists")
    if p.trailing and not want_dir:
        raise fail(errno.ENOENT, "trailing slash on a name to create")
    if nd.fs.readonly:
        raise fail(errno.EROFS, "read-only overlay")
    return p, d


def may_create(nd: Nameidata, parent: Dentry) -> None:
    """``may_create``: write and search permission on the parent dir."""
    inode_permission(nd.cred, parent.real, MAY_WRITE | MAY_EXEC, nd.fs.readonly)


def may_delete(nd: Nameidata, parent: Dentry, victim: Dentry, is_dir: bool) -> None:
    """``may_delete``: permission on the parent, the sticky bit, then the type."""
    inode_permission(nd.cred, parent.real, MAY_WRITE | MAY_EXEC, nd.fs.readonly)
    if check_sticky(nd.cred, parent.real, victim.real):
        raise fail(errno.EPERM, "sticky directory")
    if is_dir:
        if not victim.is_dir:
            raise fail(errno.ENOTDIR, "not a directory")
        if victim.is_root:  # pragma: no cover - a LAST_NORM name never names the root
            raise fail(errno.EBUSY, "the root")
    elif victim.is_dir:
        raise fail(errno.EISDIR, "is a directory")


def new_owner(cred: Cred, parent: Node, kind: str, mode: int) -> tuple[int, int, int]:
    """``inode_init_owner`` + ``mode_strip_sgid``: uid is the caller's; gid is the parent's
    when the parent is setgid (a new dir then inherits setgid), else the caller's."""
    if parent.mode & _stat.S_ISGID:
        gid = parent.gid
        if kind == DIR:
            mode |= _stat.S_ISGID
        elif (
            mode & (_stat.S_ISGID | _stat.S_IXGRP) == (_stat.S_ISGID | _stat.S_IXGRP)
            and not cred.is_root
            and not in_group(cred, gid)
        ):
            mode &= ~_stat.S_ISGID
    else:
        gid = cred.gid
    return cred.uid, gid, mode


# ---- the overlay's create ------------------------------------------------------------------


def create_object(
    fs: OvlFs,
    cred: Cred,
    d: Dentry,
    kind: str,
    mode: int,
    *,
    rdev: int = 0,
    target: bytes = b"",
) -> Node:
    """``ovl_create_object``: copy up the parent, create in the upper dir.  Over an upper
    whiteout the new object replaces it (a new dir is then opaque, §2.6); a new dir in a
    merged parent is opaque only when offline changes are not allowed (§2.6,
    ``ovl_create_upper``)."""
    parent = d.parent
    assert parent is not None
    copy_up(fs, parent)
    udir = parent.upper
    assert udir is not None
    uid, gid, mode = new_owner(cred, parent.real, kind, mode)
    node = fs.clock.new_node(kind, mode, uid, gid)
    node.rdev = rdev
    node.target = target
    if kind == DIR:
        old = udir.dir_children().get(d.name)
        over_whiteout = old is not None and is_whiteout(old)
        if over_whiteout or (parent.merged and not fs.config.offline_changes_allowed):
            node.xattrs[OPAQUE] = b"y"
    link_into(fs, udir, d.name, node)
    # The (negative) dentry now stands for the new upper object.
    d.upper, d.upper_alias, d.lowers = node, True, ()
    d.opaque = OPAQUE in node.xattrs
    return node


def link_into(fs: OvlFs, udir: Node, name: bytes, node: Node) -> None:
    """Put ``node`` under ``name`` in the upper dir (replacing a whiteout), which changes
    the dir's mtime."""
    udir.dir_children()[name] = node
    udir.changed()
    udir.mtime = fs.tick()


def unlink_from(fs: OvlFs, udir: Node, name: bytes) -> Node:
    """Remove a name from a real upper dir; a removed directory's st_nlink is 0 from then on
    (what fstat of an open handle on it shows)."""
    node = udir.dir_children().pop(name)
    udir.changed()
    if fs.named_origins:  # the name's dentry goes negative: its in-memory origin with it
        fs.named_origins.pop((udir, name), None)
    if node.kind != DIR:
        node.nlink -= 1
    else:
        node.nlink = 0
    udir.mtime = fs.tick()
    return node


def new_whiteout(fs: OvlFs) -> Node:
    """A whiteout as the kernel makes it: char device 0:0, mode 0000."""
    return fs.clock.new_node(CHR, 0, 0, 0)


# ---- syscalls ------------------------------------------------------------------------------


def do_mkdir(fs: OvlFs, cred: Cred, path: bytes, mode: int) -> None:
    """mkdir(2): mode keeps rwx and sticky only (``vfs_prepare_mode``)."""
    nd = Nameidata(fs, cred)
    p, d = filename_create(nd, path, want_dir=True)
    may_create(nd, p.dir)
    create_object(fs, cred, d, DIR, mode & 0o1777)


MKNOD_KINDS = {
    0: REG,
    _stat.S_IFREG: REG,
    _stat.S_IFCHR: CHR,
    _stat.S_IFBLK: BLK,
    _stat.S_IFIFO: FIFO,
    _stat.S_IFSOCK: SOCK,
}


def do_mknod(fs: OvlFs, cred: Cred, path: bytes, mode: int, rdev: int) -> None:
    """mknod(2): a dir type is EPERM, an unknown type EINVAL (``may_mknod``); devices need
    CAP_MKNOD in the initial user namespace (``vfs_mknod``: no root of a user namespace
    has it, checked on 6.18); a char device 0:0 through the overlay is EPERM (``ovl_mknod``,
    §2.5)."""
    fmt = _stat.S_IFMT(mode)
    if fmt == _stat.S_IFDIR:
        raise fail(errno.EPERM, "mknod of a directory")
    kind = MKNOD_KINDS.get(fmt)
    if kind is None:
        raise fail(errno.EINVAL, "bad file type for mknod")
    nd = Nameidata(fs, cred)
    p, d = filename_create(nd, path)
    may_create(nd, p.dir)
    if kind in (CHR, BLK) and (not cred.is_root or fs.userns):
        raise fail(errno.EPERM, "mknod of a device needs CAP_MKNOD")
    if kind == CHR and rdev == WHITEOUT_DEV:
        raise fail(errno.EPERM, "creating a whiteout through the overlay")
    create_object(fs, cred, d, kind, mode & 0o7777, rdev=rdev if kind in (CHR, BLK) else 0)


def do_symlink(fs: OvlFs, cred: Cred, target: bytes, path: bytes) -> None:
    """symlink(2): an empty target is ENOENT, a target of PATH_MAX bytes ENAMETOOLONG."""
    check_string(target)
    nd = Nameidata(fs, cred)
    p, d = filename_create(nd, path)
    may_create(nd, p.dir)
    create_object(fs, cred, d, LNK, 0o777, target=target)


def do_link(fs: OvlFs, cred: Cred, old: bytes, new: bytes) -> None:
    """link(2) (``do_linkat`` without AT_SYMLINK_FOLLOW): the old name is not followed;
    protected_hardlinks asks a non-owner for a safe source; a dir source is EPERM."""
    check_path(old)
    nd = Nameidata(fs, cred)
    src = last_component(nd, walk_parent(nd, old), follow=False)
    nd2 = Nameidata(fs, cred)
    p, d = filename_create(nd2, new)
    _may_linkat(nd, src)
    may_create(nd2, p.dir)
    if src.is_dir:
        raise fail(errno.EPERM, "hard link to a directory")
    ovl_link(fs, src, d)


def _may_linkat(nd: Nameidata, src: Dentry) -> None:
    """``may_linkat`` with fs.protected_hardlinks=1."""
    cred, node = nd.cred, src.real
    if cred.is_root or cred.uid == node.uid:
        return
    unsafe = (
        node.kind != REG
        or node.mode & _stat.S_ISUID
        or (node.mode & _stat.S_ISGID and node.mode & _stat.S_IXGRP)
    )
    if unsafe:
        raise fail(errno.EPERM, "protected_hardlinks: unsafe source")
    from model.perm import MAY_READ, generic_permission

    if not generic_permission(cred, node, MAY_READ | MAY_WRITE):
        raise fail(errno.EPERM, "protected_hardlinks: source not readable and writable")


def ovl_link(fs: OvlFs, src: Dentry, d: Dentry) -> None:
    """``ovl_link``: copy up the source (data too, or with metacopy=on its metadata: a
    metacopy source then gets an absolute redirect, ``ovl_set_link_redirect``, which every
    upper link shares) and the new parent, then make an upper hard link; the new parent
    becomes impure when the source has a const-ino origin."""
    upper = copy_up(fs, src)
    if is_metacopy(upper):
        set_redirect(fs, src, samedir=False)
    parent = d.parent
    assert parent is not None
    copy_up(fs, parent)
    from model.inode import const_ino

    if const_ino(fs, src.upper, src.lowers):
        set_impure(parent)
    entry = index_entry(fs, src.upper, src.lowers)
    if entry is not None:
        entry.nlink += 1
    assert parent.upper is not None
    upper.nlink += 1
    link_into(fs, parent.upper, d.name, upper)


def do_unlink(fs: OvlFs, cred: Cred, path: bytes) -> None:
    """unlink(2) (``do_unlinkat``): ``.``/``..``/root is EISDIR; EROFS comes before the
    lookup, so a missing name on a read-only overlay is EROFS (catalogue §7)."""
    check_path(path)
    nd = Nameidata(fs, cred)
    p = walk_parent(nd, path)
    if p.type != LAST_NORM:
        # "/" is the mountpoint seen from outside with a trailing slash: EISDIR as well.
        raise fail(errno.EISDIR, "unlink of . or .. or /")
    if fs.readonly:
        raise fail(errno.EROFS, "read-only overlay")
    d = p.lookup(nd)
    if not d.positive:
        raise fail(errno.ENOENT, "no such name")
    if p.trailing:
        raise fail(errno.EISDIR if d.is_dir else errno.ENOTDIR, "trailing slash")
    may_delete(nd, p.dir, d, is_dir=False)
    ovl_do_remove(fs, d, is_dir=False)


def do_rmdir(fs: OvlFs, cred: Cred, path: bytes) -> None:
    """rmdir(2) (``do_rmdir``): ``..`` is ENOTEMPTY, ``.`` EINVAL, ``/`` EBUSY; EROFS
    before the lookup."""
    check_path(path)
    nd = Nameidata(fs, cred)
    p = walk_parent(nd, path)
    if p.type == LAST_DOTDOT:
        raise fail(errno.ENOTEMPTY, "rmdir of ..")
    if p.type == LAST_DOT:
        raise fail(errno.EINVAL, "rmdir of .")
    if p.type == LAST_ROOT:
        _remove_mountpoint(cred, errno.EBUSY)
    if fs.readonly:
        raise fail(errno.EROFS, "read-only overlay")
    d = p.lookup(nd)
    if not d.positive:
        raise fail(errno.ENOENT, "no such name")
    may_delete(nd, p.dir, d, is_dir=True)
    ovl_do_remove(fs, d, is_dir=True)


def _remove_mountpoint(cred: Cred, err: int) -> None:
    """``/`` is the mountpoint, a name in a root-owned 0755 directory outside the mount:
    removing it is EACCES for others, else EBUSY (a mountpoint)."""
    raise fail(errno.EACCES if not cred.is_root else err, "removal of the mountpoint")


# ---- the overlay's remove ------------------------------------------------------------------


def pure_upper(d: Dentry) -> bool:
    """``ovl_pure_upper``: no lower and no sign (origin) that it ever had one."""
    return not d.lowers and (not d.is_dir or is_real_dir(d.upper, d.lowers))


def nlink_start(fs: OvlFs, d: Dentry) -> None:
    """``ovl_nlink_start``: an object that a copy-up would index (with index=on a lower
    hard link; with nfs_export=on any lower object, dirs too) is copied up before it is
    removed or renamed over, so the union nlink has somewhere to live (and, with
    nfs_export, the index entry becomes the whiteout that blocks opening it by handle)."""
    low = d.lower
    if low is not None and not d.upper_alias and index_wanted(fs, low):
        copy_up(fs, d)


def nlink_drop(fs: OvlFs, d: Dentry) -> None:
    entry = index_entry(fs, d.upper, d.lowers)
    if entry is not None:
        entry.nlink -= 1


def ovl_do_remove(fs: OvlFs, d: Dentry, is_dir: bool) -> None:
    """``ovl_do_remove`` (catalogue §2.7, §2.8): the merged-view emptiness check comes
    before any copy-up; a name with a lower entry becomes a whiteout, other names are just
    removed from the upper layer."""
    lower_pos = lower_positive(fs, d)
    whiteouts: list[bytes] = []
    if is_dir and (lower_pos or not pure_upper(d)):
        whiteouts = check_empty_dir(fs, d.upper, d.lowers, d.xwhiteouts)
    parent = d.parent
    assert parent is not None
    copy_up(fs, parent)
    nlink_start(fs, d)
    key, links = overlay_links(fs, d)
    nlink_drop(fs, d)
    udir = parent.upper
    assert udir is not None
    if fs.impure_lists and d.upper is not None:
        from model.inode import const_ino

        if const_ino(fs, d.upper, d.lowers):  # ovl_type_origin: an impure change
            impurity_changed(fs, udir)
    if whiteouts:
        clear_whiteouts(fs, d, whiteouts)
    if not lower_pos:
        _remove_upper(fs, udir, d, is_dir)
    else:
        if d.upper_alias:
            unlink_from(fs, udir, d.name)
        link_into(fs, udir, d.name, new_whiteout(fs))
    lose_link(fs, key, is_dir, links)


def clear_whiteouts(fs: OvlFs, d: Dentry, names: list[bytes]) -> None:
    """``ovl_clear_empty``: an upper dir that only holds whiteouts is exchanged (through the
    workdir) for a new empty dir with its mode, owner, times and ordinary xattrs, marked
    opaque, before it is removed or replaced; the overlay's other private xattrs (origin,
    impure, redirect) are not copied (``ovl_copy_xattr``).  What is left when the rename
    then fails (a redirect too long: EXDEV) is that new dir (checked on 6.18: a pure upper
    opaque dir, a new inode, its parent's mtime changed)."""
    old = d.upper
    assert old is not None and d.parent is not None and d.parent.upper is not None
    ux = fs.config.userxattr
    new = fs.clock.new_node(DIR, old.mode, old.uid, old.gid)
    new.mtime = old.mtime
    new.xattrs = {k: v for k, v in old.xattrs.items() if not is_own(k, ux)}
    new.xattrs[OPAQUE] = b"y"
    assert set(old.dir_children()) <= set(names), "only whiteouts are cleared"
    link_into(fs, d.parent.upper, d.name, new)
    d.upper = new
    d.opaque = True


def _remove_upper(fs: OvlFs, udir: Node, d: Dentry, is_dir: bool) -> None:
    """``ovl_remove_upper``: the real unlink/rmdir (a non-empty real dir is ENOTEMPTY)."""
    node = udir.dir_children()[d.name]
    if is_dir and node.dir_children():
        raise fail(errno.ENOTEMPTY, "upper directory not empty")
    unlink_from(fs, udir, d.name)
