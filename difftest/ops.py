"""Operations as data: one dataclass per syscall.

Every operation's ``repr`` is valid Python (given ``from difftest.ops import *``), and shows
only the fields that differ from their defaults, so a shrunk failing sequence pastes straight
into a regression test.  An operation runs against any :class:`difftest.syscalls.Syscalls`
through :meth:`Op.run`; handle operations name a *handle label* (the how-manieth successful
``Open`` of the example, from 0), which each target maps to its own handle.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, ClassVar

from difftest.syscalls import Syscalls
from model.types import ROOT, Cred

RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
RENAME_WHITEOUT = 4
XATTR_CREATE = 1
XATTR_REPLACE = 2

OPEN_FLAG_NAMES = [
    (os.O_WRONLY, "O_WRONLY"),
    (os.O_RDWR, "O_RDWR"),
    (os.O_CREAT, "O_CREAT"),
    (os.O_EXCL, "O_EXCL"),
    (os.O_TRUNC, "O_TRUNC"),
    (os.O_APPEND, "O_APPEND"),
    (os.O_DIRECTORY, "O_DIRECTORY"),
    (os.O_NOFOLLOW, "O_NOFOLLOW"),
]


def open_flags_str(flags: int) -> str:
    """``os.O_WRONLY|os.O_CREAT`` style spelling of open flags."""
    names = [name for bit, name in OPEN_FLAG_NAMES if flags & bit]
    return "|".join(names) if names else "O_RDONLY"


class Handles:
    """Maps handle labels to one target's own handles, and the paths given to
    ``NameToHandle`` to the file handles each target encoded for them."""

    def __init__(self) -> None:
        self.by_label: dict[int, int] = {}
        self.file_handles: dict[bytes, object] = {}

    def get(self, label: int) -> int:
        try:
            return self.by_label[label]
        except KeyError:
            raise OSError(9, "EBADF: handle label not open on this target") from None


def _value_repr(value: Any) -> str:
    """``repr``, except that a long run of one byte is spelled ``b'w' * 65537``."""
    if isinstance(value, bytes) and len(value) > 64 and value == value[:1] * len(value):
        return f"{value[:1]!r} * {len(value)}"
    return repr(value)


@dataclass(frozen=True)
class Op:
    """Base of all operations.  Subclasses set ``syscall`` and, for path operations,
    carry ``uid``/``gid``: a non-zero uid runs the call as that unprivileged user."""

    syscall: ClassVar[str] = ""
    uses_handle: ClassVar[bool] = False
    mutates: ClassVar[bool] = True

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.default is not dataclasses.MISSING and value == f.default:
                continue
            parts.append(f"{f.name}={_value_repr(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    @property
    def cred(self) -> Cred:
        uid = getattr(self, "uid", 0)
        gid = getattr(self, "gid", 0)
        return ROOT if uid == 0 and gid == 0 else Cred(uid, gid)

    def args(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("uid", "gid", "h")
        }

    def run(self, sys: Syscalls, handles: Handles) -> Any:
        """Run on one target; returns the raw result or raises the target's error."""
        method = getattr(sys, self.syscall)
        if self.uses_handle:
            return method(handles.get(self.h), **self.args())  # type: ignore[attr-defined]
        if hasattr(self, "uid"):
            return method(**self.args(), cred=self.cred)
        return method(**self.args())

    def paths(self) -> tuple[bytes, ...]:
        """The paths this operation names (for coverage and reports)."""
        return tuple(v for k, v in self.args().items() if k in ("path", "old", "new"))


# ---- path operations that only look -------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Lstat(Op):
    path: bytes
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "lstat"
    mutates: ClassVar[bool] = False


@dataclass(frozen=True, repr=False)
class Stat(Op):
    path: bytes
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "stat"
    mutates: ClassVar[bool] = False


@dataclass(frozen=True, repr=False)
class Readdir(Op):
    path: bytes
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "readdir"
    mutates: ClassVar[bool] = False


@dataclass(frozen=True, repr=False)
class Readlink(Op):
    path: bytes
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "readlink"
    mutates: ClassVar[bool] = False


@dataclass(frozen=True, repr=False)
class Getxattr(Op):
    path: bytes
    name: bytes
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "getxattr"
    mutates: ClassVar[bool] = False


@dataclass(frozen=True, repr=False)
class Listxattr(Op):
    path: bytes
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "listxattr"
    mutates: ClassVar[bool] = False


@dataclass(frozen=True, repr=False)
class Statfs(Op):
    path: bytes
    syscall: ClassVar[str] = "statfs"
    mutates: ClassVar[bool] = False


# ---- path operations that change -----------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Open(Op):
    """Open ``path``; on success the result is the next handle label."""

    path: bytes
    flags: int = os.O_RDONLY
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "open"


