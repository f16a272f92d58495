"""The kernel's overlayfs as a difftest target.

``KernelOverlay`` builds a :class:`model.spec.LayersSpec` in an example directory (see
:mod:`difftest.layers`) and mounts ``overlay`` on its ``merged`` with mount(2):
``lowerdir=lower0:...,upperdir=upper,workdir=work`` plus ``Config.mount_options()``;
``MS_RDONLY`` for ``ro`` and for a spec without an upper layer (then only ``lowerdir=``).
"""

from __future__ import annotations

import errno as _errno
import os
import shutil
import stat

from difftest import realfs
from difftest.credhelper import HelperPool
from difftest.layers import LayerDirs, build_layers, escape_layer_path, unmount_layers
from difftest.nesting import Inner, mount_inner
from difftest.newmount import NewMountError, fsconfig_mount, overlay_params
from difftest.scratch import Scratch
from difftest.targets.real import RealOverlay
from difftest.tolerances import tolerated
from model.config import Config
from model.spec import Entry, LayersSpec


class MountError(OSError):
    """mount(2) of an overlay failed; ``errno`` is the kernel's, the message names the
    options and, where the new mount API can tell it, the kernel's own reason."""


def mount_data(dirs: LayerDirs, config: Config) -> tuple[int, bytes]:
    """(mount flags, option string) for ``dirs`` mounted with ``config``."""
    # data-only layers follow the lowers, each after "::" (lowerdir=l0:l1::d0::d1)
    lowerdir = b":".join(escape_layer_path(d) for d in dirs.lowers)
    lowerdir += b"".join(b"::" + escape_layer_path(d) for d in dirs.data)
    words = [b"lowerdir=" + lowerdir]
    flags = 0
    if dirs.upper is not None and dirs.work is not None:
        words.append(b"upperdir=" + escape_layer_path(dirs.upper))
        words.append(b"workdir=" + escape_layer_path(dirs.work))
    else:
        flags |= realfs.MS_RDONLY  # without an upper layer the overlay is read-only
    for opt in config.mount_options():
        if opt == "ro":
            flags |= realfs.MS_RDONLY
        else:
            words.append(opt.encode())
    return flags, b",".join(words)


