"""Open files: open(2) and what an open file does (``fs/overlayfs/file.c``, the dir half of
``readdir.c``; catalogue §2.2–§2.4).

An open file holds a live :class:`~model.fs.OvlInode`, so it follows a later copy-up (a
read-only file opened before another file's write reads the new data) and survives unlink.
A write open (O_WRONLY, O_RDWR, or O_TRUNC with any mode) copies up at open time, even if
nothing is ever written.  A directory handle reads a *real* dir live and a *merged* dir from
a list built at the first getdents and rebuilt after ``lseek(fd, 0, SEEK_SET)``.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from model.attr import truncate_node
from model.copy_up import copy_up, verify_lowerdata
from model.errors import OvlError, fail
from model.fs import OvlFs, OvlInode
from model.inode import const_ino, getattr_dentry, grab_inode, release_inode
from model.layer import BLK, CHR, FIFO, LNK, REG, SOCK, Node, data_node, is_impure, is_metacopy
from model.lookup import Dentry, LowerStack, lookup_child, ovl_lookup
from model.namei import (
    LAST_NORM,
    LAST_ROOT,
    Nameidata,
    Parent,
    check_path,
    follow_parent,
    last_component,
    walk_parent,
)
from model.namespace import create_object, may_create
from model.perm import MAY_READ, MAY_WRITE, inode_permission, kill_suid, should_remove_suid
from model.readdir import (
    CacheEntry,
    dotdot_ino,
    emit,
    is_real_dir,
    list_merged,
    read_merged,
    read_real,
)
from model.spec import IMPURE
from model.special import (
    close_special,
    open_special,
    read_special,
    seek_special,
    write_special,
)
from model.types import Cred, DirEntry

O_ACCMODE = 3
SEEK_MAX = 4  # SEEK_HOLE
DIR_EOD = 2147483647  # tmpfs's end-of-directory offset (DIR_OFFSET_EOD)
SPECIAL = (CHR, BLK, FIFO, SOCK)


@dataclass(slots=True)
class DirState:
    """``struct ovl_dir_file``: real or merged, the real dir opened, the cached list, and
    the dentry it was opened through (``file->f_path``: its parent gives ``..``)."""

    is_real: bool
    is_upper: bool
    real: Node
    xwhiteouts: bool
    dot_ino: int
    dentry: Dentry
    cache: list[CacheEntry] | None = None
    pos: int = 0


@dataclass(slots=True)
class Handle:
    inode: OvlInode
    flags: int
    cred: Cred
    pos: int = 0
    dir: DirState | None = None
    # the dentry opened: it pins its ancestors' dentries (and their inodes) in the cache
    dentry: Dentry | None = None

    @property
    def readable(self) -> bool:
        return (self.flags & O_ACCMODE) in (os.O_RDONLY, os.O_RDWR)

    @property
    def writable(self) -> bool:
        return (self.flags & O_ACCMODE) in (os.O_WRONLY, os.O_RDWR)


# ---- open ----------------------------------------------------------------------------------


def do_open(fs: OvlFs, cred: Cred, path: bytes, flags: int, mode: int) -> Handle:
    """open(2): walk, create or find the last component (``open_last_lookups``), the checks
    of ``do_open``/``may_open``, then ``ovl_open`` (copy-up for writing) and O_TRUNC."""
    # do_sys_openat2: build_open_flags refuses O_CREAT|O_DIRECTORY before getname sees the
    # path (found by difftest: a PATH_MAX path with both flags is EINVAL on the kernel)
    if flags & os.O_CREAT and flags & os.O_DIRECTORY:
        raise fail(errno.EINVAL, "O_CREAT|O_DIRECTORY")
    check_path(path)
    nd = Nameidata(fs, cred)
    d, created = _open_last(nd, walk_parent(nd, path), flags, mode)
    if not created:
        _may_open(fs, cred, d, flags)
    write = (flags & O_ACCMODE) in (os.O_WRONLY, os.O_RDWR) or bool(flags & os.O_TRUNC)
    kind = d.real.kind
    if kind == REG and is_metacopy(data_node(d.upper, d.lowers)):
        # a lower metacopy whose data-only layers lack its redirect's target: looked up
        # at open (``ovl_verify_lowerdata``), and missing (checked on 6.18: cat gives ENOENT)
        raise fail(errno.ENOENT, "the data file of a metacopy is missing")
    if kind == REG:
        verify_lowerdata(fs, d)
    if write and not created and kind not in SPECIAL:
        upper = copy_up(fs, d, trunc=bool(flags & os.O_TRUNC), data=True)
        if flags & os.O_TRUNC and kind == REG:
            truncate_node(fs, cred, upper, 0, touch=True)
    h = _new_handle(fs, cred, d, flags)
    if kind in SPECIAL:
        try:
            open_special(h.inode, flags)
        except OvlError:
            release_inode(fs, h.inode)
            raise
    return h


def _open_last(nd: Nameidata, p: Parent, flags: int, mode: int) -> tuple[Dentry, bool]:
    """The last component of an open: O_CREAT creates a missing name (a trailing slash is
    EISDIR); a symlink is followed unless O_NOFOLLOW or O_CREAT|O_EXCL (a trailing slash
    follows anyway)."""
    fs = nd.fs
    while True:
        if p.type == LAST_ROOT and flags & os.O_CREAT:
            # "/" is the mountpoint's name with a trailing slash.
            raise fail(errno.EISDIR, "O_CREAT on /")
        if p.type != LAST_NORM:
            return last_component(nd, p, follow=True), False
        if flags & os.O_CREAT and p.trailing:
            raise fail(errno.EISDIR, "O_CREAT with a trailing slash")
        d = p.lookup(nd)
        if not d.positive:
            if not flags & os.O_CREAT:
                raise fail(errno.ENOENT, "no such name")
            if fs.readonly:
                raise fail(errno.EROFS, "read-only overlay")
            may_create(nd, p.dir)
            create_object(fs, nd.cred, d, REG, mode & 0o7777)
            return d, True
        nofollow = flags & os.O_NOFOLLOW or (flags & os.O_CREAT and flags & os.O_EXCL)
        if d.is_symlink and (not nofollow or p.trailing):
            trailing = p.trailing  # a trailing slash still demands a directory at the end
            p = follow_parent(nd, p.dir, d)
            p.trailing = p.trailing or trailing
            continue
        if p.trailing and not d.is_dir:
            raise fail(errno.ENOTDIR, "trailing slash on a non-directory")
        return d, False


def _may_open(fs: OvlFs, cred: Cred, d: Dentry, flags: int) -> None:
    """``do_open`` and ``may_open`` on an existing object."""
    if flags & os.O_CREAT:
        if flags & os.O_EXCL:
            raise fail(errno.EEXIST, "O_CREAT|O_EXCL on an existing name")
        if d.is_dir:
            raise fail(errno.EISDIR, "O_CREAT on a directory")
    if flags & os.O_DIRECTORY and not d.is_dir:
        raise fail(errno.ENOTDIR, "O_DIRECTORY on a non-directory")
    real = d.real
    if flags & os.O_TRUNC and real.kind == REG and fs.readonly:
        raise fail(errno.EROFS, "O_TRUNC on a read-only overlay")
    acc = flags & O_ACCMODE
    write = acc in (os.O_WRONLY, os.O_RDWR) or bool(flags & os.O_TRUNC)
    if real.kind == LNK:
        raise fail(errno.ELOOP, "open of a symlink with O_NOFOLLOW")
    if d.is_dir and write:
        raise fail(errno.EISDIR, "directory opened for writing")
    mask = (MAY_READ if acc in (os.O_RDONLY, os.O_RDWR) else 0) | (MAY_WRITE if write else 0)
    inode_permission(cred, real, mask, fs.readonly)


def _new_handle(fs: OvlFs, cred: Cred, d: Dentry, flags: int) -> Handle:
    h = Handle(grab_inode(fs, d), flags, cred, dentry=d)
    if d.is_dir:
        h.dir = DirState(
            is_real=is_real_dir(d.upper, d.lowers),
            is_upper=d.upper is not None,
            real=d.real,
            xwhiteouts=d.xwhiteouts,
            dot_ino=getattr_dentry(fs, d).ino,
            dentry=d,
        )
    return h


# ---- data ----------------------------------------------------------------------------------


def _data_node(h: Handle) -> Node:
    """The node a handle reads and writes: the real data (a metacopy's lower data file;
    after its data is copied up, the upper: ``ovl_real_file`` reopens it)."""
    if h.dir is not None:
        raise fail(errno.EISDIR, "read/write on a directory")
    return data_node(h.inode.upper, h.inode.lowers)


def _check_positioned(h: Handle, offset: int | None) -> None:
    """pread/pwrite (``ksys_pread64``): a negative offset is EINVAL, a FIFO (no
    FMODE_PREAD/PWRITE) ESPIPE, both before the access mode is looked at."""
    if offset is None:
        return
    if offset < 0:
        raise fail(errno.EINVAL, "negative offset")
    if h.dir is None and h.inode.real.kind == FIFO:
        raise fail(errno.ESPIPE, "pread/pwrite on a FIFO")


def read(h: Handle, size: int, offset: int | None = None) -> bytes:
    """read(2)/pread(2): EBADF on a write-only file; the current real data (after a
    copy-up, the upper copy)."""
    _check_positioned(h, offset)
    if not h.readable:
        raise fail(errno.EBADF, "file not open for reading")
    node = _data_node(h)
    if node.kind != REG:
        return read_special(h.inode, size, offset is not None) if size else b""
    assert node.data is not None
    pos = h.pos if offset is None else offset
    out = node.data.read(pos, size)
    if offset is None:
        h.pos += len(out)
    return out


def write(fs: OvlFs, h: Handle, data: bytes, offset: int | None = None) -> int:
    """write(2)/pwrite(2): EBADF on a read-only file; O_APPEND writes at the end, also for
    pwrite (a Linux quirk); a caller without CAP_FSETID kills setuid; mtime changes when
    something is written."""
    _check_positioned(h, offset)
    if not h.writable:
        raise fail(errno.EBADF, "file not open for writing")
    node = _data_node(h)
    if not data:
        return 0
    if node.kind != REG:
        return write_special(h.inode, data, offset is not None)
    assert node.data is not None
    pos = node.data.size if h.flags & os.O_APPEND else h.pos if offset is None else offset
    if should_remove_suid(h.cred, node, fs.userns):
        kill_suid(node)
    node.data.write(pos, data)
    node.mtime = fs.tick()
    if offset is None:
        h.pos = pos + len(data)
    return len(data)


def ftruncate(fs: OvlFs, h: Handle, length: int) -> None:
    """ftruncate(2): EINVAL unless a regular file open for writing; EINVAL for a negative
    length; mtime always changes."""
    if length < 0 or not h.writable or h.dir is not None or h.inode.real.kind != REG:
        raise fail(errno.EINVAL, "ftruncate needs a regular file open for writing")
    truncate_node(fs, h.cred, h.inode.real, length, touch=True)


def fsync(h: Handle) -> None:
    """fsync(2): fine on files and dirs, lower or upper; EINVAL where the file has no
    fsync operation (FIFOs, devices)."""
    if h.dir is None and h.inode.real.kind in SPECIAL:
        raise fail(errno.EINVAL, "fsync of a FIFO or device")


def lseek(h: Handle, offset: int, whence: int) -> int:
    """lseek(2).  A whence past SEEK_MAX is EINVAL before the file is looked at, also on a
    FIFO (``ksys_lseek``, fs/read_write.c).  On a directory SEEK_END is EINVAL (merged dirs
    and tmpfs dirs alike, catalogue §2.2) and a seek back to 0 makes the next getdents
    start over."""
    if not 0 <= whence <= SEEK_MAX:
        raise fail(errno.EINVAL, "no such whence")
    if h.dir is not None:
        return _dir_lseek(h.dir, offset, whence)
    if h.inode.real.kind != REG:
        return seek_special(h.inode)
    if whence == os.SEEK_SET:
        new = offset
    elif whence == os.SEEK_CUR:
        new = h.pos + offset
    elif whence == os.SEEK_END:
        new = h.inode.real.size + offset
    else:  # pragma: no cover - SEEK_DATA/SEEK_HOLE: not modelled, never generated
        raise fail(errno.EINVAL, "SEEK_DATA/SEEK_HOLE are not modelled")
    if new < 0:
        raise fail(errno.EINVAL, "negative offset")
    h.pos = new
    return new


def _dir_lseek(ds: DirState, offset: int, whence: int) -> int:
    if whence == os.SEEK_CUR:
        offset += ds.pos
    elif whence != os.SEEK_SET:
        raise fail(errno.EINVAL, "SEEK_END/DATA/HOLE on a directory")
    if offset < 0:
        raise fail(errno.EINVAL, "negative offset")
    ds.pos = offset
    return offset


# ---- directories ---------------------------------------------------------------------------


def getdents(fs: OvlFs, h: Handle) -> list[DirEntry]:
    """Every remaining record (getdents64 until it returns 0).  At position 0 the handle is
    reset (``ovl_dir_reset``): a real dir that has been copied up since the open becomes
    merged (catalogue §2.2 "Directory fd opened before a copy-up"), and the merged list is
    rebuilt."""
    ds = h.dir
    if ds is None:
        raise fail(errno.ENOTDIR, "getdents on a non-directory")
    inode = h.inode
    if inode.removed:  # a directory's removal is S_DEAD (model.inode.lose_link)
        raise fail(errno.ENOENT, "directory removed (iterate_dir: IS_DEADDIR)")
    if ds.pos == 0:
        ds.cache = None
        if ds.is_real and not is_real_dir(inode.upper, inode.lowers):
            ds.is_real = False
    if ds.is_real:
        if ds.pos >= DIR_EOD:
            return []
        if ds.pos == 0 and ds.is_upper and is_impure(ds.real) and fs.same_dev:
            assert inode.upper is not None
            _drop_needless_impure(fs, inode.upper, inode.lowers)
        entries = read_real(ds.real)[ds.pos :]
        ds.pos = DIR_EOD
    else:
        if ds.cache is None:
            ds.cache = read_merged(fs, inode.upper, inode.lowers, ds.xwhiteouts)
        entries = ds.cache[ds.pos :]
        ds.pos = max(ds.pos, len(ds.cache))
        if inode.upper is not None and is_impure(inode.upper) and fs.same_dev:
            for e in entries:
                if e.is_upper and e.node is not None and not e.is_whiteout:
                    e.is_whiteout = _stale(fs, ds.dentry, e.name)
    return emit(fs, entries, ds.dot_ino, dotdot_ino(fs, ds.dentry, merged=not ds.is_real))


def _drop_needless_impure(fs: OvlFs, upper: Node, lowers: LowerStack) -> None:
    """``ovl_cache_get_impure``: reading a real upper dir marked impure looks up every entry;
    when none shows an inode number other than its real one, the "impure" xattr is removed
    ("a good opportunity to get rid of an unneeded impure flag"; also on a mount that is
    read-only, whose upper mount is not: checked on 6.18, mounted ``ro`` and remounted ro).
    A list that is not empty stays cached in the dir's inode until an entry with an origin
    comes or goes (``OvlFs.impure_lists``, :func:`model.fs.impurity_changed`; checked on
    6.18: unlinking an entry whose origin only its forgotten dentry knew keeps the flag).
    Only with :attr:`OvlFs.same_dev`: otherwise ``ovl_iterate`` reads the real dir as it is
    (checked on 6.18 with each layer on its own tmpfs: the flag stays)."""
    if upper in fs.impure_lists:
        return
    pseudo = Dentry(None, b"", upper, lowers)
    for name in list(upper.dir_children()):
        try:
            child = ovl_lookup(fs, pseudo, name)
        except Exception:
            continue
        cu, lowers = child.upper, child.lowers
        if cu is not None and lowers and const_ino(fs, cu, lowers) and lowers[0][1].ino != cu.ino:
            fs.impure_lists.add(upper)
            return
    upper.xattrs.pop(IMPURE, None)


def close(fs: OvlFs, h: Handle) -> None:
    if h.inode.real.kind in SPECIAL:
        close_special(h.inode, h.flags)
    release_inode(fs, h.inode)


READDIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY


def readdir(fs: OvlFs, cred: Cred, path: bytes) -> list[DirEntry]:
    """open(O_RDONLY|O_DIRECTORY) + getdents + close."""
    check_path(path)
    nd = Nameidata(fs, cred)
    d, _ = _open_last(nd, walk_parent(nd, path), READDIR_FLAGS, 0)
    _may_open(fs, cred, d, READDIR_FLAGS)
    return readdir_dentry(fs, cred, d)


def readdir_dentry(fs: OvlFs, cred: Cred, d: Dentry) -> list[DirEntry]:
    """The listing of the directory ``d``, already looked up and allowed to be opened."""
    if is_real_dir(d.upper, d.lowers):
        h = _new_handle(fs, cred, d, READDIR_FLAGS)
        try:
            return getdents(fs, h)
        finally:
            release_inode(fs, h.inode)
    return list(_impure_checked(fs, d, _merged_listing(fs, d)))


def readdir_names(fs: OvlFs, d: Dentry) -> list[bytes]:
    """The names (``.`` and ``..`` left out) that :func:`readdir_dentry` lists for root, with
    the same effect on the layers (an impure real upper dir may lose its flag), for an
    observer that needs no inode numbers."""
    if is_real_dir(d.upper, d.lowers):
        real = d.real
        if d.upper is not None and is_impure(real) and fs.same_dev:
            _drop_needless_impure(fs, real, d.lowers)
        return list(real.dir_children())
    return [e.name for e in _impure_checked(fs, d, _merged_listing(fs, d))[2:]]


def merged_names(fs: OvlFs, d: Dentry) -> list[bytes]:
    """The names of merged dir ``d`` as its records hold them (``.``, ``..`` left out),
    before the impure check's lookups: for a caller that looks each name up itself."""
    return [e.name for e in _merged_listing(fs, d)[2:]]


