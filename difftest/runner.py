"""Drive the state machine with Hypothesis within a budget of examples or seconds.

A budget of seconds is met by running Hypothesis in chunks of examples, each with its own
seed, until the time is spent; a budget of examples runs exactly that many.  Hypothesis's
example database (a keyspace of a :mod:`difftest.store`: a directory, or Redis shared by a
campaign's workers) makes a failure found once replay first in every later chunk and run,
of this worker or another; :func:`replay_saved` replays them and generates nothing.  The
settings of each role come from :mod:`difftest.profiles`.

Every distinct divergence is its own bug to Hypothesis (each signature raises an exception
type of its own, :mod:`difftest.divergence`, and ``report_multiple_bugs`` is on), so each is
shrunk on its own and a shrink cannot slip from one divergence to another.  Each shrink is
capped in time, so is all the shrinking of a batch of examples, and none runs much past a
time budget (:mod:`difftest.shrinkcap`).  A gate
run stops after the chunk that found divergences and reports all of them; a survey goes on.
"""

from __future__ import annotations

import time
import unittest
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.database import ExampleDatabase
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from difftest.divergence import DivergenceFound, ExampleRecord, is_setup_failure
from difftest.machine import machine_for
from difftest.minimise import minimise
from difftest.profiles import CHUNK, PROFILES, SHRINK_S, Profile, hypothesis_profile
from difftest.session import Session
from difftest.shrinkcap import ShrinkBudget, shrink_caps
from difftest.store import FewSecondary, Keyspace, Store

__all__ = ["PROFILES", "SHRINK_S", "Profile", "RunResult", "replay_saved", "run"]
# Without a time budget, all the shrinking of one batch of examples (Hypothesis's and the
# replay passes) takes at most this many times SHRINK_S: a gate that meets ten divergences
# reports all ten, the first few of them shrunk.
BATCH_SHRINKS = 4


def shrink_deadline(start: float, seconds: float | None) -> float | None:
    """When shrinking stops in a run with a time budget: at its end, plus a grace of a tenth
    of the budget (at least 10 s), so a divergence found late is still shrunk a little."""
    if seconds is None:
        return None
    return start + seconds + max(10.0, seconds / 10)


@dataclass
class RunResult:
    """What a run found: every distinct divergence, each shrunk (in the order found)."""

    session: Session
    failures: list[ExampleRecord]
    flaky: bool
    seconds: float
    error: BaseException | None = None
    capped_shrinks: int = 0
    configs_refused: list[str] = field(default_factory=list)
    rule_data: list[bytes] = field(default_factory=list)  # rule coverage of worker processes

    @property
    def failure(self) -> ExampleRecord | None:
        return self.failures[0] if self.failures else None

    @property
    def agreed(self) -> bool:
        return not self.failures and self.error is None


def _settings(profile: str, examples: int, steps: int, database: ExampleDatabase | None,
              phases: list[Phase]) -> settings:
    return settings(hypothesis_profile(profile), max_examples=examples,
                    stateful_step_count=steps, database=database, phases=phases)  # fmt: skip


def _database(session: Session, store: Store | None, steps: int) -> ExampleDatabase | None:
    """The example database of this run's keyspace, registered for replays."""
    if store is None:
        return None
    ks = Keyspace(session.run_config.name, tuple(session.target_names), steps)
    store.register(ks)
    return store.examples(ks)


def _minimise(session: Session, found: ExampleRecord, seconds: float) -> ExampleRecord:
    """After Hypothesis's shrinking, the replay pass of :mod:`difftest.minimise`; its replays
    count as examples run, not as divergences found."""
    divergent = session.divergent_examples
    try:
        return minimise(session, found, budget_s=seconds)
    finally:
        session.divergent_examples = divergent


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]


def _is_flaky(exc: BaseException) -> bool:
    return isinstance(exc, Flaky) or any(isinstance(e, Flaky) for e in _leaves(exc))


def _only_divergences(exc: BaseException) -> bool:
    return all(isinstance(e, DivergenceFound) for e in _leaves(exc))


