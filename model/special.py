"""FIFOs and devices opened through the overlay.

Special files are never copied up on open (``ovl_open_need_copy_up``); the overlay inode is
a special inode of its own, so a FIFO's pipe belongs to the overlay inode and is shared by
every open of it.  The tests open everything with O_NONBLOCK (``difftest.realops.open_``),
which is what is modelled: an O_WRONLY open of a FIFO without a reader is ENXIO, reading an
empty pipe with a writer is EAGAIN, without one end-of-file; writing without a reader is
EPIPE.  Of the devices only the null device (char 1:3) is modelled; other devices and
sockets cannot be opened (ENXIO: no driver, no socket file open).
"""

from __future__ import annotations

import errno
import os

from model.errors import fail
from model.fs import OvlInode
from model.layer import CHR, FIFO

NULL_DEV = os.makedev(1, 3)
PIPE_BUF_SIZE = 65536


class Pipe:
    """The pipe of one FIFO inode."""

    __slots__ = ("buf", "readers", "writers")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.readers = 0
        self.writers = 0


def _ends(flags: int) -> tuple[bool, bool]:
    acc = flags & 3
    return acc in (os.O_RDONLY, os.O_RDWR), acc in (os.O_WRONLY, os.O_RDWR)


def open_special(inode: OvlInode, flags: int) -> None:
    """``fifo_open`` / ``chrdev_open`` of the object behind ``inode``."""
    node = inode.real
    if node.kind == FIFO:
        pipe = inode.pipe
        if pipe is None:
            pipe = inode.pipe = Pipe()
        reader, writer = _ends(flags)
        if writer and not reader and pipe.readers == 0:
            raise fail(errno.ENXIO, "FIFO opened O_WRONLY|O_NONBLOCK without a reader")
        pipe.readers += reader
        pipe.writers += writer
        return
    if node.kind == CHR and node.rdev == NULL_DEV:
        return
    raise fail(errno.ENXIO, "no such device (only the null device and FIFOs are modelled)")


def close_special(inode: OvlInode, flags: int) -> None:
    pipe = inode.pipe
    if pipe is not None and inode.real.kind == FIFO:
        reader, writer = _ends(flags)
        pipe.readers -= reader
        pipe.writers -= writer


def read_special(inode: OvlInode, size: int, positioned: bool) -> bytes:
    node = inode.real
    if node.kind != FIFO:
        return b""  # the null device
    if positioned:  # pragma: no cover - file._check_positioned refuses it first
        raise fail(errno.ESPIPE, "pread on a FIFO")
    pipe = inode.pipe
    assert pipe is not None
    if not pipe.buf:
        if pipe.writers:
            raise fail(errno.EAGAIN, "empty pipe (O_NONBLOCK)")
        return b""
    out = bytes(pipe.buf[:size])
    del pipe.buf[:size]
    return out


def write_special(inode: OvlInode, data: bytes, positioned: bool) -> int:
    node = inode.real
    if node.kind != FIFO:
        return len(data)  # the null device
    if positioned:  # pragma: no cover - file._check_positioned refuses it first
        raise fail(errno.ESPIPE, "pwrite on a FIFO")
    pipe = inode.pipe
    assert pipe is not None
    if not pipe.readers:
        raise fail(errno.EPIPE, "no reader")
    room = PIPE_BUF_SIZE - len(pipe.buf)
    if room <= 0:
        raise fail(errno.EAGAIN, "pipe full (O_NONBLOCK)")
    pipe.buf += data[:room]
    return min(len(data), room)


def seek_special(inode: OvlInode) -> int:
    if inode.real.kind == FIFO:
        raise fail(errno.ESPIPE, "lseek on a FIFO")
    return 0  # null_lseek