class KernelOverlay(RealOverlay):
    """A kernel overlay mount of ``spec`` built in ``example_dir`` (an empty directory,
    e.g. ``Scratch.new_dir()``), which :meth:`teardown` removes."""

    def __init__(
        self,
        example_dir: str | bytes,
        spec: LayersSpec,
        config: Config | None = None,
        *,
        helpers: HelperPool | None = None,
        split_fs: bool = False,
        new_api: bool = False,
        nested: str = "",
        scratch: Scratch | None = None,
    ) -> None:
        self.example_dir = os.fsencode(example_dir)
        self.inner: Inner | None = None  # the lowers' own overlay (difftest.nesting)
        self.spec = spec
        self.config = config if config is not None else Config()
        self.new_api = new_api
        try:
            self.dirs = build_layers(self.example_dir, spec, split_fs, odd_names=new_api)
        except BaseException:
            shutil.rmtree(self.example_dir, ignore_errors=True)
            raise
        self.layer_dirs = self.dirs  # where the layers are (unmounted at teardown)
        if nested:
            assert scratch is not None, "a nested overlay needs the scratch's mount server"
            try:
                self.dirs, self.inner = mount_inner(self.example_dir, self.dirs, nested, scratch)
            except BaseException:
                unmount_layers(self.layer_dirs)
                shutil.rmtree(self.example_dir, ignore_errors=True)
                raise
        self.mount_flags, self.mount_options = mount_data(self.dirs, self.config)
        self._detached = True  # nothing of ours is mounted under example_dir
        super().__init__(self.dirs.merged, self.dirs.upper, helpers=helpers,
                         userxattr=self.config.userxattr)
        self.fsid_layer = self.dirs.upper if self.dirs.upper is not None else self.dirs.lowers[0]
        try:
            self.mount()
        except BaseException:
            self.teardown()
            raise

    def reconfigure(self, ro: bool) -> None:
        """Remount the live mount read-only or read-write (mount(2) with ``MS_REMOUNT`` and
        no data: the kernel ignores the legacy data on reconfigure); handles stay open.  A
        full remount later keeps the state."""
        flags = realfs.MS_REMOUNT | (realfs.MS_RDONLY if ro else 0)
        realfs.mount(None, self.mountpoint, None, flags, None)
        self._observer.forget_view()
        if ro:
            self.mount_flags |= realfs.MS_RDONLY
        else:
            self.mount_flags &= ~realfs.MS_RDONLY

    def lseek(self, fd: int, offset: int, whence: int) -> int:
        if (whence == os.SEEK_END and self.inner is not None and self.inner.server is not None
                and stat.S_ISDIR(super().fstat(fd).mode)):  # fmt: skip
            tolerated("fuse-dir-seek-end")
            raise OSError(_errno.EINVAL, "SEEK_END on a directory")
        return super().lseek(fd, offset, whence)

    def change_layer(self, layer: int, action: str, path: bytes, new: bytes = b"") -> None:
        """Change a layer behind the mount's back, as root on the layer's own directory
        (:func:`model.online.change_layer` says what each action does)."""
        from model.online import DATA

        dirs = self.layer_dirs
        root = dirs.upper if layer == 0 else (
            dirs.lowers[layer - 1] if 1 <= layer <= len(dirs.lowers) else None)
        if root is None:
            raise OSError(_errno.ENOENT, "no such layer")
        where = _layer_path(root, path)
        if action == "remove":
            if stat.S_ISDIR(os.lstat(where).st_mode):
                shutil.rmtree(where)
            else:
                os.unlink(where)
        elif action == "create":
            fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            try:
                os.fchmod(fd, 0o644)
                os.write(fd, DATA)
            finally:
                os.close(fd)
        elif action == "mkdir":
            os.mkdir(where, 0o755)
            os.chmod(where, 0o755)
        elif action == "rename":
            os.lstat(where)  # the source first, as the model checks (ENOENT)
            realfs.renameat2(where, _layer_path(root, new), realfs.RENAME_NOREPLACE)
        else:
            raise ValueError(f"unknown layer change {action!r}")
        self._observer.forget_view()

    def _mount(self) -> None:
        self._detached = False
        try:
            if self.new_api:
                params = overlay_params(self.dirs.lowers, self.dirs.upper, self.dirs.work,
                                        [o for o in self.config.mount_options() if o != "ro"],
                                        self.dirs.data)
                fsconfig_mount(b"overlay", self.mountpoint, params,
                               bool(self.mount_flags & realfs.MS_RDONLY))  # fmt: skip
            else:
                realfs.mount(b"overlay", self.mountpoint, b"overlay", self.mount_flags,
                             self.mount_options)  # fmt: skip
        except NewMountError as e:
            where = os.fsdecode(self.mountpoint)
            raise MountError(e.errno or _errno.EIO,
                             f"mount overlay on {where} (new mount API): {e.strerror}") from None
        except OSError as e:
            err = e.errno or _errno.EIO
            name = _errno.errorcode.get(err, str(err))
            ro = " (MS_RDONLY)" if self.mount_flags & realfs.MS_RDONLY else ""
            why = realfs.mount_diagnosis(b"overlay", self.mountpoint, b"overlay",
                                         self.mount_flags, self.mount_options)  # fmt: skip
            raise MountError(
                err,
                f"mount overlay on {os.fsdecode(self.mountpoint)} failed: {name} "
                f"({os.strerror(err)}); options{ro}: {os.fsdecode(self.mount_options)}"
                + (f"; kernel says: {' / '.join(why)}" if why else ""),
            ) from None

    def take_incompat(self) -> tuple[str, ...] | None:
        """A volatile mount leaves ``work/incompat/volatile/`` behind, and while it is there
        the kernel (and ovlfuse) refuse every later mount of the workdir with EINVAL
        (catalogue §2.15, ``tests/difftest/test_option_presets.py``).  overlayfs.rst lets a
        user who knows the system has not crashed remove it; the tester's remounts follow a
        clean umount, so it does, after listing what was there."""
        if self.dirs.work is None:
            return None
        incompat = os.path.join(self.dirs.work, b"work", b"incompat")
        try:
            names = sorted(os.fsdecode(n) for n in os.listdir(incompat))
        except FileNotFoundError:
            return None
        shutil.rmtree(os.path.join(incompat, b"volatile"), ignore_errors=True)
        return tuple(names) or None

    def _umount(self) -> None:
        try:
            realfs.umount_or_detach(self.mountpoint)
        except OSError as e:
            # Not mounted any more (the scratch was closed first): nothing to do.
            if e.errno not in (_errno.EINVAL, _errno.ENOENT):
                raise
        self._detached = True

    def teardown(self) -> None:
        """Close handles, unmount (lazily if busy) and remove the example directory."""
        if self._torn_down:
            return
        try:
            super().teardown()
        finally:
            self._remove_example_dir()

    def _remove_example_dir(self) -> None:
        # Never delete through a mount (the scratch's exit cleans up); mountinfo is read
        # only when our own unmount did not go through.
        if not self._detached and realfs.mounts_under(os.fsdecode(self.example_dir)):
            return
        try:
            if self.inner is not None:
                self.inner.stop()
            unmount_layers(self.layer_dirs)
        except OSError:
            return  # still mounted: the scratch's exit takes it down
        try:
            realfs.remove_tree(self.example_dir)
        except OSError:
            shutil.rmtree(self.example_dir, ignore_errors=True)


