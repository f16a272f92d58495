"""System calls that Python's ``os`` module lacks, through ctypes.

Every function raises ``OSError(errno, strerror, path)`` on failure, like ``os`` does.
Covered: ``renameat2`` (RENAME_NOREPLACE / EXCHANGE / WHITEOUT), ``utimensat`` with
``UTIME_OMIT``, ``name_to_handle_at`` / ``open_by_handle_at`` (the kernel's file handles,
used for ``trusted.overlay.origin``), the ``FS_IOC_GETFSUUID`` ioctl and ``umount2``.
"""

from __future__ import annotations

import ctypes
import fcntl
import os

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
RENAME_WHITEOUT = 4
UTIME_OMIT = (1 << 30) - 2
MNT_DETACH = 2
MAX_HANDLE_SZ = 128
# _IOR(0x15, 0, struct fsuuid2 { __u8 len; __u8 uuid[16]; })
FS_IOC_GETFSUUID = 0x80111500

_libc = ctypes.CDLL(None, use_errno=True)


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _FileHandle(ctypes.Structure):
    _fields_ = [
        ("handle_bytes", ctypes.c_uint),
        ("handle_type", ctypes.c_int),
        ("f_handle", ctypes.c_ubyte * MAX_HANDLE_SZ),
    ]


def _check(res: int, path: bytes | None = None) -> int:
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return res


def renameat2(old: bytes, new: bytes, flags: int = 0) -> None:
    """rename(2) with flags; both paths absolute (or relative to the cwd)."""
    _check(_libc.renameat2(AT_FDCWD, old, AT_FDCWD, new, ctypes.c_uint(flags)), old)


def utimensat(path: bytes, atime_ns: int | None, mtime_ns: int | None,
              follow: bool = False) -> None:
    """Set atime and/or mtime of *path* (a final symlink followed only if asked); None = keep."""
    times = (_Timespec * 2)()
    for slot, value in ((0, atime_ns), (1, mtime_ns)):
        if value is None:
            times[slot].tv_sec, times[slot].tv_nsec = 0, UTIME_OMIT
        else:
            times[slot].tv_sec, times[slot].tv_nsec = divmod(value, 1_000_000_000)
    _check(_libc.utimensat(AT_FDCWD, path, times, 0 if follow else AT_SYMLINK_NOFOLLOW), path)


def name_to_handle_at(path: bytes) -> tuple[int, bytes, int]:
    """The kernel file handle of *path* (not following a final symlink).

    Returns (handle_type, handle_bytes, mount_id).
    """
    handle = _FileHandle()
    handle.handle_bytes = MAX_HANDLE_SZ
    mount_id = ctypes.c_int()
    _check(
        _libc.name_to_handle_at(
            AT_FDCWD, path, ctypes.byref(handle), ctypes.byref(mount_id), 0
        ),
        path,
    )
    data = bytes(handle.f_handle[: handle.handle_bytes])
    return handle.handle_type, data, mount_id.value


def open_by_handle_at(mount_fd: int, handle_type: int, data: bytes, flags: int) -> int:
    """Open the object a file handle names, on the filesystem of *mount_fd*."""
    if len(data) > MAX_HANDLE_SZ:
        raise OSError(22, "file handle too long")
    handle = _FileHandle()
    handle.handle_bytes = len(data)
    handle.handle_type = handle_type
    ctypes.memmove(handle.f_handle, data, len(data))
    return _check(_libc.open_by_handle_at(mount_fd, ctypes.byref(handle), flags | os.O_CLOEXEC))


def fs_uuid(fd: int) -> bytes:
    """The 16-byte uuid of the filesystem holding *fd* (FS_IOC_GETFSUUID), or zeros."""
    try:
        raw = fcntl.ioctl(fd, FS_IOC_GETFSUUID, bytes(17))
    except OSError:
        return bytes(16)
    length = raw[0]
    return raw[1 : 1 + length].ljust(16, b"\0")[:16]


PR_SET_PDEATHSIG = 1


def set_parent_death_signal(signum: int) -> None:
    """prctl(PR_SET_PDEATHSIG): get *signum* when the parent process dies."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signum), 0, 0, 0))


def umount2(target: bytes, flags: int = 0) -> None:
    """umount2(2)."""
    _check(_libc.umount2(target, ctypes.c_int(flags)), target)
