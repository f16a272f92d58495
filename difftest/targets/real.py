"""``Syscalls`` on a real mounted directory: the shared half of the kernel and FUSE targets.

Paths in the API are absolute inside the mount (``b"/a"``) and become ``mountpoint + path``,
or, where that is too long for a syscall, ``a`` given with the mountpoint as the working
directory (:meth:`RealOverlay._call`).
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
from dataclasses import replace
from types import TracebackType
from typing import Any

from difftest import realfs, realops
from difftest.credhelper import CredHelper, HelperPool
from difftest.observe import Observation
from difftest.targets.observe_real import RealObserver, observe_real
from model.super import UUID_SIZE
from model.types import ROOT, Cred, DirEntry, FileHandle, Stat, StatFs, UpperEntry
from model.xattrs import own_prefix

_stat_of = realfs.stat_of
_getdents = realfs.getdents
# the positions of paths in the arguments of realops.OPS calls, where not (0,)
_PATH_ARGS = {"symlink": (1,), "link": (0, 1), "rename": (0, 1)}


class RealOverlay(ABC):
    """Implements :class:`difftest.syscalls.Syscalls` on ``mountpoint``.

    ``upperdir`` is the real upper layer that :meth:`upper_dump` lists (``None``: no upper,
    the dump is empty), its private xattrs ``user.overlay.*`` with ``userxattr``.
    ``helpers`` is the credential-helper pool to use (usually the scratch's, shared by the
    run); without one the target makes its own and closes it at :meth:`teardown`.
    """


    def __init__(
        self,
        mountpoint: str | bytes,
        upperdir: str | bytes | None,
        *,
        helpers: HelperPool | None = None,
        userxattr: bool = False,
    ) -> None:
        self.mountpoint = os.fsencode(mountpoint).rstrip(b"/")
        self.upperdir = None if upperdir is None else os.fsencode(upperdir)
        private = os.fsdecode(own_prefix(userxattr))
        self._private = os.fsencode(private)
        # the layer directory whose filesystem answers the overlay's statfs (the upper, else
        # the top lower): set by targets that build their layers
        self.fsid_layer: bytes | None = self.upperdir
        self._dumper = (None if self.upperdir is None
                        else realfs.TreeDumper(self.upperdir, private=private))  # fmt: skip
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

    def remount(self) -> tuple[str, ...] | None:
        """Close all handles, unmount, mount again with the same layers and options; the
        incompat features the umount left in the workdir (:meth:`take_incompat`), or None.

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
        left = self.take_incompat()
        self.mount()
        return left

    @abstractmethod
    def take_incompat(self) -> tuple[str, ...] | None:
        """After a clean umount: the names in the workdir's ``work/incompat/`` (None: none,
        or no workdir), and the volatile marker among them removed."""

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

    def _from_inside(self, cred: Cred, name: str, *args: object) -> Any:
        """A call with a path relative to the mountpoint, by a ``cred`` that may not search
        the mount's root: from a one-off helper started there (its walk fails with EACCES,
        but the kernel's checks before the walk come first, as they would).  The helper
        ends with the call: it cannot hold the mount busy, and a call that walks through a
        root it may not search opens no handle."""
        helper = CredHelper(cred, cwd=self._mp)
        try:
            return helper.call(name, *args)
        finally:
            helper.close()

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

    def _call(self, cred: Cred, name: str, *args: Any) -> Any:
        """``realops.OPS[name]`` with this mount's paths in place of the paths in *args*
        (positions :data:`_PATH_ARGS`), as root in-process, else in the cred's helper.  A
        path that does not fit below the mountpoint's own path is given relative to the
        mountpoint, with the mountpoint as the working directory (``model.namei``); the
        other paths of the call stay absolute."""
        where = _PATH_ARGS.get(name, (0,))
        real = list(args)
        mp = self._mp
        long = False
        for i in where:  # each path on its own: "/" stays mp/, whose parent is outside
            if realfs.fits(mp, args[i][1:]):
                real[i] = mp + args[i]
            else:
                real[i], long = args[i][1:], True
        if cred.uid or cred.gid or cred.groups:
            if long:
                try:
                    return self._as(cred, "inside", mp, name, *real)
                except realfs.CannotEnter:
                    return self._from_inside(cred, name, *real)
            return self._as(cred, name, *real)
        if long:
            with realfs.inside(mp):
                return realops.OPS[name](*real)
        return realops.OPS[name](*real)

    def lstat(self, path: bytes, *, cred: Cred = ROOT) -> Stat:
        mp = self._mp
        if not (cred.uid or cred.gid or cred.groups) and len(mp) + len(path) < realfs.PATH_MAX:
            return _stat_of(os.lstat(mp + path))  # the probes' call: no detour through _call
        result: Stat = self._call(cred, "lstat", path)
        return result

    def stat(self, path: bytes, *, cred: Cred = ROOT) -> Stat:
        result: Stat = self._call(cred, "stat", path)
        return result

    def open(self, path: bytes, flags: int, mode: int = 0o644, *, cred: Cred = ROOT) -> int:
        """open(2), except that it never blocks (see :func:`difftest.realops.open_`)."""
        helper = self._helpers.get(cred) if cred.uid or cred.gid or cred.groups else None
        fd: int = self._call(cred, "open", path, flags, mode)
        h = self._next_handle
        self._next_handle = h + 1
        self._handles[h] = (helper, fd)
        return h

    def readdir(self, path: bytes, *, cred: Cred = ROOT) -> list[DirEntry]:
        result: list[DirEntry] = self._call(cred, "readdir", path)
        return result

    def truncate(self, path: bytes, length: int, *, cred: Cred = ROOT) -> None:
        self._call(cred, "truncate", path, length)

    def mkdir(self, path: bytes, mode: int, *, cred: Cred = ROOT) -> None:
        self._call(cred, "mkdir", path, mode)

    def mknod(self, path: bytes, mode: int, rdev: int = 0, *, cred: Cred = ROOT) -> None:
        self._call(cred, "mknod", path, mode, rdev)

    def symlink(self, target: bytes, path: bytes, *, cred: Cred = ROOT) -> None:
        self._call(cred, "symlink", target, path)

    def readlink(self, path: bytes, *, cred: Cred = ROOT) -> bytes:
        result: bytes = self._call(cred, "readlink", path)
        return result

    def link(self, old: bytes, new: bytes, *, cred: Cred = ROOT) -> None:
        self._call(cred, "link", old, new)

    def unlink(self, path: bytes, *, cred: Cred = ROOT) -> None:
        self._call(cred, "unlink", path)

    def rmdir(self, path: bytes, *, cred: Cred = ROOT) -> None:
        self._call(cred, "rmdir", path)

    def rename(self, old: bytes, new: bytes, flags: int = 0, *, cred: Cred = ROOT) -> None:
        self._call(cred, "rename", old, new, flags)

    def chmod(self, path: bytes, mode: int, *, cred: Cred = ROOT) -> None:
        self._call(cred, "chmod", path, mode)

    def chown(self, path: bytes, uid: int, gid: int, *, cred: Cred = ROOT) -> None:
        self._call(cred, "chown", path, uid, gid)

    def utimens(
        self, path: bytes, atime_ns: int | None, mtime_ns: int | None, *, cred: Cred = ROOT
    ) -> None:
        self._call(cred, "utimens", path, atime_ns, mtime_ns)

    def setxattr(
        self, path: bytes, name: bytes, value: bytes, flags: int = 0, *, cred: Cred = ROOT
    ) -> None:
        self._call(cred, "setxattr", path, name, value, flags)

    def getxattr(self, path: bytes, name: bytes, *, cred: Cred = ROOT) -> bytes:
        result: bytes = self._call(cred, "getxattr", path, name)
        return result

    def listxattr(self, path: bytes, *, cred: Cred = ROOT) -> list[bytes]:
        result: list[bytes] = self._call(cred, "listxattr", path)
        return result

    def removexattr(self, path: bytes, name: bytes, *, cred: Cred = ROOT) -> None:
        self._call(cred, "removexattr", path, name)

    def statfs(self, path: bytes) -> StatFs:
        """statfs(2), its f_fsid named by where it comes from (:func:`fsid_class`)."""
        result: StatFs = self._call(ROOT, "statfs", path)
        return replace(result, fsid=fsid_class(result.fsid, self.upperdir, self.fsid_layer,
                                               self._private))  # fmt: skip

    def name_to_handle_at(self, path: bytes, follow: bool = False) -> FileHandle:
        result: bytes = self._call(ROOT, "name_to_handle_at", path, follow)
        return result

    def open_by_handle_at(self, handle: FileHandle) -> Stat:
        assert isinstance(handle, bytes)  # what name_to_handle_at gave
        return _stat_of(realfs.open_by_handle_at(self._mp, handle))

    def content_digest(self, path: bytes) -> str:
        """Digest of the file's content, read through the mount with O_RDONLY|O_NOFOLLOW
        (which never copies up)."""
        result: str = self._call(ROOT, "file_digest", path)
        return result

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


def fsid_class(raw: str, upperdir: bytes | None, layer: bytes | None, private: bytes) -> str:
    """A real overlay's f_fsid (``HEX:HEX``) as :class:`model.types.StatFs` names it:
    ``uuid`` when it is the upper root's persistent uuid folded (``uuid_to_fsid``), ``zero``,
    ``layer`` when it is the fsid of ``layer``'s filesystem; else the raw value."""
    if raw == "00000000:00000000":
        return "zero"
    if upperdir is not None:
        try:
            uuid = os.getxattr(upperdir, private + b"uuid", follow_symlinks=False)
        except OSError:
            uuid = b""
        if len(uuid) == UUID_SIZE and realfs.uuid_fsid(uuid) == raw:
            return "uuid"
    if layer is not None and realfs.statfs(layer).fsid == raw:
        return "layer"
    return raw
