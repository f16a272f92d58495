"""A campaign's statistics: what each run records in its store, and what a report reads back.

A campaign is everything one store has seen: difftest processes on any number of machines
(each a *run*, with ``--jobs`` workers of its own) writing to the same database.  Each worker
records its cumulative counts (examples, steps, divergent examples, and how many examples
reached each coverage event of :mod:`difftest.coverage`) every :data:`SNAPSHOT_S` seconds
and once at the end of each config; the process records each divergence it reports, with its
report directory, and each replay of the saved examples.  Wall-clock times make the records
of all machines one timeline (their clocks are assumed to agree to a second or so).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from difftest.coverage import DEEP_EVENTS

if TYPE_CHECKING:
    from difftest.divergence import ExampleRecord
    from difftest.session import Session
    from difftest.store import Keyspace, Store

SNAPSHOT_S = 5.0  # seconds between two records of a worker's counts


def new_run_id() -> str:
    """A name for this process's run, unique across the machines of a campaign."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{socket.gethostname()}-{os.getpid()}"


def wall_time(monotonic: float) -> float:
    """The wall-clock time of a ``time.monotonic()`` reading of this machine."""
    return time.time() - (time.monotonic() - monotonic)


class Recorder:
    """Writes one run's records to a store.  A store that fails (a Redis server gone) costs
    the statistics, never the run: one warning, then no more records."""

    def __init__(self, store: Store, run: str, worker: int = 0) -> None:
        self.store = store
        self.run = run
        self.worker = worker
        self._last = float("-inf")
        self._broken = False

    def for_worker(self, worker: int) -> Recorder:
        return Recorder(self.store, self.run, worker)

    def _append(self, record: dict[str, Any]) -> None:
        if self._broken:
            return
        try:
            self.store.append({"run": self.run, "t": round(time.time(), 3), **record})
        except Exception as exc:  # the run goes on without statistics
            self._broken = True
            print(f"difftest: campaign statistics not recorded from now on: {exc}",
                  file=sys.stderr)  # fmt: skip

    def start(self, **meta: Any) -> None:
        self._append({"type": "run", "host": socket.gethostname(), "pid": os.getpid(), **meta})

    def progress(self, session: Session) -> None:
        if time.monotonic() - self._last >= SNAPSHOT_S:
            self.snapshot(session)

    def snapshot(self, session: Session, final: bool = False) -> None:
        self._last = time.monotonic()
        self._append({
            "type": "stats", "worker": self.worker, "config": session.run_config.name,
            "targets": session.target_names, "elapsed": round(session.elapsed, 3),
            "examples": session.examples, "steps": session.steps,
            "divergent": session.divergent_examples, "tallied": session.tally.examples,
            "events": {e: n for e, n in session.tally.counts.items() if n}, "final": final,
        })  # fmt: skip

    def found(self, session: Session, record: ExampleRecord, report: Path | None,
              via: str = "run") -> None:  # fmt: skip
        d = record.divergence
        if d is None:
            return
        target, key = d.signature
        self._append({
            "type": "find", "config": session.run_config.name, "targets": session.target_names,
            "target": target, "key": key, "summary": d.summary().splitlines()[0],
            "found": round(wall_time(record.found_at), 3) if record.found_at else None,
            "report": None if report is None else str(report.resolve()),
            "host": socket.gethostname(), "length": len(record.steps), "via": via,
        })  # fmt: skip

    def replayed(self, ks: Keyspace, examples: int, diverged: int, seconds: float) -> None:
        self._append({"type": "replay", "config": ks.config, "targets": list(ks.targets),
                      "steps": ks.steps, "examples": examples, "diverged": diverged,
                      "seconds": round(seconds, 2)})  # fmt: skip


Series = tuple[str, int, str, tuple[str, ...]]  # run, worker, config, targets


@dataclass
class Find:
    """One divergence (a signature), with its first find in the campaign."""

    target: str
    key: str
    summary: str
    first: float
    config: str
    run: str
    report: str | None
    host: str
    length: int
    times: int = 0  # by runs that generate examples
    replays: int = 0  # by replays of the saved examples (difftest replay --db)
    reports: list[str] = field(default_factory=list)