def _impure_checked(fs: OvlFs, d: Dentry, entries: list[DirEntry]) -> list[DirEntry]:
    """In an impure merged dir every upper entry gets its d_ino from a full lookup
    (``ovl_calc_d_ino``: "Recalc d_ino for '.' and for all entries if dir is impure");
    an entry whose lookup fails or is negative is not listed (:func:`_stale`).  Without
    :attr:`OvlFs.same_dev` ``ovl_cache_update`` returns before its lookup: nothing is."""
    up = d.upper
    if up is None or not is_impure(up) or not fs.same_dev:
        return entries
    children = up.dir_children()
    return [e for e in entries if e.name not in children or not _stale(fs, d, e.name)]


def _stale(fs: OvlFs, d: Dentry, name: bytes) -> bool:
    """``ovl_cache_update`` on an upper entry: ``lookup_one`` of the name in the overlay dir
    (which looks up, fixes origins and makes inodes like any lookup); on an error or a
    negative dentry "Mark a stale entry" (``p->is_whiteout = true``) and skip it.  The error
    itself is lost: ``.`` and ``..`` went out first, so getdents returns those records
    (checked on 6.18: an upper dir whose lookup gives ESTALE is missing from its impure
    parent's listing)."""
    try:
        return not lookup_child(fs, d, name).positive
    except OvlError:
        return True


