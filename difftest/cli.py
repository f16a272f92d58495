"""``difftest``: compare overlay implementations with the model, step by step.

Exit codes: 0 every target agreed with the model, 1 a divergence was found (and reported),
2 usage or environment error (not root, no overlayfs, unknown target), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console

from difftest import placement, stop
from difftest.campaign import Recorder, new_run_id
from difftest.parallel import run_parallel
from difftest.progress import ProgressView
from difftest.report import print_failure, run_id, write_report
from difftest.runconfig import MATRIX, PRESETS, SUPPORTED, RunConfig, with_lowers
from difftest.runner import PROFILES, RunResult, run
from difftest.scratch import ScratchError, Terminated
from difftest.session import Session
from difftest.signature import Known
from difftest.store import DEFAULT_DIR, Store, StoreError, open_store, shown
from difftest.survey import Survey

if TYPE_CHECKING:
    from difftest.rulecov import DaemonCoverage

EXIT_AGREE, EXIT_DIVERGENCE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SUBCOMMANDS = ("replay", "docs", "promote", "report")

DESCRIPTION = """\
Generate starting layers and operation sequences with Hypothesis, run them on the executable
model of overlayfs and on real targets (the kernel's overlayfs, FUSE overlays), compare every
result and the whole observable state after each step, shrink the first disagreement and write
a report with standalone reproducers.

Without options: --target kernel over every supported config, about a minute in all.

Other commands:
  difftest replay REPORT_DIR     rerun a saved case (exit 1 if it still diverges)
  difftest replay --db URL       replay every saved failing example of a database (the
                                 gate of a campaign: exit 1 while any still diverges)
  difftest report --db URL --html DIR   write a campaign's report (DIR/index.html)
  difftest docs [--check]        render the semantics pages in reports/semantics/
  difftest promote REPORT_DIR    turn a saved case into a documentation example
"""

EPILOG = (
    """\
targets:  kernel            the running kernel's overlayfs (needs root)
          fuse              this project's ovlfuse, exact mode (timeouts 0)
          fuse-cached       ovlfuse as users mount it (60 s entry/attribute caching)
          fuse-crash        the crash lane: ovlfuse (exact) killed with SIGKILL at a drawn
                            change to a layer inside an operation; after a fresh mount the
                            view must be what the operation started from or ended with
          fuse-overlayfs    the fuse-overlayfs program, if installed (its default caching)
          fuse-overlayfs-exact   the same with -o timeout=0
          cmd:PROG ARGS     any program taking the kernel's -o lowerdir=,upperdir=,workdir= syntax
configs:  """
    + ", ".join(PRESETS)
    + """
exit codes: 0 all agree, 1 divergence found, 2 usage or environment error, 130 interrupted
"""
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="difftest",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--target",
        "-t",
        action="append",
        dest="targets",
        metavar="T",
        help="target to compare with the model (repeatable; default: kernel)",
    )
    p.add_argument(
        "--config",
        "-c",
        action="append",
        dest="configs",
        metavar="C",
        help="overlay config preset (repeatable; default: all supported: "
        + ", ".join(SUPPORTED)
        + "; with --profile nightly or campaign: every preset, the whole option matrix; "
        "less those a target refuses by design, e.g. metacopy=on for fuse)",
    )
    p.add_argument(
        "--lowers",
        type=int,
        choices=(1, 2, 3),
        help="number of lower layers (overrides the preset's)",
    )
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--examples",
        "-n",
        type=int,
        metavar="N",
        help="examples per config (instead of a time budget)",
    )
    budget.add_argument(
        "--time",
        type=float,
        metavar="SECONDS",
        help="time budget for the whole run, split between configs",
    )
    p.add_argument("--steps", type=int, metavar="N",
                   help="maximum steps per example (a step is one operation, as reports "
                   "count them)")
    p.add_argument("--seed", type=int, help="fixed seed (reproducible generation)")
    p.add_argument(
        "--profile",
        choices=list(PROFILES),
        default="dev",
        help="settings profile of a role: "
        + ", ".join(f"{p.name} ({p.budget_text()}, {p.steps} steps)" for p in PROFILES.values()),
    )
    p.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports"),
        help="where divergence reports go (default: reports/)",
    )
    p.add_argument("--junit-xml", type=Path, metavar="FILE", help="write a JUnit XML summary")
    p.add_argument("--json", type=Path, metavar="FILE", help="write a JSON summary")
    p.add_argument("--no-shrink", action="store_true", help="report divergences unshrunk")
    p.add_argument("--shrink-time", type=float, metavar="SECONDS",
                   help="time cap of each divergence's shrink (default: the profile's, 60 s "
                        "for dev and ci; with --time, shrinking also stops near the end of "
                        "the budget)")
    p.add_argument("--survey", action="store_true",
                   help="keep going after a divergence to collect every distinct one "
                        "(for third-party targets); writes a summary with the reports")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="worker processes per config, each with its own seed and mounts "
                        "(default 1; 0: one per CPU); the first divergence stops them all")
    p.add_argument("--ovlfuse", metavar="PATH",
                   help="the ovlfuse program the fuse targets mount (default: the one of this "
                        "difftest's own environment, never merely the first on PATH)")
    p.add_argument("--no-pin", action="store_true",
                   help="do not pin each tester process (with its FUSE daemons) to one CPU")
    db = p.add_mutually_exclusive_group()
    db.add_argument("--db", metavar="URL",
                    help="example database and campaign statistics: redis://HOST:PORT/N "
                         "(shared by the workers of a campaign) or a directory (default "
                         f"{DEFAULT_DIR})")
    db.add_argument("--no-db", action="store_true",
                    help="do not use Hypothesis's example database")
    p.add_argument("--html", type=Path, metavar="DIR",
                   help="at the end, write the campaign report to DIR/index.html: of the "
                        "database --db names, else of the runs that wrote to DIR")
    p.add_argument("--coverage", action="store_true",
                   help="measure which rules of the model (model/) the run reached: branch "
                        "coverage, printed as a share with the rules never entered, and in "
                        "--json; with an ovlfuse target, of fuse_impl/ in its daemons too; "
                        "-vv also lists every branch not taken (slows the tester down; see "
                        "reports/coverage/)")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    return p


class UsageError(Exception):
    pass


def resolve_configs(names: Sequence[str] | None, lowers: int | None,
                    whole_matrix: bool = False) -> list[RunConfig]:
    """The configs named, else the default set (the whole matrix for a profile that runs
    it), each with ``lowers`` lower layers if given."""
    out = []
    for name in names or (MATRIX if whole_matrix else SUPPORTED):
        if name not in PRESETS:
            raise UsageError(f"unknown config {name!r}; choose from: {', '.join(PRESETS)}")
        rc = PRESETS[name] if lowers is None else with_lowers(PRESETS[name], lowers)
        if not rc.has_upper and rc.lowers < 2:
            raise UsageError(f"{rc.name}: an overlay without upper needs at least 2 lowers")
        out.append(rc)
    return out


def resolve_jobs(jobs: int, survey: bool) -> int:
    if jobs < 0:
        raise UsageError(f"--jobs {jobs}: give a number of processes, or 0 for one per CPU")
    jobs = jobs or len(os.sched_getaffinity(0))
    if jobs > 1 and survey:
        raise UsageError("--survey runs in one process (it needs every divergence found so far)")
    return jobs


def _drop_unsupported(
    configs: list[RunConfig], targets: list[str], console: Console
) -> list[RunConfig]:
    """The default config list less the presets a target refuses by design (named with -c,
    they still run, and the refusal is reported)."""
    from difftest.targets import unsupported_config

    kept = []
    for rc in configs:
        preset = rc.name.split(",")[0]  # "index=on,lowers=3" is preset index=on
        why = next((w for t in targets if (w := unsupported_config(t, preset))), None)
        if why is None:
            kept.append(rc)
        else:
            console.print(f"difftest: skipping config {rc.name}: {why}", style="yellow")
    if not kept:
        raise UsageError("no config left that every target supports")
    return kept


def check_targets(targets: list[str]) -> None:
    from difftest.targets import target_problem

    for t in targets:
        why = target_problem(t)
        if why:
            raise UsageError(f"target {t}: {why}")


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated("SIGTERM")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        from difftest import commands

        return commands.main(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    console = Console(stderr=False, highlight=False)
    try:
        args.store = None if args.no_db else open_store(args.db or str(DEFAULT_DIR))
    except StoreError as exc:  # before anything is mounted
        print(f"difftest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.ovlfuse:
        os.environ["DIFFTEST_OVLFUSE"] = args.ovlfuse  # the mount server and workers inherit it
    try:
        configs = resolve_configs(args.configs, args.lowers,
                                  PROFILES[args.profile].whole_matrix)
        targets = args.targets or ["kernel"]
        check_targets(targets)
        if args.configs is None:
            configs = _drop_unsupported(configs, targets, console)
        args.jobs = resolve_jobs(args.jobs, args.survey)
    except UsageError as exc:
        console.print(f"difftest: {exc}", style="red")
        return EXIT_USAGE
    if args.shrink_time is None:
        args.shrink_time = PROFILES[args.profile].shrink_seconds
    from difftest.targets import programs

    if not args.quiet:
        for name, version in programs(targets).items():
            console.print(f"difftest: target {name} mounts {version}")
    os.umask(0)
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _run_all(args, configs, targets, console)
    except KeyboardInterrupt:
        console.print("difftest: interrupted; every mount was taken down", style="yellow")
        return EXIT_INTERRUPTED
    except ScratchError as exc:
        console.print(f"difftest: {exc}", style="red")
        return EXIT_USAGE
    finally:
        signal.signal(signal.SIGTERM, old)


def _budget(args: argparse.Namespace) -> tuple[int | None, float | None, int]:
    """(examples per config, seconds for the whole run, steps per example)."""
    prof = PROFILES[args.profile]
    steps = args.steps or prof.steps
    if args.examples is not None:
        return args.examples, None, steps
    if args.time is not None:
        return None, args.time, steps
    if prof.examples is not None:
        return prof.examples, None, steps
    assert prof.seconds is not None
    return None, prof.seconds, steps


def _run_all(
    args: argparse.Namespace, configs: list[RunConfig], targets: list[str], console: Console
) -> int:
    """Run each config in turn.  A time budget is shared: each config gets an equal part of
    what is left, so the time of a config that a target refuses to mount (it ends at once)
    goes to the configs after it."""
    from difftest.scratch import Scratch

    examples, total, steps = _budget(args)
    args.recorder = _recorder(args, configs, targets, examples, total, steps)
    args.rules = args.daemon_rules = None
    if args.coverage:
        from difftest.rulecov import Collector

        args.rules = Collector()
        args.daemon_rules = _daemon_coverage(targets)
    results: list[tuple[RunResult, list[Path]]] = []
    run_start = time.monotonic()
    with _daemons_measured(args.daemon_rules), \
            placement.pinned(0, args.jobs == 1 and not args.no_pin), Scratch() as scratch, \
            ProgressView(console, quiet=args.quiet) as view, stop.signals_as_flags():
        for i, rc in enumerate(configs):
            seconds = None
            if total is not None:
                seconds = max(0.0, total - (time.monotonic() - run_start)) / (len(configs) - i)
            result, where = _run_config(args, rc, targets, scratch, view, examples, seconds,
                                        steps)  # fmt: skip
            results.append((result, where))
            if result.error is not None:
                raise result.error  # a KeyboardInterrupt after the reports are written
    _summaries(args, results, targets, console)
    if args.html is not None:
        _campaign_report(args.recorder.store, args.html, console)
    return EXIT_DIVERGENCE if any(not r.agreed for r, _ in results) else EXIT_AGREE


def _daemon_coverage(targets: list[str]) -> DaemonCoverage | None:
    """With an ovlfuse target (and no other ovlfuse named by ``--ovlfuse``, which sets
    DIFFTEST_OVLFUSE), measure ``fuse_impl/`` in its daemons as well."""
    from difftest.rulecov import DaemonCoverage
    from difftest.targets.fuse import OVLFUSE_TARGETS

    if os.environ.get("DIFFTEST_OVLFUSE") or not any(t in OVLFUSE_TARGETS for t in targets):
        return None
    return DaemonCoverage(Path(tempfile.mkdtemp(prefix="difftest-fuse-coverage-")))


@contextlib.contextmanager
def _daemons_measured(daemons: DaemonCoverage | None) -> Iterator[None]:
    """While the run lasts, the ovlfuse that is mounted is the one that measures itself (the
    mount server and workers inherit DIFFTEST_OVLFUSE); once every daemon has exited, its
    data is read, and the environment and the data directory are as before, also after an
    error."""
    if daemons is None:
        yield
        return
    os.environ["DIFFTEST_OVLFUSE"] = shlex.join(daemons.command())
    try:
        yield
        daemons.measured = daemons.result()
    finally:
        del os.environ["DIFFTEST_OVLFUSE"]
        shutil.rmtree(daemons.dir, ignore_errors=True)


def _recorder(args: argparse.Namespace, configs: list[RunConfig], targets: list[str],
              examples: int | None, seconds: float | None, steps: int) -> Recorder | None:
    """Where this run's statistics go: the database --db names (a campaign's), else with
    --html a JSONL file beside the page; nowhere without either (a plain run leaves no
    records behind in the default database)."""
    from difftest.store import DirStore

    store: Store | None = args.store if args.db is not None else None
    if store is None and args.html is not None:
        store = DirStore(args.html)
    if store is None:
        return None
    recorder = Recorder(store, new_run_id())
    recorder.start(argv=sys.argv, profile=args.profile, seed=args.seed, jobs=args.jobs,
                   targets=targets, configs=[rc.name for rc in configs], examples=examples,
                   seconds=seconds, steps=steps)  # fmt: skip
    return recorder


def _campaign_report(store: Store, out: Path, console: Console) -> None:
    from difftest.htmlreport import write_html

    try:
        page = write_html(store.records(), shown(store.url), out)
    except Exception as exc:  # the run's own results stand; only the page is missing
        console.print(f"difftest: no campaign report: {exc}", style="red")
        return
    console.print(f"difftest: campaign report: {page}")


def _on_progress(view: ProgressView, recorder: Recorder | None) -> Any:
    if recorder is None:
        return view.update

    def both(session: Session) -> None:
        view.update(session)
        recorder.progress(session)

    return both


def _run_config(args: argparse.Namespace, rc: RunConfig, targets: list[str], scratch: Any,
                view: ProgressView, examples: int | None, seconds: float | None, steps: int
                ) -> tuple[RunResult, list[Path]]:  # fmt: skip
    """One config: run it, then write its reports (or, in survey mode, its summary)."""
    recorder: Recorder | None = args.recorder
    session = Session(rc, targets, scratch, on_progress=_on_progress(view, recorder))
    view.start(session, examples, seconds)
    survey = Survey(rc, targets, args.report_dir, view.console) if args.survey else None
    if survey is not None and rc.userns:  # a survey runs in-process; userns needs a worker
        view.console.print(f"[yellow]{rc.name}: runs in a worker inside a user namespace, "
                           "reported as an ordinary run, not surveyed[/]")
        survey = None
    if survey is not None:
        session.known = Known()
    common = dict(examples=examples, seconds=seconds, steps=steps, seed=args.seed,
                  store=args.store, shrink=not args.no_shrink, profile=args.profile,
                  shrink_seconds=args.shrink_time)  # fmt: skip
    rules = args.rules
    if args.jobs > 1 or rc.userns:  # a user namespace is entered by a worker, never here
        result = run_parallel(session, args.jobs, base=scratch.path, pin=not args.no_pin,
                              recorder=recorder, coverage=rules is not None,
                              **common)  # fmt: skip
        for data in result.rule_data if rules is not None else ():
            rules.merge(data)
    else:
        with rules.measuring() if rules is not None else contextlib.nullcontext():
            result = run(session, on_found=survey.add if survey is not None else None,
                         **common)  # fmt: skip
        if recorder is not None:
            recorder.snapshot(session, final=True)
    view.finish(session, result)
    where: list[Path] = []
    found: list[tuple[Any, Path | None]] = []
    if survey is not None:
        summary = survey.finish(Session(rc, targets, scratch))
        where = [summary] if summary is not None else []
        found = [(rec, report) for rec, report, _ in survey.found]
    else:
        for n, failure in enumerate(result.failures, 1):
            rid = run_id(rc, targets) + (f"-{n}" if len(result.failures) > 1 else "")
            path = write_report(failure, rc, targets, args.report_dir, rid)
            view.console.print()
            print_failure(view.console, failure, targets, path)
            where.append(path)
            found.append((failure, path))
    for rec, report in found:
        if recorder is not None:
            recorder.found(session, rec, report)
    return result, where


def _summaries(
    args: argparse.Namespace,
    results: list[tuple[RunResult, list[Path]]],
    targets: list[str],
    console: Console,
) -> None:
    rows: list[dict[str, Any]] = []
    for r, where in results:
        s = r.session
        if s.online_outcomes:
            console.print(f"{s.run_config.name}: results after a layer changed underneath "
                          "that differ from the model's (allowed; 'target: family: model's -> "
                          "target's'):")
            for key, n in s.online_outcomes.most_common():
                console.print(f"  {n:5d}  {key}")
        rows.append(
            {
                "config": s.run_config.name,
                "targets": targets,
                "examples": s.examples,
                "steps": s.steps,
                "seconds": round(r.seconds, 2),
                "examples_per_s": round(s.examples / r.seconds, 1) if r.seconds else 0,
                "steps_per_s": round(s.steps / r.seconds, 1) if r.seconds else 0,
                "agreed": r.agreed,
                "flaky": r.flaky,
                "divergence": None
                if r.failure is None or r.failure.divergence is None
                else r.failure.divergence.summary(),
                "divergences": [f.divergence.summary().splitlines()[0]
                                for f in r.failures if f.divergence is not None],
                "report": str(where[0]) if where else None,
                "reports": [str(w) for w in where],
                "refused_by": r.configs_refused,
                "capped_shrinks": r.capped_shrinks,
                "events": {e: n for e, n, _ in s.tally.rows()},
                "online_outcomes": dict(s.online_outcomes.most_common()),
                "setup_seconds": {k: round(v, 3) for k, v in s.setup_seconds.items()},
            }
        )
    rules = args.rules.result() if args.rules is not None else None
    daemon_rules = args.daemon_rules.measured if args.daemon_rules is not None else None
    if args.json:
        from difftest.targets import programs

        doc = {"runs": rows, "time": time.time(), "programs": programs(targets)}
        if rules is not None:
            doc["rule_coverage"] = rules.to_json()
        if daemon_rules is not None:
            doc["fuse_impl_coverage"] = daemon_rules.to_json()
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    if args.junit_xml:
        from difftest.junit import write_junit

        write_junit(args.junit_xml, rows,
                    [m.to_json() for m in (rules, daemon_rules) if m is not None])
    if args.quiet and rows and all(row["agreed"] for row in rows):
        examples, steps = sum(r["examples"] for r in rows), sum(r["steps"] for r in rows)
        seconds = sum(r["seconds"] for r in rows)
        console.print(f"difftest: {' + '.join(targets)} agreed with the model in "
                      f"{len(rows)} config(s): {examples} examples, {steps} steps in "
                      f"{seconds:.1f} s")  # fmt: skip
    for measured in (rules, daemon_rules):
        if measured is None:
            continue
        from difftest.rulecov import summary_lines

        for line in summary_lines(measured, limit=100 if args.verbose else 20,
                                  missed=args.verbose >= 2):
            console.print(line, markup=False)
    if args.verbose:
        from difftest.progress import coverage_table

        for r, _ in results:
            console.print(coverage_table(r.session))


if __name__ == "__main__":
    raise SystemExit(main())
