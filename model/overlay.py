"""The facade: one method per syscall of :class:`difftest.syscalls.Syscalls`.

Each method is thin: resolve the path(s), run the checks, apply — the rules live in the
modules named after the kernel's files (:mod:`model.lookup` is ``namei.c``,
:mod:`model.namespace` and :mod:`model.rename` are ``dir.c``, :mod:`model.copy_up`,
:mod:`model.readdir`, :mod:`model.inode`, :mod:`model.attr`, :mod:`model.xattrs`,
:mod:`model.file`).  Every failure is a :class:`model.errors.OvlError`.
"""

from __future__ import annotations

import errno
from typing import cast

from model import attr, file, namespace, rename
from model.config import Config
from model.dump import dump_upper
from model.errors import OvlError, fail
from model.export import Identity, decode_fh, encode_fh
from model.file import Handle
from model.fs import OvlFs
from model.inode import getattr_dentry, getattr_inode
from model.layer import LNK, REG
from model.namei import Nameidata, check_path, last_component, resolve, walk_parent
from model.options import given_by, verify
from model.spec import LayersSpec
from model.super import fsid_class
from model.types import (
    NAME_MAX,
    OVERLAYFS_SUPER_MAGIC,
    ROOT,
    Cred,
    DirEntry,
    FileHandle,
    Stat,
    StatFs,
    UpperEntry,
)


