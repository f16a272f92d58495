"""The ``difftest`` subcommands other than a run: replay, docs, promote, report."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console

from difftest.case import load_case
from difftest.example import run_program
from difftest.report import steps_table
from difftest.session import Session


def replay(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="difftest replay",
        description="Rerun a saved case on the model and its targets, or (--db) every "
        "failing example a database holds: exit 1 while any still diverges.",
    )
    p.add_argument("report", type=Path, nargs="?", help="a report directory (or its report.json)")
    p.add_argument("--db", metavar="URL",
                   help="replay every saved failing example of this database "
                        "(redis://HOST:PORT/N or a directory) and generate nothing")
    p.add_argument("--report-dir", type=Path, default=Path("reports"),
                   help="with --db: where the reports of divergences go (default: reports/)")
    p.add_argument(
        "--target",
        "-t",
        action="append",
        dest="targets",
        help="targets to run instead of the report's",
    )
    args = p.parse_args(argv)
    console = Console(highlight=False)
    if (args.report is None) == (args.db is None):
        p.error("give a report directory or --db URL (one of them)")
    if args.db is not None:
        from difftest.replaydb import replay_store

        return replay_store(args.db, args.targets, args.report_dir, console)
    try:
        rc, targets, spec, program = load_case(args.report)
    except (OSError, ValueError, KeyError) as exc:
        console.print(f"difftest replay: {exc}", style="red")
        return 2
    targets = args.targets or targets

    def body() -> int:
        from difftest.scratch import Scratch

        os.umask(0)
        with Scratch() as scratch:
            session = Session(rc, targets, scratch)
            record = run_program(session, spec, program)  # type: ignore[arg-type]
        title = f"replay of {args.report} ({rc.describe()})"
        console.print(steps_table(record, targets, title=title))
        if record.divergence is None:
            console.print("all targets agree with the model", style="green")
            return 0
        console.print(record.divergence.summary(), style="red")
        return 1

    if rc.userns:  # the case ran inside a user namespace: so does its replay
        from difftest import userns

        return userns.run_inside(body)
    return body()


def main(cmd: str, argv: list[str]) -> int:
    if cmd == "replay":
        return replay(argv)
    if cmd == "docs":
        from difftest.docs.cli import docs_main

        return docs_main(argv)
    if cmd == "report":
        from difftest.replaydb import report_main

        return report_main(argv)
    if cmd == "promote":
        from difftest.docs.cli import promote_main

        return promote_main(argv)
    raise SystemExit(f"unknown command {cmd}")
