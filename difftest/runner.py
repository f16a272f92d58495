"""Drive the state machine with Hypothesis within a budget of examples or seconds.

A budget of seconds is met by running Hypothesis in chunks of examples, each with its own
seed, until the time is spent; a budget of examples runs exactly that many.  Hypothesis's
example database (``.hypothesis/difftest/<config>``) makes a failure found once replay first
in the next run.  Settings profiles ``ci``, ``dev`` and ``nightly`` set the defaults.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from difftest.example import DivergenceFound, ExampleRecord, is_setup_failure
from difftest.minimise import minimise
from difftest.session import Session


@dataclass(frozen=True)
class Profile:
    """Default budget of a settings profile."""

    name: str
    seconds: float | None
    examples: int | None
    steps: int


# Up to 20 steps per example by default: against 12, a minute of -j2 reached more deep
# states on the kernel (broken hard links 201 -> 321, EXDEV 768 -> 975, a handle that sees a
# copy-up 0 -> 13 examples) and on ovlfuse (rmdir of a whited-out dir 73 -> 101, rename
# over a whiteout 93 -> 118), though fewer examples.  CI keeps 12: its budgets are examples.
PROFILES = {
    "dev": Profile("dev", seconds=60.0, examples=None, steps=20),
    "ci": Profile("ci", seconds=None, examples=300, steps=12),
    "nightly": Profile("nightly", seconds=3600.0, examples=None, steps=25),
}

CHUNK = 100


@dataclass
class RunResult:
    session: Session
    failure: ExampleRecord | None
    flaky: bool
    seconds: float
    error: BaseException | None = None

    @property
    def agreed(self) -> bool:
        return self.failure is None and self.error is None


def _settings(examples: int, steps: int, db_dir: Path | None, shrink: bool) -> settings:
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if shrink:
        phases.append(Phase.shrink)
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=DirectoryBasedExampleDatabase(str(db_dir)) if db_dir else None,
        phases=phases,
        report_multiple_bugs=False,
        print_blob=False,
    )


def _minimise(session: Session) -> None:
    """After Hypothesis's shrinking, the replay pass of :mod:`difftest.minimise`; its replays
    count as examples run, not as divergences found."""
    assert session.failure is not None
    found, divergent = session.failure, session.divergent_examples
    best = found
    try:
        best = minimise(session, found)
    finally:  # replays set session.failure to every divergent record they end
        session.failure, session.divergent_examples = best, divergent


def run(
    session: Session,
    *,
    examples: int | None,
    seconds: float | None,
    steps: int,
    seed: int | None,
    db_dir: Path | None,
    shrink: bool = True,
    on_found: Callable[[ExampleRecord], None] | None = None,
) -> RunResult:
    """Run until the budget is spent or a divergence is found (and shrunk).

    With ``session.known`` set (survey mode), each shrunk divergence is handed to
    ``on_found``, its signature is added to the known ones, and the run goes on.
    """
    machine = session.machine_class()
    start = time.monotonic()
    chunk_no = 0
    flaky = False
    error: BaseException | None = None
    while True:
        done = session.examples
        if examples is not None and done >= examples:
            break
        if seconds is not None and time.monotonic() - start >= seconds:
            break
        n = CHUNK if examples is None else min(CHUNK, examples - done)
        case = machine
        if seed is not None:
            case = hypothesis_seed(seed + chunk_no)(type(machine.__name__, (machine,), {}))
        chunk_no += 1
        try:
            run_state_machine_as_test(case, settings=_settings(n, steps, db_dir, shrink))
        except DivergenceFound:
            pass
        except Flaky:
            flaky = True
            if session.known is None:
                break
        except BaseException as exc:
            if session.failure is None or isinstance(exc, KeyboardInterrupt):
                error = exc
                break
        if session.failure is not None and shrink:
            _minimise(session)
        if session.failure is not None:
            if session.known is None:
                break
            found = session.failure
            session.known.add(found)
            if on_found is not None:
                on_found(found)
            session.failure = None
            if found.divergence is not None and is_setup_failure(found.divergence):
                break  # the target cannot mount this config: nothing more to learn here
    if session.known is not None and session.known.records:
        session.failure = session.known.records[0]
    return RunResult(session, session.failure, flaky, time.monotonic() - start, error)
