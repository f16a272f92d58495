"""Smoke test of the benchmark harness: ``python -m bench --quick`` writes a complete report.

Tiny sizes, one round: checks the plumbing (mounting every implementation, every workload,
the tester figures, the report), not the figures themselves.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"^\d+(\.\d+)?$")
FIGURES = ("W1-cold", "W1-warm", "W2", "W3", "W4-append", "W4-copyup",
           "W5-create", "W5-rm", "W6", "W7-stat", "W7-copyup")


def _mounts_under(base: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(base)]


@pytest.mark.privileged
def test_quick_run_writes_every_row(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.terminate()  # SIGTERM: the harness unmounts what it mounted
        stdout, stderr = proc.communicate()
        pytest.fail(f"bench --quick took over 300 s:\n{stderr[-3000:]}")
    p = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert p.returncode == 0, p.stderr[-3000:]
    md = (out / "bench.md").read_text()
    data = json.loads((out / "bench.json").read_text())

    # every workload figure has a row, with a number in every implementation's column
    impls = list(data["implementations"])
    assert {"raw", "kernel", "ovlfuse", "ovlfuse-exact"} <= set(impls)
    rows: dict[str, str] = {}
    for line in md.splitlines():  # the first table with a row per figure: the medians
        if line.startswith("| W"):
            rows.setdefault(line.split("|")[1].strip(), line)
    assert set(data["figures"]) == set(FIGURES)
    for key in FIGURES:
        title = data["figures"][key]["title"]
        assert title in rows, f"no row for {key}"
        cells = [c.strip() for c in rows[title].split("|")[2:2 + len(impls)]]
        assert all(NUMBER.match(c) for c in cells), (key, cells)
        for impl in impls:
            assert isinstance(data["medians_s"][key][impl], float)
        assert data["comparisons"][key]["ovlfuse_over_kernel"] is not None

    # tester figures for every target, the machine description, no errors
    for target in ("model", "kernel", "fuse", "kernel -j2 --steps 12", "fuse -j2 --steps 12"):
        t = data["tester"][target]
        assert t["steps_per_s"] > 0 and t["examples_per_s"] > 0, (target, t)
    assert "compared steps/s" in md and "| CPU |" in md
    assert data["env"]["kernel"] and data["env"]["pyfuse3"] and data["env"]["libfuse"]
    assert data["errors"] == []
    left = _mounts_under(os.path.join(tempfile.gettempdir(), "ovlbench-"))
    assert not left, f"benchmark mounts left behind: {left}"


def test_tester_targets_name_jobs_and_steps() -> None:
    from bench.tester import parse_target

    assert parse_target("model") == ("model", "1", None)
    assert parse_target("kernel -j2") == ("kernel", "2", None)
    assert parse_target("fuse -j2 --steps 12") == ("fuse", "2", "12")


def test_tester_runs_are_timed_or_counted() -> None:
    from bench.tester import difftest_args

    timed = difftest_args("kernel -j2 --steps 12", None, 20.0, 1)
    assert timed[timed.index("--time") + 1] == "20" and "--examples" not in timed
    assert timed[timed.index("--jobs") + 1] == "2" and timed[timed.index("--steps") + 1] == "12"
    counted = difftest_args("fuse", 5, None, 1)
    assert counted[counted.index("--examples") + 1] == "5" and "--time" not in counted
    assert "--steps" not in counted
