"""Copy-up origin file handles, in the kernel's on-disk format (``struct ovl_fb``).

``trusted.overlay.origin`` holds: version 0, magic 0xfb, total length, flags, the real
handle type, the 16-byte uuid of the lower filesystem, then the real file handle from
name_to_handle_at(2).  An empty value means "copied up, origin unknown" (the kernel writes
that when the lower filesystem cannot encode handles).  Decoding uses open_by_handle_at(2)
on a lower layer, as the kernel's ovl_check_origin does for non-directories; only the
origin's inode number and type matter here (st_ino rules, catalogue §3).
"""

from __future__ import annotations

import os

from . import syscalls

OVL_FH_VERSION = 0
OVL_FH_MAGIC = 0xFB
OVL_FB_HEADER = 5 + 16  # version, magic, len, flags, type + uuid
FLAG_BIG_ENDIAN = 1
FLAG_ANY_ENDIAN = 2
FLAG_PATH_UPPER = 4
FLAGS_ALL = FLAG_BIG_ENDIAN | FLAG_ANY_ENDIAN | FLAG_PATH_UPPER


def encode(real_path: bytes, fs_uuid: bytes, upper: bool = False) -> bytes:
    """The origin value naming the object at *real_path*; b"" if it cannot be encoded.
    ``upper``: a handle of an upper object (the index dir's ``overlay.upper``)."""
    try:
        handle_type, data, _mount_id = syscalls.name_to_handle_at(real_path)
    except OSError:
        return b""
    if OVL_FB_HEADER + len(data) > 255 or handle_type > 255:
        return b""
    flags = FLAG_PATH_UPPER if upper else 0
    header = bytes([OVL_FH_VERSION, OVL_FH_MAGIC, OVL_FB_HEADER + len(data), flags, handle_type])
    return header + fs_uuid[:16].ljust(16, b"\0") + data


def parse(value: bytes) -> tuple[int, bytes, bytes] | None:
    """(handle type, uuid, handle) of a well-formed lower origin, else None ("unknown")."""
    if len(value) < OVL_FB_HEADER or value[1] != OVL_FH_MAGIC or value[2] != len(value):
        return None
    version, flags = value[0], value[3]
    if version > OVL_FH_VERSION or flags & ~FLAGS_ALL or flags & FLAG_PATH_UPPER:
        return None
    if not flags & FLAG_ANY_ENDIAN and flags & FLAG_BIG_ENDIAN:
        return None  # written on a big-endian machine: "origin unknown"
    return value[4], value[5:21], value[21:]


def decode_stat(value: bytes, candidates: list[tuple[int, bytes]]) -> os.stat_result | None:
    """Stat of the origin object, trying each (mount fd, fs uuid) candidate in order.

    None when the handle is empty, malformed, stale (the lower object is gone) or matches no
    candidate's uuid.
    """
    parsed = parse(value)
    if parsed is None:
        return None
    handle_type, uuid, data = parsed
    for mount_fd, fs_uuid in candidates:
        if uuid != fs_uuid and any(uuid):
            continue
        try:
            fd = syscalls.open_by_handle_at(mount_fd, handle_type, data, os.O_PATH)
        except OSError:
            continue
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)
    return None
