"""Values returned by the model's syscalls, shaped like the kernel's."""

from __future__ import annotations

import stat as _stat
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Cred:
    """The caller's credentials (fsuid, fsgid, supplementary groups)."""

    uid: int = 0
    gid: int = 0
    groups: tuple[int, ...] = ()

    @property
    def is_root(self) -> bool:
        return self.uid == 0


ROOT = Cred()


class Stat(NamedTuple):
    """What ``lstat``/``stat``/``fstat`` report.  ``ino`` is an identity: equal inode
    numbers mean the same overlay inode; its value is the model's own.  ``mtime`` is a
    logical clock: compare it only for change."""

    mode: int
    ino: int
    nlink: int
    uid: int
    gid: int
    size: int
    rdev: int
    mtime: int
    # Which device the object reports (catalogue §3): 0 is the overlay's own; with layers on
    # several filesystems (xino=off), a non-directory reports the pseudo device of the layer
    # that provides its st_ino, 1 + that layer's idx.  Compare it only as a class.
    dev: int = 0

    @property
    def is_dir(self) -> bool:  # pragma: no cover - library API
        return _stat.S_ISDIR(self.mode)


class DirEntry(NamedTuple):
    """One ``getdents64`` record: name and d_type (``stat.S_IFMT`` >> 12, like DT_*)."""

    name: bytes
    d_type: int
    ino: int


@dataclass(frozen=True)
class StatFs:
    """The ``statfs`` fields the model decides: overlay magic, name limit, read-only flag,
    and where f_fsid comes from (``uuid``: the overlay's uuid; ``zero``: the null uuid;
    ``layer``: the fsid of the layer's filesystem that answered; a real target gives the
    raw value as ``HEX:HEX`` until it is classified, ``""`` where it cannot be observed)."""

    f_type: int
    namelen: int
    readonly: bool
    fsid: str = "layer"


# What name_to_handle_at gives: opaque to the caller, each implementation's own (the model
# keeps an object's identity, a real target the kernel's bytes)
FileHandle = object

OVERLAYFS_SUPER_MAGIC = 0x794C7630
NAME_MAX = 255
PATH_MAX = 4096


@dataclass(frozen=True)
class UpperEntry:
    """One object of the upper layer as it sits on disk, as a listing of upperdir shows it.

    ``kind`` is ``whiteout`` for a char device 0:0.  Overlay xattrs are reported as the
    kernel writes them: ``opaque`` and ``redirect`` by value, ``origin`` by presence,
    ``impure`` by presence of ``y``, ``metacopy`` by presence, ``uuid`` by its shape (the
    value is random).  ``xattrs`` are the non-private xattrs.
    """

    kind: str
    mode: int  # permission bits (meaningless for whiteouts)
    uid: int
    gid: int
    size: int
    digest: str  # content digest for regular files, target for symlinks, "" otherwise
    opaque: bytes | None
    redirect: bytes | None
    origin: bool
    impure: bool
    xattrs: tuple[tuple[bytes, bytes], ...]
    metacopy: bool = False
    # trusted.overlay.uuid (the upper root's): "" none, "uuid" 16 bytes, "bad" any other size
    uuid: str = ""
