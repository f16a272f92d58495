"""The real layers and thin, logged wrappers around every call into them.

A :class:`Layer` is opened once, before mounting, and addressed afterwards through
``/proc/self/fd/N/<relative path>``: this keeps working when the mountpoint hides a layer
(a container engine may mount over its lowerdir) because the walk starts at the layer's
own directory, never at the mountpoint.

Paths of any length the kernel allows: a merged path may be up to PATH_MAX - 1 bytes long,
and so may the same path inside a layer, which the ``/proc/self/fd/N/`` prefix would take
past the limit.  Such a path is reached by directory file descriptors instead: the parent is
opened a few components at a time (each ``openat`` gets a string well under the limit), and
the call gets ``/proc/self/fd/<parent fd>/<name>``.  Those descriptors live until the end of
the request that opened them (:func:`request_begin`, :func:`request_end`).  A path
:meth:`Layer.real` returns always has room for one more component: a directory's path with
``/name`` appended (a listing's entries) is still short enough.

Every wrapper of a change logs ``name(args) = result`` at DEBUG level (``ovlfuse -d``), as
the kernel's ``ovl_do_*`` helpers do, lets ``OSError`` through unchanged, and is a crash
point (:mod:`fuse_impl.crash`).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import functools
import logging
import os
import stat
from collections.abc import Callable
from typing import Any, TypeVar

from . import crash, syscalls
from .errors import errno_name

log = logging.getLogger("ovlfuse.layers")

F = TypeVar("F", bound=Callable[..., Any])


class Layer:
    """One real directory tree: the upper (index 0 when present) or a lower."""

    def __init__(self, index: int, name: str, path: bytes, fd: int, is_upper: bool):
        self.index = index
        self.name = name
        self.path = path
        self.fd = fd
        self.is_upper = is_upper
        self.prefix = b"/proc/self/fd/%d" % fd
        self.override: bytes | None = None  # the xattr holding owner and mode (owners.py)
        self.idmapped = False  # reached through an idmapped mount (owners.py)

    def real(self, rel: bytes) -> bytes:
        """The path of *rel* (``b""`` = the layer root) inside this layer, short enough for
        any syscall however long *rel* is (see the module docstring)."""
        if not rel:
            return self.prefix + b"/."
        if len(self.prefix) + 1 + len(rel) < PATH_MAX - ROOM:
            return self.prefix + b"/" + rel
        return _by_parent_fd(self.fd, rel)

    def __repr__(self) -> str:
        return f"Layer({self.name}={os.fsdecode(self.path)!r})"


class LowerRef:
    """A directory (or the providing object) in one lower layer."""

    __slots__ = ("layer", "rel")

    def __init__(self, layer: Layer, rel: bytes):
        self.layer = layer
        self.rel = rel

    def real(self) -> bytes:
        return self.layer.real(self.rel)

    def __repr__(self) -> str:
        return f"LowerRef({self.layer.name}, {self.rel!r})"


PATH_MAX = 4096  # including the terminating NUL, as the kernel counts
ROOM = 1 + 255  # a path from Layer.real has room for one more component ("/" + NAME_MAX)
_CHUNK = 3072  # the longest relative string handed to one openat while walking


_request_fds: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "ovlfuse_request_fds", default=None)
_loose_fds: list[int] = []  # opened outside any request: closed when the next one ends


def request_begin() -> contextvars.Token[list[int] | None]:
    """Start a request: the directory descriptors opened for long paths until the matching
    :func:`request_end` are closed there (fuse_errors wraps every handler in the pair)."""
    return _request_fds.set([])


def request_end(token: contextvars.Token[list[int] | None]) -> None:
    fds = _request_fds.get() or []
    _request_fds.reset(token)
    if fds or _loose_fds:
        for fd in [*fds, *_loose_fds]:
            with contextlib.suppress(OSError):
                os.close(fd)
        _loose_fds.clear()


def _keep(fd: int) -> int:
    held = _request_fds.get()
    (_loose_fds if held is None else held).append(fd)
    return fd


def _by_parent_fd(top: int, rel: bytes) -> bytes:
    """``/proc/self/fd/<fd of rel's parent>/<name>``, the parent opened from *top* by
    components without following symlinks.  When the walk stops at a missing component or a
    non-directory, the path returned names that component with *name* below it, so the call
    that uses it fails as it would have on the whole path (ENOENT, ENOTDIR)."""
    parts = rel.split(b"/")
    name = parts.pop()
    fd = top
    while parts:
        chunk = [parts.pop(0)]
        while parts and sum(map(len, chunk)) + len(chunk) + len(parts[0]) < _CHUNK:
            chunk.append(parts.pop(0))
        try:
            new = _open_dir(b"/".join(chunk), fd)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                raise
            return _stopped_at(fd, chunk, name)
        finally:
            if fd != top:
                os.close(fd)
        fd = new
    return b"/proc/self/fd/%d/%s" % (_keep(fd) if fd != top else fd, name)


def _open_dir(rel: bytes, dir_fd: int) -> int:
    return os.open(rel, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                   dir_fd=dir_fd)  # fmt: skip


def _stopped_at(fd: int, chunk: list[bytes], name: bytes) -> bytes:
    """Walk *chunk* from *fd* one component at a time to the one that fails; a short path
    naming it with *name* below (see :func:`_by_parent_fd`)."""
    here = _keep(os.dup(fd))
    for part in chunk:
        try:
            here = _keep(_open_dir(part, here))
        except OSError:
            return b"/proc/self/fd/%d/%s/%s" % (here, part, name)
    return b"/proc/self/fd/%d/%s" % (here, name)  # it changed meanwhile: as it is now


def join(rel: bytes, name: bytes) -> bytes:
    """Append *name* to the layer-relative path *rel*."""
    return rel + b"/" + name if rel else name


def logged(fn: F) -> F:
    """Log each call of *fn* and its result or errno at DEBUG level."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not log.isEnabledFor(logging.DEBUG):
            return fn(*args, **kwargs)
        shown = ", ".join(repr(a) for a in args)
        try:
            result = fn(*args, **kwargs)
        except OSError as e:
            log.debug("%s(%s) = %s", fn.__name__, shown, errno_name(e.errno))
            raise
        log.debug("%s(%s) = %r", fn.__name__, shown, result if result is not None else 0)
        return result

    return wrapper  # type: ignore[return-value]