def run(
    session: Session,
    *,
    examples: int | None,
    seconds: float | None,
    steps: int,
    seed: int | None,
    store: Store | None,
    shrink: bool = True,
    on_found: Callable[[ExampleRecord], None] | None = None,
    shrink_seconds: float = SHRINK_S,
    profile: str = "dev",
) -> RunResult:
    """Run until the budget is spent or divergences are found (and shrunk).

    With ``session.known`` set (survey mode), each shrunk divergence is handed to
    ``on_found``, its keys are added to the known ones, and the run goes on.  A target that
    cannot mount this config ends the run early (:attr:`RunResult.configs_refused`).
    """
    machine = machine_for(session)
    session.max_steps = steps
    database = _database(session, store, steps)
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])
    start = time.monotonic()
    deadline = None if seconds is None else start + seconds
    shrink_end = shrink_deadline(start, seconds)
    chunk_no = 0
    flaky = False
    error: BaseException | None = None
    failures: list[ExampleRecord] = []
    capped = 0
    refused: list[str] = []
    while not refused:
        done = session.examples
        if examples is not None and done >= examples:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        n = CHUNK if examples is None else min(CHUNK, examples - done)
        case = machine
        if seed is not None:
            case = hypothesis_seed(seed + chunk_no)(type(machine.__name__, (machine,), {}))
        chunk_no += 1
        session.collecting = True
        budget = ShrinkBudget(shrink_seconds, shrink_end,
                              None if shrink_end is not None else BATCH_SHRINKS * shrink_seconds)
        try:
            with shrink_caps(budget):
                run_state_machine_as_test(
                    case, settings=_settings(profile, n, steps, database, phases))
        except KeyboardInterrupt as exc:
            error = exc
        except BaseException as exc:
            flaky = flaky or _is_flaky(exc)
            if not _only_divergences(exc) and not _is_flaky(exc):
                error = exc
        finally:
            session.collecting = False
            capped += budget.capped
        found = session.take_found()
        if isinstance(error, KeyboardInterrupt) or (error is not None and not found):
            failures += found
            break
        error = None
        for i, record in enumerate(found):
            left = budget.replay_pass_seconds(pending=len(found) - i)
            if shrink and left > 0:
                record = _minimise(session, record, left)
            failures.append(record)
            assert record.divergence is not None
            if is_setup_failure(record.divergence):
                refused.append(record.divergence.target)
            if session.known is not None:
                session.known.add(record)
                if on_found is not None:
                    on_found(record)
        if failures and session.known is None:
            break
        if flaky and session.known is None and not failures:
            break
    session.failure = failures[0] if failures else None
    return RunResult(session, failures, flaky, time.monotonic() - start, error, capped, refused)


REPLAY_MAX = 10_000  # enough for Hypothesis to replay every saved example of a keyspace


def replay_saved(session: Session, store: Store, ks: Keyspace) -> RunResult:
    """Replay every saved failing example of ``ks`` and generate nothing (Hypothesis's reuse
    phase alone, with the keyspace's step cap, unshrunk; of the examples met on the way to a
    smaller one, only a few: :class:`~difftest.store.FewSecondary`): each that still
    diverges is a failure of the result.  Hypothesis drops from the database a saved example
    that no longer fails, so a fixed divergence leaves the campaign's gate."""
    start = time.monotonic()
    database = FewSecondary(store.examples(ks))
    settings_ = _settings("dev", REPLAY_MAX, ks.steps, database, [Phase.reuse])
    session.max_steps = ks.steps
    error: BaseException | None = None
    flaky = False
    session.collecting = True
    try:
        run_state_machine_as_test(machine_for(session), settings=settings_)
    except unittest.SkipTest:
        pass  # Hypothesis's way of saying that nothing is saved
    except KeyboardInterrupt as exc:
        error = exc
    except BaseException as exc:
        flaky = _is_flaky(exc)
        if not _only_divergences(exc) and not flaky:
            error = exc
    finally:
        session.collecting = False
    failures = session.take_found()
    session.failure = failures[0] if failures else None
    return RunResult(session, failures, flaky, time.monotonic() - start, error)
