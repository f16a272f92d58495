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
PAGE_SIZE = 4096
PIPE_SLOTS = 16  # PIPE_DEF_BUFFERS: a pipe holds 16 pages


class Pipe:
    """The pipe of one FIFO inode: up to 16 buffers, each a page holding ``data`` from
    ``offset`` on (what is left of it after reads)."""

    __slots__ = ("bufs", "readers", "writers")

    def __init__(self) -> None:
        self.bufs: list[tuple[list[int], bytearray]] = []  # ([offset], data) per page
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
    if not pipe.bufs:
        if pipe.writers:
            raise fail(errno.EAGAIN, "empty pipe (O_NONBLOCK)")
        return b""
    out = bytearray()
    while pipe.bufs and len(out) < size:  # pipe_read: buffer after buffer
        offset, data = pipe.bufs[0]
        take = data[: size - len(out)]
        out += take
        del data[: len(take)]
        offset[0] += len(take)
        if not data:
            pipe.bufs.pop(0)  # an emptied buffer frees its slot
    return bytes(out)


def write_special(inode: OvlInode, data: bytes, positioned: bool) -> int:
    """``pipe_write`` (fs/pipe.c) with O_NONBLOCK: the write's last partial page
    (``len % PAGE_SIZE`` bytes, taken from its start) goes into the last buffer if it fits
    there after that buffer's data; the rest fills new pages, one per free slot of 16;
    nothing written into a full pipe is EAGAIN (checked on 6.18: "new" then 70,000 bytes
    writes 368 + 15 * 4096 = 61,808 of them)."""
    node = inode.real
    if node.kind != FIFO:
        return len(data)  # the null device
    if positioned:  # pragma: no cover - file._check_positioned refuses it first
        raise fail(errno.ESPIPE, "pwrite on a FIFO")
    pipe = inode.pipe
    assert pipe is not None
    if not pipe.readers:
        raise fail(errno.EPIPE, "no reader")
    written = 0
    chars = len(data) % PAGE_SIZE
    if chars and pipe.bufs:
        offset, last = pipe.bufs[-1]
        if offset[0] + len(last) + chars <= PAGE_SIZE:
            last += data[:chars]
            written = chars
    while written < len(data) and len(pipe.bufs) < PIPE_SLOTS:
        page = data[written : written + PAGE_SIZE]
        pipe.bufs.append(([0], bytearray(page)))
        written += len(page)
    if not written:
        raise fail(errno.EAGAIN, "pipe full (O_NONBLOCK)")
    return written


def seek_special(inode: OvlInode) -> int:
    if inode.real.kind == FIFO:
        raise fail(errno.ESPIPE, "lseek on a FIFO")
    return 0  # null_lseek
