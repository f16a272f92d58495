"""pyfuse3's request loop without an event loop.

ovlfuse's request handlers are coroutines only because pyfuse3 calls them so: none of them
ever suspends (every filesystem call they make is a plain blocking syscall).  Under trio each
request still paid for a lock, a task switch and an epoll registration, about a third of the
daemon's time per request (``docs/profiling.md``).  pyfuse3 reaches its event loop only
through its module attribute ``trio`` (``pyfuse3.asyncio.enable()`` swaps it the same way), so
:func:`run` puts a small stand-in there:

* ``wait_readable(fd)`` is a blocking ``poll()`` on the FUSE device and on a wake-up pipe;
* ``notify_closing(fd)`` (called by ``pyfuse3.terminate()``) marks the fd closed and writes
  to the pipe, so the waiting ``poll()`` returns and the loop ends;
* the read lock is a no-op and the nursery runs its tasks one after the other;
* before the second request is read, the INIT reply has gone out: ``after_init`` runs then;

and drives ``pyfuse3.main(1, 1)`` (one worker) with a single ``send()``.  A handler that did
suspend would end the daemon with an error instead of hanging it.

Signals: the termination signals call ``pyfuse3.terminate()`` (Python runs the handler when
``poll()`` is interrupted), and a signal that arrived before the loop started ends it at once.
An unmount from outside makes the device readable with an error, which ends the loop too.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import types
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import pyfuse3


class ClosedResourceError(Exception):
    """Raised by ``wait_readable`` once the fd is being closed (trio's name)."""


class _NoLock:
    async def __aenter__(self) -> _NoLock:
        return self

    async def __aexit__(self, *exc: object) -> bool:
        return False


class _Task:
    name = "ovlfuse"


class _Nursery:
    """Runs the tasks started in it one after the other, when the block ends."""

    def __init__(self) -> None:
        self.pending: list[Coroutine[Any, Any, Any]] = []

    async def __aenter__(self) -> _Nursery:
        return self

    def start_soon(self, fn: Any, *args: Any, name: str | None = None) -> None:
        self.pending.append(fn(*args))

    async def __aexit__(self, *exc: object) -> bool:
        while self.pending:
            await self.pending.pop(0)
        return False


class _Waiter:
    """``wait_readable``/``notify_closing`` over one poll object and a wake-up pipe."""

    def __init__(self, after_init: Callable[[], None] | None = None) -> None:
        self.after_init = after_init  # called once the first request (INIT) has been served
        self.served = 0
        self.wake_r, self.wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self.poll = select.poll()
        self.poll.register(self.wake_r, select.POLLIN)
        self.registered: set[int] = set()
        self.closing: set[int] = set()

    async def wait_readable(self, fd: int) -> None:
        if self.after_init is not None:  # until the second call: INIT has been answered
            self.served += 1
            if self.served == 2:
                self.after_init()
                self.after_init = None
        if fd not in self.registered:
            self.poll.register(fd, select.POLLIN)
            self.registered.add(fd)
        while fd not in self.closing:
            if any(got == fd for got, _events in self.poll.poll()):
                return
        raise ClosedResourceError()

    def notify_closing(self, fd: int) -> None:
        self.closing.add(fd)
        with contextlib.suppress(BlockingIOError):
            os.write(self.wake_w, b"x")

    def close(self) -> None:
        os.close(self.wake_r)
        os.close(self.wake_w)


def _stand_in(waiter: _Waiter) -> types.ModuleType:
    """The part of the ``trio`` module that pyfuse3 uses."""
    mod = types.ModuleType("ovlfuse_sync_trio")
    mod.lowlevel = types.SimpleNamespace(  # type: ignore[attr-defined]
        current_trio_token=lambda: None,
        current_task=_Task,
        wait_readable=waiter.wait_readable,
        notify_closing=waiter.notify_closing,
    )
    mod.Lock = _NoLock  # type: ignore[attr-defined]
    mod.ClosedResourceError = ClosedResourceError  # type: ignore[attr-defined]
    mod.open_nursery = _Nursery  # type: ignore[attr-defined]
    return mod


def _terminate(_signum: int, _frame: object) -> None:
    pyfuse3.terminate()


def run(
    signals: Iterable[int], pending: bool, after_init: Callable[[], None] | None = None
) -> None:
    """Serve requests until the session ends (``pyfuse3.init`` done).  ``signals`` end it;
    ``pending``: one of them arrived already, so end it before the first request;
    ``after_init`` runs once, when the INIT reply has been sent (the kernel has applied it)."""
    waiter = _Waiter(after_init)
    saved = getattr(pyfuse3, "trio")  # noqa: B009 (not in pyfuse3's stubs)
    setattr(pyfuse3, "trio", _stand_in(waiter))  # noqa: B010
    try:
        for signum in signals:
            signal.signal(signum, _terminate)
        if pending:
            pyfuse3.terminate()
        coro = pyfuse3.main(1, 1)
        try:
            coro.send(None)
        except StopIteration:
            return
        coro.close()
        raise RuntimeError("a request handler suspended; ovlfuse's handlers must not await")
    finally:
        setattr(pyfuse3, "trio", saved)  # noqa: B010
        waiter.close()
