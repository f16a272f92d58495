"""The pyfuse3 boundary: one Operations subclass with thin handlers.

This is the only place where ``OSError`` becomes ``pyfuse3.FUSEError``.  Any other
exception is logged and answered with EIO (an escaping exception would stop pyfuse3's main
loop).  Handlers await only where a full copy-up may follow: there a large file's data is
copied off the loop first (:func:`copy_up.stage_data`) while other requests are served.
Everything after that runs to completion before another request starts, so the overlay's
multi-step changes need no locks.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import stat
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, ParamSpec, TypeVar

import pyfuse3

from . import copy_up, file, layers, namespace, pyfuse3_compat, readdir, rename, xattrs
from .errors import fail
from .inode import (
    Node,
    NodeTable,
    entry_attributes,
    fresh_begin,
    fresh_end,
    real_path,
    setattr_node,
    shown_attrs,
    stat_node,
)
from .namespace import NewObject
from .readdir import DirHandle
from .super import OverlayFs

log = logging.getLogger("ovlfuse.ops")

T = TypeVar("T")
P = ParamSpec("P")


def fuse_errors(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Turn OSError into FUSEError(errno); anything unexpected into EIO (logged).

    Afterwards, nodes looked up on the way but not handed to the kernel are dropped.
    """

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        token = layers.request_begin()
        fresh_token, fresh = fresh_begin()
        try:
            return await fn(*args, **kwargs)
        except pyfuse3.FUSEError:
            raise
        except OSError as e:
            log.debug("%s%r: %s", fn.__name__, args[1:], e)
            raise pyfuse3.FUSEError(e.errno or errno.EIO) from None
        except Exception:
            log.exception("%s%r failed", fn.__name__, args[1:])
            raise pyfuse3.FUSEError(errno.EIO) from None
        finally:
            layers.request_end(token)
            fresh_end(fresh_token)
            table = getattr(args[0], "table", None)
            if table is not None:
                table.sweep(fresh)

    return wrapper


class Handles:
    """Open file and directory handles by FUSE fh number."""

    def __init__(self) -> None:
        self.open: dict[int, file.FileHandle | DirHandle] = {}
        self._next = 1

    def add(self, handle: file.FileHandle | DirHandle) -> int:
        fh = self._next
        self._next += 1
        self.open[fh] = handle
        return fh

    def file(self, fh: int) -> file.FileHandle:
        handle = self.open.get(fh)
        if not isinstance(handle, file.FileHandle):
            fail(errno.EBADF)
        return handle

    def dir(self, fh: int) -> DirHandle:
        handle = self.open.get(fh)
        if not isinstance(handle, DirHandle):
            fail(errno.EBADF)
        return handle


