"""Open files (the kernel's file.c, catalogue §2.3, §2.15).

* A write open (O_WRONLY, O_RDWR, or O_TRUNC with any access mode) copies up at open time,
  even if nothing is written; with O_TRUNC no data is copied first.
* Every open gets its own real fd (never one per inode): the fd's flags are this open's.
* A handle opened on a lower file follows the file to the upper layer: when the node has
  been copied up since, the next read reopens the upper copy (ovl_real_fdget).
* Lower files are read with O_NOATIME (reads never update a lower atime).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

from . import crash, layers
from .copy_up import copy_up
from .errors import fail
from .inode import Node, real_path
from .super import OverlayFs

# Flags the overlay handles itself or that must not reach the real open.
_DROP = os.O_CREAT | os.O_EXCL | os.O_NOCTTY | os.O_APPEND | os.O_DIRECT | os.O_NOFOLLOW


class FileHandle:
    """One open of one file: its own real fd, and where that fd points."""

    __slots__ = ("fd", "flags", "gen", "node", "on_upper", "writable")

    def __init__(self, node: Node, fd: int, flags: int, writable: bool):
        self.node = node
        self.fd = fd
        self.flags = flags
        self.writable = writable
        self.on_upper = node.upper
        self.gen = node.copy_gen


def is_write_open(flags: int) -> bool:
    return (flags & os.O_ACCMODE) != os.O_RDONLY or bool(flags & os.O_TRUNC)


def open_node(ofs: OverlayFs, node: Node, flags: int,
              invalidate: Callable[[Node], None] | None = None,
              caller_uid: int = 0) -> FileHandle:
    """Open *node* with the caller's *flags* (copy-up rules in the module doc).  An O_TRUNC
    open by a caller without CAP_FSETID (not root) drops setuid, and setgid with group-exec
    (``handle_truncate``: ``do_truncate`` kills them as a truncate does); the FUSE module
    truncates atomically in the open, so the daemon must."""
    writable = is_write_open(flags)
    if node.is_dir:
        fail(errno.EISDIR)
    if writable:
        if not ofs.writable:
            fail(errno.EROFS)
        copy_up(ofs, node, data_limit=0 if flags & os.O_TRUNC else None, invalidate=invalidate)
    fd = _open_real(ofs, node, flags)
    if flags & os.O_TRUNC and caller_uid != 0:
        _kill_suid(fd)
    if flags & os.O_TRUNC and invalidate is not None:
        invalidate(node)  # truncated: a new size under every name of the file
    node.opens += 1
    if writable:
        node.writers += 1
    return FileHandle(node, fd, flags, writable)


def _kill_suid(fd: int) -> None:
    mode = os.fstat(fd).st_mode
    kill = stat.S_ISUID | (stat.S_ISGID if mode & stat.S_IXGRP else 0)
    if stat.S_ISREG(mode) and mode & kill:
        os.fchmod(fd, stat.S_IMODE(mode) & ~kill)


def _open_real(ofs: OverlayFs, node: Node, flags: int) -> int:
    """Open the real file; a final symlink is never followed (it could lead off the layer)."""
    real_flags = flags & ~_DROP
    if not node.upper:
        real_flags = (real_flags & ~os.O_TRUNC) | os.O_NOATIME
    if node.orphan_fd is None:
        real_flags |= os.O_NOFOLLOW  # a removed node's /proc/self/fd/N must be followed
    return layers.open_file(real_path(ofs, node), real_flags)


def _follow_copy_up(ofs: OverlayFs, h: FileHandle) -> None:
    """Reopen a lower fd on the upper copy made since the open."""
    if h.on_upper or h.gen == h.node.copy_gen or not h.node.upper:
        return
    fd = _open_real(ofs, h.node, h.flags & ~os.O_TRUNC)
    os.close(h.fd)
    h.fd, h.on_upper, h.gen = fd, True, h.node.copy_gen


def read(ofs: OverlayFs, h: FileHandle, offset: int, size: int) -> bytes:
    _follow_copy_up(ofs, h)
    return os.pread(h.fd, size, offset)


def write(ofs: OverlayFs, h: FileHandle, offset: int, data: bytes) -> int:
    crash.step()
    return os.pwrite(h.fd, data, offset)


def fsync(ofs: OverlayFs, h: FileHandle, datasync: bool) -> None:
    if ofs.cfg.fsync == "volatile":
        return
    _follow_copy_up(ofs, h)
    if datasync:
        os.fdatasync(h.fd)
    else:
        os.fsync(h.fd)


def release(h: FileHandle) -> None:
    os.close(h.fd)
    h.node.opens -= 1
    if h.writable:
        h.node.writers -= 1
