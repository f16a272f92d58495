"""``ovlfuse --serve``: fast mounts for the differential tester, as JSON lines on stdin/stdout.

The server process has everything imported already; each mount is served by a forked
child, so a mount costs a mount(2) instead of an interpreter start.  The fork itself (several
milliseconds for a Python process) happens ahead of time: a *spare* child is forked after each
reply and waits for its mount order, so it runs while the client uses the previous mount.
Requests and replies, one JSON object per line:

* ``{"op": "mount", "options": "lowerdir=...,upperdir=...,workdir=...,exact",
  "mountpoint": "/abs/path"}`` → ``{"ok": true, "pid": N}`` once the mount is live, or
  ``{"ok": false, "error": "..."}`` (bad options, layer problems, or the child's failure
  with its stderr tail); ``"crash_at": N`` arms the daemon to kill itself before its N-th
  change to a layer (:mod:`fuse_impl.crash`);
* ``{"op": "umount", "mountpoint": "/abs/path"}`` → unmounts (umount2, then MNT_DETACH
  when busy), waits for that daemon to exit (so its files are closed) and replies
  ``{"ok": true, "status": exitcode}``; a daemon that had died before is reported with
  ``"ok": false``, its status and stderr tail;
* ``{"op": "ping"}`` → ``{"ok": true}``;
* end of input (or SIGTERM/SIGINT): every mount is unmounted and the server exits.

A daemon never outlives its server: if the server is killed, each daemon gets SIGTERM
(PR_SET_PDEATHSIG) and unmounts its mount.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import select
import signal
import tempfile
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from . import daemon, syscalls
from .errors import MountError, UsageError
from .options import Config, finish, parse_options
from .super import check_layers

EXIT_WAIT = 30.0  # seconds a daemon may take to exit after its unmount
TAIL = 4000


@dataclass
class Child:
    """One mount's daemon process."""

    pid: int
    mountpoint: str
    log: BinaryIO  # its stdout and stderr

    def tail(self) -> str:
        self.log.seek(0, os.SEEK_END)
        size = self.log.tell()
        self.log.seek(max(0, size - TAIL))
        return self.log.read().decode(errors="replace").strip()


@dataclass
class Spare:
    """A child forked ahead of time, waiting for the Config of its mount."""

    pid: int
    order_fd: int  # server writes the pickled Config, then closes
    report_fd: int  # child answers "ok" or an error, then closes
    log: BinaryIO

    @classmethod
    def spawn(cls) -> Spare:
        log = tempfile.TemporaryFile(prefix="ovlfuse-serve-")  # noqa: SIM115 (kept by Child)
        order_r, order_w = os.pipe()
        report_r, report_w = os.pipe()
        server_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            _default_signals()
            syscalls.set_parent_death_signal(signal.SIGTERM)
            if os.getppid() != server_pid:
                os._exit(0)  # the server died before prctl took effect
            os.close(order_w)
            os.close(report_r)
            os._exit(_spare_main(order_r, report_w, log.fileno()))
        os.close(order_r)
        os.close(report_w)
        return cls(pid, order_w, report_r, log)

    def start(self, cfg: Config, crash_at: int | None = None) -> str:
        """Hand the child its mount; returns its report ("ok" or an error message)."""
        try:
            os.write(self.order_fd, pickle.dumps((cfg, crash_at)))
        finally:
            os.close(self.order_fd)
        with os.fdopen(self.report_fd, "rb") as pipe:
            return pipe.read().decode(errors="replace").strip()

    def dismiss(self) -> None:
        """No mount for this child: it exits on end of input."""
        os.close(self.order_fd)
        os.close(self.report_fd)
        os.waitpid(self.pid, 0)
        self.log.close()


TERMINATION = {signal.SIGTERM, signal.SIGINT}


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    old = signal.pthread_sigmask(signal.SIG_BLOCK, TERMINATION)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _default_signals() -> None:
    """In a forked child: default termination handling, signals unblocked."""
    for signum in TERMINATION:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, TERMINATION)


def _spare_main(order_fd: int, report_fd: int, log_fd: int) -> int:
    """A spare child: wait for the Config, then become that mount's daemon."""
    chunks = []
    while chunk := os.read(order_fd, 65536):
        chunks.append(chunk)
    os.close(order_fd)
    if not chunks:
        return 0
    cfg, crash_at = pickle.loads(b"".join(chunks))
    return _child(cfg, report_fd, log_fd, crash_at)


def _status(wait_status: int) -> int:
    """Exit code, or -signal for a daemon killed by a signal."""
    if os.WIFSIGNALED(wait_status):
        return -os.WTERMSIG(wait_status)
    return os.waitstatus_to_exitcode(wait_status)


def _config(options: str, mountpoint: str) -> Config:
    cfg = parse_options(options)
    cfg.mountpoint = os.fsencode(mountpoint)
    cfg.foreground = True
    finish(cfg)
    check_layers(cfg)
    return cfg


