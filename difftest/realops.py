"""The :class:`~difftest.syscalls.Syscalls` operations on real paths and real fds.

Each function is one real syscall (two for ``readdir``), with the same name and argument
order as the ``Syscalls`` method, except that paths are absolute real paths (mountpoint
already prefixed) and fds are real fds.  A target runs them in-process for root and in a
credential helper (:mod:`difftest.credhelper`) for other users; ``OPS`` is the table the
helper dispatches on.
"""

from __future__ import annotations

import fcntl
import os
import stat as _stat
from collections.abc import Callable
from typing import Any

from difftest import realfs
from model.types import DirEntry, Stat

stat_of = realfs.stat_of
getdents = realfs.getdents


def lstat(p: bytes) -> Stat:
    return stat_of(os.lstat(p))


def stat(p: bytes) -> Stat:
    return stat_of(os.stat(p))


# The flags F_SETFL can change (fcntl(2)); O_ASYNC is FASYNC.
_SETFL_MASK = os.O_APPEND | os.O_NONBLOCK | os.O_DIRECT | os.O_NOATIME | 0o20000


def open_(p: bytes, flags: int, mode: int) -> int:
    """open(2) that never blocks the tester.

    A FIFO's open blocks until the other end is opened, and reads of FIFOs and terminals
    block on an empty buffer: nothing in a single-threaded tester could ever unblock them.
    So every open is made with O_NONBLOCK (which changes nothing else about open for the
    objects an overlay holds), and O_NONBLOCK is cleared again afterwards unless the
    object is a FIFO or a character device.  The visible differences, only for those: an
    O_WRONLY open of a FIFO without a reader fails with ENXIO instead of hanging, and an
    empty read gives EAGAIN instead of hanging.
    """
    fd = os.open(p, flags | os.O_NONBLOCK, mode)
    if not flags & (os.O_NONBLOCK | os.O_PATH):  # fcntl(F_SETFL) fails on O_PATH fds
        try:
            fmt = _stat.S_IFMT(os.fstat(fd).st_mode)
            if fmt != _stat.S_IFIFO and fmt != _stat.S_IFCHR:
                fcntl.fcntl(fd, fcntl.F_SETFL, flags & _SETFL_MASK)
        except BaseException:
            os.close(fd)
            raise
    return fd


def close(fd: int) -> None:
    os.close(fd)


def read(fd: int, size: int) -> bytes:
    return os.read(fd, size)


def pread(fd: int, size: int, offset: int) -> bytes:
    return os.pread(fd, size, offset)


def write(fd: int, data: bytes) -> int:
    return os.write(fd, data)


def pwrite(fd: int, data: bytes, offset: int) -> int:
    return os.pwrite(fd, data, offset)


def ftruncate(fd: int, length: int) -> None:
    os.ftruncate(fd, length)


def fsync(fd: int) -> None:
    os.fsync(fd)


def fstat(fd: int) -> Stat:
    return stat_of(os.fstat(fd))


def lseek(fd: int, offset: int, whence: int) -> int:
    return os.lseek(fd, offset, whence)


def readdir(p: bytes) -> list[DirEntry]:
    fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return getdents(fd)
    finally:
        os.close(fd)


def truncate(p: bytes, length: int) -> None:
    os.truncate(p, length)


def mkdir(p: bytes, mode: int) -> None:
    os.mkdir(p, mode)


def mknod(p: bytes, mode: int, rdev: int) -> None:
    os.mknod(p, mode, rdev)


def symlink(target: bytes, p: bytes) -> None:
    os.symlink(target, p)


def readlink(p: bytes) -> bytes:
    return os.readlink(p)


def link(old: bytes, new: bytes) -> None:
    # link(2) does not follow a symlink ``old``; os.link follows by default (AT_SYMLINK_FOLLOW).
    os.link(old, new, follow_symlinks=False)


def unlink(p: bytes) -> None:
    os.unlink(p)


def rmdir(p: bytes) -> None:
    os.rmdir(p)


def rename(old: bytes, new: bytes, flags: int) -> None:
    if flags:
        realfs.renameat2(old, new, flags)
    else:
        os.rename(old, new)


def chmod(p: bytes, mode: int) -> None:
    os.chmod(p, mode)


def chown(p: bytes, uid: int, gid: int) -> None:
    os.chown(p, uid, gid)


def utimens(p: bytes, atime_ns: int | None, mtime_ns: int | None) -> None:
    realfs.utimensat(p, atime_ns, mtime_ns)


def setxattr(p: bytes, name: bytes, value: bytes, flags: int) -> None:
    os.setxattr(p, name, value, flags)


def getxattr(p: bytes, name: bytes) -> bytes:
    return os.getxattr(p, name)


def listxattr(p: bytes) -> list[bytes]:
    return [os.fsencode(n) for n in os.listxattr(p)]


def removexattr(p: bytes, name: bytes) -> None:
    os.removexattr(p, name)


def inside(directory: bytes, name: str, *args: Any) -> Any:
    """``OPS[name](*args)`` with *directory* as the working directory (paths relative to it)."""
    with realfs.inside(directory):
        return OPS[name](*args)


OPS: dict[str, Callable[..., Any]] = {
    "lstat": lstat,
    "stat": stat,
    "open": open_,
    "close": close,
    "read": read,
    "pread": pread,
    "write": write,
    "pwrite": pwrite,
    "ftruncate": ftruncate,
    "fsync": fsync,
    "fstat": fstat,
    "getdents": getdents,
    "lseek": lseek,
    "readdir": readdir,
    "truncate": truncate,
    "mkdir": mkdir,
    "mknod": mknod,
    "symlink": symlink,
    "readlink": readlink,
    "link": link,
    "unlink": unlink,
    "rmdir": rmdir,
    "rename": rename,
    "chmod": chmod,
    "chown": chown,
    "utimens": utimens,
    "setxattr": setxattr,
    "getxattr": getxattr,
    "listxattr": listxattr,
    "removexattr": removexattr,
    "statfs": realfs.statfs,
    "name_to_handle_at": realfs.name_to_handle_at,
    "file_digest": realfs.file_digest,
    "inside": inside,
}
