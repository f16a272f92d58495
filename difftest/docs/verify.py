"""Kernel verification of the examples, stored in ``reports/semantics/verified.json``.

Each (example, config) run is checked twice against the running kernel's overlayfs:

1. by :func:`difftest.example.run_program`, the tester's own comparison (every result and
   the whole observable state after every step, with the named tolerances), and
2. by running the example on a kernel target exactly as the page renders it
   (:func:`difftest.docs.runner.run_view`) and comparing every rendered fact: results,
   merged view, upper layer, inode labels, and d_ino against st_ino.

The stored record names the example's digest (layers, program, config) and the digest of
the model's rendered run.  A page shows a run as verified only while both still match, so
the staleness check (:mod:`difftest.docs.render` re-rendering in memory) compares
model-derived content with the committed pages deterministically and never runs a kernel.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from difftest.docs.runner import RunView, config_of, run_model, run_view
from difftest.docs.schema import Example

VERIFIED_FILE = "verified.json"
FORMAT = 1

State = Literal["agree", "disagree", "unverified", "changed"]


@dataclass(frozen=True)
class RunStatus:
    """What a page says about one run's kernel verification."""

    state: State
    kernel: str | None = None
    summary: str = ""
    details: tuple[str, ...] = ()
    kernel_results: tuple[str, ...] = ()


@dataclass
class Verification:
    """The contents of ``verified.json``: the kernel release and one record per run."""

    kernel: str | None = None
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Verification:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            return cls()
        return cls(data.get("kernel"), dict(data.get("runs", {})))

    def dumps(self) -> str:
        data = {"format": FORMAT, "kernel": self.kernel, "runs": dict(sorted(self.runs.items()))}
        return json.dumps(data, indent=1, sort_keys=False, ensure_ascii=False) + "\n"

    def status(self, example: Example, config: str, model: RunView) -> RunStatus:
        rec = self.runs.get(example.key(config))
        if rec is None:
            return RunStatus("unverified")
        if rec.get("example") != example.digest(config) or rec.get("model") != model.digest():
            return RunStatus("changed", self.kernel)
        if rec.get("agree"):
            return RunStatus("agree", self.kernel)
        return RunStatus(
            "disagree",
            self.kernel,
            rec.get("summary", ""),
            tuple(rec.get("details", ())),
            tuple(rec.get("kernel_results", ())),
        )

    def counts(self, runs: Iterable[tuple[Example, str, RunView]]) -> dict[State, int]:
        out: dict[State, int] = {"agree": 0, "disagree": 0, "unverified": 0, "changed": 0}
        for ex, config, view in runs:
            out[self.status(ex, config, view).state] += 1
        return out


# ---- running the kernel ---------------------------------------------------------------------


def kernel_problem() -> str | None:
    """Why the kernel cannot verify examples here, or None."""
    from difftest.targets.kernel import kernel_overlay_problem

    return kernel_overlay_problem()


def compare_views(model: RunView, kernel: RunView) -> list[str]:
    """Every rendered fact on which the kernel differs from the model."""
    out = []
    if model.failed or kernel.failed:
        if model.failed != kernel.failed:
            out.append(f"mount: model {model.failed or 'ok'}, kernel {kernel.failed or 'ok'}")
        return out
    for i, (m, k) in enumerate(zip(model.steps, kernel.steps, strict=False), 1):
        if m.result.error and k.result.error:
            same = set(k.result.facts) <= set(m.result.facts)
        else:
            same = m.result.facts == k.result.facts and m.result.text == k.result.text
        if not same:
            out.append(f"step {i} {m.command}: model {m.result.text}, kernel {k.result.text}")
    for label, mv, kv in (
        ("merged", model.merged, kernel.merged),
        ("upper", model.upper or {}, kernel.upper or {}),
    ):
        for path in sorted(set(mv) | set(kv)):
            mf = mv[path].facts if path in mv else ("absent",)
            kf = kv[path].facts if path in kv else ("absent",)
            if mf != kf:
                p = os.fsdecode(path)
                out.append(f"{label} {p}: model {' '.join(mf)}; kernel {' '.join(kf)}")
    return out


def verify_run(scratch: Any, example: Example, config: str) -> dict[str, Any]:
    """Run one (example, config) on the kernel both ways and build its record."""
    from difftest.example import run_program
    from difftest.session import PRESETS, Session
    from difftest.targets import make_target

    model = run_model(example, config)
    rec: dict[str, Any] = {"example": example.digest(config), "model": model.digest()}
    session = Session(PRESETS[config], ["kernel"], scratch)
    summary, details = "", []
    try:
        record = run_program(session, example.spec, list(example.program))
    except OSError as exc:  # the kernel refused to mount the layers
        record = None
        summary = f"kernel mount failed: {exc}"
    if record is not None and record.divergence is not None:
        summary = record.divergence.summary().splitlines()[0]
        details = list(record.divergence.details[:20])
    kernel: RunView | None = None
    try:
        target = make_target("kernel", scratch, example.spec, config_of(config),
                             nested=PRESETS[config].nested)
    except OSError as exc:
        summary = summary or f"kernel mount failed: {exc}"
    else:
        try:
            kernel = run_view(target, example, config)
        finally:
            target.teardown()
    facts = compare_views(model, kernel) if kernel is not None else []
    if facts:  # the rendered facts read better than the tester's summary
        summary = facts[0]
    details = facts + details
    rec["agree"] = not summary
    if summary:
        rec["summary"] = summary
        rec["details"] = details[:20]
        if kernel is not None:
            rec["kernel_results"] = kernel.results()
    return rec


def verify_all(
    examples: list[Example], progress: Callable[[str, dict[str, Any]], None] | None = None
) -> Verification:
    """Verify every run of every example on this machine's kernel (needs root)."""
    from difftest.scratch import Scratch

    result = Verification(platform.release())
    old_umask = os.umask(0)
    try:
        with Scratch(prefix="difftest-docs-") as scratch:
            for ex in examples:
                for config in ex.configs:
                    rec = verify_run(scratch, ex, config)
                    result.runs[ex.key(config)] = rec
                    if progress is not None:
                        progress(ex.key(config), rec)
    finally:
        os.umask(old_umask)
    return result