class Overlay:
    """An overlay mount of some layers, in memory."""

    def __init__(self, fs: OvlFs) -> None:
        self.fs = fs
        self.handles: dict[int, Handle] = {}
        self._next_handle = 1

    @classmethod
    def from_spec(cls, spec: LayersSpec, config: Config, *, samefs: bool = True,
                  userns: bool = False) -> Overlay:
        """Mount ``spec`` with ``config``.  EINVAL for what the kernel refuses to mount (no
        lower, or no upper and a single lower: "at least 2 lowerdir are needed while
        upperdir nonexistent", catalogue §4; conflicting options, :func:`model.options.verify`,
        the options that differ from their defaults counting as given); the mount runs with
        the options resolved (metacopy=on turns on redirect_dir=on, nfs_export=on index=on).
        ``samefs=False``: each layer sits on a filesystem of its own; ``userns``: mounted
        from inside a user namespace (no capability of the initial one:
        :mod:`difftest.userns`)."""
        no_upper_one_lower = spec.upper is None and len(spec.lowers) < 2
        if not spec.lowers or no_upper_one_lower:  # pragma: no cover - no such difftest preset
            raise fail(errno.EINVAL, "need a lower layer, and two without an upper")
        return cls(OvlFs.build(spec, verify(config, given_by(config)), samefs, userns))

    # ---- looking -------------------------------------------------------------------------

    def lstat(self, path: bytes, *, cred: Cred = ROOT) -> Stat:
        check_path(path)
        return getattr_dentry(self.fs, resolve(Nameidata(self.fs, cred), path, follow=False))

    def stat(self, path: bytes, *, cred: Cred = ROOT) -> Stat:
        check_path(path)
        return getattr_dentry(self.fs, resolve(Nameidata(self.fs, cred), path, follow=True))

    def readlink(self, path: bytes, *, cred: Cred = ROOT) -> bytes:
        """readlink(2): the providing layer's target, no copy-up; EINVAL on a non-symlink."""
        check_path(path)
        nd = Nameidata(self.fs, cred)
        d = last_component(nd, walk_parent(nd, path), follow=False)
        if d.real.kind != LNK:
            raise fail(errno.EINVAL, "not a symlink")
        return d.real.target

    def readdir(self, path: bytes, *, cred: Cred = ROOT) -> list[DirEntry]:
        return file.readdir(self.fs, cred, path)

    def statfs(self, path: bytes) -> StatFs:
        """statfs(2): overlay's magic, the upper (or top lower) fs's name limit, ST_RDONLY
        for a read-only overlay, the fsid as ``uuid=`` decides (catalogue §2.14,
        :func:`model.super.fsid_class`)."""
        check_path(path)
        resolve(Nameidata(self.fs, ROOT), path, follow=True)
        fsid = fsid_class(self.fs.uuid_mode, self.fs.upper is not None)
        return StatFs(OVERLAYFS_SUPER_MAGIC, NAME_MAX, self.fs.readonly, fsid)

    # ---- file handles ----------------------------------------------------------------------

    def name_to_handle_at(self, path: bytes, follow: bool = False) -> FileHandle:
        """name_to_handle_at(2) as root (:mod:`model.export`): EOPNOTSUPP unless
        nfs_export=on; path errors first."""
        check_path(path)
        d = resolve(Nameidata(self.fs, ROOT), path, follow=follow)
        return encode_fh(self.fs, d)

    def open_by_handle_at(self, handle: FileHandle) -> Stat:
        """open_by_handle_at(2) with O_PATH as root, and fstat of what it opened (ESTALE
        for an object no name shows any more)."""
        return getattr_dentry(self.fs, decode_fh(self.fs, cast(Identity, handle)))

    def content_digest(self, path: bytes) -> str:  # pragma: no cover - library API
        node = file.resolve_content(self.fs, path)
        assert node.data is not None
        return node.data.digest()

    # ---- open files ----------------------------------------------------------------------

    def open(self, path: bytes, flags: int, mode: int = 0o644, *, cred: Cred = ROOT) -> int:
        h = file.do_open(self.fs, cred, path, flags, mode)
        fd = self._next_handle
        self._next_handle += 1
        self.handles[fd] = h
        return fd

    def _h(self, fd: int) -> Handle:
        try:
            return self.handles[fd]
        except KeyError:
            raise fail(errno.EBADF, "no such handle") from None

    def close(self, fd: int) -> None:
        h = self._h(fd)
        del self.handles[fd]
        file.close(self.fs, h)

    def read(self, fd: int, size: int) -> bytes:
        return file.read(self._h(fd), size)

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        return file.read(self._h(fd), size, offset)

    def write(self, fd: int, data: bytes) -> int:
        return file.write(self.fs, self._h(fd), data)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        return file.write(self.fs, self._h(fd), data, offset)

    def ftruncate(self, fd: int, length: int) -> None:
        file.ftruncate(self.fs, self._h(fd), length)

    def fsync(self, fd: int) -> None:
        """fsync never copies up (catalogue §2.15); FIFOs and devices have no fsync
        (``vfs_fsync_range``: EINVAL)."""
        file.fsync(self._h(fd))

    def fstat(self, fd: int) -> Stat:
        """fstat of an open file: its overlay inode, also after unlink (a lower file unlinked
        while open still shows nlink 1, catalogue §2.1)."""
        return getattr_inode(self.fs, self._h(fd).inode)

    def getdents(self, fd: int) -> list[DirEntry]:
        return file.getdents(self.fs, self._h(fd))

    def lseek(self, fd: int, offset: int, whence: int) -> int:
        return file.lseek(self._h(fd), offset, whence)

    # ---- changing names ------------------------------------------------------------------

    def truncate(self, path: bytes, length: int, *, cred: Cred = ROOT) -> None:
        attr.do_truncate(self.fs, cred, path, length)

    def mkdir(self, path: bytes, mode: int, *, cred: Cred = ROOT) -> None:
        namespace.do_mkdir(self.fs, cred, path, mode)

    def mknod(self, path: bytes, mode: int, rdev: int = 0, *, cred: Cred = ROOT) -> None:
        namespace.do_mknod(self.fs, cred, path, mode, rdev)

    def symlink(self, target: bytes, path: bytes, *, cred: Cred = ROOT) -> None:
        namespace.do_symlink(self.fs, cred, target, path)

    def link(self, old: bytes, new: bytes, *, cred: Cred = ROOT) -> None:
        namespace.do_link(self.fs, cred, old, new)

    def unlink(self, path: bytes, *, cred: Cred = ROOT) -> None:
        namespace.do_unlink(self.fs, cred, path)

    def rmdir(self, path: bytes, *, cred: Cred = ROOT) -> None:
        namespace.do_rmdir(self.fs, cred, path)

    def rename(self, old: bytes, new: bytes, flags: int = 0, *, cred: Cred = ROOT) -> None:
        rename.do_rename(self.fs, cred, old, new, flags)

    # ---- changing attributes -------------------------------------------------------------

    def chmod(self, path: bytes, mode: int, *, cred: Cred = ROOT) -> None:
        attr.do_chmod(self.fs, cred, path, mode)

    def chown(self, path: bytes, uid: int, gid: int, *, cred: Cred = ROOT) -> None:
        attr.do_chown(self.fs, cred, path, uid, gid)

    def utimens(
        self, path: bytes, atime_ns: int | None, mtime_ns: int | None, *, cred: Cred = ROOT
    ) -> None:
        attr.do_utimens(self.fs, cred, path, atime_ns, mtime_ns)

    def setxattr(
        self, path: bytes, name: bytes, value: bytes, flags: int = 0, *, cred: Cred = ROOT
    ) -> None:
        attr.do_setxattr(self.fs, cred, path, name, value, flags)

    def getxattr(self, path: bytes, name: bytes, *, cred: Cred = ROOT) -> bytes:
        return attr.do_getxattr(self.fs, cred, path, name)

    def listxattr(self, path: bytes, *, cred: Cred = ROOT) -> list[bytes]:
        return attr.do_listxattr(self.fs, cred, path)

    def removexattr(self, path: bytes, name: bytes, *, cred: Cred = ROOT) -> None:
        attr.do_removexattr(self.fs, cred, path, name)

    # ---- the mount ------------------------------------------------------------------------

    def remount(self) -> tuple[str, ...] | None:
        """Unmount and mount the same layers again.  The caller closes its handles first
        (an open file keeps a real mount busy): EBUSY while any is open.  The layers and the
        index persist; what lived in memory (open files, overlay inodes) does not.

        Returns the incompat features the umount left in the workdir (``work/incompat/``),
        None if none: a ``volatile`` mount with an upper layer leaves ``volatile``, which
        makes the kernel refuse the next mount with EINVAL until it is removed (catalogue
        §2.15; the remount here stands for one after a clean umount that removed it)."""
        if self.handles:  # pragma: no cover - difftest closes every handle first
            raise OvlError(errno.EBUSY, why="handles are still open")
        self.fs.live.clear()
        self.fs.dir_inodes.clear()
        self.fs.named_origins.clear()
        self.fs.impure_lists.clear()
        self.fs.root = None  # the dentry cache goes with the mount
        for entry in self.fs.index.values():
            entry.forget()
        self.fs.init_uuid()
        return ("volatile",) if self.fs.config.volatile and self.fs.upper is not None else None

    def reconfigure(self, ro: bool) -> None:
        """``mount -o remount,ro`` or ``remount,rw`` of the live mount: open files stay open.

        Read-only: EBUSY while a regular file is open for writing (its mount write access,
        ``sb_prepare_remount_readonly``; a FIFO or device open for writing takes none) or an
        open file holds an object whose last overlay link is gone (``s_remove_count``);
        afterwards every write path is EROFS and nothing copies up.  Read-write: EROFS for
        an overlay without an upper layer (``ovl_reconfigure``: ``ovl_force_readonly``).
        The other mount options are not changed by a remount (the legacy mount(2) data is
        ignored on reconfigure).

        Every attempt first drops the unused dentries (``reconfigure_super`` calls
        ``shrink_dcache_sb`` before its checks, so also when it then fails): the origins only
        a dentry remembered (``OvlFs.named_origins``) go, but for a dentry an open file holds
        (one opened under that name: its inode has the origin as its lower stack), and the
        impure lists cached in dir inodes no open file holds."""
        self._shrink_dcache()
        if ro and not self.fs.config.ro:
            for h in self.handles.values():
                if (h.writable and h.inode.real.kind == REG) or h.inode.removed:
                    raise OvlError(errno.EBUSY, why="a file is open for writing, or removed")
        if not ro and self.fs.upper is None:
            raise OvlError(errno.EROFS, why="no upper layer: the overlay stays read-only")
        self.fs.config = self.fs.config.with_(ro=ro)

    def _shrink_dcache(self) -> None:
        fs = self.fs
        held = {h.inode.upper for h in self.handles.values()}
        for h in self.handles.values():  # an open file pins its ancestors' dentries
            d = h.dentry.parent if h.dentry is not None else None
            while d is not None:
                held.add(d.upper)
                d = d.parent
        # an open file holds a kept origin's dentry if it was opened under that name: only
        # that name's lookup gives the upper node a lower stack
        kept = {h.inode.upper for h in self.handles.values() if h.inode.lowers}
        gone = [k for k, (node, _) in fs.named_origins.items() if node not in kept]
        for key in gone:
            del fs.named_origins[key]
        if gone:
            fs.root = None  # the model's cached dentries remember those origins too
        fs.impure_lists.intersection_update(held)
        for entry in fs.index.values():
            if entry.upper not in held:
                entry.forget()

    def upper_dump(self) -> dict[bytes, UpperEntry]:  # pragma: no cover - library API
        return dump_upper(self.fs)
