"""``Syscalls`` on a real mounted directory: the shared half of the kernel and FUSE targets.

Paths in the API are absolute inside the mount (``b"/a"``) and become ``mountpoint + path``.
Every method is one real syscall; errors are the kernel's ``OSError``.  Root's calls (uid 0,
gid 0, no supplementary groups) run in-process; any other ``Cred`` runs in that cred's
helper process (:mod:`difftest.credhelper`).  Handles are small ints private to the target,
mapped to ``(helper or None, real fd)``; handle calls go wherever the handle was opened.

Subclasses provide ``_mount()``/``_umount()``; :meth:`remount` and :meth:`teardown` are
built on them.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any

from difftest import realfs, realops
from difftest.credhelper import CredHelper, HelperPool
from difftest.observe import Observation
from difftest.targets.observe_real import RealObserver, observe_real
from model.types import ROOT, Cred, DirEntry, Stat, StatFs, UpperEntry

_stat_of = realfs.stat_of
_getdents = realfs.getdents


class RealOverlay(ABC):
    """Implements :class:`difftest.syscalls.Syscalls` on ``mountpoint``.

    ``upperdir`` is the real upper layer that :meth:`upper_dump` lists (``None``: no upper,
    the dump is empty).  ``helpers`` is the credential-helper pool to use (usually the
    scratch's, shared by the run); without one the target makes its own and closes it at
    :meth:`teardown`.
    """


    def __init__(
        self,
        mountpoint: str | bytes,
        upperdir: str | bytes | None,
        *,
        helpers: HelperPool | None = None,
    ) -> None:
        self.mountpoint = os.fsencode(mountpoint).rstrip(b"/")
        self.upperdir = None if upperdir is None else os.fsencode(upperdir)
        self._dumper = None if self.upperdir is None else realfs.TreeDumper(self.upperdir)
        # digests and xattrs kept between steps, and the whole view while the upper layer
        # is unchanged (observe_real; FUSE targets build an observer of their own)
        self._observer = RealObserver(self.mountpoint, cache=True, reuse_view=True)
        self._mp = self.mountpoint
        self._own_helpers = helpers is None
        self._helpers = HelperPool() if helpers is None else helpers
        self._handles: dict[int, tuple[CredHelper | None, int]] = {}
        self._next_handle = 1
        self.mounted = False
        self._torn_down = False
        realfs.umask_zero_acquire()

    # -- mount lifetime ---------------------------------------------------------------------

    @abstractmethod
    def _mount(self) -> None:
        """Mount the filesystem on ``self.mountpoint``."""

    @abstractmethod
    def _umount(self) -> None:
        """Unmount ``self.mountpoint`` (all handles are closed already)."""

    def mount(self) -> None:
        self._mount()
        self.mounted = True

    def close_handles(self) -> None:
        """Close every open handle, the helpers' included.  Errors are ignored."""
        handles, self._handles = self._handles, {}
        for helper, fd in handles.values():
            try:
                if helper is None:
                    os.close(fd)
                elif helper.alive:
                    helper.call("close", fd)
            except OSError:
                pass

    def remount(self) -> None:
        """Close all handles, unmount, mount again with the same layers and options.

        The observation caches stay: their keys are the real files' attributes (inode,
        ctime, mtime, size, ...), which a remount does not change unless it changes the file
        (and then the ctime moves).  FUSE targets, which may switch implementation on
        remount, reset them (``FuseOverlay.remount``).  The reused view goes: a remount
        is where the overlay's in-memory state meets what it wrote, and must be walked."""
        self._observer.forget_view()
        self.close_handles()
        if self.mounted:
            self.mounted = False
            self._umount()
        self.mount()

    def observe_state(self) -> Observation:
        """The observation of :func:`difftest.observe.walk`, taken faster (observe_real)."""
        return observe_real(self, self._observer)

    def expect_unchanged(self, unchanged: bool) -> None:
        """Told before each observation whether the model's view changed at this step (the
        kernel's last walk is reused only when it did not, see observe_real)."""
        self._observer.expected_unchanged = unchanged

    def teardown(self) -> None:
        """Close all handles and unmount.  Idempotent.  Subclasses also remove their dirs."""
        if self._torn_down:
            return
        self._torn_down = True
        try:
            self.close_handles()
            if self.mounted:
                self.mounted = False
                self._umount()
        finally:
            if self._own_helpers:
                self._helpers.close()
            realfs.umask_zero_release()

    def __enter__(self) -> RealOverlay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.teardown()

    # -- plumbing ---------------------------------------------------------------------------

    def _as(self, cred: Cred, name: str, *args: object) -> Any:
        return self._helpers.get(cred).call(name, *args)

    def _fd(self, handle: int) -> tuple[CredHelper | None, int]:
        try:
            return self._handles[handle]
        except KeyError:
            raise OSError(9, "Bad file descriptor (no such handle)") from None

    @property
    def open_handles(self) -> int:
        return len(self._handles)

    def helper_pids(self) -> list[int]:
        """Process ids of the credential helpers this target uses."""
        return self._helpers.pids()

    # -- Syscalls: paths --------------------------------------------------------------------
    # ``cred.uid or cred.gid or cred.groups`` selects the helper; root stays in-process.

    def lstat(self, path: bytes, *, cred: Cred = ROOT) -> Stat:
        if cred.uid or cred.gid or cred.groups:
            return self._as(cred, "lstat", self._mp + path)
        return _stat_of(os.lstat(self._mp + path))

    def stat(self, path: bytes, *, cred: Cred = ROOT) -> Stat:
        if cred.uid or cred.gid or cred.groups:
            return self._as(cred, "stat", self._mp + path)
        return _stat_of(os.stat(self._mp + path))

    def open(self, path: bytes, flags: int, mode: int = 0o644, *, cred: Cred = ROOT) -> int:
        """open(2), except that it never blocks (see :func:`difftest.realops.open_`)."""
        helper: CredHelper | None = None
        if cred.uid or cred.gid or cred.groups:
            helper = self._helpers.get(cred)
            fd: int = helper.call("open", self._mp + path, flags, mode)
        else:
            fd = realops.open_(self._mp + path, flags, mode)
        h = self._next_handle
        self._next_handle = h + 1
        self._handles[h] = (helper, fd)
        return h

    def readdir(self, path: bytes, *, cred: Cred = ROOT) -> list[DirEntry]:
        if cred.uid or cred.gid or cred.groups:
            return self._as(cred, "readdir", self._mp + path)
        fd = os.open(self._mp + path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            return _getdents(fd)
        finally:
            os.close(fd)

    def truncate(self, path: bytes, length: int, *, cred: Cred = ROOT) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "truncate", self._mp + path, length)
        else:
            os.truncate(self._mp + path, length)

    def mkdir(self, path: bytes, mode: int, *, cred: Cred = ROOT) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "mkdir", self._mp + path, mode)
        else:
            os.mkdir(self._mp + path, mode)

    def mknod(self, path: bytes, mode: int, rdev: int = 0, *, cred: Cred = ROOT) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "mknod", self._mp + path, mode, rdev)
        else:
            os.mknod(self._mp + path, mode, rdev)

    def symlink(self, target: bytes, path: bytes, *, cred: Cred = ROOT) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "symlink", target, self._mp + path)
        else:
            os.symlink(target, self._mp + path)

    def readlink(self, path: bytes, *, cred: Cred = ROOT) -> bytes:
        if cred.uid or cred.gid or cred.groups:
            return self._as(cred, "readlink", self._mp + path)
        return os.readlink(self._mp + path)

    def link(self, old: bytes, new: bytes, *, cred: Cred = ROOT) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "link", self._mp + old, self._mp + new)
        else:
            realops.link(self._mp + old, self._mp + new)

    def unlink(self, path: bytes, *, cred: Cred = ROOT) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "unlink", self._mp + path)
        else:
            os.unlink(self._mp + path)

    def rmdir(self, path: bytes, *, cred: Cred = ROOT) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "rmdir", self._mp + path)
        else:
            os.rmdir(self._mp + path)

    def rename(self, old: bytes, new: bytes, flags: int = 0, *, cred: Cred = ROOT) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "rename", self._mp + old, self._mp + new, flags)
        else:
            realops.rename(self._mp + old, self._mp + new, flags)

    def chmod(self, path: bytes, mode: int, *, cred: Cred = ROOT) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "chmod", self._mp + path, mode)
        else:
            os.chmod(self._mp + path, mode)

    def chown(self, path: bytes, uid: int, gid: int, *, cred: Cred = ROOT) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "chown", self._mp + path, uid, gid)
        else:
            os.chown(self._mp + path, uid, gid)

    def utimens(
        self, path: bytes, atime_ns: int | None, mtime_ns: int | None, *, cred: Cred = ROOT
    ) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "utimens", self._mp + path, atime_ns, mtime_ns)
        else:
            realfs.utimensat(self._mp + path, atime_ns, mtime_ns)

    def setxattr(
        self, path: bytes, name: bytes, value: bytes, flags: int = 0, *, cred: Cred = ROOT
    ) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "setxattr", self._mp + path, name, value, flags)
        else:
            os.setxattr(self._mp + path, name, value, flags)

    def getxattr(self, path: bytes, name: bytes, *, cred: Cred = ROOT) -> bytes:
        if cred.uid or cred.gid or cred.groups:
            return self._as(cred, "getxattr", self._mp + path, name)
        return os.getxattr(self._mp + path, name)

    def listxattr(self, path: bytes, *, cred: Cred = ROOT) -> list[bytes]:
        if cred.uid or cred.gid or cred.groups:
            return self._as(cred, "listxattr", self._mp + path)
        return realops.listxattr(self._mp + path)

    def removexattr(self, path: bytes, name: bytes, *, cred: Cred = ROOT) -> None:
        if cred.uid or cred.gid or cred.groups:
            self._as(cred, "removexattr", self._mp + path, name)
        else:
            os.removexattr(self._mp + path, name)

    def statfs(self, path: bytes) -> StatFs:
        return realfs.statfs(self._mp + path)

    def content_digest(self, path: bytes) -> str:
        """Digest of the file's content, read through the mount with O_RDONLY|O_NOFOLLOW
        (which never copies up)."""
        return realfs.file_digest(self._mp + path)

    # -- Syscalls: handles ------------------------------------------------------------------

    def close(self, fd: int) -> None:
        helper, real = self._fd(fd)
        del self._handles[fd]
        if helper is None:
            os.close(real)
        else:
            helper.call("close", real)

    def read(self, fd: int, size: int) -> bytes:
        helper, real = self._fd(fd)
        if helper is None:
            return os.read(real, size)
        return helper.call("read", real, size)

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        helper, real = self._fd(fd)
        if helper is None:
            return os.pread(real, size, offset)
        return helper.call("pread", real, size, offset)

    def write(self, fd: int, data: bytes) -> int:
        helper, real = self._fd(fd)
        if helper is None:
            return os.write(real, data)
        return helper.call("write", real, data)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        helper, real = self._fd(fd)
        if helper is None:
            return os.pwrite(real, data, offset)
        return helper.call("pwrite", real, data, offset)

    def ftruncate(self, fd: int, length: int) -> None:
        helper, real = self._fd(fd)
        if helper is None:
            os.ftruncate(real, length)
        else:
            helper.call("ftruncate", real, length)

    def fsync(self, fd: int) -> None:
        helper, real = self._fd(fd)
        if helper is None:
            os.fsync(real)
        else:
            helper.call("fsync", real)

    def fstat(self, fd: int) -> Stat:
        helper, real = self._fd(fd)
        if helper is None:
            return _stat_of(os.fstat(real))
        return helper.call("fstat", real)

    def getdents(self, fd: int) -> list[DirEntry]:
        helper, real = self._fd(fd)
        if helper is None:
            return _getdents(real)
        return helper.call("getdents", real)

    def lseek(self, fd: int, offset: int, whence: int) -> int:
        helper, real = self._fd(fd)
        if helper is None:
            return os.lseek(real, offset, whence)
        return helper.call("lseek", real, offset, whence)

    # -- the upper layer --------------------------------------------------------------------

    def upper_dump(self) -> dict[bytes, UpperEntry]:
        """The real upper layer as it sits on disk (empty without an upper layer)."""
        if self._dumper is None:
            return {}
        return self._dumper.dump()

    def upper_generation(self) -> int:
        """Moves whenever :meth:`upper_dump` finds the upper layer changed (every dump, with
        the dump cache off); constant without an upper layer."""
        return 0 if self._dumper is None else self._dumper.generation