class OverlayOperations(pyfuse3.Operations):
    """FUSE requests → overlay operations."""

    supports_dot_lookup = True
    enable_writeback_cache = False
    enable_acl = False

    def __init__(self, ofs: OverlayFs):
        super().__init__()
        pyfuse3_compat.install()
        self.ofs = ofs
        self.table = NodeTable(ofs)
        self.handles = Handles()
        self.invalidate = None if ofs.cfg.exact else self._invalidate

    def _staged(self, *nodes: Node | None) -> _Staged:
        """The block may copy *nodes* up in full: their data is copied off the loop before
        it (large files only), and a copy the block did not take is removed after it."""
        return _Staged(self.ofs, nodes)

    def _entry(self, node: Node, st: os.stat_result | None = None) -> pyfuse3.EntryAttributes:
        """Attributes for a reply that hands the kernel a new reference to *node* (*st*: its
        providing object's lstat, if the caller just made it)."""
        attrs = entry_attributes(self.ofs, node, st)
        node.lookups += 1
        return attrs

    # -- inodes ------------------------------------------------------------------------------

    @fuse_errors
    async def lookup(self, parent_inode: int, name: bytes, ctx: pyfuse3.RequestContext
                     ) -> pyfuse3.EntryAttributes:
        parent = self.table.get(parent_inode)
        if name == b".":
            return self._entry(parent)
        if name == b"..":
            return self._entry(parent.parent or parent)
        res, node = self.table.lookup(parent, name)
        if node is None:
            fail(errno.ENOENT, name)
        return self._entry(node, res.shown_st)

    async def forget(self, inode_list: Sequence[tuple[int, int]]) -> None:
        for nodeid, count in inode_list:
            self.table.forget(nodeid, count)

    @fuse_errors
    async def getattr(self, inode: int, ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        return entry_attributes(self.ofs, self.table.get(inode))

    @fuse_errors
    async def setattr(self, inode: int, attr: pyfuse3.EntryAttributes,
                      fields: pyfuse3.SetattrFields, fh: int | None,
                      ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        node = self.table.get(inode)
        fd = self.handles.file(fh).fd if fh is not None and fh in self.handles.open else None
        async with self._staged(None if fields.update_size else node):
            setattr_node(self.ofs, node, attr, fields, fd, self.invalidate)
        self._invalidate_others(node)
        return entry_attributes(self.ofs, node)

    @fuse_errors
    async def readlink(self, inode: int, ctx: pyfuse3.RequestContext) -> bytes:
        return os.readlink(real_path(self.ofs, self.table.get(inode)))

    @fuse_errors
    async def statfs(self, ctx: pyfuse3.RequestContext) -> pyfuse3.StatvfsData:
        top = self.ofs.upper or self.ofs.lowers[0]
        st = os.statvfs(top.real(b""))
        data = pyfuse3.StatvfsData()
        for field in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files",
                      "f_ffree", "f_favail"):
            setattr(data, field, getattr(st, field))
        data.f_namemax = self.ofs.namelen
        return data

    @fuse_errors
    async def access(self, inode: int, mode: int, ctx: pyfuse3.RequestContext) -> bool:
        node = self.table.get(inode)
        st_mode, uid, gid = shown_attrs(self.ofs, node, stat_node(self.ofs, node))
        if ctx.uid == 0:
            return not mode & os.X_OK or stat.S_ISDIR(st_mode) or bool(st_mode & 0o111)
        shift = 6 if ctx.uid == uid else 3 if ctx.gid == gid else 0
        return (st_mode >> shift) & mode == mode

    # -- namespace ---------------------------------------------------------------------------

    def _new(self, parent_inode: int, name: bytes, obj: NewObject) -> pyfuse3.EntryAttributes:
        parent = self.table.get(parent_inode)
        node, _fd = namespace.create(self.ofs, self.table, parent, name, obj,
                                     invalidate=self.invalidate)
        return self._entry(node)

    @fuse_errors
    async def mknod(self, parent_inode: int, name: bytes, mode: int, rdev: int,
                    ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        if stat.S_ISCHR(mode) and rdev == 0:
            fail(errno.EPERM, name)  # a whiteout cannot be made through the overlay
        return self._new(parent_inode, name, NewObject(mode, ctx.uid, ctx.gid, rdev=rdev))

    @fuse_errors
    async def mkdir(self, parent_inode: int, name: bytes, mode: int,
                    ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        return self._new(parent_inode, name, NewObject(stat.S_IFDIR | stat.S_IMODE(mode),
                                                       ctx.uid, ctx.gid))

    @fuse_errors
    async def symlink(self, parent_inode: int, name: bytes, target: bytes,
                      ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        return self._new(parent_inode, name, NewObject(stat.S_IFLNK | 0o777, ctx.uid, ctx.gid,
                                                       target=target))

    @fuse_errors
    async def link(self, inode: int, new_parent_inode: int, new_name: bytes,
                   ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        src = self.table.get(inode)
        async with self._staged(src):
            node = namespace.link(self.ofs, self.table, src, self.table.get(new_parent_inode),
                                  new_name, self.invalidate)
        return self._entry(node)

    @fuse_errors
    async def unlink(self, parent_inode: int, name: bytes, ctx: pyfuse3.RequestContext) -> None:
        namespace.unlink(self.ofs, self.table, self.table.get(parent_inode), name,
                         self.invalidate)

    @fuse_errors
    async def rmdir(self, parent_inode: int, name: bytes, ctx: pyfuse3.RequestContext) -> None:
        namespace.rmdir(self.ofs, self.table, self.table.get(parent_inode), name,
                        self.invalidate)

    @fuse_errors
    async def rename(self, parent_inode_old: int, name_old: bytes, parent_inode_new: int,
                     name_new: bytes, flags: int, ctx: pyfuse3.RequestContext) -> None:
        old_parent = self.table.get(parent_inode_old)
        try:
            src = self.table.lookup(old_parent, name_old)[1]
        except OSError:
            src = None  # rename itself gives the error, in its own order of checks
        async with self._staged(src if src is not None and not src.is_dir else None):
            rename.rename(self.ofs, self.table, old_parent, name_old,
                          self.table.get(parent_inode_new), name_new, flags, self.invalidate)

    # -- files -------------------------------------------------------------------------------

    def _file_info(self, handle: file.FileHandle) -> pyfuse3.FileInfo:
        keep = not self.ofs.cfg.exact and not handle.writable and handle.node.writers == 0
        return pyfuse3.FileInfo(fh=self.handles.add(handle), keep_cache=keep)

    @fuse_errors
    async def open(self, inode: int, flags: int, ctx: pyfuse3.RequestContext) -> pyfuse3.FileInfo:
        node = self.table.get(inode)
        async with self._staged(node if _writes_all(flags) else None):
            handle = file.open_node(self.ofs, node, flags, self.invalidate, ctx.uid)
        return self._file_info(handle)

    @fuse_errors
    async def create(self, parent_inode: int, name: bytes, mode: int, flags: int,
                     ctx: pyfuse3.RequestContext
                     ) -> tuple[pyfuse3.FileInfo, pyfuse3.EntryAttributes]:
        parent = self.table.get(parent_inode)
        _res, existing = self.table.lookup(parent, name)
        if existing is not None:
            if flags & os.O_EXCL:
                fail(errno.EEXIST, name)
            async with self._staged(existing if _writes_all(flags) else None):
                handle = file.open_node(self.ofs, existing, flags, self.invalidate, ctx.uid)
            return self._file_info(handle), self._entry(existing)
        obj = NewObject(stat.S_IFREG | stat.S_IMODE(mode), ctx.uid, ctx.gid)
        node, fd = namespace.create(self.ofs, self.table, parent, name, obj, open_flags=flags,
                                    invalidate=self.invalidate)
        assert fd is not None
        node.opens += 1
        node.writers += 1
        handle = file.FileHandle(node, fd, flags, True)
        return self._file_info(handle), self._entry(node)

    @fuse_errors
    async def read(self, fh: int, off: int, size: int) -> bytes:
        return file.read(self.ofs, self.handles.file(fh), off, size)

    @fuse_errors
    async def write(self, fh: int, off: int, buf: bytes) -> int:
        handle = self.handles.file(fh)
        written = file.write(self.ofs, handle, off, buf)
        self._invalidate_others(handle.node)
        return written

    @fuse_errors
    async def flush(self, fh: int) -> None:
        self.handles.file(fh)

    @fuse_errors
    async def release(self, fh: int) -> None:
        handle = self.handles.file(fh)
        del self.handles.open[fh]
        file.release(handle)
        self.table.drop_if_unused(handle.node)

    @fuse_errors
    async def fsync(self, fh: int, datasync: bool) -> None:
        file.fsync(self.ofs, self.handles.file(fh), datasync)

    # -- directories -------------------------------------------------------------------------

    @fuse_errors
    async def opendir(self, inode: int, ctx: pyfuse3.RequestContext) -> int:
        node = self.table.get(inode)
        if not node.is_dir:
            fail(errno.ENOTDIR)
        node.opens += 1
        return self.handles.add(DirHandle(node))

    @fuse_errors
    async def readdir(self, fh: int, start_id: int, token: pyfuse3.ReaddirToken) -> None:
        readdir.fill(self.ofs, self.table, self.handles.dir(fh), start_id, token)

    @fuse_errors
    async def releasedir(self, fh: int) -> None:
        handle = self.handles.dir(fh)
        del self.handles.open[fh]
        handle.node.opens -= 1
        self.table.drop_if_unused(handle.node)

    @fuse_errors
    async def fsyncdir(self, fh: int, datasync: bool) -> None:
        node = self.handles.dir(fh).node
        if not node.upper or self.ofs.cfg.fsync == "volatile":
            return
        fd = os.open(real_path(self.ofs, node), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- xattrs ------------------------------------------------------------------------------

    @fuse_errors
    async def getxattr(self, inode: int, name: bytes, ctx: pyfuse3.RequestContext) -> bytes:
        node = self.table.get(inode)
        if pyfuse3_compat.setxattr_in_progress() == name:
            xattrs.before_flag_check(self.ofs, node, name, self.invalidate)
        return xattrs.getxattr(self.ofs, node, name)

    @fuse_errors
    async def listxattr(self, inode: int, ctx: pyfuse3.RequestContext) -> list[bytes]:
        return xattrs.listxattr(self.ofs, self.table.get(inode), ctx.uid == 0)

    @fuse_errors
    async def setxattr(self, inode: int, name: bytes, value: bytes,
                       ctx: pyfuse3.RequestContext) -> None:
        node = self.table.get(inode)
        async with self._staged(node):
            xattrs.setxattr(self.ofs, node, name, value, self.invalidate)

    @fuse_errors
    async def removexattr(self, inode: int, name: bytes, ctx: pyfuse3.RequestContext) -> None:
        node = self.table.get(inode)
        async with self._staged(node):
            xattrs.removexattr(self.ofs, node, name, self.invalidate)

    # -- the kernel's attribute cache (not in exact mode) -------------------------------------

    def _invalidate(self, node: Node) -> None:
        """The attributes of the node's real object changed behind the kernel's back (copy-up:
        nlink, ino; a name added or removed: nlink): every node of that object, each name of
        a hard link being a FUSE inode of its own, loses its cached attributes."""
        for each in self.table.same_object(node):
            _invalidate_attrs(each)

    def _invalidate_others(self, node: Node) -> None:
        """A change made through *node*, whose own attributes the kernel refreshes itself
        (setattr reply, write): the other nodes of its real object lose theirs."""
        if self.invalidate is None:
            return
        for each in self.table.same_object(node)[1:]:
            _invalidate_attrs(each)


class _Staged:
    """See :meth:`OverlayOperations._staged`; a plain class, as it wraps many requests and
    most of them (on upper objects, directories) have nothing to stage."""

    __slots__ = ("nodes", "ofs")

    def __init__(self, ofs: OverlayFs, nodes: Sequence[Node | None]) -> None:
        self.ofs = ofs
        self.nodes = [n for n in nodes
                      if n is not None and not n.upper and n.lowers and n.kind == stat.S_IFREG]

    async def __aenter__(self) -> None:
        try:
            for node in self.nodes:
                await copy_up.stage_data(self.ofs, node)
        except BaseException:
            await self.__aexit__()
            raise

    async def __aexit__(self, *exc: object) -> None:
        for node in self.nodes:
            copy_up.drop_staged(self.ofs, node)


def _writes_all(flags: int) -> bool:
    """An open with these flags copies the whole file up (for writing, without O_TRUNC)."""
    return flags & os.O_ACCMODE != os.O_RDONLY and not flags & os.O_TRUNC


def _invalidate_attrs(node: Node) -> None:
    """Tell the kernel a node's attributes changed behind its back."""
    with contextlib.suppress(OSError):
        pyfuse3.invalidate_inode(node.nodeid, attr_only=True)

