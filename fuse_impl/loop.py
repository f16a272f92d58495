"""pyfuse3's request loop on a small scheduler of ovlfuse's own, with work off the loop.

pyfuse3 reaches its event loop only through its module attribute ``trio``
(``pyfuse3.asyncio.enable()`` swaps it the same way), so :func:`run` puts a stand-in there
and drives ``pyfuse3.main`` itself.  A full trio cost about a third of the daemon's time per
request (a lock, a task switch and an epoll registration each, ``docs/profiling.md``); the
stand-in does only what ovlfuse needs:

* tasks are coroutines stepped one after the other, each in a context of its own (context
  variables are per task, as in trio); a task gives way only at a *trap*:
  waiting for the FUSE device to become readable, for a lock, for its nursery's other tasks,
  or for work handed to a thread with :func:`off_loop`;
* when no task can run, one ``poll()`` waits on the FUSE device (if a task waits for it) and
  on a wake-up pipe that threads and ``notify_closing`` write to; in the common case (one
  worker waiting for the next request, nothing else at work) the worker polls itself,
  without a trap;
* pyfuse3 starts another worker task whenever all of its workers are busy (up to
  ``MAX_WORKERS``); such a worker waits as a spare until a request waits for a thread: one
  worker serves everything without a switch until then, and the spare serves the next
  requests while the first one waits.

Handlers run on the loop's thread and never suspend, except around :func:`off_loop`: that is
where a long request (a copy-up's data) lets the others through.  Everything a handler does
between two traps is therefore atomic with respect to the other requests.

Signals: the termination signals call ``pyfuse3.terminate()`` (Python runs the handler when
``poll()`` is interrupted), and a signal that arrived before the loop started ends it at once.
An unmount from outside makes the device readable with an error, which ends the loop too.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import contextvars
import os
import select
import signal
import threading
import types
from collections.abc import Callable, Coroutine, Generator, Iterable
from typing import Any, TypeVar

import pyfuse3

T = TypeVar("T")
MAX_WORKERS = 16  # requests in progress at once (most of them waiting for a thread)
THREADS = 4  # threads for off_loop work


class ClosedResourceError(Exception):
    """Raised by ``wait_readable`` once the fd is being closed (trio's name)."""


class _Trap:
    """What a task waits for; the scheduler resumes it with the value or exception."""

    __slots__ = ("arg", "kind")

    def __init__(self, kind: str, arg: Any) -> None:
        self.kind = kind
        self.arg = arg

    def __await__(self) -> Generator[_Trap, Any, Any]:
        return (yield self)


Task = Coroutine[Any, Any, Any]


class _Scheduler:
    """Runs tasks until the first one (pyfuse3's main) ends; see the module docstring."""

    def __init__(self, after_init: Callable[[], None] | None) -> None:
        self.after_init = after_init  # called once the first request (INIT) has been served
        self.reads = 0
        self.ready: collections.deque[tuple[Task, Any, BaseException | None]] = (
            collections.deque())
        self.fd_waiters: dict[int, Task] = {}
        self.closing: set[int] = set()
        self.threads = 0  # off_loop calls in flight
        self.done: collections.deque[tuple[Task, Any, BaseException | None]] = (
            collections.deque())  # filled by threads
        self.pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.wake_r, self.wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self.poll = select.poll()
        self.poll.register(self.wake_r, select.POLLIN)
        self.polled: set[int] = set()
        self.nursery_of: dict[Task, _Nursery] = {}
        self.contexts: dict[Task, contextvars.Context] = {}  # each task's own, as in trio
        self.spares: collections.deque[Task] = collections.deque()  # workers not yet needed
        self.inline_poll = select.poll()  # wait_inline's: the wake-up pipe and the FUSE fd
        self.inline_poll.register(self.wake_r, select.POLLIN)
        self.inline_fd = -1

    # -- what tasks ask for ---------------------------------------------------------------------

    def spawn(self, coro: Task, nursery: _Nursery | None = None) -> None:
        """A new task; pyfuse3's extra workers wait as spares (see :meth:`release_spare`)."""
        self.contexts[coro] = contextvars.copy_context()
        spare = False
        if nursery is not None:
            spare = nursery.running > 0
            nursery.running += 1
            self.nursery_of[coro] = nursery
        if spare:
            self.spares.append(coro)
        else:
            self.ready.append((coro, None, None))

    def release_spare(self) -> None:
        """pyfuse3 starts another worker whenever its workers are all busy, i.e. for every
        request while one worker serves them in turn.  Such a worker only runs once a task
        waits for work off the loop (or at the end, to finish): until then one worker
        serves every request with no switch at all."""
        if self.spares:
            self.ready.append((self.spares.popleft(), None, None))

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self.wake_w, b"x")

    def _counted_read(self) -> None:
        self.reads += 1
        if self.reads == 2 and self.after_init is not None:  # INIT has been answered
            self.after_init()
            self.after_init = None

    def wait_inline(self, fd: int) -> bool:
        """The common case: no other task can run and no thread is at work, so the calling
        task may block in ``poll()`` itself (no trap, no switch).  True once *fd* is
        readable; False if the task must trap instead (a wake-up came, or others wait)."""
        if self.ready or self.fd_waiters or self.threads or self.done or fd in self.closing:
            return False
        if self.inline_fd != fd:
            self.inline_poll.register(fd, select.POLLIN)
            self.inline_fd = fd
        for got, _events in self.inline_poll.poll():
            if got == self.wake_r:
                return False  # the trap path drains it and looks at what came
        self._counted_read()
        return True

    def _trap(self, task: Task, trap: _Trap) -> None:
        if trap.kind == "readable":
            fd = trap.arg
            if fd in self.closing:
                self.ready.append((task, None, ClosedResourceError()))
                return
            self._counted_read()
            self.fd_waiters[fd] = task
        elif trap.kind in ("lock", "event"):
            trap.arg.waiters.append(task)
            if trap.kind == "event":
                self.release_spare()
        elif trap.kind == "join":
            trap.arg.joiner = task
        elif trap.kind == "thread":
            fn, args = trap.arg
            self._submit(task, fn, args)
            self.release_spare()
        else:
            raise RuntimeError(f"unknown trap {trap.kind}")

    def _submit(self, task: Task, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if self.pool is None:
            self.pool = concurrent.futures.ThreadPoolExecutor(THREADS, "ovlfuse-off-loop")
        self.threads += 1

        def finished(future: concurrent.futures.Future[Any]) -> None:
            exc = future.exception()
            self.done.append((task, None if exc else future.result(), exc))
            self.wake()

        self.pool.submit(fn, *args).add_done_callback(finished)

    # -- the loop -------------------------------------------------------------------------------

    def run(self, main: Task) -> None:
        self.spawn(main)
        try:
            while True:
                while self.ready:
                    task, value, exc = self.ready.popleft()
                    if self._step(task, value, exc) and task is main:
                        return
                if not self.fd_waiters and not self.threads:
                    if not self.spares:
                        raise RuntimeError("every task waits for another: the loop is stuck")
                    self.release_spare()  # the others are done: it ends at once
                    continue
                self._wait()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)

    def _step(self, task: Task, value: Any, exc: BaseException | None) -> bool:
        """Run *task* to its next trap; True when it has ended."""
        ctx = self.contexts[task]
        try:
            trap = ctx.run(task.throw, exc) if exc is not None else ctx.run(task.send, value)
        except StopIteration:
            self._ended(task)
            return True
        if not isinstance(trap, _Trap):
            raise RuntimeError(f"a task waited for something ovlfuse's loop does not know: "
                               f"{trap!r}")  # fmt: skip
        self._trap(task, trap)
        return False

    def _ended(self, task: Task) -> None:
        del self.contexts[task]
        nursery = self.nursery_of.pop(task, None)
        if nursery is None:
            return
        nursery.running -= 1
        if nursery.running == 0 and nursery.joiner is not None:
            self.ready.append((nursery.joiner, None, None))
            nursery.joiner = None

    def _wait(self) -> None:
        for fd in self.fd_waiters.keys() - self.polled:
            self.poll.register(fd, select.POLLIN)
            self.polled.add(fd)
        for fd in self.polled - self.fd_waiters.keys():
            self.poll.unregister(fd)
            self.polled.discard(fd)
        for fd, _events in self.poll.poll():
            if fd == self.wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(self.wake_r, 512)
            elif fd in self.fd_waiters:
                self.ready.append((self.fd_waiters.pop(fd), None, None))
        while self.done:
            self.threads -= 1
            self.ready.append(self.done.popleft())
        for fd in self.closing & self.fd_waiters.keys():
            self.ready.append((self.fd_waiters.pop(fd), None, ClosedResourceError()))

    def notify_closing(self, fd: int) -> None:
        self.closing.add(fd)
        while self.spares:  # they see the session end and finish
            self.release_spare()
        self.wake()

    def close(self) -> None:
        os.close(self.wake_r)
        os.close(self.wake_w)


