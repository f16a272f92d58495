"""One config's budget spread over worker processes (``difftest --jobs N``).

Each worker is a forked copy of the tester with a scratch tmpfs, targets and Hypothesis run of
its own, and its own seed (``seed + worker * SEED_STRIDE`` when the run is seeded), so the
workers explore different examples.  A worker sends its counts every half second and its
result at the end through a pipe of its own; the pipe's end tells the parent that the worker
has exited, and a dead parent gives the worker EPIPE, never a blocked exit.  The first worker
to find (and shrink) a divergence ends the run: the others get SIGTERM and take their mounts
down, as on Ctrl-C.  A worker that dies without a result is an error of the run, not a pass.

Throughput grows with the CPUs: the kernel target's work happens inside the tester's own
system calls, and a FUSE target's daemon is mostly waiting for the next request.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection as mp_connection
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from difftest import placement, realfs, stop, userns
from difftest.campaign import Recorder
from difftest.divergence import ExampleRecord
from difftest.rulecov import Collector
from difftest.runconfig import RunConfig
from difftest.runner import SHRINK_S, RunResult, run
from difftest.scratch import Scratch
from difftest.session import Session
from difftest.store import Store

SEED_STRIDE = 1_000_003
PROGRESS_EVERY = 0.5  # seconds between a worker's progress messages
POLL = 0.5
STOP_GRACE = 10.0  # seconds a stopped worker has to clean up before SIGKILL


@dataclass
class Counts:
    """What a worker has done so far."""

    examples: int = 0
    steps: int = 0
    divergent: int = 0
    tally_examples: int = 0
    events: Counter[str] = field(default_factory=Counter)
    setup_seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class WorkerResult:
    failures: list[ExampleRecord]
    flaky: bool
    error: str | None
    interrupted: bool
    capped_shrinks: int = 0
    refused: list[str] = field(default_factory=list)
    rule_data: bytes | None = None  # what --coverage measured in the worker


def _counts(s: Session) -> Counts:
    return Counts(s.examples, s.steps, s.divergent_examples, s.tally.examples,
                  Counter(s.tally.counts), dict(s.setup_seconds))  # fmt: skip


def _worker(index: int, out: Any, inherited: list[Any], rc: RunConfig, targets: list[str],
            kw: dict[str, Any]) -> None:
    """Body of one worker process: a whole single-process run, reported through ``out``."""
    for conn in inherited:  # read ends: with them closed, a dead parent means EPIPE
        conn.close()
    realfs.set_pdeathsig(signal.SIGTERM)  # never outlive the parent
    if kw.pop("pin"):
        placement.pin(index)  # before the scratch: its ovlfuse server inherits the CPU
    _quiet_stdout()  # Hypothesis's own notes on an interrupted run; results go through out
    recorder: Recorder | None = kw.pop("recorder")
    recorder = recorder.for_worker(index) if recorder is not None else None
    rules = Collector() if kw.pop("coverage") else None
    last = [0.0]

    def send(msg: tuple[str, int, Any]) -> None:
        with contextlib.suppress(OSError):  # the parent is gone: nobody to tell
            out.send(msg)

    def progress(s: Session) -> None:
        if recorder is not None:
            recorder.progress(s)
        if time.monotonic() - last[0] >= PROGRESS_EVERY:
            last[0] = time.monotonic()
            send(("progress", index, _counts(s)))

    session: Session | None = None
    try:
        if rc.userns:  # before the scratch: its tmpfs is then the namespace's own
            userns.enter()
        with Scratch(dir=kw.pop("base")) as scratch:
            session = Session(rc, targets, scratch, on_progress=progress)
            with rules.measuring() if rules is not None else contextlib.nullcontext():
                result = run(session, **kw)
            interrupted = isinstance(result.error, KeyboardInterrupt)
            error = None if result.error is None or interrupted else repr(result.error)
            res = WorkerResult(result.failures, result.flaky, error, interrupted,
                               result.capped_shrinks, result.configs_refused)
    except KeyboardInterrupt:
        res = WorkerResult([], False, None, True)
    except BaseException as exc:
        res = WorkerResult([], False, f"worker {index}: {exc!r}", False)
    if rules is not None:
        res.rule_data = rules.data()
    if session is not None:
        send(("progress", index, _counts(session)))
        if recorder is not None:
            recorder.snapshot(session, final=True)
    send(("done", index, res))


def _quiet_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


class _Aggregate:
    """The parent's view: one Session whose counters are the workers' sums."""

    def __init__(self, session: Session, jobs: int) -> None:
        self.session = session
        self.per_worker = [Counts() for _ in range(jobs)]

    def update(self, index: int, counts: Counts) -> None:
        self.per_worker[index] = counts
        s, all_ = self.session, self.per_worker
        s.examples = sum(c.examples for c in all_)
        s.steps = sum(c.steps for c in all_)
        s.divergent_examples = sum(c.divergent for c in all_)
        s.tally.examples = sum(c.tally_examples for c in all_)
        s.tally.counts = sum((c.events for c in all_), Counter())
        s.setup_seconds = dict(sum((Counter(c.setup_seconds) for c in all_), Counter()))
        if s.on_progress is not None:
            s.on_progress(s)


def run_parallel(session: Session, jobs: int, *, base: str, examples: int | None,
                 seconds: float | None, steps: int, seed: int | None, store: Store | None,
                 shrink: bool = True, pin: bool = True, shrink_seconds: float = SHRINK_S,
                 profile: str = "dev", recorder: Recorder | None = None,
                 coverage: bool = False) -> RunResult:
    """Like :func:`difftest.runner.run` over ``jobs`` processes; ``session`` opens no target
    here, it only collects the workers' counts.  Each worker's scratch lives under *base*, the
    parent's own scratch, whose cleanup also takes down what a killed worker left.  The
    workers share ``store`` (each opens a connection of its own) and record their counts
    with ``recorder``, each as a worker of its own; with *coverage*, each measures the
    model's rules it reached and the result carries the data."""
    ctx = multiprocessing.get_context("fork")
    procs: list[Any] = []
    readers: dict[Any, int] = {}
    for i in range(jobs):
        share = None if examples is None else examples // jobs + (i < examples % jobs)
        kw = dict(examples=share, seconds=seconds, steps=steps,
                  seed=None if seed is None else seed + i * SEED_STRIDE,
                  store=store, shrink=shrink, base=base, pin=pin,
                  shrink_seconds=shrink_seconds, profile=profile,
                  recorder=recorder, coverage=coverage)  # fmt: skip
        r, w = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_worker, args=(i, w, [*readers, r], session.run_config,
                                              session.target_names, kw))  # fmt: skip
        p.start()
        w.close()
        procs.append(p)
        readers[r] = i
    agg = _Aggregate(session, jobs)
    start = time.monotonic()
    results: dict[int, WorkerResult] = {}
    with stop.signals_as_flags():
        _collect(readers, procs, agg, results)
        stop.check()
    return _merge(session, results, jobs, time.monotonic() - start)


