"""Survey mode: keep running after a divergence, to collect every *distinct* one.

For a third-party implementation the first divergence is rarely the only one, and a known
one would otherwise be found again in every example.  Each divergence has a signature
(:mod:`difftest.signature`: what differs and where, without paths or values); each distinct
one is shrunk on its own and reported, its keys become known, and later differences with a
known key are set aside, so the run goes on to find new ones.  Only ``--survey`` runs do
this: the gate stops after the first Hypothesis run that found anything.

The summary lists every divergence with the time it was first found and its shrunk length,
and groups them by probable cause (what differs, and whether the object had a name that
implementations treat specially: :func:`difftest.signature.group_of`), without merging any.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from difftest import ops
from difftest.divergence import DivergenceFound, ExampleRecord, StepRecord
from difftest.example import Example
from difftest.observe import differences
from difftest.observing import observe
from difftest.report import run_id, write_report
from difftest.runconfig import RunConfig
from difftest.session import Session
from difftest.signature import Context, group_of, state_key


def _without_op(key: str) -> str:
    """A state key less its operation: the same difference after any step."""
    parts = key.split("|")
    return "|".join([parts[0], *parts[2:]]) if parts[0] == "state" else key


def differences_after_remount(session: Session, record: ExampleRecord) -> list[str]:
    """Replay ``record`` without stopping, remount every target, and return how the targets'
    states then differ from the model's (empty: the divergence does not persist)."""
    session.known = None
    try:
        ex = Example(session, record.spec)
    except DivergenceFound as exc:
        return [f"does not mount: {exc}"]
    ex.format_checks = False
    keys: list[str] = []
    try:
        for step in [*record.steps, StepRecord(ops.Remount(), {})]:
            for name in ex.targets:
                ex._run_on(name, step.op)
        expected = observe(ex.targets["model"])
        ctx = Context(ex.lowers, None, expected)
        for name, t in ex.targets.items():
            if name == "model":
                continue
            try:
                actual = observe(t)
            except Exception as exc:  # a target that cannot even be walked differs too
                keys.append(f"failed|observe|{type(exc).__name__}")
                continue
            keys += [state_key(None, x, ctx) for x in differences(expected, actual, None, None)]
    finally:
        ex.close()
    return keys


def persists(record: ExampleRecord, after: list[str]) -> str:
    """Whether the state difference is still there after a remount: a difference with the
    same key (the operation aside) among those after the remount (a difference in the
    kernel's view of the layers counts as the target's own).  A result that differed is an
    event, not state."""
    d = record.divergence
    assert d is not None
    if not d.details and d.op is not None:
        return "n/a (a result, not a state)"
    if not d.details:
        return "yes" if after else "no"
    mine = {_without_op(k) for k in d.keys}
    later = {_without_op(k) for k in after}
    return "yes" if mine & later else "no"


@dataclass
class Found:
    """One distinct divergence of a survey: the shrunk case, its report, when it was found
    (seconds into the run) and the differences left after a remount."""

    record: ExampleRecord
    where: Path
    seconds: float
    after: list[str]


def write_survey(path: Path, rc: RunConfig, targets: list[str], found: list[Found]) -> None:
    """The survey summary: the divergences grouped by probable cause, then one section per
    divergence."""
    lines = [
        f"# Survey: {', '.join(targets)} against the model ({rc.describe()})",
        "",
        f"{len(found)} distinct divergence(s). Each was shrunk on its own; its report directory",
        "has the full case and standalone reproducers.",
        "",
        "## By probable cause",
        "",
        "| cause | # | after | first found | steps | signature |",
        "|---|---|---|---|---|---|",
    ]
    groups: dict[str, list[tuple[int, Found]]] = defaultdict(list)
    for i, f in enumerate(found, 1):
        d = f.record.divergence
        assert d is not None
        groups[group_of(sorted(d.keys)[0] if d.keys else d.kind.value)].append((i, f))
    for cause in sorted(groups):
        for i, f in groups[cause]:
            d = f.record.divergence
            assert d is not None
            key = "<br>".join(f"`{k}`" for k in sorted(d.keys)[:4])
            op = type(d.op).__name__ if d.op is not None else d.where()
            lines.append(f"| {cause} | {i} | {op} | {f.seconds:.0f} s | "
                         f"{len(f.record.steps)} | {key} |")  # fmt: skip
    lines.append("")
    for i, f in enumerate(found, 1):
        rec = f.record
        d = rec.divergence
        assert d is not None
        lines += [
            f"## {i}. {d.kind.value} after "
            + (repr(d.op) if d.op else d.where()),
            "",
            f"* report: `{f.where}`",
            f"* first found: {f.seconds:.1f} s into the run",
            f"* steps: {len(rec.steps)}",
            f"* expected (model = kernel): {d.expected}",
            f"* actual ({d.target}): {d.actual}",
            f"* persists across remount: {persists(rec, f.after)}",
            f"* signature: {', '.join(f'`{k}`' for k in sorted(d.keys))}",
            "",
        ]
        if d.details:
            lines += ["```", *d.details[:12], "```", ""]
        lines += _steps_table(rec, targets)
    path.write_text("\n".join(lines))


def _steps_table(rec: ExampleRecord, targets: list[str]) -> list[str]:
    """The shrunk steps with every target's result side by side (model = the reference)."""
    if not rec.steps:
        return ["No step: the starting layers alone show it.", ""]
    names = ["model", *targets]
    out = ["| # | operation | " + " | ".join(names) + " |",
           "|---|---|" + "---|" * len(names)]
    for i, step in enumerate(rec.steps, 1):
        cells = [str(step.outcomes[n]) if n in step.outcomes else "" for n in names]
        out.append(f"| {i} | `{step.op!r}` | " + " | ".join(cells) + " |")
    return [*out, ""]


class Survey:
    """Collects the distinct divergences of one survey run and writes their reports."""

    def __init__(self, rc: RunConfig, targets: list[str], out: Path, console: Console) -> None:
        self.rc, self.targets, self.out, self.console = rc, targets, out, console
        self.found: list[tuple[ExampleRecord, Path, float]] = []
        self.started = time.monotonic()

    def add(self, record: ExampleRecord) -> None:
        where = write_report(record, self.rc, self.targets, self.out,
                             f"{run_id(self.rc, self.targets)}-{len(self.found) + 1}")
        seen = record.found_at or time.monotonic()
        self.found.append((record, where, max(0.0, seen - self.started)))
        assert record.divergence is not None
        head = record.divergence.summary().splitlines()[0]
        self.console.print(f"  found #{len(self.found)}: {head}")

    def finish(self, session: Session) -> Path | None:
        """Check each divergence for persistence across a remount; write the summary."""
        if not self.found:
            return None
        rows = [Found(rec, where, t, differences_after_remount(session, rec))
                for rec, where, t in self.found]
        path = self.out / f"{run_id(self.rc, self.targets)}-survey.md"
        write_survey(path, self.rc, self.targets, rows)
        self.console.print(f"survey summary: {path}")
        return path
