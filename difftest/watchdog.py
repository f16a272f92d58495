"""One watchdog thread per process: calls a function when a guarded call overruns its time.

A FUSE target guards every call into its mount (a hung daemon would hang the tester).  A
``threading.Timer`` per call costs a thread start, which on a CPU shared with the FUSE
daemon was a tenth of the tester's time; here one thread sleeps until the earliest deadline
and is woken only when it was idle, so guarding a call costs two lock operations.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator


class Watchdog:
    """Runs ``on_expiry`` of the guard in force when its deadline passes (at most once)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: tuple[float, Callable[[], None]] | None = None
        self._idle = True
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def guard(self, seconds: float, on_expiry: Callable[[], None]) -> Iterator[None]:
        """Call ``on_expiry`` (from the watchdog thread) if the body lasts over ``seconds``."""
        with self._cond:
            self._ensure_thread()
            outer = self._armed
            self._arm((time.monotonic() + seconds, on_expiry))
        try:
            yield
        finally:
            with self._cond:
                self._arm(outer)

    def _arm(self, armed: tuple[float, Callable[[], None]] | None) -> None:
        self._armed = armed
        if armed is not None and self._idle:
            self._cond.notify()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="difftest-watchdog", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with self._cond:
            while True:
                armed = self._armed
                if armed is None:
                    self._idle = True
                    self._cond.wait()
                    self._idle = False
                    continue
                remaining = armed[0] - time.monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                self._armed = None
                self._cond.release()  # the callback may take a while (it aborts a connection)
                try:
                    armed[1]()
                finally:
                    self._cond.acquire()


WATCHDOG = Watchdog()
