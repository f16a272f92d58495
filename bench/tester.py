"""The differential tester's own throughput, and the model's.

Each round runs ``difftest --target T --config default --time S --seed 1 --no-db
--no-shrink -q --json F`` (or ``--examples N``) once per target (model alone, kernel,
ovlfuse; the kernel and ovlfuse also with ``--jobs 2``), in an order rotated every round,
and reads the JSON summary: compared steps/s, examples/s, and per-example setup time per
target (``setup_seconds`` / examples).  The same seed gives every target the same examples
(as many as it gets through in a timed run).  With ``--no-shrink`` a divergence ends the run at once
instead of spending minutes shrinking, so the figures stay throughput figures (the report
says when a run stopped early).  ``--target model`` compares the model with nothing but
runs the whole loop (generation, model, observation, comparison): the tester's ceiling.

Model operations/s come from ``python -m model.bench STEPS`` (syscalls per CPU second on a
mixed stream), when that module exists.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

# "T -jN" runs difftest --target T --jobs N (N worker processes: the parallel figure);
# "--steps 12" the CI gate's steps per example instead of the default profile's 20.
TARGETS = ("model", "kernel", "kernel -j2", "kernel -j2 --steps 12", "fuse", "fuse -j2",
           "fuse -j2 --steps 12")


def parse_target(target: str) -> tuple[str, str, str | None]:
    """``"kernel -j2 --steps 12"`` -> (name, jobs, steps or None for the default)."""
    words = target.split()
    jobs = next((w[2:] for w in words[1:] if w.startswith("-j")), "1")
    steps = words[words.index("--steps") + 1] if "--steps" in words else None
    return words[0], jobs, steps


@dataclass
class TesterSample:
    round: int
    target: str
    examples: int = 0
    steps: int = 0
    seconds: float = 0.0
    wall_seconds: float = 0.0
    examples_per_s: float = 0.0
    steps_per_s: float = 0.0
    setup_per_example: dict[str, float] = field(default_factory=dict)
    agreed: bool | None = None
    divergence: str | None = None
    error: str | None = None


def difftest_cmd() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "difftest")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "difftest"]


def difftest_args(target: str, examples: int | None, seconds: float | None,
                  seed: int) -> list[str]:
    """The difftest arguments of one run (without --json and --report-dir)."""
    name, jobs, steps = parse_target(target)
    budget = ["--time", f"{seconds:g}"] if seconds else ["--examples", str(examples)]
    return ["--target", name, "--config", "default", *budget, "--seed", str(seed), "--no-db",
            "--no-shrink", "-q", "--jobs", jobs, *(["--steps", steps] if steps else [])]


def run_difftest(target: str, examples: int | None, seed: int, workdir: str, rnd: int,
                 timeout: float, seconds: float | None = None) -> TesterSample:
    """One difftest run of ``examples`` examples, or of ``seconds`` when that is given."""
    s = TesterSample(rnd, target)
    tag = target.replace(" ", "")
    out = os.path.join(workdir, f"difftest-{tag}-{rnd}.json")
    reports = os.path.join(workdir, f"reports-{tag}-{rnd}")
    cmd = [*difftest_cmd(), *difftest_args(target, examples, seconds, seed),
           "--json", out, "--report-dir", reports]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        s.error = f"timed out after {timeout:.0f} s"
        return s
    s.wall_seconds = time.perf_counter() - t0
    if p.returncode not in (0, 1) or not os.path.exists(out):
        s.error = f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-400:]}"
        return s
    with open(out) as f:
        row = json.load(f)["runs"][0]
    s.examples, s.steps, s.seconds = row["examples"], row["steps"], row["seconds"]
    s.examples_per_s, s.steps_per_s = row["examples_per_s"], row["steps_per_s"]
    n = max(1, row["examples"])
    s.setup_per_example = {k: v / n for k, v in row.get("setup_seconds", {}).items()}
    s.agreed = row.get("agreed")
    s.divergence = (row.get("divergence") or "").splitlines()[0] if row.get("divergence") \
        else None
    return s


def run_tester_rounds(rounds: int, examples: int | None, seed: int = 1,
                      targets: tuple[str, ...] = TARGETS, timeout: float = 600.0,
                      log: Any = None, seconds: float | None = None) -> list[TesterSample]:
    samples = []
    with tempfile.TemporaryDirectory(prefix="ovlbench-difftest-") as workdir:
        for r in range(rounds):
            order = list(targets[r % len(targets):]) + list(targets[: r % len(targets)])
            for t in order:
                s = run_difftest(t, examples, seed, workdir, r, timeout, seconds)
                samples.append(s)
                if log is not None:
                    log(f"[tester {r + 1}/{rounds}] difftest --target {t}: "
                        + (f"{s.examples} examples, {s.steps_per_s:.1f} steps/s, "
                           f"{s.examples_per_s:.1f} examples/s" if s.error is None
                           else f"ERROR {s.error}"))
    return samples


@dataclass
class ModelSample:
    round: int
    steps: int
    syscalls_per_s: float = 0.0
    cpu_seconds: float = 0.0
    error: str | None = None


def model_bench_available() -> bool:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.exists(os.path.join(here, "model", "bench.py"))


def run_model_bench(steps: int, rnd: int, timeout: float = 600.0) -> ModelSample:
    s = ModelSample(rnd, steps)
    try:
        p = subprocess.run([sys.executable, "-m", "model.bench", str(steps), "1"],
                           capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        s.error = "timed out"
        return s
    m = re.search(r"in ([\d.]+) s CPU: ([\d,]+) syscalls/s", p.stdout)
    if p.returncode != 0 or not m:
        s.error = f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-300:]}"
        return s
    s.cpu_seconds = float(m.group(1))
    s.syscalls_per_s = float(m.group(2).replace(",", ""))
    return s
