"""One run's context: which config, which targets, the scratch space, counters and records.

A :class:`Session` outlives the examples of a run.  It builds the targets of each example,
counts examples and steps for the progress display, tallies coverage events and keeps, per
signature, the divergent examples of the current Hypothesis run: the smallest one seen and
the one Hypothesis replays as its final, minimal example.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from difftest.coverage import EventTally
from difftest.divergence import ExampleRecord, Signature, TargetSetupError
from difftest.runconfig import PRESETS, SUPPORTED, RunConfig
from difftest.targets import CRASH_TARGETS
from model.config import Config
from model.nested import nested
from model.overlay import Overlay
from model.spec import LayersSpec

if TYPE_CHECKING:
    from difftest.scratch import Scratch
    from difftest.signature import Known

__all__ = ["PRESETS", "SUPPORTED", "RunConfig", "Session", "TargetSetupError"]


def _nested_model(spec: LayersSpec, config: Config) -> Overlay:
    """The model of a ``nested`` preset: the lowers' read-only overlay as the only lower."""
    return nested(spec, spec, config)


def _in_final_replay() -> bool:
    """Whether Hypothesis is replaying a minimal failing example to report it."""
    try:
        from hypothesis.control import current_build_context

        return bool(current_build_context().is_final)
    except Exception:  # outside a Hypothesis run (a replay, a docs example)
        return False


class Session:
    """Shared state of one run over one configuration."""

    def __init__(
        self,
        run_config: RunConfig,
        target_names: list[str],
        scratch: Scratch | None,
        on_progress: Callable[[Session], None] | None = None,
        expected: Callable[[LayersSpec, Config], Any] | None = None,
    ) -> None:
        self.run_config = run_config
        self.target_names = target_names
        self.scratch = scratch
        self.on_progress = on_progress
        self.examples = 0
        self.steps = 0
        self.divergent_examples = 0
        self.started = time.monotonic()
        self.tally = EventTally()
        self.failure: ExampleRecord | None = None  # the last divergent example
        self.known: Known | None = None  # survey mode: divergences already reported
        # while collecting (a Hypothesis run): per signature, the smallest divergent example
        # seen and the final replay of the minimal one, in the order first found
        self.collecting = False
        self.smallest: dict[Signature, ExampleRecord] = {}
        self.finals: dict[Signature, ExampleRecord] = {}
        self.first_seen: dict[Signature, float] = {}
        self.remount_ok = True
        # the most operations an example runs (``--steps``; set by the runner, None: no cap)
        self.max_steps: int | None = None
        # no FUSE target: machine.remount_live is drawn only then, and odd_xattr's
        # XATTR_CREATE|XATTR_REPLACE (a pyfuse3 deviation, README)
        self.kernel_only = all(t in ("kernel", "model") for t in target_names)
        # the crash lane (difftest.crash): each example starts with an ArmCrash
        self.crash_lane = any(t in CRASH_TARGETS for t in target_names)
        # results after online changes that differ from the model's, within the allowed range
        self.online_outcomes: Counter[str] = Counter()
        self.setup_seconds: dict[str, float] = {}
        # The expected side of every comparison: the model, unless a test swaps it.
        self.expected = expected or (
            _nested_model if run_config.nested else
            partial(Overlay.from_spec, samefs=not run_config.split_fs, userns=run_config.userns))

    @property
    def lowers(self) -> int:
        return self.run_config.lowers

    @property
    def has_upper(self) -> bool:
        return self.run_config.has_upper

    @property
    def config(self) -> Config:
        return self.run_config.config

    # ---- targets --------------------------------------------------------------------------

    def open_targets(self, spec: LayersSpec) -> dict[str, Any]:
        targets: dict[str, Any] = {}
        t0 = time.perf_counter()
        targets["model"] = self.expected(spec, self.config)
        self._time("model", t0)
        for name in self.target_names:
            t0 = time.perf_counter()
            try:
                targets[name] = self._make(name, spec)
            except OSError as exc:
                self.close_targets(targets)
                if name == "kernel":
                    raise  # the reference itself cannot mount: an environment error
                raise TargetSetupError(name, str(exc)) from exc
            except BaseException:
                self.close_targets(targets)
                raise
            self._time(name, t0)
        return targets

    def _make(self, name: str, spec: LayersSpec) -> Any:
        from difftest.targets import make_target

        assert self.scratch is not None, "real targets need scratch space"
        return make_target(name, self.scratch, spec, self.config, self.run_config.split_fs,
                           self.run_config.new_api, self.run_config.nested)

    def _time(self, name: str, t0: float) -> None:
        self.setup_seconds[name] = self.setup_seconds.get(name, 0.0) + time.perf_counter() - t0

    def close_targets(self, targets: dict[str, Any]) -> None:
        from difftest.targets import teardown_target

        errors = []
        for name, target in targets.items():
            try:
                teardown_target(target)
            except Exception as exc:  # tear every target down, then report
                errors.append(f"{name}: {exc}")
        targets.clear()
        if errors:
            raise RuntimeError("teardown failed: " + "; ".join(errors))

    # ---- counting ---------------------------------------------------------------------------

    def begin_example(self, record: ExampleRecord) -> None:
        self.examples += 1

    def count_step(self) -> None:
        self.steps += 1

    def note_online(self, target: str, op: Any, expected: Any, actual: Any) -> None:
        """A result after an online change that differs from the model's and is in the
        allowed range (difftest.online): counted by what differs, for the run's summary."""
        from difftest.online import outcome_key

        self.online_outcomes[outcome_key(target, op, expected, actual)] += 1

    def end_example(self, record: ExampleRecord) -> None:
        self.tally.add(record.events)
        if record.divergence is not None:
            self.divergent_examples += 1
            self.failure = record
            if self.collecting:
                self._collect(record)
        if self.on_progress is not None:
            self.on_progress(self)

    def _collect(self, record: ExampleRecord) -> None:
        assert record.divergence is not None
        sig = record.divergence.signature
        self.first_seen.setdefault(sig, time.monotonic())
        if _in_final_replay():
            self.finals[sig] = record
        best = self.smallest.get(sig)
        if best is None or record.size() < best.size():
            self.smallest[sig] = record

    def take_found(self) -> list[ExampleRecord]:
        """The divergences collected since the last call, one per signature (Hypothesis's
        final replay where there was one, else the smallest example seen), in the order
        they were first found; the collection is cleared."""
        out = []
        for sig, rec in self.smallest.items():
            best = self.finals.get(sig, rec)
            best.found_at = self.first_seen.get(sig, best.found_at)
            out.append(best)
        self.smallest, self.finals = {}, {}
        return out

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started
