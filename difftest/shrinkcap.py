"""Time caps on the shrinks Hypothesis runs: each shrink, all of a batch, and a run's deadline.

Hypothesis caps the whole shrinking phase of a test at five minutes and 500 successful
shrinks, shared by every distinct bug it found; past either, it stops shrinking all of them.
One divergence through a FUSE target can take that long by itself, a run with a time budget
of a minute would end minutes late, and a gate that met ten distinct divergences would spend
ten times as long.  A :class:`ShrinkBudget` gives each shrink (one per distinct bug) a
deadline of its own: at most ``per_shrink`` seconds, never past the run's deadline, and never
past ``total`` seconds after the first shrink of the batch (the replay pass of
:mod:`difftest.minimise` draws on the same budget).  What is left of the batch is shared
evenly by the bugs still waiting for their shrink: Hypothesis shrinks the smallest first,
and without the share a batch of ten would spend its time on the first few (quick to
shrink anyway) and report the long, deep ones as they were found.  A shrink that reaches
its cap keeps the smallest example found so far and the next bug is shrunk.

The replay pass that follows (step deletion, one replay per step) is cheap next to
Hypothesis's shrink, and it is what turns a capped shrink's long case into a short one; so it
always gets at least ``replay_floor`` seconds, even from a spent batch, though never past the
run's deadline (:meth:`ShrinkBudget.replay_pass_seconds`).

:func:`shrink_caps` reaches into Hypothesis's engine (``ConjectureRunner.shrink``,
``finish_shrinking_deadline``, ``shrinks``); where those are missing (another Hypothesis
version), the caps are not applied and Hypothesis's own limits hold.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class ShrinkBudget:
    """The time shrinking may take (see the module docstring); ``capped`` counts the
    shrinks that reached their cap."""

    per_shrink: float
    deadline: float | None = None  # time.monotonic() past which nothing is shrunk
    total: float | None = None  # seconds for the whole batch, from its first shrink
    capped: int = 0
    started: float | None = None
    replay_floor: float = 15.0  # seconds the replay pass gets even from a spent batch

    def seconds_left(self, pending: int = 1) -> float:
        """How long the next shrink (or replay pass) may take, when *pending* bugs (this one
        included) still wait for theirs; starts the batch's clock."""
        now = time.monotonic()
        if self.started is None:
            self.started = now
        ends = []
        if self.deadline is not None:
            ends.append(self.deadline)
        if self.total is not None:
            ends.append(self.started + self.total)
        if not ends:
            return self.per_shrink
        return max(0.0, min(self.per_shrink, (min(ends) - now) / max(1, pending)))

    def replay_pass_seconds(self, pending: int = 1) -> float:
        """How long the replay pass of one bug may take: its share, at least
        ``replay_floor`` (a spent batch does not leave a found case unshrunk), and never past
        the run's deadline."""
        share = self.seconds_left(pending)
        floor = min(self.per_shrink, self.replay_floor)
        if self.deadline is not None:
            floor = min(floor, max(0.0, self.deadline - time.monotonic()))
        return max(share, floor)


def _pending(runner: Any) -> int:
    """How many distinct bugs the engine has found and not yet shrunk (this one included)."""
    found = getattr(runner, "interesting_test_cases", None)
    done = getattr(runner, "shrunk_test_cases", None)
    if found is None or done is None:
        return 1
    return max(1, len(found) - len(done))


@contextlib.contextmanager
def shrink_caps(budget: ShrinkBudget) -> Iterator[ShrinkBudget]:
    """While the context is open, each Hypothesis shrink stops when ``budget`` says."""
    try:
        from hypothesis.internal.conjecture import engine
    except ImportError:  # pragma: no cover - a Hypothesis without the engine module
        yield budget
        return
    runner = getattr(engine, "ConjectureRunner", None)
    reasons = getattr(engine, "ExitReason", None)
    original = getattr(runner, "shrink", None)
    if runner is None or reasons is None or original is None \
            or not hasattr(reasons, "very_slow_shrinking"):  # fmt: skip
        yield budget
        return
    stop_reasons = {reasons.very_slow_shrinking, reasons.max_shrinks}

    def shrink(self: Any, initial: Any, *args: Any, **kwargs: Any) -> Any:
        self.finish_shrinking_deadline = time.perf_counter() + budget.seconds_left(_pending(self))
        self.shrinks = 0
        try:
            return original(self, initial, *args, **kwargs)
        except engine.RunIsComplete:
            if getattr(self, "exit_reason", None) not in stop_reasons:
                raise
            self.exit_reason = None
            budget.capped += 1
            return initial

    runner.shrink = shrink
    try:
        yield budget
    finally:
        runner.shrink = original
