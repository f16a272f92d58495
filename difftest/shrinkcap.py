"""A time cap on each shrink Hypothesis runs, and on all of them by a run's deadline.

Hypothesis caps the whole shrinking phase of a test at five minutes and 500 successful
shrinks, shared by every distinct bug it found; past either, it stops shrinking all of them.
One divergence through a FUSE target can take that long by itself, and a run with a time
budget of a minute would end minutes late.  :func:`shrink_caps` gives each shrink (one
per distinct bug) a deadline of its own, ``min(now + per_shrink, deadline)``, and its own
500 shrinks; a shrink that reaches its cap keeps the smallest example found so far and the
next bug is shrunk.  Past ``deadline`` a bug is not shrunk at all (it is reported as found).

This reaches into Hypothesis's engine (``ConjectureRunner.shrink``,
``finish_shrinking_deadline``, ``shrinks``); where those are missing (another Hypothesis
version), the caps are not applied and Hypothesis's own limits hold.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def shrink_caps(per_shrink: float, deadline: float | None = None) -> Iterator[list[int]]:
    """While the context is open, each Hypothesis shrink stops after ``per_shrink`` seconds
    or at ``deadline`` (``time.monotonic()``), whichever is first.  Yields a list that counts
    the shrinks that reached their cap."""
    capped: list[int] = []
    try:
        from hypothesis.internal.conjecture import engine
    except ImportError:  # pragma: no cover - a Hypothesis without the engine module
        yield capped
        return
    runner = getattr(engine, "ConjectureRunner", None)
    reasons = getattr(engine, "ExitReason", None)
    original = getattr(runner, "shrink", None)
    if runner is None or reasons is None or original is None \
            or not hasattr(reasons, "very_slow_shrinking"):  # fmt: skip
        yield capped
        return
    stop_reasons = {reasons.very_slow_shrinking, reasons.max_shrinks}

    def shrink(self: Any, initial: Any, *args: Any, **kwargs: Any) -> Any:
        seconds = per_shrink
        if deadline is not None:
            seconds = min(seconds, deadline - time.monotonic())
        self.finish_shrinking_deadline = time.perf_counter() + max(seconds, 0.0)
        self.shrinks = 0
        try:
            return original(self, initial, *args, **kwargs)
        except engine.RunIsComplete:
            if getattr(self, "exit_reason", None) not in stop_reasons:
                raise
            self.exit_reason = None
            capped.append(1)
            return initial

    runner.shrink = shrink
    try:
        yield capped
    finally:
        runner.shrink = original