_current: _Scheduler | None = None


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a thread while the loop serves other requests; called directly when
    no loop runs (tests, the mount server).  *fn* must touch nothing the loop's handlers
    use without a lock: ovlfuse hands over plain data copies only."""
    if _current is None:
        return fn(*args)
    result: T = await _Trap("thread", (fn, args))
    return result


class Lock:
    """A lock between tasks of the loop (FIFO); without a loop it is never contended."""

    def __init__(self) -> None:
        self.held = False
        self.waiters: collections.deque[Task] = collections.deque()

    async def __aenter__(self) -> Lock:
        if self.held:
            await _Trap("lock", self)  # resumed holding it
        self.held = True
        return self

    async def __aexit__(self, *exc: object) -> bool:
        if self.waiters and _current is not None:
            _current.ready.append((self.waiters.popleft(), None, None))  # hand it over
        else:
            self.held = False
        return False


class Event:
    """Set once; tasks that wait for it before then resume when it is set."""

    def __init__(self) -> None:
        self.is_set = False
        self.waiters: list[Task] = []

    async def wait(self) -> None:
        if not self.is_set:
            await _Trap("event", self)

    def set(self) -> None:
        self.is_set = True
        if _current is not None:
            _current.ready.extend((task, None, None) for task in self.waiters)
        self.waiters.clear()


class _Nursery:
    """Runs the tasks started in it alongside; its block ends when all of them have."""

    def __init__(self) -> None:
        self.running = 0
        self.joiner: Task | None = None

    async def __aenter__(self) -> _Nursery:
        return self

    def start_soon(self, fn: Callable[..., Task], *args: Any, name: str | None = None) -> None:
        assert _current is not None
        _current.spawn(fn(*args), self)

    async def __aexit__(self, *exc: object) -> bool:
        if self.running:
            await _Trap("join", self)
        return False


class _Task:
    name = "ovlfuse"


async def _wait_readable(fd: int) -> None:
    assert _current is not None
    if not _current.wait_inline(fd):
        await _Trap("readable", fd)


def _stand_in(sched: _Scheduler) -> types.ModuleType:
    """The part of the ``trio`` module that pyfuse3 uses."""
    mod = types.ModuleType("ovlfuse_loop_trio")
    mod.lowlevel = types.SimpleNamespace(  # type: ignore[attr-defined]
        current_trio_token=lambda: None,
        current_task=_Task,
        wait_readable=_wait_readable,
        notify_closing=sched.notify_closing,
    )
    mod.Lock = Lock  # type: ignore[attr-defined]
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
    global _current
    assert threading.current_thread() is threading.main_thread()  # signals reach this thread
    sched = _Scheduler(after_init)
    saved = getattr(pyfuse3, "trio")  # noqa: B009 (not in pyfuse3's stubs)
    setattr(pyfuse3, "trio", _stand_in(sched))  # noqa: B010
    _current = sched
    try:
        for signum in signals:
            signal.signal(signum, _terminate)
        if pending:
            pyfuse3.terminate()
        sched.run(pyfuse3.main(1, MAX_WORKERS))
    finally:
        _current = None
        setattr(pyfuse3, "trio", saved)  # noqa: B010
        sched.close()