@dataclass(frozen=True, repr=False)
class Truncate(Op):
    path: bytes
    length: int
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "truncate"


@dataclass(frozen=True, repr=False)
class Mkdir(Op):
    path: bytes
    mode: int = 0o755
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "mkdir"


@dataclass(frozen=True, repr=False)
class Mknod(Op):
    path: bytes
    mode: int
    rdev: int = 0
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "mknod"


@dataclass(frozen=True, repr=False)
class Symlink(Op):
    target: bytes
    path: bytes
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "symlink"


@dataclass(frozen=True, repr=False)
class Link(Op):
    old: bytes
    new: bytes
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "link"


@dataclass(frozen=True, repr=False)
class Unlink(Op):
    path: bytes
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "unlink"


@dataclass(frozen=True, repr=False)
class Rmdir(Op):
    path: bytes
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "rmdir"


@dataclass(frozen=True, repr=False)
class Rename(Op):
    old: bytes
    new: bytes
    flags: int = 0
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "rename"


@dataclass(frozen=True, repr=False)
class Chmod(Op):
    path: bytes
    mode: int
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "chmod"


@dataclass(frozen=True, repr=False)
class Chown(Op):
    path: bytes
    owner: int
    group: int
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "chown"

    def run(self, sys: Syscalls, handles: Handles) -> Any:
        return sys.chown(self.path, self.owner, self.group, cred=self.cred)


@dataclass(frozen=True, repr=False)
class Utimens(Op):
    """``utimensat``: ``None`` is UTIME_OMIT, -1 is UTIME_NOW, otherwise nanoseconds."""

    path: bytes
    atime_ns: int | None = None
    mtime_ns: int | None = None
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "utimens"


@dataclass(frozen=True, repr=False)
class Setxattr(Op):
    path: bytes
    name: bytes
    value: bytes
    flags: int = 0
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "setxattr"


@dataclass(frozen=True, repr=False)
class Removexattr(Op):
    path: bytes
    name: bytes
    uid: int = 0
    gid: int = 0
    syscall: ClassVar[str] = "removexattr"


@dataclass(frozen=True, repr=False)
class Remount(Op):
    """Unmount and mount the same layers again (open handles are closed first)."""

    syscall: ClassVar[str] = "remount"


@dataclass(frozen=True, repr=False)
class ArmCrash(Remount):
    """A :class:`Remount` whose new FUSE daemon kills itself (SIGKILL) just before its
    ``after``-th change to a layer (the crash lane, :mod:`difftest.crash`).  Everywhere else,
    on the model and the kernel included, a plain remount."""

    after: int = 1

    def run(self, sys: Syscalls, handles: Handles) -> Any:
        arm = getattr(sys, "arm_crash", None)
        if arm is not None:
            arm(self.after)
        return sys.remount()


@dataclass(frozen=True, repr=False)
class LayerChange(Op):
    """A layer changed underneath the mount (``layer`` 0: the upper, 1..: the lowers from
    the top), as root on the layer's own directory: ``remove``, ``create``, ``mkdir`` or
    ``rename`` to ``new`` (:mod:`model.online`).  Until the next :class:`Remount` results
    are compared as allowed-outcome sets and states not at all; after it, exactly."""

    layer: int
    action: str
    path: bytes
    new: bytes = b""
    syscall: ClassVar[str] = "change_layer"

    def paths(self) -> tuple[bytes, ...]:
        return (self.path, self.new) if self.new else (self.path,)

    def run(self, sys: Syscalls, handles: Handles) -> Any:
        change = getattr(sys, "change_layer", None)
        if change is None:  # the model: the change is a function of model.online
            from model.online import change_layer

            return change_layer(sys, self.layer, self.action, self.path, self.new)  # type: ignore[arg-type]
        return change(self.layer, self.action, self.path, self.new)


@dataclass(frozen=True, repr=False)
class RemountRo(Op):
    """``mount -o remount,ro`` of the live mount: open handles stay open."""

    syscall: ClassVar[str] = "reconfigure"

    def run(self, sys: Syscalls, handles: Handles) -> Any:
        return sys.reconfigure(True)


@dataclass(frozen=True, repr=False)
class RemountRw(Op):
    """``mount -o remount,rw`` of the live mount: open handles stay open."""

    syscall: ClassVar[str] = "reconfigure"

    def run(self, sys: Syscalls, handles: Handles) -> Any:
        return sys.reconfigure(False)


# ---- file handles (nfs_export) -------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class NameToHandle(Op):
    """``name_to_handle_at`` as root; each target keeps the handle it got under ``path`` (a
    later call for the same path replaces it).  Handles outlive remounts, as on disk."""

    path: bytes
    follow: bool = False
    syscall: ClassVar[str] = "name_to_handle_at"

    def run(self, sys: Syscalls, handles: Handles) -> Any:
        handles.file_handles[self.path] = sys.name_to_handle_at(self.path, self.follow)
        return None


