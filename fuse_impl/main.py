"""Command line: ``ovlfuse [-f] [-d] -o lowerdir=L1:L2,upperdir=U,workdir=W [SOURCE] MOUNTPOINT``.

SOURCE is what mount.fuse3 passes first (``mount -t fuse.ovlfuse SOURCE MNT`` without the
``mount.fuse.ovlfuse`` helper): it becomes the mount's fsname unless ``fsname=`` is given.

Options follow the kernel overlay's syntax (see :mod:`fuse_impl.options`); ``-o`` may be
repeated.  ``-f`` stays in the foreground, ``-d`` logs every FUSE request and layer call
(implies ``-f``), ``--serve`` runs the JSON-lines mount server (:mod:`fuse_impl.server`).
``ovlfuse-containers`` is the same command with ``-o aufs_whiteouts``: the program to name
as containers-storage's ``mount_program``.

Without ``-f`` the process forks; the parent exits 0 once the mount is live, or 1 with the
child's message if mounting failed.  Exit status 2 means bad usage (unknown option,
malformed value, missing argument), 1 a mount failure (layer problems included).  Every
error is one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from typing import NoReturn

from . import crash, daemon
from .errors import MountError, UsageError
from .options import Config, finish, parse_options
from .super import check_layers

PROG = "ovlfuse"
VERSION = "0.1.0"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (UsageError instead of usage text + exit)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="FUSE overlay filesystem with kernel overlayfs semantics")
    p.add_argument("-o", dest="options", action="append", default=[], metavar="OPTIONS",
                   help="mount options, e.g. lowerdir=L1:L2,upperdir=U,workdir=W")
    p.add_argument("-f", dest="foreground", action="store_true", help="stay in the foreground")
    p.add_argument("-d", "--debug", dest="debug", action="store_true",
                   help="debug output (implies -f)")
    p.add_argument("--serve", action="store_true",
                   help="run the JSON-lines mount server on stdin/stdout")
    p.add_argument("-V", "--version", action="version", version=f"{PROG} {VERSION}")
    p.add_argument("paths", nargs="*", metavar="[SOURCE] MOUNTPOINT",
                   help="where to mount; a SOURCE before it (as mount.fuse3 passes) names the "
                        "mount (fsname)")
    return p


def config_from_args(argv: list[str]) -> tuple[Config | None, argparse.Namespace]:
    """Parse the command line; Config is None for ``--serve``."""
    args = _parser().parse_args(argv)
    if args.serve:
        return None, args
    if not args.paths:
        raise UsageError("missing mountpoint")
    if len(args.paths) > 2:
        raise UsageError(f"too many arguments: {' '.join(args.paths)}")
    cfg = Config()
    if len(args.paths) == 2 and "," not in args.paths[0] and "\\" not in args.paths[0]:
        parse_options(f"fsname={args.paths[0]}", cfg)
    for text in args.options:
        parse_options(text, cfg)
    cfg.mountpoint = os.fsencode(args.paths[-1])
    cfg.debug = cfg.debug or args.debug
    cfg.foreground = args.foreground or cfg.debug
    return finish(cfg), args


def setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(name)s: %(message)s" if debug else f"{PROG}: %(message)s",
    )


def run_background(cfg: Config, crash_at: int | None = None) -> int:
    """Fork; the parent returns 0 once the child's mount is live, else 1 with its message."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        os._exit(_child(cfg, write_end, crash_at))
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode(errors="replace").strip()
    if message == "ok":
        return 0
    os.waitpid(pid, 0)
    print(f"{PROG}: {message or 'the daemon exited before mounting'}", file=sys.stderr)
    return 1


def _child(cfg: Config, report_fd: int, crash_at: int | None) -> int:
    """The daemon side of :func:`run_background`: detach, mount, report, serve."""
    os.setsid()
    reported = False

    def ready(error: str | None) -> None:
        nonlocal reported
        if error is None:
            detach_stdio()
        os.write(report_fd, (error or "ok").encode())
        os.close(report_fd)
        reported = True

    try:
        return daemon.serve(cfg, ready, crash_at)
    except BaseException as e:
        if not reported:  # the parent shows this; after readiness nobody would
            with contextlib.suppress(OSError):
                os.write(report_fd, f"daemon failed: {e!r}".encode())
        return 1


def detach_stdio() -> None:
    """Point stdin, stdout and stderr at /dev/null (a daemon keeps no terminal)."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def run(argv: list[str]) -> int:
    """The whole command; returns the exit status."""
    try:
        cfg, _args = config_from_args(argv)
        if cfg is None:
            from .server import serve_forever

            return serve_forever(sys.stdin.buffer, sys.stdout.buffer)
        setup_logging(cfg.debug)
        check_layers(cfg)
        crash_at = crash.from_env()
    except UsageError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    except MountError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    if not cfg.foreground:
        return run_background(cfg, crash_at)
    try:
        return daemon.serve(cfg, crash_at=crash_at)
    except MountError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1


def main() -> int:
    """Console-script entry point."""
    return run(sys.argv[1:])


def containers_main() -> int:
    """``ovlfuse-containers``: ovlfuse in the mount_program role of containers-storage, i.e.
    ``ovlfuse -o aufs_whiteouts`` (storage.conf names a program, it cannot give options)."""
    return run(["-o", "aufs_whiteouts", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
