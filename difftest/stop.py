"""Stopping a run on SIGINT/SIGTERM at a safe point.

An exception raised by a signal handler can land anywhere: inside a system call on a FUSE
mount (the kernel then interrupts the request, and a half-read directory looks like a
divergence), or between writing a request to the ovlfuse mount server and reading its reply.
So during a run the handlers only record the signal, and the tester calls :func:`check` where
stopping is harmless: before each example, each step and each observation.  ``check`` raises
:class:`~difftest.scratch.Terminated`, a ``KeyboardInterrupt``, which Hypothesis passes
through at once, and every mount is taken down on the way out.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

from difftest.scratch import Terminated

_requested: list[int] = []
_depth = 0


def _record(signum: int, frame: FrameType | None) -> None:
    _requested.append(signum)


def requested() -> bool:
    return bool(_requested)


def check() -> None:
    """Raise ``Terminated`` if SIGINT or SIGTERM arrived since the run began."""
    if _requested:
        raise Terminated(f"signal {_requested[0]}")


@contextlib.contextmanager
def signals_as_flags() -> Iterator[None]:
    """Within the block SIGINT and SIGTERM only set the flag; an ignored SIGINT (a background
    job of a shell without job control) stays ignored."""
    global _depth
    if _depth == 0:
        _requested.clear()  # a new run; a nested block keeps what already arrived
    _depth += 1
    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            old[sig] = signal.signal(sig, _record)
    try:
        yield
    finally:
        _depth -= 1
        for sig, handler in old.items():
            signal.signal(sig, handler)
