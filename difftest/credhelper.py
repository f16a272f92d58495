"""Credential helpers: long-lived processes that make syscalls as another user.

A real target runs root's calls in-process.  A call with any other credentials goes to the
helper for exactly that (uid, gid, groups): a child forked once, which sets its groups,
gid and uid (real, effective and saved, so it holds no capability), sets umask 0, and then
serves ``(operation, args)`` requests from :data:`difftest.realops.OPS` over a socket pair.
It answers ``(0, value)``, ``(1, (errno, strerror))`` for an ``OSError``, ``(3, (errno,
strerror))`` where it may not enter the directory a long path starts from
(:class:`difftest.realfs.CannotEnter`), and ``(2, text)`` for anything else.  fds opened
in a helper stay there; the target routes later calls on them back to it.

A helper never outlives the tester: it dies with its parent thread (PR_SET_PDEATHSIG), on
EOF, or when its pool is closed (SIGKILL).
"""

from __future__ import annotations

import contextlib
import os
import signal
from multiprocessing.connection import Connection, Pipe
from typing import Any

from difftest import realfs
from difftest.realops import OPS
from model.types import Cred


class HelperError(RuntimeError):
    """A helper failed in a way that is not a syscall error (it died, or a bug)."""


def _serve(conn: Connection) -> None:
    while True:
        try:
            name, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[int, Any] = (0, OPS[name](*args))
        except realfs.CannotEnter as e:
            reply = (3, (e.errno, e.strerror))
        except OSError as e:
            reply = (1, (e.errno, e.strerror))
        except BaseException as e:
            reply = (2, f"{type(e).__name__}: {e}")
        conn.send(reply)


class CredHelper:
    """One helper process acting as ``cred``; with ``cwd``, started in that directory (the
    chdir is made as root, before the credentials change: a directory the user may not
    search can be a working directory that way)."""

    def __init__(self, cred: Cred, cwd: bytes | None = None) -> None:
        self.cred = cred
        self._owner = os.getpid()
        ours, theirs = Pipe(duplex=True)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                realfs.set_pdeathsig(signal.SIGKILL)
                if os.getppid() != self._owner:  # the parent died before prctl
                    os._exit(1)
                keep = theirs.fileno()
                # Drop every inherited fd but stdio and our socket: an fd into a mounted
                # overlay kept open here would make the tester's umount fail with EBUSY.
                os.closerange(3, keep)
                os.closerange(keep + 1, 1 << 20)
                try:
                    if cwd is not None:
                        os.chdir(cwd)
                    os.setgroups(list(cred.groups))
                    os.setresgid(cred.gid, cred.gid, cred.gid)
                    os.setresuid(cred.uid, cred.uid, cred.uid)
                    os.umask(0)
                except OSError as e:
                    theirs.send((2, f"cannot become {cred}: {e}"))
                    os._exit(1)
                theirs.send((0, None))  # ready
                _serve(theirs)
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        self.pid = pid
        self._conn: Connection | None = ours
        try:
            tag, value = ours.recv()
        except BaseException as e:
            self.close()
            if isinstance(e, (EOFError, OSError)):
                raise HelperError(f"helper for {cred} died while starting") from e
            raise
        if tag != 0:
            self.close()
            raise HelperError(str(value))

    @property
    def alive(self) -> bool:
        return self._conn is not None

    def call(self, name: str, *args: Any) -> Any:
        """Run ``OPS[name](*args)`` in the helper; an ``OSError`` there is raised here."""
        conn = self._conn
        if conn is None:
            raise HelperError(f"helper for {self.cred} is closed")
        try:
            conn.send((name, args))
            tag, value = conn.recv()
        except BaseException as e:
            # Interrupted half-way (a signal, a dead helper): the stream is out of step.
            self.close()
            if isinstance(e, (EOFError, OSError)):
                raise HelperError(f"helper for {self.cred} died during {name}") from e
            raise
        if tag == 0:
            return value
        if tag in (1, 3):
            err, msg = value
            error = OSError if tag == 1 else realfs.CannotEnter
            raise error(err, msg, args[0] if args and isinstance(args[0], bytes) else None)
        raise HelperError(f"helper for {self.cred}: {name}{args!r}: {value}")

    def close(self) -> None:
        """Kill the helper (its fds close with it) and reap it."""
        conn, self._conn = self._conn, None
        if conn is None or os.getpid() != self._owner:
            return
        conn.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


class HelperPool:
    """One helper per distinct credentials, forked on first use, kept until :meth:`close`."""

    def __init__(self) -> None:
        self._helpers: dict[tuple[int, int, tuple[int, ...]], CredHelper] = {}

    def get(self, cred: Cred) -> CredHelper:
        key = (cred.uid, cred.gid, tuple(cred.groups))
        helper = self._helpers.get(key)
        if helper is None or not helper.alive:
            helper = self._helpers[key] = CredHelper(cred)
        return helper

    def __len__(self) -> int:
        return sum(1 for h in self._helpers.values() if h.alive)

    def pids(self) -> list[int]:
        """Process ids of the live helpers."""
        return [h.pid for h in self._helpers.values() if h.alive]

    def close(self) -> None:
        helpers, self._helpers = list(self._helpers.values()), {}
        for h in helpers:
            h.close()