@dataclass(frozen=True, repr=False)
class OpenByHandle(Op):
    """``open_by_handle_at(O_PATH)`` as root of the handle taken for ``path`` (the object
    may have moved since), then fstat; EBADF when no handle was taken for it."""

    path: bytes
    syscall: ClassVar[str] = "open_by_handle_at"

    def run(self, sys: Syscalls, handles: Handles) -> Any:
        fh = handles.file_handles.get(self.path)
        if fh is None:
            raise OSError(9, "EBADF: no file handle was taken for this path")
        return sys.open_by_handle_at(fh)


# ---- operations through an open handle ----------------------------------------------------


@dataclass(frozen=True, repr=False)
class Close(Op):
    h: int
    syscall: ClassVar[str] = "close"
    uses_handle: ClassVar[bool] = True


@dataclass(frozen=True, repr=False)
class Read(Op):
    h: int
    size: int
    syscall: ClassVar[str] = "read"
    uses_handle: ClassVar[bool] = True
    mutates: ClassVar[bool] = False


@dataclass(frozen=True, repr=False)
class Pread(Op):
    h: int
    size: int
    offset: int
    syscall: ClassVar[str] = "pread"
    uses_handle: ClassVar[bool] = True
    mutates: ClassVar[bool] = False


@dataclass(frozen=True, repr=False)
class Write(Op):
    h: int
    data: bytes
    syscall: ClassVar[str] = "write"
    uses_handle: ClassVar[bool] = True


@dataclass(frozen=True, repr=False)
class Pwrite(Op):
    h: int
    data: bytes
    offset: int
    syscall: ClassVar[str] = "pwrite"
    uses_handle: ClassVar[bool] = True


@dataclass(frozen=True, repr=False)
class Ftruncate(Op):
    h: int
    length: int
    syscall: ClassVar[str] = "ftruncate"
    uses_handle: ClassVar[bool] = True


@dataclass(frozen=True, repr=False)
class Fsync(Op):
    h: int
    syscall: ClassVar[str] = "fsync"
    uses_handle: ClassVar[bool] = True


@dataclass(frozen=True, repr=False)
class Fstat(Op):
    h: int
    syscall: ClassVar[str] = "fstat"
    uses_handle: ClassVar[bool] = True
    mutates: ClassVar[bool] = False


@dataclass(frozen=True, repr=False)
class Getdents(Op):
    """Read every remaining entry of an open directory handle (the per-handle cache)."""

    h: int
    syscall: ClassVar[str] = "getdents"
    uses_handle: ClassVar[bool] = True
    mutates: ClassVar[bool] = False


@dataclass(frozen=True, repr=False)
class Lseek(Op):
    h: int
    offset: int
    whence: int = os.SEEK_SET
    syscall: ClassVar[str] = "lseek"
    uses_handle: ClassVar[bool] = True


ALL_OPS: tuple[type[Op], ...] = (
    Lstat,
    Stat,
    Readdir,
    Readlink,
    Getxattr,
    Listxattr,
    Statfs,
    Open,
    Truncate,
    Mkdir,
    Mknod,
    Symlink,
    Link,
    Unlink,
    Rmdir,
    Rename,
    Chmod,
    Chown,
    Utimens,
    Setxattr,
    Removexattr,
    Remount,
    ArmCrash,
    LayerChange,
    RemountRo,
    RemountRw,
    NameToHandle,
    OpenByHandle,
    Close,
    Read,
    Pread,
    Write,
    Pwrite,
    Ftruncate,
    Fsync,
    Fstat,
    Getdents,
    Lseek,
)

OPS_BY_NAME: dict[str, type[Op]] = {cls.__name__: cls for cls in ALL_OPS}


def op_from_dict(d: dict[str, Any]) -> Op:
    """Rebuild an operation from :func:`op_to_dict` output (bytes as hex)."""
    cls = OPS_BY_NAME[d["op"]]
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in d:
            continue
        v = d[f.name]
        if isinstance(v, dict) and "hex" in v:
            v = bytes.fromhex(v["hex"])
        kwargs[f.name] = v
    return cls(**kwargs)


def op_to_dict(op: Op) -> dict[str, Any]:
    """A JSON-friendly form of an operation (bytes as ``{"hex": ...}``)."""
    d: dict[str, Any] = {"op": type(op).__name__}
    for f in dataclasses.fields(op):
        v = getattr(op, f.name)
        d[f.name] = {"hex": v.hex()} if isinstance(v, bytes) else v
    return d