def _collect(readers: dict[Any, int], procs: list[Any], agg: _Aggregate,
             results: dict[int, WorkerResult]) -> None:
    """Read the workers' messages until every pipe is closed (each worker has exited); a
    worker that exits without a result died.  The first failure, or a signal, stops the
    others (SIGTERM: they take their mounts down)."""
    stopping = False
    kill_at = None
    while readers:
        if kill_at is not None and time.monotonic() > kill_at:
            _stop([procs[i] for i in readers.values()], signal.SIGKILL)  # stuck: see base
            kill_at = None
        for conn in mp_connection.wait(list(readers), timeout=POLL):
            assert isinstance(conn, mp_connection.Connection)
            try:
                kind, index, payload = conn.recv()
            except (EOFError, OSError):
                i = readers.pop(conn)
                conn.close()
                procs[i].join()
                if i not in results:
                    results[i] = WorkerResult(
                        [], False, f"worker {i} died (exit {procs[i].exitcode})", False)
                continue
            if kind == "progress":
                agg.update(index, payload)
            else:
                results[index] = payload
        found = any(r.failures or r.error for r in results.values())
        if (found or stop.requested()) and not stopping:
            stopping = True
            kill_at = time.monotonic() + STOP_GRACE
            _stop([p for i, p in enumerate(procs) if i not in results])


def _stop(procs: list[Any], sig: int = signal.SIGTERM) -> None:
    for p in procs:
        if p.is_alive() and p.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, sig)


def _merge(session: Session, results: dict[int, WorkerResult], jobs: int,
           seconds: float) -> RunResult:
    ordered = [results[i] for i in range(jobs)]
    failures: list[ExampleRecord] = []
    seen = set()
    for r in ordered:  # one per signature, the first worker's
        for f in r.failures:
            assert f.divergence is not None
            if f.divergence.signature not in seen:
                seen.add(f.divergence.signature)
                failures.append(f)
    errors = [r.error for r in ordered if r.error]
    error: BaseException | None = None
    if not failures and errors:
        error = RuntimeError("; ".join(errors))
    elif not failures and any(r.interrupted for r in ordered):
        error = KeyboardInterrupt("a worker was interrupted")
    session.failure = failures[0] if failures else None
    refused = sorted({t for r in ordered for t in r.refused})
    return RunResult(session, failures, any(r.flaky for r in ordered), seconds, error,
                     sum(r.capped_shrinks for r in ordered), refused,
                     [r.rule_data for r in ordered if r.rule_data is not None])
