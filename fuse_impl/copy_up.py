"""Copy-up: bring a lower object into the upper layer before its first change (copy_up.c).

Rules (catalogue §2.3, §2.12):

* the parent chain is copied up first; directories are copied without their contents;
* the copy is built in ``workdir/work/#<hex>`` and renamed into place, so a daemon killed
  half-way leaves nothing partial in the upper (``work/`` is emptied at the next mount);
* it keeps type, mode (suid included), owner, atime and mtime, non-private xattrs (escaped
  ``overlay.overlay.*`` ones included) and symlink targets; ctime becomes "now";
* data is copied sparse-aware (only SEEK_DATA extents, holes stay holes) with
  copy_file_range, and only up to ``data_limit`` bytes (0 for O_TRUNC / truncate to 0):
  the copy gets the lower's size as a hole past the limit and is then truncated in work/,
  so times change exactly as when the kernel copies everything and then truncates;
* ``overlay.origin`` is written for directories and for files whose lower nlink is 1; the
  upper parent gets ``overlay.impure=y`` in any case ("it may now contain non-pure upper");
* with ``index=on`` a lower hard link is copied (with its origin) into the index and then
  linked under its name; a name whose file is already there is only linked (a link-up,
  :mod:`fuse_impl.index`);
* the upper parent's atime/mtime are restored afterwards, as the kernel does;
* the data of a large file is copied off the request loop first (:func:`stage_data`), so
  that a copy-up holds up only the requests that need that file's copy, as in the kernel,
  where a copy-up waits on that inode's lock and other files are served meanwhile.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

from . import crash, fh, index, layers
from .errors import fail
from .inode import Node, real_key
from .layers import LowerRef
from .lookup import set_impure, set_origin
from .loop import Event, off_loop
from .super import OverlayFs

log = logging.getLogger("ovlfuse.copy_up")

CHUNK = 1 << 30
STAGE_MIN = 1 << 20  # files this large have their data copied off the loop


@dataclass
class CopyUpCtx:
    """Everything one copy-up needs (the kernel's ``struct ovl_copy_up_ctx``)."""

    node: Node
    lower: LowerRef
    st: os.stat_result
    parent_rel: bytes
    dest: bytes
    tmp: bytes
    origin: bool
    data_limit: int | None
    origin_value: bytes = b""  # the origin handle, when the copy goes through the index


def copy_up(ofs: OverlayFs, node: Node, data_limit: int | None = None,
            invalidate: Callable[[Node], None] | None = None) -> None:
    """Make sure *node* has an upper object (see module doc)."""
    if node.upper:
        return
    if not ofs.writable or ofs.upper is None:
        fail(errno.EROFS)
    if node.parent is None or not node.lowers:
        fail(errno.ENOENT, node.name)
    copy_up(ofs, node.parent, invalidate=invalidate)
    if node.index is not None:
        _link_up(ofs, node, node.index)
    else:
        _copy_up_new(ofs, node, data_limit)
    node.upper = True
    node.copy_gen += 1
    if invalidate is not None:
        invalidate(node)


def _link_up(ofs: OverlayFs, node: Node, entry: bytes) -> None:
    """A name of an indexed file gets its upper hard link (``ovl_link_up``): its parent
    becomes impure and keeps its times; the node keeps its inode number."""
    assert ofs.upper is not None and node.parent is not None
    parent_rel = node.parent.path()
    parent = ofs.upper.real(parent_rel)
    pst = os.lstat(parent)
    set_impure(ofs, parent_rel)
    index.link_up(ofs, entry, ofs.upper.real(node.path()))
    layers.utimens(parent, pst.st_atime_ns, pst.st_mtime_ns)
    node.lowers = []
    node.const_ino = True


def _copy_up_new(ofs: OverlayFs, node: Node, data_limit: int | None) -> None:
    """Copy the node's lower object up (through the index for a lower hard link)."""
    assert ofs.upper is not None and node.parent is not None
    lower = node.lowers[0]
    st = os.lstat(lower.real())
    path = node.path()
    indexed = index.need_index(ofs, st)
    ctx = CopyUpCtx(
        node=node,
        lower=lower,
        st=st,
        parent_rel=node.parent.path(),
        dest=ofs.upper.real(path),
        tmp=ofs.work_tmp(),
        origin=stat.S_ISDIR(st.st_mode) or st.st_nlink == 1 or indexed,
        data_limit=data_limit,
    )
    if indexed:
        ctx.origin_value = fh.encode(lower.real(), ofs.fs_uuid_of(lower.layer))
    log.debug("copy_up(%r, origin=%s, limit=%s)", path, ctx.origin, data_limit)
    _copy_up_one(ofs, ctx)
    st = os.lstat(ctx.dest)
    node.real = real_key(st)  # NodeTable re-indexes it when next asked (NodeTable.track)
    if not node.is_dir:
        node.lowers = []
        node.const_ino = ctx.origin
        if ctx.origin_value:
            node.index = index.entry_path(ofs, ctx.origin_value)
        if not ctx.origin:
            node.ino = ofs.xino.ino(st)


def _copy_up_one(ofs: OverlayFs, ctx: CopyUpCtx) -> None:
    """Build the copy in work/, then move it into the upper parent atomically."""
    assert ofs.upper is not None
    parent = ofs.upper.real(ctx.parent_rel)
    pst = os.lstat(parent)
    _create_tmp(ofs, ctx)
    try:
        _copy_metadata(ofs, ctx)
        if ctx.data_limit is not None and ctx.data_limit < ctx.st.st_size:
            layers.truncate(ctx.tmp, ctx.data_limit)  # the truncation the caller asked for
        set_impure(ofs, ctx.parent_rel)
        if ctx.origin_value:
            entry = index.create_entry(ofs, ctx.tmp, ctx.origin_value, ctx.st.st_nlink)
            index.link_up(ofs, entry, ctx.dest)
        else:
            layers.rename(ctx.tmp, ctx.dest)
    except BaseException:
        layers.remove_tree(ctx.tmp)
        raise
    layers.utimens(parent, pst.st_atime_ns, pst.st_mtime_ns)


def _create_tmp(ofs: OverlayFs, ctx: CopyUpCtx) -> None:
    """The new object in work/, with its data (regular files) or target (symlinks)."""
    mode = ctx.st.st_mode
    src = ctx.lower.real()
    if stat.S_ISDIR(mode):
        layers.mkdir(ctx.tmp, 0o700)
    elif stat.S_ISREG(mode):
        _copy_file(ofs, src, ctx)
    elif stat.S_ISLNK(mode):
        layers.symlink(os.readlink(src), ctx.tmp)
    else:
        layers.mknod(ctx.tmp, stat.S_IFMT(mode) | 0o600, ctx.st.st_rdev)


def _stage_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


async def stage_data(ofs: OverlayFs, node: Node) -> None:
    """Before a full copy-up of *node*: if it is a lower regular file of STAGE_MIN bytes or
    more, copy its data into a work/ file in a thread while the loop serves other requests;
    the copy-up then takes that file instead of copying.  A second request for the same
    node waits for the first one's copy."""
    while (busy := ofs.staging.get(node.nodeid)) is not None:
        await busy.wait()
    if (node.upper or not node.lowers or node.nodeid in ofs.staged or not ofs.writable
            or ofs.upper is None):
        return
    src = node.lowers[0].real()
    st = os.lstat(src)
    if not stat.S_ISREG(st.st_mode) or st.st_size < STAGE_MIN:
        return
    tmp = ofs.work_tmp()
    done = ofs.staging[node.nodeid] = Event()
    try:
        await off_loop(_fill, src, tmp, st.st_size, ofs.cfg.fsync != "volatile")
        ofs.staged[node.nodeid] = (tmp, _stage_key(st))
    finally:
        del ofs.staging[node.nodeid]
        done.set()


def drop_staged(ofs: OverlayFs, node: Node) -> None:
    """Remove a staged copy that no copy-up took (the operation failed before it)."""
    staged = ofs.staged.pop(node.nodeid, None)
    if staged is not None:
        layers.remove_tree(staged[0])


def _fill(src: bytes, tmp: bytes, length: int, sync: bool) -> None:
    """A new file *tmp* with the data of *src* (runs in a thread: plain syscalls only)."""
    crash.step()
    dst_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        src_fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC | os.O_NOATIME | os.O_NOFOLLOW)
        try:
            copy_data(src_fd, dst_fd, length)
        finally:
            os.close(src_fd)
        if sync:
            os.fsync(dst_fd)
    except BaseException:
        os.unlink(tmp)
        raise
    finally:
        os.close(dst_fd)


