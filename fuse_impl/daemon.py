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
import logging
import os
import signal
from collections.abc import Callable

import pyfuse3

from . import loop
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
    ops = OverlayOperations(ofs)
    try:
        pyfuse3.init(ops, os.fsdecode(cfg.mountpoint), fuse_options(cfg))
    except RuntimeError as e:
        ofs.close()
        raise MountError(f"mounting {os.fsdecode(cfg.mountpoint)} failed: {e}") from None
    return ofs, ops


def serve(cfg: Config, ready: Ready | None = None) -> int:
    """Mount, report readiness, serve until unmounted; returns the exit status."""
    faulthandler.enable()
    os.umask(0)  # modes arrive with the caller's umask applied
    for signum in TERMINATION:
        signal.signal(signum, _remember_signal)
    try:
        ofs, _ops = mount(cfg)
    except MountError as e:
        if ready is not None:
            ready(str(e))
        raise
    if ready is not None:
        ready(None)
    status = 0
    try:
        loop.run(TERMINATION, pending=bool(_early_signals))
    except BaseException:
        log.exception("ovlfuse main loop failed")
        status = 1
    finally:
        pyfuse3.close(unmount=True)
        ofs.close()
    return status