def _layer_path(root: bytes, path: bytes) -> bytes:
    """``root/path`` after checking the way as :func:`model.online.change_layer` walks it:
    component by component, a name past NAME_MAX is ENAMETOOLONG, a missing directory
    ENOENT, anything else on the way (a symlink too: never followed) ENOTDIR."""
    parts = [p for p in path.split(b"/") if p]
    here = root
    for part in parts[:-1]:
        if len(part) > 255:
            raise OSError(_errno.ENAMETOOLONG, "a name longer than NAME_MAX")
        here = here + b"/" + part
        st = os.lstat(here)
        if not stat.S_ISDIR(st.st_mode):
            raise OSError(_errno.ENOTDIR, "not a directory in the layer")
    if parts and len(parts[-1]) > 255:
        raise OSError(_errno.ENAMETOOLONG, "a name longer than NAME_MAX")
    return root + b"/" + b"/".join(parts)


def make_kernel_target(
    scratch: Scratch, spec: LayersSpec, config: Config | None = None, split_fs: bool = False,
    new_api: bool = False, nested: str = "",
) -> KernelOverlay:
    """A kernel target in a fresh directory of ``scratch``, using the scratch's helpers."""
    return KernelOverlay(scratch.new_dir(), spec, config, helpers=scratch.helpers,
                         split_fs=split_fs, new_api=new_api, nested=nested,
                         scratch=scratch)  # fmt: skip


# --- environment check ---------------------------------------------------------------------

_TRIVIAL = LayersSpec(
    lowers=((Entry(b"d", "dir", 0o755), Entry(b"d/f", "reg", data=b"lower")),),
    upper=(Entry(b"u", "reg", data=b"upper"),),
)


def _overlay_listed() -> bool:
    try:
        with open("/proc/filesystems") as f:
            return any(line.split()[-1:] == ["overlay"] for line in f)
    except OSError:
        return False


def kernel_overlay_problem() -> str | None:
    """Why the kernel target cannot run here (a sentence for the user), or ``None``."""
    if os.geteuid() != 0:
        return "the kernel target needs root (it mounts tmpfs and overlayfs with mount(2))"
    listed = _overlay_listed()  # a module not loaded yet is loaded by the first mount
    try:
        with Scratch() as scratch:
            t = KernelOverlay(scratch.new_dir("check"), _TRIVIAL, Config())
            try:
                if t.readdir(b"/d") is None or t.content_digest(b"/d/f") == "":
                    return "overlay mounted but did not show its lower layer"
                t.unlink(b"/d/f")
                if t.upper_dump().get(b"/d/f") is None:
                    return "overlay mounted but unlink left no whiteout in the upper layer"
            finally:
                t.teardown()
    except OSError as e:
        why = f"cannot mount a trivial overlay: {e}"
        if not listed:
            why += " (no 'overlay' in /proc/filesystems: is CONFIG_OVERLAY_FS set or the module"
            why += " available?)"
        return why
    except Exception as e:
        return f"cannot set up the kernel target: {type(e).__name__}: {e}"
    return None
