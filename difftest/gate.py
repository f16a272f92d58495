"""Run difftest in-process with a fixed budget: the CI gate, also usable from other test suites."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rich.console import Console

from difftest.report import print_failure, write_report
from difftest.runconfig import PRESETS
from difftest.runner import RunResult, run
from difftest.scratch import Scratch
from difftest.session import Session

# Examples per config in CI; DIFFTEST_GATE_EXAMPLES raises it for a longer local check.
GATE_EXAMPLES = int(os.environ.get("DIFFTEST_GATE_EXAMPLES", "150"))


def run_gate(config: str, targets: list[str], examples: int = GATE_EXAMPLES, seed: int = 1,
             steps: int = 12) -> RunResult:
    """Run a fixed budget; on a divergence, print the report so CI logs show it."""
    old_umask = os.umask(0)  # modes exactly as the model asks, as the command line runs
    try:
        with Scratch() as scratch:
            session = Session(PRESETS[config], targets, scratch)
            result = run(session, examples=examples, seconds=None, steps=steps, seed=seed,
                         store=None)
    finally:
        os.umask(old_umask)
    if result.failures:
        out = Path(tempfile.mkdtemp(prefix="difftest-gate-"))
        console = Console(width=160, force_terminal=False)
        for n, failure in enumerate(result.failures, 1):
            where = write_report(failure, PRESETS[config], targets, out, f"gate-{config}-{n}")
            print_failure(console, failure, targets, where)
            print((where / "report.md").read_text())
    return result
