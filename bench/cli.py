"""``python -m bench``: run the benchmarks and write ``bench.md`` and ``bench.json``.

Exit status: 0 when every measurement ran, 1 when some failed (the report lists them),
2 on a usage or environment error (not root, no overlay, no /dev/fuse), 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import shutil
import sys
import time
from typing import Any

from bench import env as envmod
from bench import report, runner, tester, trees
from bench.impls import all_impls, lookup_impl
from bench.space import Space
from bench.trees import Sizes
from bench.workloads import WORKLOADS, describe_sizes, select

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PIN = "W1"
PIN_IMPLS = ("kernel", "ovlfuse", "fuse-overlayfs", "fuse-overlayfs-mt")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark ovlfuse against fuse-overlayfs and the kernel overlay "
        "(workloads W1-W7) and the differential tester's throughput; writes bench.md and "
        "bench.json. Needs root.",
    )
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes, 1 round, few tester examples (the smoke test)")
    p.add_argument("--rounds", type=int, default=None,
                   help="interleaved rounds per figure (default 5, --quick 1)")
    p.add_argument("--only", default=None,
                   help="comma-separated subset: W1..W7 (or W4a, W4b, W5a, W5b) and/or "
                   "'tester' (default: everything)")
    p.add_argument("--out", default=os.path.join(REPO, "reports"),
                   help="directory for bench.md and bench.json (default: reports/)")
    p.add_argument("--impls", default=None,
                   help="comma-separated implementations (default: all but the ovlfuse+ "
                   "variants of bench/variants.py): "
                   + ", ".join(all_impls()))
    p.add_argument("--pin", default=None,
                   help=f"workloads also measured pinned to CPU 0 (default {DEFAULT_PIN}, "
                   "--quick none; 'none' for none)")
    p.add_argument("--exact-rounds", type=int, default=1,
                   help="rounds in which ovlfuse -o exact runs (default 1: it is 10-100x "
                   "slower on metadata workloads and would take most of the run)")
    p.add_argument("--tester-examples", type=int, default=None,
                   help="difftest examples per target per round (--quick: 5)")
    p.add_argument("--tester-time", type=float, default=None,
                   help="seconds per difftest run instead of a number of examples (default "
                   "20 unless --tester-examples or --quick: runs of equal length, long "
                   "enough that worker start-up does not count)")
    p.add_argument("--tester-rounds", type=int, default=None,
                   help="difftest rounds (default 3, --quick 1)")
    p.add_argument("--model-steps", type=int, default=None,
                   help="python -m model.bench steps (default 100000, --quick 2000)")
    return p


def environment_problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root (mounts tmpfs, overlay and FUSE filesystems)"
    with open("/proc/filesystems") as f:
        if not any(line.split()[-1:] == ["overlay"] for line in f):
            return "the kernel has no overlay filesystem"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    for prog in ("mount", "umount", "ls", "tar", "rm", "taskset"):
        if shutil.which(prog) is None:
            return f"{prog} not found"
    return None


def main(argv: list[str] | None = None) -> int:
    cmd_args = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(cmd_args)
    problem = environment_problem()
    if problem:
        print(f"bench: {problem}", file=sys.stderr)
        return 2
    only = [o.strip() for o in args.only.split(",")] if args.only else None
    want_tester = only is None or any(o.lower() == "tester" for o in only)
    wl_names = [o for o in only or [] if o.lower() != "tester"]
    try:
        workloads = select(wl_names) if only is None or wl_names else []
    except ValueError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    impls_all = all_impls()
    names = (args.impls.split(",") if args.impls else
             [n for n, i in impls_all.items() if i.default])
    for n in names:  # any combination of variants: ovlfuse+a+b
        found = lookup_impl(n, impls_all)
        if found is not None:
            impls_all[n] = found
    unknown = [n for n in names if n not in impls_all]
    if unknown:
        print(f"bench: unknown implementation(s) {unknown}; known: {list(impls_all)}",
              file=sys.stderr)
        return 2
    if not envmod.fuse_overlayfs_version() or shutil.which("fuse-overlayfs") is None:
        names = [n for n in names if not n.startswith("fuse-overlayfs")]
    if not envmod.fuse_overlayfs_has_threaded():
        names = [n for n in names if n != "fuse-overlayfs-mt"]
    impls = [impls_all[n] for n in names]
    pin_arg = args.pin if args.pin is not None else ("none" if args.quick else DEFAULT_PIN)
    pin_workloads = set() if pin_arg.lower() == "none" else {p.strip() for p in
                                                             pin_arg.split(",") if p.strip()}
    pin_impls = [impls_all[n] for n in PIN_IMPLS if n in names]
    sizes = Sizes.quick() if args.quick else Sizes()
    rounds = args.rounds or (1 if args.quick else 5)
    t_examples = args.tester_examples or (5 if args.quick else None)  # one may have no step
    t_time = args.tester_time if args.tester_time else (None if t_examples else 20.0)
    t_rounds = args.tester_rounds or (1 if args.quick else 3)
    m_steps = args.model_steps or (2000 if args.quick else 100_000)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    started = time.time()
    load0 = envmod.loadavg()
    samples: list[runner.Sample] = []
    tsamples: list[tester.TesterSample] = []
    msamples: list[tester.ModelSample] = []
    tar: trees.Tarball | None = None
    try:
        environment = envmod.collect()
        if workloads:
            with Space() as space:
                ctx: dict[str, str] = {}
                if any(w.key == "W6" for w in workloads):
                    tar = trees.build_tarball(os.path.join(space.path, "src.tar"),
                                              sizes.tar_max_bytes)
                    ctx["tarball"] = tar.path
                    log(f"tarball: {tar.files} files, {tar.dirs} dirs, "
                        f"{tar.content_bytes / (1 << 20):.1f} MiB")
                plan = runner.plan(workloads, impls, rounds, pin_workloads, pin_impls,
                                   {"ovlfuse-exact": min(rounds, max(1, args.exact_rounds))})
                samples = runner.run_rounds(space, plan, sizes, ctx, log)
        if want_tester:
            tsamples = tester.run_tester_rounds(t_rounds, t_examples, seconds=t_time, log=log)
            if tester.model_bench_available():
                for r in range(t_rounds):
                    m = tester.run_model_bench(m_steps, r)
                    msamples.append(m)
                    log(f"[model.bench {r + 1}/{t_rounds}] "
                        + (f"{m.syscalls_per_s:,.0f} syscalls/s" if m.error is None
                           else f"ERROR {m.error}"))
    except KeyboardInterrupt:
        print("bench: interrupted; every mount was taken down", file=sys.stderr)
        return 130
    figures = [f for w in workloads for f in w.figures]
    meta: dict[str, Any] = {
        "command": " ".join(["python -m bench", shlex.join(cmd_args)]).strip(),
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "duration_s": time.time() - started,
        "rounds": rounds,
        "exact_rounds": min(rounds, max(1, args.exact_rounds)),
        "quick": args.quick,
        "placement": "float (main table); cpu0-pinned for " + (", ".join(sorted(pin_workloads))
                                                                or "none"),
        "loadavg_start": load0,
        "loadavg_end": envmod.loadavg(),
        "sizes": sizes.__dict__,
        "tarball": tar.__dict__ if tar else None,
        "tester_examples": t_examples,
        "tester_time_s": t_time,
        "tester_rounds": t_rounds,
        "model_bench_steps": m_steps,
        "workloads": [w.key for w in workloads],
    }
    data = report.build_json(meta, environment, figures, impls, pin_impls, samples, tsamples,
                             msamples)
    docs = describe_sizes(sizes, tar)
    docs = {k: v for k, v in docs.items() if any(w.name == k for w in workloads)}
    md = report.render_md(data, docs)
    mp, jp = report.write(args.out, data, md)
    log(f"wrote {mp} and {jp} in {meta['duration_s'] / 60:.1f} min")
    failed = bool(data["errors"]) or any(s.error for s in tsamples)
    return 1 if failed else 0


__all__ = ["WORKLOADS", "main"]
