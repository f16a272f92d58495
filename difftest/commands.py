"""The ``difftest`` subcommands other than a run: replay, docs, promote, report."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rich.console import Console

from difftest import ops
from difftest.example import run_program
from difftest.report import spec_from_json, steps_table
from difftest.session import PRESETS, RunConfig, Session
from model.config import Config


def load_case(report_dir: Path) -> tuple[RunConfig, list[str], object, list[ops.Op]]:
    """Read a saved case: its config, targets, starting layers and program."""
    path = report_dir / "report.json" if report_dir.is_dir() else report_dir
    if not path.exists():
        raise FileNotFoundError(f"no report.json in {report_dir}")
    data = json.loads(path.read_text())
    c = data["config"]
    base = PRESETS.get(c["name"].split(",")[0], PRESETS["default"])
    rc = RunConfig(
        c["name"],
        config_from_options(c["options"]) if c["options"] else base.config,
        c["lowers"],
        c["upper"],
    )
    program = [ops.op_from_dict(s["op"]) for s in data["steps"]]
    return rc, data["targets"], spec_from_json(data["spec"]), program


def config_from_options(options: list[str]) -> Config:
    cfg = Config()
    for o in options:
        key, _, value = o.partition("=")
        if key == "redirect_dir":
            cfg = cfg.with_(redirect_dir=value)
        elif key == "index":
            cfg = cfg.with_(index=value == "on")
        elif key == "ro":
            cfg = cfg.with_(ro=True)
        else:
            raise ValueError(f"option {o!r} is not supported by the model")
    return cfg


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
    from difftest.scratch import Scratch

    os.umask(0)
    with Scratch() as scratch:
        session = Session(rc, targets, scratch)
        record = run_program(session, spec, program)  # type: ignore[arg-type]
    console.print(steps_table(record, targets, title=f"replay of {args.report} ({rc.describe()})"))
    if record.divergence is None:
        console.print("all targets agree with the model", style="green")
        return 0
    console.print(record.divergence.summary(), style="red")
    return 1


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
