"""One example: starting layers on every target, then operations run and compared one by one.

Used by the Hypothesis state machine and by ``difftest replay`` alike, so a saved case is
rerun by exactly the code that found it.  The model is the expected side of each comparison.
Every divergence carries the keys of :mod:`difftest.signature`, computed here where the
model's view before and after the step is at hand, and is raised as the exception type of
its signature.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
import zlib
from typing import TYPE_CHECKING, Any

from difftest import crash, online, ops, stop
from difftest.coverage import Events
from difftest.divergence import (
    Divergence,
    DivergenceFound,
    ExampleRecord,
    StepRecord,
    TargetSetupError,
    divergence_error,
    is_setup_failure,
)
from difftest.observe import (
    TICK_NS,
    Difference,
    Observation,
    differences,
    lines_of,
)
from difftest.observing import observe
from difftest.outcome import (
    CRASHED,
    DAEMON_GONE,
    Kind,
    Outcome,
    compare,
    from_error,
    normalise,
)
from difftest.probe import probe, probe_differences, probe_paths
from difftest.signature import (
    Context,
    failure_key,
    lower_names,
    result_key,
    state_key,
)
from model.spec import LayersSpec

if TYPE_CHECKING:
    from difftest.session import Session

__all__ = [
    "Divergence",
    "DivergenceFound",
    "Example",
    "ExampleRecord",
    "StepRecord",
    "is_setup_failure",
    "run_program",
]

KERNEL_VIEW = "kernel-view"  # the op label of the end-of-example check of FUSE layers
PROBES = os.environ.get("DIFFTEST_PROBES") != "0"  # 0: no lookups before the walk (for A/B)


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
        self.lowers = lower_names(spec)
        self.seed = zlib.crc32(repr(spec).encode())  # the lookups' order (difftest.probe)
        self.step_started_ns = 0  # time.time_ns() when the last step began
        self.ended = False  # the crash lane ends an example after its crash
        # a layer changed underneath since the last mount (model.online): results are
        # compared as allowed-outcome sets, states not at all, until the next remount;
        # the targets that gave another allowed result meanwhile (their layers may now
        # differ from the model's: the example ends at the remount)
        self.online = False
        self.online_deviated: set[str] = set()
        # survey mode: lines of known differences met in this example, per target; a state
        # difference that persists into later steps is still the known one
        self.known_lines: dict[str, set[str]] = {}
        stop.check()
        session.begin_example(self.record)
        self.handle_maps: dict[str, ops.Handles] = {}
        try:
            self.targets = session.open_targets(spec)
        except TargetSetupError as exc:
            div = Divergence(0, exc.target, Kind.TARGET_FAILED, None, "a mount", str(exc),
                             keys=frozenset({f"failed|mount|{exc.target}"}))
            self.record.divergence = div
            self.close()
            raise divergence_error(div) from exc
        self.handle_maps = {name: ops.Handles() for name in self.targets}

    def close(self) -> None:
        """Tear the targets down; first, if all agreed so far, let FUSE targets check that the
        kernel overlay shows the same view of the layers they wrote."""
        found: Divergence | None = None
        checks = [(name, target.format_check) for name, target in self.targets.items()
                  if hasattr(target, "format_check")]
        fresh = (self._model_remounted()
                 if self.record.divergence is None and self.format_checks and checks else None)
        if fresh is not None:
            for name, check in checks:
                with self._deadline(self.targets[name]):
                    diffs = check(fresh)
                found = self._state_divergence(name, None, diffs, KERNEL_VIEW,
                                               "the model's view after a remount",
                                               None, fresh)
                if found is not None:
                    self.record.divergence = found
                    break
        try:
            self.session.close_targets(self.targets)
        finally:
            self.record.events = self.events.seen
            self.session.end_example(self.record)
        if found is not None:
            raise divergence_error(found)

    def _model_remounted(self) -> Observation | None:
        """The model's view after a remount of its layers: what a fresh mount of the layers
        the FUSE targets wrote must show (their live view may differ from it by what only
        memory holds: dentries that remember a lower, cached impure lists).  None if the
        model refuses the remount."""
        if self._run_on("model", ops.Remount()).is_error:
            return None
        return observe(self.targets["model"])

    @staticmethod
    def _deadline(target: Any) -> contextlib.AbstractContextManager[None]:
        deadline = getattr(target, "deadline", None)
        return deadline() if deadline is not None else contextlib.nullcontext()

    # ---- one step ---------------------------------------------------------------------------

    def step(self, op: ops.Op) -> Outcome:
        """Run ``op`` everywhere, compare results, then compare states; returns the model's."""
        stop.check()
        pre = self.prev_obs.get("model")
        self.step_started_ns = time.time_ns()
        armed = [name for name, t in self.targets.items() if getattr(t, "armed", False)]
        model_before = copy.deepcopy(self.targets["model"]) if armed else None
        outcomes = {name: self._run_on(name, op) for name in self.targets}
        self.record.steps.append(StepRecord(op, outcomes))
        self.session.count_step()
        expected = outcomes["model"]
        label = None
        if isinstance(op, ops.Open) and not expected.is_error:
            label = self.next_label
            self.next_label += 1
        crashed = [name for name in armed
                   if self.targets[name].crashed(wait=bool(outcomes[name].errnos & DAEMON_GONE))]
        loose, resync = self._online_phase(op, expected)
        self._compare_results(op, outcomes, crashed, loose, pre)
        if crashed:
            assert model_before is not None
            self._after_crash(op, crashed, model_before)
            return expected
        if resync and self.online_deviated:
            # a target took another allowed path: its layers need not be the model's; the
            # view after this remount is compared only where every result agreed
            self.events.seen.add("online-deviated")
            self.ended = True
            self.format_checks = False
            return expected
        if resync:
            self.events.seen.add("online-resynced")
        self.check_state(op)
        self.events.step(op, expected, pre, self.prev_obs.get("model"), label)
        return expected

    def _online_phase(self, op: ops.Op, expected: Outcome) -> tuple[bool, bool]:
        """(compare this step's results loosely, this remount ends an online phase), and the
        phase updated: a layer changed underneath starts one, a remount ends it."""
        loose = self.online and not isinstance(op, ops.Remount)
        resync = self.online and isinstance(op, ops.Remount)
        if isinstance(op, ops.LayerChange) and not expected.is_error:
            self.online = True
        elif isinstance(op, ops.Remount):
            self.online = False
        return loose, resync

    def _compare_results(self, op: ops.Op, outcomes: dict[str, Outcome], crashed: list[str],
                         loose: bool, pre: Observation | None) -> None:
        """Each target's result against the model's (``loose``: within model.online's
        allowed range, each difference counted); a target whose daemon the crash lane
        killed is compared by what it left instead (:meth:`_after_crash`)."""
        expected = outcomes["model"]
        for name, actual in outcomes.items():
            if name == "model" or name in crashed:
                continue
            kind = compare(expected, actual)
            if kind is not None and loose and online.allowed_outcome(actual):
                self.session.note_online(name, op, expected, actual)
                self.online_deviated.add(name)
                continue
            if kind is not None:
                n = len(self.record.steps)
                key = result_key(kind, op, expected, actual, self._context(pre, None))
                self.diverge(Divergence(n, name, kind, op, str(expected), str(actual),
                                        keys=frozenset({key})))

    def _after_crash(self, op: ops.Op | None, names: list[str], model_before: Any) -> None:
        """The daemon of each target in ``names`` died inside ``op`` (``model_before``: the
        model before it; None: after it, in the walk): mount again, and the view must be one
        ``op`` may leave (:mod:`difftest.crash`).  The model becomes the state that matched,
        and the example ends."""
        label = getattr(op, "h", None) if op is not None and op.uses_handle else None
        fd = self.handle_maps["model"].by_label.get(label) if label is not None else None
        states = crash.allowed_states(model_before, self.targets["model"], op, fd)
        self.ended = True
        self.events.seen.add("crash")
        matched = states[0]
        for name in names:
            target = self.targets[name]
            self.handle_maps[name].by_label.clear()
            with self._deadline(target):
                left = target.recover()
                actual = observe(target)
            state, diffs = crash.match(states, actual)
            diffs += crash.work_left(left)
            found = self._state_divergence(name, op, diffs, crash.KILL_POINT,
                                           "a state the interrupted operation may leave",
                                           self.prev_obs.get("model"), states[0].view)
            if found is not None:
                self.record.divergence = found
                raise divergence_error(found)
            matched = state or matched
        self.targets["model"] = matched.model
        self.handle_maps["model"].by_label.clear()
        self.events.seen.add(f"crash-left-{matched.kind}")

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
        if self.online:
            self._observe_only(op, n)
            return
        lookups = self._probe(op, n)
        crashed = []
        for name, target in self.targets.items():
            if name != "model":  # the model is first: real targets hear if it changed
                _tell_unchanged(target, obs.get("model"), self.prev_obs.get("model"))
            try:
                with self._deadline(target):
                    obs[name] = observe(target)
            except Exception as exc:
                if getattr(target, "armed", False) and target.crashed(wait=True):
                    crashed.append(name)  # killed by a lookup's write (difftest.crash)
                    continue
                why = f"{type(exc).__name__}: {exc}" + _died(target)
                self.diverge(Divergence(n, name, Kind.TARGET_FAILED, op, "an observable state",
                                        why, keys=frozenset({failure_key(op, exc)})))
        if crashed:
            self._after_crash(op, crashed, None)
            return
        for name, actual in obs.items():
            if name == "model":
                continue
            diffs = differences(obs["model"], actual, self.prev_obs.get("model"),
                                self.prev_obs.get(name), self.step_started_ns - 2 * TICK_NS)
            if name in lookups:
                diffs = probe_differences(lookups["model"], lookups[name],
                                          self.prev_obs.get("model")) + diffs
            found = self._state_divergence(name, op, diffs, None, "the same state",
                                           self.prev_obs.get("model"), obs["model"])
            if found is not None:
                self.record.divergence = found
                raise divergence_error(found)
        self.prev_obs = obs
        self.observed_steps = n

    def _observe_only(self, op: ops.Op | None, n: int) -> None:
        """While a layer is changed underneath: each target's state must still be walkable
        (no crash, no hang), and is not compared; the next comparison, after the remount
        that ends this, has no previous state to measure changes against."""
        for name, target in self.targets.items():
            try:
                with self._deadline(target):
                    observe(target)
            except Exception as exc:
                why = f"{type(exc).__name__}: {exc}" + _died(target)
                self.diverge(Divergence(n, name, Kind.TARGET_FAILED, op, "an observable state",
                                        why, keys=frozenset({failure_key(op, exc)})))
        self.prev_obs = {}

    def _probe(self, op: ops.Op | None, n: int) -> dict[str, dict[bytes, Outcome]]:
        """Each target's answers to the lookups of :mod:`difftest.probe` (taken before any
        walk); a target whose lookups fail outright is left to its walk to report."""
        if not PROBES:
            return {}
        before = self.prev_obs.get("model")
        paths = probe_paths(op, before, self._context(None, None).handle_paths, self.seed, n)
        out: dict[str, dict[bytes, Outcome]] = {}
        for name, target in self.targets.items():
            try:
                with self._deadline(target):
                    out[name] = probe(target, paths)
            except Exception:
                if name == "model":
                    return {}
        return out

    def _context(self, before: Observation | None, after: Observation | None) -> Context:
        paths = {label: path for label, (path, _) in self.events.opened.items()}
        return Context(self.lowers, before, after, paths)

    def _state_divergence(self, name: str, op: ops.Op | None, diffs: list[Difference],
                          label: str | None, expected: str, before: Observation | None,
                          after: Observation | None) -> Divergence | None:
        """The divergence of ``diffs`` on target ``name`` (None when there is none, or, in
        survey mode, when every difference is known or a known one that persists)."""
        if not diffs:
            return None
        ctx = self._context(before, after)
        keyed = [(d, state_key(op, d, ctx, label)) for d in diffs]
        known = self.session.known
        if known is not None:
            seen = self.known_lines.setdefault(name, set())
            fresh = []
            for d, key in keyed:
                if d.line in seen or known.is_known(name, key):
                    seen.add(d.line)
                else:
                    fresh.append((d, key))
            keyed = fresh
            if not keyed:
                return None
        lines = lines_of([d for d, _ in keyed])
        got = f"{len(lines)} difference(s)" if known is None else f"{len(lines)} new difference(s)"
        return Divergence(len(self.record.steps), name, Kind.STATE_DIFFERS, op, expected, got,
                          lines, frozenset(k for _, k in keyed))

    def diverge(self, d: Divergence) -> None:
        """Record ``d`` and stop the example (in survey mode, unless ``d`` is known)."""
        known = self.session.known
        if known is not None and known.is_known(*d.signature):
            return  # survey mode: already reported, keep going
        self.record.divergence = d
        raise divergence_error(d)


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
            if ex.ended:
                break  # the crash lane's crash was checked
            ex.step(op)
    except DivergenceFound:
        pass
    finally:
        ex.close()
    return ex.record
