"""Run one mount in the current process: open layers, mount, serve, unmount.

:func:`serve` is shared by the command line (foreground or daemonized) and by the
``--serve`` server's children.  Readiness is reported through a callback once the mount
exists, so a parent can exit (or reply) only when the filesystem is usable.  SIGTERM,
SIGINT and SIGHUP end the loop and unmount; an external unmount ends it too.
``pyfuse3.close()`` runs on every exit path.  Requests are served by :mod:`.loop`, pyfuse3's
loop without an event loop.
"""

from __future__ import annotations

import faulthandler
import functools
import logging
import os
import re
import signal
from collections.abc import Callable

import pyfuse3

from . import crash, index, loop
from .errors import MountError
from .operations import OverlayOperations
from .options import Config
from .super import OverlayFs

log = logging.getLogger("ovlfuse")

Ready = Callable[[str | None], None]


def fuse_options(cfg: Config) -> set[str]:
    """libfuse options: ours, the pass-through ones, and permissions checked by the kernel."""
    opts = {"default_permissions", f"fsname={cfg.fsname}", "subtype=ovlfuse"}
    if os.geteuid() == 0:
        opts.add("allow_other")  # like the kernel overlay: every user sees the mount
        # libfuse defaults to nosuid,nodev; the kernel overlay does not (container rootfs)
        if "nosuid" not in cfg.fuse_options:
            opts.add("suid")
        if "nodev" not in cfg.fuse_options:
            opts.add("dev")
    if cfg.readonly:
        opts.add("ro")
    if cfg.debug:
        opts.add("debug")
    opts.update(cfg.fuse_options)
    return opts


def log_accepted_without_effect(cfg: Config) -> None:
    """One debug line per option that was accepted but changes nothing here."""
    for option in cfg.ignored:
        log.debug("option %s accepted without effect (see fuse_impl/options.py)", option)
    if cfg.context is not None:
        log.debug("option context=%s ignored: SELinux is not enabled", cfg.context)


TERMINATION = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_early_signals: list[int] = []


def _remember_signal(signum: int, _frame: object) -> None:
    """Until the loop watches signals: note a termination request instead of dying mounted."""
    _early_signals.append(signum)


def mount(cfg: Config) -> tuple[OverlayFs, OverlayOperations]:
    """Open the layers and mount (pyfuse3.init); MountError if it cannot be done."""
    try:
        ofs = OverlayFs.open(cfg)
    except OSError as e:
        raise MountError(f"cannot prepare the layers: {e}") from None
    try:
        index.setup(ofs)
    except (OSError, MountError) as e:
        ofs.close()
        raise MountError(f"cannot prepare the index: {e}") from None
    ops = OverlayOperations(ofs)
    try:
        pyfuse3.init(ops, os.fsdecode(cfg.mountpoint), fuse_options(cfg))
    except RuntimeError as e:
        ofs.close()
        raise MountError(f"mounting {os.fsdecode(cfg.mountpoint)} failed: {e}") from None
    return ofs, ops


# Sequential reads through the page cache arrive as READs of the mount's read-ahead window.
# The kernel caps that window at its INIT offer (128 KiB) when the INIT reply comes in, and
# libfuse can only lower it; 1 MiB (the 256 pages libfuse negotiates for a request) cuts a
# sequential read's requests 8-fold.  Raised through sysfs, as root, once INIT is done.
READ_AHEAD_KB = 1024


def _unescape(field: bytes) -> bytes:
    """A mountinfo path: space, tab, newline and backslash are written as octal escapes."""
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), field)


def mount_device(mountpoint: bytes) -> str | None:
    """The ``major:minor`` of the newest mount at *mountpoint* (from mountinfo: a stat of
    our own mount would wait for the loop that is not serving yet)."""
    dev = None
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split(b" ")
            if len(fields) > 4 and _unescape(fields[4]) == mountpoint:
                dev = fields[2].decode()
    return dev


def raise_read_ahead(dev: str | None, kb: int = READ_AHEAD_KB) -> None:
    """Set the read-ahead of the FUSE mount *dev*; quietly nothing without the right."""
    if dev is None:
        return
    try:
        with open(f"/sys/class/bdi/{dev}/read_ahead_kb", "w") as f:
            f.write(str(kb))
    except OSError as e:
        log.debug("read-ahead of %s left as it is: %s", dev, e)


def serve(cfg: Config, ready: Ready | None = None, crash_at: int | None = None) -> int:
    """Mount, report readiness, serve until unmounted; returns the exit status.  With
    ``crash_at`` the daemon kills itself before that change to a layer (:mod:`.crash`)."""
    faulthandler.enable()
    log_accepted_without_effect(cfg)
    os.umask(0)  # modes arrive with the caller's umask applied
    for signum in TERMINATION:
        signal.signal(signum, _remember_signal)
    where = os.path.realpath(cfg.mountpoint)  # before mounting: a stat of the mount would hang
    try:
        ofs, _ops = mount(cfg)
    except MountError as e:
        if ready is not None:
            ready(str(e))
        raise
    dev = mount_device(where)
    if ready is not None:
        ready(None)
    crash.arm(crash_at)
    status = 0
    try:
        loop.run(TERMINATION, pending=bool(_early_signals),
                 after_init=functools.partial(raise_read_ahead, dev))  # fmt: skip
    except BaseException:
        log.exception("ovlfuse main loop failed")
        status = 1
    finally:
        pyfuse3.close(unmount=True)
        ofs.close()
    return status