def _merged_listing(fs: OvlFs, d: Dentry) -> list[DirEntry]:
    """A merged dir's records, kept on its dentry while its upper dir, the index and the
    ``..`` inode number are unchanged (the kernel's dir cache is shared by the same rule,
    ``ovl_cache_get``).  ``.`` and ``..`` come first."""
    up = d.upper
    dotdot = dotdot_ino(fs, d, merged=True)
    key = (0, 0, fs.index_gen, dotdot) if up is None else (id(up), up.ver, fs.index_gen, dotdot)
    cached = d.listing
    if cached is not None and cached[0] == key:
        return cached[1]
    entries = list_merged(fs, up, d.lowers, d.xwhiteouts, getattr_dentry(fs, d).ino, dotdot)
    d.listing = (key, entries)
    return entries


# difftest's model observer reads a node's digest itself (observe_model.py)
def resolve_content(fs: OvlFs, path: bytes) -> Node:  # pragma: no cover - library API
    """The regular file ``path`` names, not following a final symlink (O_NOFOLLOW)."""
    check_path(path)
    nd = Nameidata(fs, Cred())
    d = last_component(nd, walk_parent(nd, path), follow=False)
    if d.is_dir:
        raise fail(errno.EISDIR, "content of a directory")
    if d.real.kind != REG:
        raise fail(errno.ELOOP if d.is_symlink else errno.EINVAL, "not a regular file")
    return data_node(d.upper, d.lowers)
