"""Progress for long runs: a rich live display on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from difftest.runner import RunResult
    from difftest.session import Session

PLAIN_EVERY = 5.0  # seconds between plain progress lines


def _stats(s: Session) -> str:
    el = max(s.elapsed, 1e-9)
    crashes = f", {s.tally.counts['crash']} kill points" if s.crash_lane else ""
    return (
        f"{s.examples} examples, {s.steps} steps, {s.divergent_examples} divergent{crashes}, "
        f"{s.examples / el:.0f} ex/s, {s.steps / el:.0f} steps/s"
    )


class ProgressView:
    """One line per config: examples, steps, divergences and rates."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.live = console.is_terminal and not quiet
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None
        self.last_plain = 0.0
        self.budget_examples: int | None = None
        self.budget_seconds: float | None = None

    def __enter__(self) -> ProgressView:
        if self.live:
            self.progress.start()
            self.console = self.progress.console
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.live:
            self.progress.stop()

    def start(self, s: Session, examples: int | None, seconds: float | None) -> None:
        self.budget_examples, self.budget_seconds = examples, seconds
        total = float(examples) if examples is not None else seconds
        desc = f"{s.run_config.name} vs {', '.join(s.target_names)}"
        if self.live:
            self.task = self.progress.add_task(desc, total=total, stats="starting")
        elif not self.quiet:
            self.console.print(
                f"difftest: {s.run_config.describe()} vs {', '.join(s.target_names)}"
            )

    def update(self, s: Session) -> None:
        if self.live and self.task is not None:
            done = s.examples if self.budget_examples is not None else s.elapsed
            self.progress.update(self.task, completed=done, stats=_stats(s))
        elif not self.quiet and time.monotonic() - self.last_plain > PLAIN_EVERY:
            self.last_plain = time.monotonic()
            self.console.print(f"  {s.run_config.name}: {_stats(s)}")

    def finish(self, s: Session, result: RunResult) -> None:
        if result.failure is None and isinstance(result.error, KeyboardInterrupt):
            verdict = "interrupted"
        elif result.failure is None and result.error is not None:
            verdict = f"ERROR ({result.error})"
        else:
            verdict = "agree" if result.agreed else "DIVERGENCE"
        if result.flaky:
            verdict += " (flaky: did not reproduce on replay)"
        line = f"{s.run_config.name}: {verdict}: {_stats(s)} in {result.seconds:.1f} s"
        if self.live and self.task is not None:
            total = self.progress.tasks[self.task].total
            self.progress.update(self.task, completed=total, stats=_stats(s) + f"  {verdict}")
        if not self.quiet or not result.agreed:
            self.console.print(line, style="green" if result.agreed else "bold red")


def coverage_table(s: Session) -> Table:
    """How many examples reached each deep state."""
    t = Table(title=f"states reached: {s.run_config.name} ({s.tally.examples} examples)")
    t.add_column("event")
    t.add_column("examples", justify="right")
    t.add_column("%", justify="right")
    for name, n, pct in s.tally.rows():
        t.add_row(name, str(n), f"{pct:.1f}")
    return t