def change(fn: F) -> F:
    """*fn* changes a layer: each call is a crash point (:mod:`fuse_impl.crash`), logged."""
    inner = logged(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        crash.step()
        return inner(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _nofollow(path: bytes) -> bool:
    """False for a bare ``/proc/self/fd/N``: that magic link must be followed to reach the
    object behind the fd (a removed node's O_PATH fd); everything else is not followed."""
    return not (path.startswith(b"/proc/self/fd/") and b"/" not in path[14:])


# -- queries (no change to any layer) --------------------------------------------------------

def lstat(path: bytes) -> os.stat_result | None:
    """lstat, or None when the name does not exist (ENOENT / ENOTDIR)."""
    try:
        return os.stat(path, follow_symlinks=not _nofollow(path))
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None


def getxattr(path: bytes, name: bytes) -> bytes | None:
    """The xattr's value, or None when it is absent (or xattrs are unsupported)."""
    try:
        return os.getxattr(path, name, follow_symlinks=not _nofollow(path))
    except OSError as e:
        if e.errno in (61, 95):  # ENODATA, EOPNOTSUPP
            return None
        raise


def xattr_value(path: bytes, name: bytes) -> bytes | None:
    """The xattr's value, or None when it is absent; a name the filesystem does not support
    (EOPNOTSUPP, as tmpfs for ``system.*``) is that error, not a missing xattr."""
    try:
        return os.getxattr(path, name, follow_symlinks=not _nofollow(path))
    except OSError as e:
        if e.errno == 61:  # ENODATA
            return None
        raise


def listxattr(path: bytes) -> list[bytes]:
    """Names of all xattrs of *path* (not following a final symlink)."""
    try:
        return [os.fsencode(n) for n in os.listxattr(path, follow_symlinks=not _nofollow(path))]
    except OSError as e:
        if e.errno == 95:
            return []
        raise


def listdir(path: bytes) -> list[tuple[bytes, int, int]]:
    """Entries of a real directory as (name, d_type as S_IFMT bits or 0, d_ino)."""
    out = []
    with os.scandir(path) as it:
        for entry in it:
            out.append((entry.name, _dtype(entry), entry.inode()))
    return out


def _dtype(entry: os.DirEntry[bytes]) -> int:
    """S_IFMT bits from d_type without an extra stat (0 when unknown)."""
    try:
        if entry.is_symlink():
            return stat.S_IFLNK
        if entry.is_dir(follow_symlinks=False):
            return stat.S_IFDIR
        if entry.is_file(follow_symlinks=False):
            return stat.S_IFREG
    except OSError:
        return 0
    return 0


def is_whiteout(st: os.stat_result) -> bool:
    """A char device 0:0 is a whiteout (the kernel's ovl_is_whiteout)."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_xwhiteout(path: bytes, st: os.stat_result, prefix: bytes) -> bool:
    """A zero-size regular file carrying ``<prefix>whiteout`` (userspace-made whiteout)."""
    return (
        stat.S_ISREG(st.st_mode)
        and st.st_size == 0
        and getxattr(path, prefix + b"whiteout") is not None
    )


# -- changes ---------------------------------------------------------------------------------

@change
def mkdir(path: bytes, mode: int) -> None:
    os.mkdir(path, mode)


@change
def mknod(path: bytes, mode: int, rdev: int = 0) -> None:
    os.mknod(path, mode, rdev)


@change
def symlink(target: bytes, path: bytes) -> None:
    os.symlink(target, path)


@change
def link(old: bytes, new: bytes) -> None:
    os.link(old, new, follow_symlinks=False)


@change
def unlink(path: bytes) -> None:
    os.unlink(path)


@change
def rmdir(path: bytes) -> None:
    os.rmdir(path)


@change
def rename(old: bytes, new: bytes, flags: int = 0) -> None:
    if flags:
        syscalls.renameat2(old, new, flags)
    else:
        os.rename(old, new)


WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC


@logged
def open_file(path: bytes, flags: int, mode: int = 0o600) -> int:
    if flags & WRITES:  # an open that may change the layer is a crash point
        crash.step()
    return os.open(path, flags | os.O_CLOEXEC, mode)


@change
def chown(path: bytes, uid: int, gid: int) -> None:
    os.chown(path, uid, gid, follow_symlinks=not _nofollow(path))


@change
def chmod(path: bytes, mode: int) -> None:
    os.chmod(path, mode)


@change
def truncate(path: bytes, size: int) -> None:
    os.truncate(path, size)


@change
def utimens(path: bytes, atime_ns: int | None, mtime_ns: int | None) -> None:
    syscalls.utimensat(path, atime_ns, mtime_ns, follow=not _nofollow(path))


@change
def setxattr(path: bytes, name: bytes, value: bytes, flags: int = 0) -> None:
    os.setxattr(path, name, value, flags, follow_symlinks=not _nofollow(path))


@change
def removexattr(path: bytes, name: bytes) -> None:
    os.removexattr(path, name, follow_symlinks=not _nofollow(path))


def remove_tree(path: bytes) -> None:
    """Remove *path* and everything under it (used on work/ entries only)."""
    st = lstat(path)
    if st is None:
        return
    if not stat.S_ISDIR(st.st_mode):
        unlink(path)
        return
    if stat.S_IMODE(st.st_mode) & 0o700 != 0o700:
        chmod(path, 0o700)
    for entry in listdir(path):
        remove_tree(path + b"/" + entry[0])
    rmdir(path)
