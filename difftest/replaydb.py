"""A campaign's gate and its report: ``difftest replay --db URL`` and ``difftest report``.

The gate replays every failing example the campaign's workers saved, keyspace by keyspace
(config, targets and step cap: :mod:`difftest.store`), and generates nothing: exit 1 while
any of them still diverges (each is reported as a run would report it), 0 when every target
agrees with the model on all of them, 2 when the database or a target cannot be used.  A
saved example that no longer fails is dropped from the database by Hypothesis.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rich.console import Console

from difftest import stop
from difftest.campaign import Recorder, new_run_id
from difftest.report import print_failure, run_id, write_report
from difftest.runconfig import by_name
from difftest.runner import replay_saved
from difftest.scratch import Scratch
from difftest.session import Session
from difftest.store import (
    RECORDS_FILE,
    DirStore,
    Keyspace,
    Store,
    StoreError,
    open_store,
    shown,
)

EXIT_AGREE, EXIT_DIVERGENCE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class GateError(Exception):
    """The gate cannot run: a database, config or target that cannot be used here."""


def _check(keyspaces: list[Keyspace], targets: list[str] | None) -> None:
    from difftest.targets import target_problem

    for ks in keyspaces:
        try:
            by_name(ks.config)
        except ValueError as exc:
            raise GateError(f"saved examples of {ks.describe()}: {exc}") from None
        for t in targets or ks.targets:
            why = target_problem(t)
            if why:
                raise GateError(f"saved examples of {ks.describe()}: target {t}: {why}")


def _replay_keyspace(store: Store, ks: Keyspace, targets: list[str] | None, scratch: Scratch,
                     report_dir: Path, recorder: Recorder, console: Console) -> int:
    """Replay one keyspace; report each divergence; return how many still diverge."""
    rc = by_name(ks.config)
    names = targets or list(ks.targets)
    session = Session(rc, names, scratch)
    result = replay_saved(session, store, ks)
    if result.error is not None:
        raise result.error
    for n, failure in enumerate(result.failures, 1):
        rid = run_id(rc, names) + f"-replay-{n}"
        path = write_report(failure, rc, names, report_dir, rid)
        console.print()
        print_failure(console, failure, names, path)
        recorder.found(session, failure, path, via="replay")
    recorder.replayed(ks, session.examples, len(result.failures), result.seconds)
    style = "red" if result.failures else "green"
    console.print(f"{ks.describe()}: {session.examples} example(s) run, "
                  f"{len(result.failures)} divergence(s) still there", style=style)  # fmt: skip
    return len(result.failures)


def replay_store(url: str, targets: list[str] | None, report_dir: Path,
                 console: Console) -> int:  # fmt: skip
    """The gate (see the module docstring); returns the exit status."""
    try:
        store = open_store(url)
        keyspaces = store.keyspaces()
        _check(keyspaces, targets)
    except (StoreError, GateError) as exc:
        print(f"difftest replay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not keyspaces:
        console.print(f"difftest replay: {shown(url)} holds no saved examples")
        return EXIT_AGREE
    recorder = Recorder(store, new_run_id())
    recorder.start(argv=sys.argv, profile="replay", seed=None, jobs=1, targets=targets,
                   configs=[ks.config for ks in keyspaces])  # fmt: skip
    os.umask(0)
    diverged = 0
    try:
        with Scratch() as scratch, stop.signals_as_flags():
            for ks in keyspaces:
                diverged += _replay_keyspace(store, ks, targets, scratch, report_dir, recorder,
                                             console)  # fmt: skip
    except KeyboardInterrupt:
        console.print("difftest replay: interrupted; every mount was taken down", style="yellow")
        return EXIT_INTERRUPTED
    except Exception as exc:  # never an exit 1: that would claim a divergence
        why = " ".join(str(exc).split()) or type(exc).__name__
        print(f"difftest replay: {why}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_DIVERGENCE if diverged else EXIT_AGREE


def report_main(argv: list[str]) -> int:
    """``difftest report --db URL --html DIR``: the campaign report, from the database."""
    p = argparse.ArgumentParser(
        prog="difftest report",
        description="Write a campaign's report (DIR/index.html, self-contained) and the "
                    "records it was drawn from (DIR/campaign.jsonl) from a database.")  # fmt: skip
    p.add_argument("--db", metavar="URL", required=True,
                   help="redis://HOST:PORT/N or a directory (a campaign.jsonl of records)")
    p.add_argument("--html", type=Path, metavar="DIR", required=True, help="output directory")
    args = p.parse_args(argv)
    from difftest.htmlreport import write_html

    try:
        store = open_store(args.db)
        records = store.records()
    except StoreError as exc:
        print(f"difftest report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not records:
        print(f"difftest report: {shown(args.db)} holds no campaign records", file=sys.stderr)
        return EXIT_USAGE
    page = write_html(records, shown(args.db), args.html)
    if not (isinstance(store, DirStore) and store.path.resolve() == args.html.resolve()):
        lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
        (args.html / RECORDS_FILE).write_text(lines)
    print(f"difftest report: {page} ({len(records)} records)")
    return EXIT_AGREE