class Server:
    """The mounts made by one server, by mountpoint."""

    def __init__(self) -> None:
        self.children: dict[str, Child] = {}
        self.spare: Spare | None = None

    def prepare(self) -> None:
        """Fork the next mount's child now, while nothing waits for it.

        Termination signals wait until the fork is done: raised inside fork's own handlers
        (logging's at-fork lock release) the server's exit would be swallowed.
        """
        if self.spare is not None:
            return
        with _signals_blocked():
            self.spare = Spare.spawn()

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "mount":
            crash_at = request.get("crash_at")
            if crash_at is not None and (type(crash_at) is not int or crash_at < 1):
                return {"ok": False, "error": f"crash_at must be a whole number from 1, "
                                              f"not {crash_at!r}"}
            return self.mount(str(request.get("options", "")), str(request["mountpoint"]),
                              crash_at)
        if op == "umount":
            return self.umount(str(request["mountpoint"]))
        if op == "ping":
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def mount(self, options: str, mountpoint: str,
              crash_at: int | None = None) -> dict[str, Any]:
        if mountpoint in self.children:
            return {"ok": False, "error": f"{mountpoint} is already mounted by this server"}
        try:
            cfg = _config(options, mountpoint)
        except (UsageError, MountError) as e:
            return {"ok": False, "error": str(e)}
        self.prepare()
        spare, self.spare = self.spare, None
        assert spare is not None
        message = spare.start(cfg, crash_at)
        pid, log = spare.pid, spare.log
        child = Child(pid, mountpoint, log)
        if message == "ok":
            self.children[mountpoint] = child
            return {"ok": True, "pid": pid}
        status = _status(os.waitpid(pid, 0)[1])
        error = message or f"daemon exited with status {status} before mounting"
        tail = child.tail()
        log.close()
        return {"ok": False, "error": f"{error}\n{tail}".strip()}

    def umount(self, mountpoint: str) -> dict[str, Any]:
        child = self.children.pop(mountpoint, None)
        if child is None:
            return {"ok": False, "error": f"{mountpoint} was not mounted by this server"}
        try:
            return self._umount(child)
        finally:
            child.log.close()

    def _umount(self, child: Child) -> dict[str, Any]:
        done, wait_status = os.waitpid(child.pid, os.WNOHANG)
        if done:
            _detach(child.mountpoint)
            status = _status(wait_status)
            return {"ok": False, "status": status,
                    "error": f"daemon {child.pid} had exited with status {status}: "
                             f"{child.tail()}"}
        try:
            _unmount(child.mountpoint)
        except OSError as e:
            return {"ok": False, "error": f"umount {child.mountpoint}: {e.strerror}"}
        exit_status = _wait(child.pid)
        if exit_status is None:
            return {"ok": False, "error": f"daemon {child.pid} did not exit after umount; "
                                          f"killed: {child.tail()}"}
        return {"ok": True, "status": exit_status}

    def shutdown(self) -> None:
        """Unmount everything (end of input)."""
        if self.spare is not None:
            self.spare.dismiss()
            self.spare = None
        for mountpoint in list(self.children):
            self.umount(mountpoint)


def _unmount(mountpoint: str) -> None:
    """umount2, lazily when busy."""
    target = os.fsencode(mountpoint)
    try:
        syscalls.umount2(target)
    except OSError as e:
        if e.errno != errno.EBUSY:
            raise
        syscalls.umount2(target, syscalls.MNT_DETACH)


def _detach(mountpoint: str) -> None:
    """Lazily drop a mount whose daemon is gone ("Transport endpoint is not connected")."""
    with contextlib.suppress(OSError):
        syscalls.umount2(os.fsencode(mountpoint), syscalls.MNT_DETACH)


def _wait(pid: int) -> int | None:
    """Wait for the daemon's exit (killing it after EXIT_WAIT); its status or None."""
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], EXIT_WAIT)
    finally:
        os.close(pidfd)
    if not ready:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return None
    return _status(os.waitpid(pid, 0)[1])


def _child(cfg: Config, report_fd: int, log_fd: int, crash_at: int | None) -> int:
    """Forked daemon: own session, output to the log, mount, report, serve."""
    try:
        _default_signals()
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(null)

        def ready(error: str | None) -> None:
            os.write(report_fd, (error or "ok").encode())
            os.close(report_fd)

        return daemon.serve(cfg, ready, crash_at)
    except MountError:
        return 1
    except BaseException:
        traceback.print_exc()
        return 1


def serve_forever(inp: BinaryIO, out: BinaryIO) -> int:
    """Answer requests until end of input (or a termination signal), then unmount everything."""
    server = Server()

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.prepare()
        for line in inp:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                reply = server.handle(request)
            except (ValueError, KeyError, TypeError) as e:
                reply = {"ok": False, "error": f"bad request: {e}"}
            out.write(json.dumps(reply).encode() + b"\n")
            out.flush()
            server.prepare()
    finally:
        server.shutdown()
    return 0