def _take_staged(ofs: OverlayFs, ctx: CopyUpCtx) -> bool:
    """Move the node's staged data file to ``ctx.tmp`` if it is still what a full copy of
    the lower file would give; any other staged file is removed."""
    staged = ofs.staged.pop(ctx.node.nodeid, None)
    if staged is None:
        return False
    tmp, key = staged
    if ctx.data_limit is None and key == _stage_key(ctx.st):
        layers.rename(tmp, ctx.tmp)
        return True
    layers.remove_tree(tmp)
    return False


def _copy_file(ofs: OverlayFs, src: bytes, ctx: CopyUpCtx) -> None:
    if _take_staged(ofs, ctx):
        return
    length = ctx.st.st_size if ctx.data_limit is None else min(ctx.data_limit, ctx.st.st_size)
    dst_fd = layers.open_file(ctx.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if length:
            src_fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC | os.O_NOATIME | os.O_NOFOLLOW)
            try:
                copy_data(src_fd, dst_fd, length)
            finally:
                os.close(src_fd)
        if length < ctx.st.st_size:
            crash.step()
            os.ftruncate(dst_fd, ctx.st.st_size)  # a hole: truncated after the metadata
        if ofs.cfg.fsync != "volatile":
            os.fsync(dst_fd)
    finally:
        os.close(dst_fd)


