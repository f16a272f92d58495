"""The new mount API (fsopen, fsconfig, fsmount, move_mount), as overlayfs takes it.

Since Linux 6.8 overlayfs takes each layer as a parameter of its own: ``lowerdir+`` appends a
lower layer and ``datadir+`` a data-only one, each path taken as it is (``ovl_mount_dir_noesc``),
so a layer path may hold ``,`` ``:`` ``=`` ``\\`` and spaces, and the number of layers is not
bounded by the size of a mount(2) data page.  ``upperdir`` and ``workdir`` are unescaped
also here (``ovl_mount_dir``: a backslash quotes the next character), so a backslash in them
must be doubled; measured on 6.18: ``upperdir=/u a,b:c=d\\e`` is ENOENT, ``\\\\e`` mounts.
Container engines with many layers mount this way.  A refusal names the step that failed,
and carries the messages the kernel logged into the filesystem context, if any (overlayfs
writes most of its reasons to the kernel log instead, as for mount(2); seen on 6.18: none
for EINVAL at create).

The syscall numbers are those of the unified table (x86_64 and aarch64 agree from 424 on).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from difftest.realfs import raw_syscall as _call

SYS_MOVE_MOUNT = 429
SYS_FSOPEN = 430
SYS_FSCONFIG = 431
SYS_FSMOUNT = 432

FSOPEN_CLOEXEC = 1
FSCONFIG_SET_FLAG = 0
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
FSMOUNT_CLOEXEC = 1
MOUNT_ATTR_RDONLY = 1
MOVE_MOUNT_F_EMPTY_PATH = 4
AT_FDCWD = -100

# (key, value): a string parameter, or a flag when the value is None
Param = tuple[str, bytes | None]


class NewMountError(OSError):
    """A step of the new mount API failed; ``messages`` are the kernel's own."""

    def __init__(self, err: int, step: str, messages: list[str]) -> None:
        said = f"; kernel says: {' / '.join(messages)}" if messages else ""
        super().__init__(err, f"{step} failed: {os.strerror(err)}{said}")
        self.messages = messages


def _messages(fs_fd: int) -> list[str]:
    """What the kernel logged into the filesystem context (each read is one message)."""
    out: list[str] = []
    while True:
        try:
            msg = os.read(fs_fd, 4096)
        except OSError:  # ENODATA: no more messages
            return out
        if not msg:
            return out
        out.append(msg.decode(errors="replace").rstrip("\n"))


def _escape(path: bytes) -> bytes:
    """``path`` with its backslashes doubled, which ``ovl_unescape`` turns back into it."""
    return path.replace(b"\\", b"\\\\")


def overlay_params(lowers: Sequence[bytes], upper: bytes | None, work: bytes | None,
                   options: Sequence[str], data: Sequence[bytes] = ()) -> list[Param]:
    """The parameters of an overlay mount: a ``lowerdir+`` for each lower layer, top first,
    a ``datadir+`` for each data-only layer, ``upperdir`` and ``workdir`` (escaped), then
    each option (``key=value`` or a flag)."""
    params: list[Param] = [("lowerdir+", d) for d in lowers]
    params += [("datadir+", d) for d in data]
    if upper is not None and work is not None:
        params += [("upperdir", _escape(upper)), ("workdir", _escape(work))]
    for opt in options:
        key, eq, value = opt.partition("=")
        params.append((key, value.encode() if eq else None))
    return params


def fsconfig_mount(fstype: bytes, target: bytes, params: Sequence[Param],
                   read_only: bool = False) -> None:
    """Mount ``fstype`` on ``target`` through fsopen/fsconfig/fsmount/move_mount.
    ``read_only``: a read-only superblock and mount (as mount(2)'s MS_RDONLY gives)."""
    fs_fd = _call(SYS_FSOPEN, fstype, FSOPEN_CLOEXEC)
    if fs_fd < 0:
        raise NewMountError(-fs_fd, "fsopen", [])
    try:
        all_params = [*params, ("ro", None)] if read_only else list(params)
        for key, value in all_params:
            cmd = FSCONFIG_SET_FLAG if value is None else FSCONFIG_SET_STRING
            err = _call(SYS_FSCONFIG, fs_fd, cmd, key.encode(), value, 0)
            if err < 0:
                raise NewMountError(-err, f"fsconfig {key}", _messages(fs_fd))
        err = _call(SYS_FSCONFIG, fs_fd, FSCONFIG_CMD_CREATE, None, None, 0)
        if err < 0:
            raise NewMountError(-err, "fsconfig create", _messages(fs_fd))
        attrs = MOUNT_ATTR_RDONLY if read_only else 0
        mnt_fd = _call(SYS_FSMOUNT, fs_fd, FSMOUNT_CLOEXEC, attrs)
        if mnt_fd < 0:
            raise NewMountError(-mnt_fd, "fsmount", _messages(fs_fd))
    finally:
        os.close(fs_fd)
    try:
        err = _call(SYS_MOVE_MOUNT, mnt_fd, b"", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)
        if err < 0:
            raise NewMountError(-err, "move_mount", [])
    finally:
        os.close(mnt_fd)