class Campaign:
    """The records of a store, digested for a report."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.runs = {r["run"]: r for r in records if r["type"] == "run"}
        self.series: dict[Series, list[dict[str, Any]]] = defaultdict(list)
        for r in records:
            if r["type"] == "stats":
                key = (r["run"], int(r["worker"]), r["config"], tuple(r["targets"]))
                self.series[key].append(r)
        for snaps in self.series.values():
            snaps.sort(key=lambda s: (s["t"], s["examples"]))
        self.finds = sorted((r for r in records if r["type"] == "find"), key=_find_time)
        self.replays = sorted((r for r in records if r["type"] == "replay"), key=lambda r: r["t"])
        times = [r["t"] for r in records]
        self.start = min(times, default=0.0)
        self.end = max(times, default=0.0)

    def last(self, key: Series) -> dict[str, Any]:
        return self.series[key][-1]

    def totals(self) -> dict[tuple[tuple[str, ...], str], dict[str, float]]:
        """Per targets and config: examples, steps, divergent examples, worker-seconds."""
        out: dict[tuple[tuple[str, ...], str], dict[str, float]] = {}
        for key in sorted(self.series, key=lambda k: (k[3], k[2])):
            last = self.last(key)
            row = out.setdefault((key[3], key[2]), defaultdict(float))
            row["workers"] += 1
            for field_ in ("examples", "steps", "divergent", "elapsed"):
                row[field_] += last[field_]
        return out

    def workers(self) -> list[dict[str, Any]]:
        """Per run and worker: its machine, seed, configs and counts."""
        rows: dict[tuple[str, int], dict[str, Any]] = {}
        for key in sorted(self.series):
            run, worker = key[0], key[1]
            last = self.last(key)
            meta = self.runs.get(run, {})
            row = rows.setdefault((run, worker), {
                "run": run, "worker": worker, "host": meta.get("host", "?"),
                "seed": meta.get("seed"), "profile": meta.get("profile"), "configs": 0,
                "examples": 0, "steps": 0, "divergent": 0, "seconds": 0.0})  # fmt: skip
            row["configs"] += 1
            for field_ in ("examples", "steps", "divergent"):
                row[field_] += last[field_]
            row["seconds"] += last["elapsed"]
        return list(rows.values())

    def divergences(self) -> list[Find]:
        """Each signature once, at its first find, in the order first found."""
        out: dict[tuple[str, str], Find] = {}
        for r in self.finds:
            sig = (r["target"], r["key"])
            f = out.get(sig)
            if f is None:
                f = out[sig] = Find(r["target"], r["key"], r["summary"], _find_time(r),
                                    r["config"], r["run"], r.get("report"), r.get("host", "?"),
                                    r.get("length", 0))  # fmt: skip
            if r.get("via") == "replay":
                f.replays += 1
            else:
                f.times += 1
            if r.get("report"):
                f.reports.append(r["report"])
        return list(out.values())

    def over_time(self, value: Any, points: int = 160) -> tuple[list[float], list[float]]:
        """The campaign's sum over every worker of ``value(snapshot)`` at ``points`` moments
        (minutes since the start, sums).  Between two snapshots of a worker its counts are
        interpolated; after its last they stay."""
        span = max(self.end - self.start, 1e-9)
        xs = [self.start + span * i / (points - 1) for i in range(points)]
        total = [0.0] * points
        for snaps in self.series.values():
            ts, vs = [s["t"] for s in snaps], [float(value(s)) for s in snaps]
            j = 0
            for i, x in enumerate(xs):
                if x < ts[0]:
                    continue
                while j + 1 < len(ts) and ts[j + 1] <= x:
                    j += 1
                if j + 1 < len(ts) and ts[j + 1] > ts[j]:
                    part = (x - ts[j]) / (ts[j + 1] - ts[j])
                    total[i] += vs[j] + part * (vs[j + 1] - vs[j])
                else:
                    total[i] += vs[j]
        return [(x - self.start) / 60 for x in xs], total

    def events(self) -> list[str]:
        """The coverage events, those of :mod:`difftest.coverage` first."""
        seen = {e for snaps in self.series.values() for e in snaps[-1]["events"]}
        return [*DEEP_EVENTS, *sorted(seen - set(DEEP_EVENTS))]


def _find_time(r: dict[str, Any]) -> float:
    found = r.get("found")
    return float(found if found is not None else r["t"])