def copy_data(src_fd: int, dst_fd: int, length: int) -> None:
    """Copy the first *length* bytes, leaving holes where the source has holes."""
    offset = 0
    while offset < length:
        try:
            start = os.lseek(src_fd, offset, os.SEEK_DATA)
        except OSError as e:
            if e.errno == errno.ENXIO:
                break  # only a hole is left
            if e.errno != errno.EINVAL:
                raise
            start = offset  # no SEEK_DATA here: copy everything
            end = length
        else:
            end = os.lseek(src_fd, start, os.SEEK_HOLE)
        if start >= length:
            break
        end = min(end, length)
        _copy_range(src_fd, dst_fd, start, end - start)
        offset = end
    os.ftruncate(dst_fd, length)


def _copy_range(src_fd: int, dst_fd: int, offset: int, count: int) -> None:
    while count > 0:
        crash.step()  # each chunk of data is a step of its own
        want = min(count, CHUNK)
        try:
            done = os.copy_file_range(src_fd, dst_fd, want, offset, offset)
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
            done = _copy_plain(src_fd, dst_fd, offset, want)
        if done == 0:
            return  # the source is shorter than it was
        offset += done
        count -= done


def _copy_plain(src_fd: int, dst_fd: int, offset: int, count: int) -> int:
    data = os.pread(src_fd, min(count, 1 << 20), offset)
    if data:
        os.pwrite(dst_fd, data, offset)
    return len(data)


def _copy_metadata(ofs: OverlayFs, ctx: CopyUpCtx) -> None:
    """Owner, xattrs, origin, mode and times, in an order where none undoes another.

    chown comes first because it clears suid bits and security.capability.  Owner and mode
    are the ones the lower layer stores (its stat override, if it has one: owners.py).
    """
    st = ctx.st
    mode, uid, gid = ofs.owners.stored(ctx.lower.layer, ctx.lower.real(), st)
    ofs.owners.chown_new(ctx.tmp, uid, gid)
    copy_xattrs(ofs, ctx.lower.real(), ctx.tmp)
    if ctx.origin:
        set_origin(ofs, ctx.tmp, ctx.lower)
    ofs.owners.set_new(ctx.tmp, uid, gid, mode)
    layers.utimens(ctx.tmp, st.st_atime_ns, st.st_mtime_ns)


def copy_xattrs(ofs: OverlayFs, src: bytes, dst: bytes) -> None:
    """Copy every non-private xattr; ones the upper cannot store are skipped."""
    for name in layers.listxattr(src):
        if ofs.is_private_xattr(name):
            continue
        value = layers.getxattr(src, name)
        if value is None:
            continue
        try:
            layers.setxattr(dst, name, value)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EPERM):
                raise
