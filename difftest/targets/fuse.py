"""FUSE overlays as targets: ovlfuse and fuse-overlayfs, each in exact and in caching mode, or
any program that takes the kernel's option syntax (``PROG -o lowerdir=…,upperdir=…,workdir=…
MNT``).

ovlfuse is mounted through one pre-imported ``ovlfuse --serve`` process per run, which forks
a daemon per mount (milliseconds instead of an interpreter start).  Other programs are run in
the foreground (``-f``) and the target waits until the mount appears.  A mount that fails, or
a daemon that dies, is reported as a divergence with the program's stderr; a call that hangs
longer than :data:`OP_TIMEOUT` has its FUSE connection aborted, so it returns ENOTCONN and is
reported instead of hanging the tester.

With ``interchange=True`` each remount switches between the FUSE program and the kernel's
overlayfs on the same layers, so one reads what the other wrote (the layer-format check); at
the end of every example :meth:`FuseOverlay.format_check` mounts the layers with the kernel
and compares the merged view with the model's after a remount (a fresh mount forgets what
only the FUSE program's memory held, as the kernel's does).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import shlex
import shutil
import stat
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from difftest import realfs
from difftest.observe import Difference, Observation
from difftest.outcome import FSID_UNOBSERVED
from difftest.scratch import Scratch
from difftest.targets.kernel import KernelOverlay, mount_data
from difftest.targets.names import CRASH_TARGETS
from difftest.targets.observe_real import RealObserver
from difftest.targets.ovlfuse_server import (
    FuseMountError,
    _tail,
    ovlfuse_command,
    server_for,
)
from difftest.tolerances import UUID_UNOBSERVED, tolerated
from difftest.watchdog import WATCHDOG
from model.config import Config
from model.spec import LayersSpec
from model.types import OVERLAYFS_SUPER_MAGIC, ROOT, Cred, StatFs, UpperEntry

OP_TIMEOUT = float(os.environ.get("DIFFTEST_OP_TIMEOUT", "10"))
# Option presets per program: exact mode (timeouts 0: every lookup and getattr reaches the
# daemon) and the caching mode each mounts with by default (ovlfuse: 60 s entry and
# attribute timeouts), where an answer the kernel's FUSE caches keep after the daemon changed
# the object is a divergence.
OVLFUSE_TARGETS = {"fuse": ["exact"], "fuse-cached": [], "fuse-crash": ["exact"]}
CRASH_WAIT = 5.0  # seconds an armed daemon's exit may lag behind the call it broke
FUSE_OVERLAYFS_TARGETS = {"fuse-overlayfs": [], "fuse-overlayfs-exact": ["timeout=0"]}
MOUNT_TIMEOUT = 10.0


def program_version(name: str) -> str:
    """What target ``name`` mounts: the program and the version it reports (for summaries
    and reports); ``""`` for targets that are not FUSE programs."""
    try:
        argv = program_for(name.removesuffix("+interchange"))
    except ValueError:
        return ""
    try:
        out = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{shlex.join(argv)} (no version: {exc})"
    lines = [x.strip() for x in (out.stdout + out.stderr).splitlines()
             if x.strip() and "fusermount" not in x and "ignored" not in x]  # fmt: skip
    base = os.path.basename(argv[-1] if argv[0] == sys.executable else argv[0])
    own = [x for x in lines if x.startswith((base, "ovlfuse"))]  # its own line, not libfuse's
    found = (own or lines or ["version unknown"])[0]
    return f"{shlex.join(argv)}: {found}"


def program_for(name: str) -> list[str]:
    """The command line that mounts target ``name`` (without options and mountpoint)."""
    if name in OVLFUSE_TARGETS:
        return ovlfuse_command()
    if name in FUSE_OVERLAYFS_TARGETS:
        return ["fuse-overlayfs"]
    if name.startswith("cmd:"):
        return shlex.split(name[4:])
    raise ValueError(f"not a FUSE target: {name}")


def fuse_target_problem(name: str) -> str | None:
    """Why FUSE target ``name`` cannot run here, or None."""
    from difftest.targets.kernel import kernel_overlay_problem

    if os.geteuid() != 0:
        return "needs root"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    try:
        prog = program_for(name)
    except ValueError as exc:
        return str(exc)
    if not prog or (shutil.which(prog[0]) is None and not os.path.exists(prog[0])):
        hint = " (Debian package fuse-overlayfs)" if name in FUSE_OVERLAYFS_TARGETS else ""
        return f"program {prog[0] if prog else '?'} not found{hint}"
    return kernel_overlay_problem()  # format checks mount the kernel overlay too


# ---- mounting -------------------------------------------------------------------------------


class ProgramMount:
    """A FUSE program run in the foreground for one mount."""

    def __init__(self, argv: list[str], options: str, mountpoint: bytes) -> None:
        self.mountpoint = mountpoint
        self.proc = subprocess.Popen(
            [*argv, "-f", "-o", options, os.fsdecode(mountpoint)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + MOUNT_TIMEOUT
        while not realfs.mounts_under(os.fsdecode(mountpoint)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise FuseMountError(
                    5, f"{argv[0]} did not mount (exit {self.proc.returncode}): "
                    f"{_tail(self.proc.stderr)}",
                )  # fmt: skip
            time.sleep(0.001)

    def unmount(self) -> str:
        """Unmount and wait for the daemon; returns its stderr tail if it failed."""
        with contextlib.suppress(OSError):
            realfs.umount_or_detach(self.mountpoint)
        try:
            code = self.proc.wait(timeout=MOUNT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            return "daemon did not exit after unmount"
        return "" if code == 0 else f"exit {code}: {_tail(self.proc.stderr)}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ---- the target -----------------------------------------------------------------------------


class FuseOverlay(KernelOverlay):
    """A FUSE overlay on layers built from ``spec`` (see the module docstring)."""

    def __init__(
        self,
        name: str,
        scratch: Scratch,
        spec: LayersSpec,
        config: Config,
        *,
        interchange: bool = False,
        split_fs: bool = False,
        new_api: bool = False,
        nested: str = "",
    ) -> None:
        self.name = name
        self.argv = program_for(name)
        self.interchange = interchange
        # Half the examples start on the kernel, so FUSE reads kernel-written layers.
        self.on_kernel = interchange and zlib.crc32(repr(spec).encode()) % 2 == 0
        self._program: ProgramMount | None = None
        self._server = server_for(scratch) if name in OVLFUSE_TARGETS else None
        self.died = ""
        self.crash_lane = name in CRASH_TARGETS
        self._crash_at: int | None = None  # for each mount after an ArmCrash
        self._armed: int | None = None  # pidfd of the armed daemon serving the mount
        super().__init__(scratch.new_dir(), spec, config, helpers=scratch.helpers,
                         split_fs=split_fs, new_api=new_api, nested=nested,
                         scratch=scratch)  # fmt: skip
        # Walked by descriptor; ovlfuse in exact mode (timeouts 0, tmpfs timestamps) also with
        # the lookup's attributes and the caches, other programs and modes uncached, so that
        # a stale attribute cannot hide a change of content (observe_real).
        exact = name == "fuse"
        self._observer = RealObserver(
            self.mountpoint, cache=exact, by_fd=True, lookup_attrs=exact
        )

    # -- mounting ----------------------------------------------------------------------------

    def _fuse_options(self) -> str:
        _, data = mount_data(self.dirs, self.config)
        words = [os.fsdecode(data)]
        if self.mount_flags & realfs.MS_RDONLY:
            words.append("ro")
        words += OVLFUSE_TARGETS.get(self.name, []) + FUSE_OVERLAYFS_TARGETS.get(self.name, [])
        return ",".join(words)

    def _mount(self) -> None:
        if self.on_kernel:
            super()._mount()
            return
        opts = self._fuse_options()
        if self._server is not None:
            request: dict[str, Any] = {"op": "mount", "options": opts,
                                       "mountpoint": os.fsdecode(self.mountpoint)}
            crash_at = self._crash_at  # every mount after an ArmCrash, until the crash
            if crash_at is not None:
                request["crash_at"] = crash_at
            reply = self._server.request(request)
            if not reply.get("ok"):
                raise FuseMountError(5, f"ovlfuse did not mount: {reply.get('error', reply)}")
            if crash_at is not None:
                self._armed = os.pidfd_open(int(reply["pid"]))
        else:
            self._program = ProgramMount(self.argv, opts, self.mountpoint)

    def _umount(self) -> None:
        if self._armed is not None:
            os.close(self._armed)
            self._armed = None
        if self.on_kernel:
            super()._umount()
            return
        if self._server is not None:
            mnt = os.fsdecode(self.mountpoint)
            reply = self._server.request({"op": "umount", "mountpoint": mnt})
            if not reply.get("ok") or reply.get("status", 0) != 0:
                self.died = str(reply.get("error") or reply)
        elif self._program is not None:
            self.died = self._program.unmount()
            self._program = None

    def remount(self) -> tuple[str, ...] | None:
        """Unmount; with ``interchange`` switch between FUSE and the kernel; mount again.
        Returns the incompat features the umount left in the workdir, as the kernel's."""
        self.close_handles()
        self._umount()
        self.mounted = False
        left = self.take_incompat()
        if self.interchange:
            self.on_kernel = not self.on_kernel
        self._dumper_reset()
        self.mount()
        return left

    # -- the crash lane ----------------------------------------------------------------------

    def arm_crash(self, after: int) -> None:
        """In the crash lane, the daemon of each later mount dies before its ``after``-th
        change to a layer, until one has (elsewhere nothing: :class:`difftest.ops.ArmCrash`
        is a plain remount)."""
        if self.crash_lane and not self.on_kernel:
            self._crash_at = after

    @property
    def armed(self) -> bool:
        return self._armed is not None

    def crashed(self, wait: bool) -> bool:
        """Whether the armed daemon has killed itself (``wait``: give its exit up to
        :data:`CRASH_WAIT` seconds, for a call that failed as a dead daemon's calls do)."""
        if self._armed is None:
            return False
        ready, _, _ = select.select([self._armed], [], [], CRASH_WAIT if wait else 0)
        return bool(ready)

    def recover(self) -> list[bytes]:
        """After a crash: drop the dead mount and mount the layers again with a fresh daemon
        (unarmed), as a user would after the crash.  Returns what the new mount left in the
        workdir's ``work/`` (it must have emptied it)."""
        self.close_handles()
        self._umount()  # the server reports the daemon's SIGKILL; that is no failure here
        self._crash_at = None
        self.died = ""
        self.mounted = False
        self.take_incompat()
        self._dumper_reset()
        self.mount()
        work = self.dirs.work
        return [] if work is None else sorted(os.listdir(os.path.join(work, b"work")))

    def _dumper_reset(self) -> None:
        if self._dumper is not None:
            self._dumper.reset()
        self._observer.reset()

    # -- tolerances --------------------------------------------------------------------------

    def observe_state(self) -> Observation:
        """The observation, without devices while a FUSE program serves the mount (it has
        one device of its own: tolerance ``st_dev``); identity is then by st_ino alone."""
        obs = super().observe_state()
        if not self.on_kernel:
            tolerated("st_dev")
            obs.dev = {}
        return obs

    def statfs(self, path: bytes) -> StatFs:
        st = super().statfs(path)
        if self.on_kernel:
            return st
        tolerated("statfs-f_type")  # FUSE reports its own magic
        tolerated("statfs-fsid")  # and an fsid of its own
        return StatFs(OVERLAYFS_SUPER_MAGIC, st.namelen, st.readonly, FSID_UNOBSERVED)

    def upper_dump(self) -> dict[bytes, UpperEntry]:
        """The upper layer on disk; a FUSE program other than ovlfuse need not keep the
        kernel's persistent uuid (tolerance ``upper-root-uuid``)."""
        dump = super().upper_dump()
        if self._server is None and not self.on_kernel and b"/" in dump:
            dump = {**dump, b"/": replace(dump[b"/"], uuid=UUID_UNOBSERVED)}
        return dump

    def chown(self, path: bytes, uid: int, gid: int, *, cred: Cred = ROOT) -> None:
        # (on a read-only mount the VFS refuses with EROFS before it looks at the mode: found
        # by difftest in the ro config, where this EPERM came first)
        read_only = bool(self.mount_flags & realfs.MS_RDONLY)
        if not self.on_kernel and not cred.is_root and not read_only:
            try:
                st = super().lstat(path, cred=cred)  # the caller's own lookup comes first
            except OSError:
                st = None
            if (st is not None and not stat.S_ISDIR(st.mode) and st.mode & stat.S_ISGID
                    and not st.mode & stat.S_IXGRP and cred.uid != st.uid
                    and cred.gid != st.gid and st.gid not in cred.groups):  # fmt: skip
                tolerated("fuse-chown-keeps-setgid")
                raise OSError(errno.EPERM, "chown: clearing setgid needs ownership")
        super().chown(path, uid, gid, cred=cred)

    def lseek(self, fd: int, offset: int, whence: int) -> int:
        # also for a handle that a user's helper holds
        if whence == os.SEEK_END and not self.on_kernel and stat.S_ISDIR(super().fstat(fd).mode):
            tolerated("fuse-dir-seek-end")
            raise OSError(errno.EINVAL, "SEEK_END on a directory")
        return super().lseek(fd, offset, whence)

    # -- hangs and format checks -------------------------------------------------------------

    @contextlib.contextmanager
    def deadline(self, seconds: float = OP_TIMEOUT) -> Iterator[None]:
        """Abort the FUSE connection if the body takes longer than ``seconds``."""
        if self.on_kernel:
            yield
            return
        with WATCHDOG.guard(seconds, self._abort_connection):
            yield

    def _abort_connection(self) -> None:
        """Abort the FUSE connection, so the hung call returns ENOTCONN: a forced unmount
        (FUSE's umount_begin aborts; the busy mount itself stays), or fusectl's abort file
        when that is mounted."""
        self.died = f"a call took longer than {OP_TIMEOUT} s; FUSE connection aborted"
        with contextlib.suppress(OSError):
            realfs.umount2(self.mountpoint, realfs.MNT_FORCE)
        with contextlib.suppress(OSError):
            dev = realfs.mount_device(os.fsdecode(self.mountpoint))
            if dev is not None:
                with open(f"/sys/fs/fuse/connections/{os.minor(dev)}/abort", "w") as f:
                    f.write("1")

    def format_check(self, expected: Observation) -> list[Difference]:
        """Mount the layers with the kernel overlay and compare its merged view with
        ``expected``, the view a fresh mount of them must show (the model's after a remount,
        when the FUSE program agreed with the model so far); returns the differences."""
        from difftest.observe import differences
        from difftest.observing import observe

        if self.on_kernel:
            return []
        before = expected
        self.close_handles()
        self._umount()
        self.take_incompat()  # a clean umount: the kernel may mount the layers
        self.on_kernel = True
        try:
            self._dumper_reset()
            super()._mount()
            after = observe(self)
        finally:
            super()._umount()
            self.mounted = False
        # the kernel's lookups may add origin xattrs: compare the merged views only
        before, after = replace(before, upper=None), replace(after, upper=None)
        return [replace(d, line=f"kernel view of {self.name}'s layers: {d.line}")
                for d in differences(before, after, None, None)]


def make_fuse_target(
    name: str, scratch: Scratch, spec: LayersSpec, config: Config, interchange: bool = False,
    split_fs: bool = False, new_api: bool = False, nested: str = "",
) -> FuseOverlay:
    return FuseOverlay(name, scratch, spec, config, interchange=interchange, split_fs=split_fs,
                       new_api=new_api, nested=nested)  # fmt: skip
