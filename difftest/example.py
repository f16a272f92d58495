"""One example: starting layers on every target, then operations run and compared one by one.

Used by the Hypothesis state machine and by ``difftest replay`` alike, so a saved case is
rerun by exactly the code that found it.  The model is the expected side of each comparison.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from difftest import ops, stop
from difftest.coverage import Events
from difftest.observe import Observation, diff, observe
from difftest.outcome import CRASHED, Kind, Outcome, compare, from_error, normalise
from difftest.session import TargetSetupError
from model.spec import LayersSpec

if TYPE_CHECKING:
    from difftest.session import Session


@dataclass
class Divergence:
    """The first disagreement of an example."""

    step: int
    target: str
    kind: Kind
    op: ops.Op | None
    expected: str
    actual: str
    details: list[str] = field(default_factory=list)

    def where(self) -> str:
        """What follows "after" in a summary: the step and its operation, the initial state,
        or, for the check of a FUSE target's layers through the kernel when an example ends,
        the last step."""
        if self.op is not None:
            return f"step {self.step} {self.op!r}"
        if self.step == 0:
            return "the initial state"
        return f"the last step ({self.step}), in the kernel's view of the layers"

    def summary(self) -> str:
        where = self.where()
        head = (
            f"{self.kind.value} on {self.target} after {where}: "
            f"expected {self.expected}, got {self.actual}"
        )
        return "\n".join([head, *self.details[:30]])


@dataclass
class StepRecord:
    op: ops.Op
    outcomes: dict[str, Outcome]


@dataclass
class ExampleRecord:
    spec: LayersSpec
    steps: list[StepRecord] = field(default_factory=list)
    divergence: Divergence | None = None
    events: set[str] = field(default_factory=set)


def is_setup_failure(d: Divergence) -> bool:
    """The target could not even mount the starting layers."""
    return d.kind is Kind.TARGET_FAILED and d.op is None and d.step == 0 and not d.details


class DivergenceFound(AssertionError):
    """Raised at the first disagreement; Hypothesis shrinks the example that raised it."""


class Example:
    """The targets of one example and what has been compared so far."""

    def __init__(self, session: Session, spec: LayersSpec) -> None:
        self.session = session
        self.record = ExampleRecord(spec)
        self.events = Events()
        self.next_label = 0
        self.prev_obs: dict[str, Observation] = {}
        self.observed_steps = -1  # how many steps had run when prev_obs was taken
        self.targets: dict[str, Any] = {}
        self.format_checks = True  # FUSE targets' kernel-view check at close
        stop.check()
        session.begin_example(self.record)
        self.handle_maps: dict[str, ops.Handles] = {}
        try:
            self.targets = session.open_targets(spec)
        except TargetSetupError as exc:
            div = Divergence(0, exc.target, Kind.TARGET_FAILED, None, "a mount", str(exc))
            self.record.divergence = div
            self.close()
            raise DivergenceFound(div.summary()) from exc
        self.handle_maps = {name: ops.Handles() for name in self.targets}

    def close(self) -> None:
        """Tear the targets down; first, if all agreed so far, let FUSE targets check that the
        kernel overlay shows the same view of the layers they wrote."""
        found: Divergence | None = None
        if self.record.divergence is None and self.format_checks:
            for name, target in self.targets.items():
                check = getattr(target, "format_check", None)
                if check is None:
                    continue
                # the last observation only if it is of the current state (a step stopped
                # between its operation and its observation left an older one)
                current = self.observed_steps == len(self.record.steps)
                with self._deadline(target):
                    lines = check(self.prev_obs.get(name) if current else None)
                if lines:
                    found = self._known_filter(Divergence(
                        len(self.record.steps), name, Kind.STATE_DIFFERS, None,
                        "the kernel's view of the same layers", "a different view", lines,
                    ))  # fmt: skip
                    if found is not None:
                        self.record.divergence = found
                        break
        try:
            self.session.close_targets(self.targets)
        finally:
            self.record.events = self.events.seen
            self.session.end_example(self.record)
        if found is not None:
            raise DivergenceFound(found.summary())

    @staticmethod
    def _deadline(target: Any) -> contextlib.AbstractContextManager[None]:
        deadline = getattr(target, "deadline", None)
        return deadline() if deadline is not None else contextlib.nullcontext()

    # ---- one step ---------------------------------------------------------------------------

    def step(self, op: ops.Op) -> Outcome:
        """Run ``op`` everywhere, compare results, then compare states; returns the model's."""
        stop.check()
        pre = self.prev_obs.get("model")
        outcomes = {name: self._run_on(name, op) for name in self.targets}
        self.record.steps.append(StepRecord(op, outcomes))
        self.session.count_step()
        expected = outcomes["model"]
        label = None
        if isinstance(op, ops.Open) and not expected.is_error:
            label = self.next_label
            self.next_label += 1
        for name, actual in outcomes.items():
            kind = compare(expected, actual) if name != "model" else None
            if kind is not None:
                n = len(self.record.steps)
                self.diverge(Divergence(n, name, kind, op, str(expected), str(actual)))
        self.check_state(op)
        self.events.step(op, expected, pre, self.prev_obs.get("model"), label)
        return expected

    def _run_on(self, name: str, op: ops.Op) -> Outcome:
        target, handles = self.targets[name], self.handle_maps[name]
        if isinstance(op, ops.Remount):
            for fd in list(handles.by_label.values()):
                with contextlib.suppress(Exception):  # closing before remount is best effort
                    target.close(fd)
            handles.by_label.clear()
        try:
            with self._deadline(target):
                raw = op.run(target, handles)
        except Exception as exc:  # every failure becomes an outcome
            try:
                return from_error(exc)
            except Exception as bad:
                return Outcome(value=f"<crash {type(bad).__name__}: {bad}>", errnos=CRASHED)
        if isinstance(op, ops.Open):
            handles.by_label[self.next_label] = raw
        elif isinstance(op, ops.Close):
            handles.by_label.pop(op.h, None)
        return Outcome(value=normalise(op.syscall, raw))

    def check_state(self, op: ops.Op | None) -> None:
        """Compare every target's observable state with the model's."""
        stop.check()
        obs: dict[str, Observation] = {}
        n = len(self.record.steps)
        for name, target in self.targets.items():
            if name != "model":  # the model is first: real targets hear if it changed
                _tell_unchanged(target, obs.get("model"), self.prev_obs.get("model"))
            try:
                with self._deadline(target):
                    obs[name] = observe(target)
            except Exception as exc:
                why = f"{type(exc).__name__}: {exc}" + _died(target)
                self.diverge(
                    Divergence(n, name, Kind.TARGET_FAILED, op, "an observable state", why)
                )
        for name, actual in obs.items():
            if name == "model":
                continue
            lines = diff(obs["model"], actual, self.prev_obs.get("model"), self.prev_obs.get(name))
            if lines:
                got = f"{len(lines)} difference(s)"
                self.diverge(
                    Divergence(n, name, Kind.STATE_DIFFERS, op, "the same state", got, lines)
                )
        self.prev_obs = obs
        self.observed_steps = n

    def diverge(self, d: Divergence) -> None:
        found = self._known_filter(d)
        if found is None:
            return  # survey mode: already reported, keep going
        self.record.divergence = found
        raise DivergenceFound(found.summary())

    def _known_filter(self, d: Divergence) -> Divergence | None:
        """In survey mode, ``d`` less what is already known (None: nothing new)."""
        known = self.session.known
        return d if known is None else known.unknown_part(d)


def _tell_unchanged(target: Any, now: Observation | None, before: Observation | None) -> None:
    tell = getattr(target, "expect_unchanged", None)
    if tell is not None:
        tell(now is not None and before is not None and now.merged == before.merged
             and now.ino == before.ino and now.mtime == before.mtime)  # fmt: skip


def _died(target: Any) -> str:
    """What a FUSE target knows about its daemon's death or a hang, if anything."""
    died = getattr(target, "died", "")
    return f" ({died})" if died else ""


def run_program(session: Session, spec: LayersSpec, program: list[ops.Op]) -> ExampleRecord:
    """Run a fixed sequence (a saved case, a docs example) and return its record."""
    ex = Example(session, spec)
    try:
        ex.check_state(None)
        for op in program:
            ex.step(op)
    except DivergenceFound:
        pass
    finally:
        ex.close()
    return ex.record
