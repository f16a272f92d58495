"""A last shrinking pass by replay: drop steps and layer entries while the divergence stays.

Hypothesis shrinks the choices that generated an example, and stops after 500 successful
shrinks; a 20-step example over three layers can still hold steps and entries that play no
part (a divergence found at ``index=on`` came out with 7 identical no-op steps and two dozen
unrelated entries).  This pass works on the saved case itself, as ``difftest replay`` runs it:
it removes one step, or one entry with everything beneath it, replays, and keeps the removal
when the replay still diverges the same way (the same signature, :mod:`difftest.signature`).
Each replay is one example on every target; the pass stops after :data:`BUDGET_S` seconds
and returns the smallest case reproduced so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from difftest import ops
from difftest.divergence import Divergence, DivergenceFound, Signature, TargetSetupError
from difftest.example import ExampleRecord, run_program
from difftest.session import Session
from model.spec import Entry, LayersSpec

BUDGET_S = 60.0


def signature(d: Divergence) -> Signature:
    """What makes two divergences the same for this pass: their signature."""
    return d.signature


def _replay(session: Session, spec: LayersSpec, program: list[ops.Op]) -> ExampleRecord | None:
    try:
        return run_program(session, spec, program)
    except (OSError, TargetSetupError, DivergenceFound):
        return None  # the layers no longer mount: not a reproduction


def _without_entry(entries: tuple[Entry, ...], victim: Entry) -> tuple[Entry, ...]:
    """``entries`` less ``victim``, what lies beneath it, and hard links to any of those."""
    gone = {e.path for e in entries if e.path == victim.path
            or e.path.startswith(victim.path + b"/")}  # fmt: skip
    return tuple(e for e in entries if e.path not in gone
                 and not (e.kind == "hardlink" and e.target in gone))  # fmt: skip


def _smaller_specs(spec: LayersSpec) -> list[LayersSpec]:
    """Every spec with one entry (and what depends on it) removed, deepest entries first."""
    out = []
    layers = [*spec.lowers, *([] if spec.upper is None else [spec.upper])]
    for i, entries in enumerate(layers):
        for victim in sorted(entries, key=lambda e: -e.path.count(b"/")):
            smaller = _without_entry(entries, victim)
            if i < len(spec.lowers):
                lowers = (*spec.lowers[:i], smaller, *spec.lowers[i + 1:])
                out.append(replace(spec, lowers=lowers))
            else:
                out.append(replace(spec, upper=smaller))
    return out


def minimise(session: Session, record: ExampleRecord, budget_s: float = BUDGET_S
             ) -> ExampleRecord:  # fmt: skip
    """The smallest case found that still diverges like ``record`` (``record`` itself when
    the replay does not reproduce it, or when nothing could be removed)."""
    if record.divergence is None:
        return record
    want = signature(record.divergence)
    deadline = time.monotonic() + budget_s

    def same(spec: LayersSpec, program: list[ops.Op]) -> ExampleRecord | None:
        got = _replay(session, spec, program)
        if got is None or got.divergence is None or signature(got.divergence) != want:
            return None
        return got

    best = _minimised(session, record, want, deadline, same)
    best.found_at = record.found_at
    return best


def _minimised(session: Session, record: ExampleRecord, want: Signature, deadline: float,
               same: Callable[[LayersSpec, list[ops.Op]], ExampleRecord | None]
               ) -> ExampleRecord:  # fmt: skip
    best = same(record.spec, [s.op for s in record.steps])
    if best is None:
        return record  # not reproducible by replay (timing, a hang): keep Hypothesis's
    progress = True
    while progress and time.monotonic() < deadline:
        progress = False
        program = [s.op for s in best.steps]
        for i in reversed(range(len(program))):
            if time.monotonic() >= deadline:
                break
            if i >= len(program):
                continue  # a replay stopped earlier than the program's end
            got = same(best.spec, program[:i] + program[i + 1:])
            if got is not None:
                best, program, progress = got, [s.op for s in got.steps], True
        size = _size(best.spec)
        for spec in _smaller_specs(best.spec):
            if time.monotonic() >= deadline:
                break
            got = same(spec, [s.op for s in best.steps])
            if got is not None and _size(got.spec) < size:
                best, progress = got, True
                break  # the candidates were computed from the old spec
    return best


def _size(spec: LayersSpec) -> int:
    return sum(len(layer) for layer in spec.lowers) + len(spec.upper or ())
