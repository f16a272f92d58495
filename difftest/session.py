"""One run's context: which config, which targets, the scratch space, counters and records.

A :class:`Session` outlives the examples of a run.  It builds the targets of each example,
counts examples and steps for the progress display, tallies coverage events and keeps the
record of the last failing example (after shrinking, Hypothesis replays the minimal one last).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from difftest.coverage import EventTally
from model.config import Config
from model.overlay import Overlay
from model.spec import LayersSpec

if TYPE_CHECKING:
    from difftest.example import ExampleRecord
    from difftest.machine import OverlayMachine
    from difftest.scratch import Scratch
    from difftest.survey import Known


class TargetSetupError(Exception):
    """A target could not be set up for an example (a FUSE program that did not mount)."""

    def __init__(self, target: str, message: str) -> None:
        super().__init__(message)
        self.target = target


@dataclass(frozen=True)
class RunConfig:
    """A named overlay configuration: mount options plus the shape of the layer stack."""

    name: str
    config: Config = field(default_factory=Config)
    lowers: int = 2
    has_upper: bool = True

    def describe(self) -> str:
        opts = ",".join(self.config.mount_options()) or "defaults"
        upper = "upper" if self.has_upper else "no upper"
        return f"{self.name} ({opts}; {self.lowers} lower(s), {upper})"


PRESETS: dict[str, RunConfig] = {
    "default": RunConfig("default"),
    "redirect_dir=on": RunConfig("redirect_dir=on", Config(redirect_dir="on")),
    "index=on": RunConfig("index=on", Config(index=True)),
    "lowers=1": RunConfig("lowers=1", lowers=1),
    "lowers=3": RunConfig("lowers=3", lowers=3),
    "no-upper": RunConfig("no-upper", lowers=2, has_upper=False),
    "ro": RunConfig("ro", Config(ro=True)),
}
SUPPORTED = ("default", "redirect_dir=on", "index=on", "lowers=3", "no-upper")


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
        self.failure: ExampleRecord | None = None
        self.known: Known | None = None  # survey mode: divergences already found
        self.remount_ok = True
        self.setup_seconds: dict[str, float] = {}
        # The expected side of every comparison: the model, unless a test swaps it.
        self.expected = expected or Overlay.from_spec

    @property
    def lowers(self) -> int:
        return self.run_config.lowers

    @property
    def has_upper(self) -> bool:
        return self.run_config.has_upper

    @property
    def config(self) -> Config:
        return self.run_config.config

    def machine_class(self) -> type[OverlayMachine]:
        from difftest.machine import OverlayMachine

        return type("OverlayMachineRun", (OverlayMachine,), {"session": self})

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
        return make_target(name, self.scratch, spec, self.config)

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

    def end_example(self, record: ExampleRecord) -> None:
        self.tally.add(record.events)
        if record.divergence is not None:
            self.divergent_examples += 1
            self.failure = record
        if self.on_progress is not None:
            self.on_progress(self)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started
