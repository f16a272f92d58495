"""Survey mode: keep running after a divergence, to collect every *distinct* one.

For a third-party implementation the first divergence is rarely the only one, and a known
one would otherwise be found again in every example.  Each shrunk divergence gets a
signature (the kind, the operation, the results, or the state differences with paths
removed); later differences with a known signature are set aside, so the run goes on to find
new ones.  Only ``--survey`` runs do this: the gate stops at the first difference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from difftest import ops
from difftest.example import (
    Divergence,
    DivergenceFound,
    Example,
    ExampleRecord,
    StepRecord,
    is_setup_failure,
)
from difftest.observe import diff, observe
from difftest.report import run_id, write_report
from difftest.session import RunConfig, Session

_PATHS = re.compile(r"b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"")
_VALUES = re.compile(r"(\w+): [^;]*? != [^;]*")
_LISTS = re.compile(r"\[[^\]]*\]|, actual has .*|expected .*, missing")


def line_signature(line: str) -> str:
    """A state-difference line without paths and values: which fields differ, and how."""
    return _LISTS.sub("…", _VALUES.sub(r"\1", _PATHS.sub("<path>", line)))


def signature(d: Divergence) -> frozenset[str]:
    """What makes a divergence the same as another."""
    if is_setup_failure(d):
        return frozenset({f"{d.kind.value}|setup|{d.target}"})  # messages name scratch paths
    if d.details:
        return frozenset(line_signature(x) for x in d.details)
    op = type(d.op).__name__ if d.op is not None else "setup"
    return frozenset({f"{d.kind.value}|{op}|{d.expected}|{d.actual}"})


@dataclass
class Known:
    """Signatures of the divergences found so far in a survey."""

    records: list[ExampleRecord] = field(default_factory=list)
    lines: set[str] = field(default_factory=set)

    def add(self, record: ExampleRecord) -> None:
        assert record.divergence is not None
        self.records.append(record)
        self.lines |= signature(record.divergence)

    def unknown_part(self, d: Divergence) -> Divergence | None:
        """``d`` without what is already known, or None when all of it is known."""
        if d.details:
            rest = [x for x in d.details if line_signature(x) not in self.lines]
            if not rest:
                return None
            return Divergence(d.step, d.target, d.kind, d.op, d.expected,
                              f"{len(rest)} new difference(s)", rest)
        return None if signature(d) <= self.lines else d


def differences_after_remount(session: Session, record: ExampleRecord) -> list[str]:
    """Replay ``record`` without stopping, remount every target, and return how the targets'
    states then differ from the model's (empty: the divergence does not persist)."""
    session.known = None
    try:
        ex = Example(session, record.spec)
    except DivergenceFound as exc:
        return [f"does not mount: {exc}"]
    ex.format_checks = False
    lines: list[str] = []
    try:
        for step in [*record.steps, StepRecord(ops.Remount(), {})]:
            for name in ex.targets:
                ex._run_on(name, step.op)
        expected = observe(ex.targets["model"])
        for name, t in ex.targets.items():
            if name == "model":
                continue
            try:
                actual = observe(t)
            except Exception as exc:  # a target that cannot even be walked differs too
                lines.append(f"{name}: observing failed: {exc}")
                continue
            lines += [f"{name}: {x}" for x in diff(expected, actual, None, None)]
    finally:
        ex.close()
    return lines


def persists(d: Divergence, after: list[str]) -> str:
    """Whether the state difference is still there after a remount: a line of the same
    signature (paths and values aside) among the differences after the remount (a
    difference in the kernel's view of the layers counts as the target's own).  A result
    that differed is an event, not state."""
    if not d.details and d.op is not None:
        return "n/a (a result, not a state)"
    if not d.details:
        return "yes" if after else "no"
    mine = {line_signature(x.split("'s layers: ", 1)[-1]) for x in d.details}
    later = {line_signature(x.split(": ", 1)[1]) for x in after if ": " in x}
    return "yes" if mine & later else "no"


def write_survey(path: Path, rc: RunConfig, targets: list[str],
                 found: list[tuple[ExampleRecord, Path, list[str]]]) -> None:
    """The survey summary: one section per distinct divergence."""
    lines = [
        f"# Survey: {', '.join(targets)} against the model ({rc.describe()})",
        "",
        f"{len(found)} distinct divergence(s). Each was shrunk; its report directory has the",
        "full case and standalone reproducers.",
        "",
    ]
    for i, (rec, where, after) in enumerate(found, 1):
        d = rec.divergence
        assert d is not None
        lines += [
            f"## {i}. {d.kind.value} after "
            + (repr(d.op) if d.op else d.where()),
            "",
            f"* report: `{where}`",
            f"* steps: {len(rec.steps)}",
            f"* expected (model = kernel): {d.expected}",
            f"* actual ({d.target}): {d.actual}",
            f"* persists across remount: {persists(d, after)}",
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
        self.found: list[tuple[ExampleRecord, Path]] = []

    def add(self, record: ExampleRecord) -> None:
        where = write_report(record, self.rc, self.targets, self.out,
                             f"{run_id(self.rc, self.targets)}-{len(self.found) + 1}")
        self.found.append((record, where))
        assert record.divergence is not None
        head = record.divergence.summary().splitlines()[0]
        self.console.print(f"  found #{len(self.found)}: {head}")

    def finish(self, session: Session) -> Path | None:
        """Check each divergence for persistence across a remount; write the summary."""
        if not self.found:
            return None
        rows = [(rec, where, differences_after_remount(session, rec)) for rec, where in self.found]
        path = self.out / f"{run_id(self.rc, self.targets)}-survey.md"
        write_survey(path, self.rc, self.targets, rows)
        self.console.print(f"survey summary: {path}")
        return path
