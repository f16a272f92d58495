"""``statx(2)`` through ctypes, for the one thing ``os.stat`` cannot ask: ``AT_STATX_DONT_SYNC``.

A FUSE mount in exact mode (attribute timeout 0) answers every ``stat`` with a fresh GETATTR
request.  Right after a lookup has brought the attributes (LOOKUP's reply carries them), a
``statx`` with ``AT_STATX_DONT_SYNC`` returns those same attributes without asking again:
still the FUSE program's answer, one request cheaper.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

AT_SYMLINK_NOFOLLOW = 0x100
AT_EMPTY_PATH = 0x1000
AT_STATX_DONT_SYNC = 0x4000
STATX_BASIC_STATS = 0x7FF


class _Timestamp(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_int64), ("nsec", ctypes.c_uint32), ("_r", ctypes.c_int32)]


class StatxBuf(ctypes.Structure):
    """``struct statx`` (include/uapi/linux/stat.h), 256 bytes."""

    _fields_ = [
        ("mask", ctypes.c_uint32), ("blksize", ctypes.c_uint32), ("attributes", ctypes.c_uint64),
        ("nlink", ctypes.c_uint32), ("uid", ctypes.c_uint32), ("gid", ctypes.c_uint32),
        ("mode", ctypes.c_uint16), ("_spare0", ctypes.c_uint16),
        ("ino", ctypes.c_uint64), ("size", ctypes.c_uint64), ("blocks", ctypes.c_uint64),
        ("attributes_mask", ctypes.c_uint64),
        ("atime", _Timestamp), ("btime", _Timestamp), ("ctime", _Timestamp), ("mtime", _Timestamp),
        ("rdev_major", ctypes.c_uint32), ("rdev_minor", ctypes.c_uint32),
        ("dev_major", ctypes.c_uint32), ("dev_minor", ctypes.c_uint32),
        ("_spare", ctypes.c_uint64 * 14),
    ]  # fmt: skip

    @property
    def mtime_ns(self) -> int:
        return self.mtime.sec * 1_000_000_000 + self.mtime.nsec

    @property
    def ctime_ns(self) -> int:
        return self.ctime.sec * 1_000_000_000 + self.ctime.nsec

    @property
    def rdev(self) -> int:
        return os.makedev(self.rdev_major, self.rdev_minor)


assert ctypes.sizeof(StatxBuf) == 256

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_statx = _libc.statx
_statx.argtypes = [
    ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(StatxBuf),
]  # fmt: skip
_statx.restype = ctypes.c_int


def fstatx_cached(fd: int) -> StatxBuf:
    """The attributes the kernel holds for the object behind ``fd`` (``AT_EMPTY_PATH``),
    without asking the filesystem again (``AT_STATX_DONT_SYNC``)."""
    buf = StatxBuf()
    flags = AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC
    if _statx(fd, b"", flags, STATX_BASIC_STATS, ctypes.byref(buf)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return buf
