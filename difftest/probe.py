"""Lookups before the walk: observations that do not repair what they measure.

The full walk of :mod:`difftest.observe` lists every directory before it looks at what is in
it.  An overlay whose answers depend on what was looked up or listed before (a stale dentry,
attributes cached for one name of a hard-linked file and not invalidated when another name
changed it, a negative entry left behind) is repaired by that walk: listing a directory
refreshes its entries, so the walk sees the right answer.  So after each step, before any
walk, every target is first asked ``lstat`` of a sample of the paths the model knows, by full
path, in an order drawn for the step, without listing anything:

* the paths the step's operation named, and every other name of the same objects;
* the paths the model showed after the previous step (names just removed or renamed away);
* a few more drawn from the model's current view.

The model answers the same lookups in the same order (its lookups have the kernel's side
effects), and the answers are compared field by field (kind, mode, owner, size, nlink) and
by errno.  The order is drawn from the example's starting layers and the step number, so a
replay probes the same paths in the same order.
"""

from __future__ import annotations

import random
import stat as stat_mod
import zlib
from typing import Any

from difftest import ops
from difftest.observe import KIND_NAMES, Difference, MergedEntry, Observation
from difftest.outcome import Outcome, compare, from_error
from model.errors import OvlError
from model.types import ROOT

SAMPLE = 6  # paths drawn from the model's view besides the step's own
FIELDS = ("kind", "mode", "uid", "gid", "size", "nlink")


def probe_paths(op: ops.Op | None, before: Observation | None, handle_paths: dict[int, bytes],
                seed: int, step: int) -> list[bytes]:  # fmt: skip
    """The paths to look up after ``step`` (``op``), in the order to look them up."""
    rng = random.Random(zlib.crc32(b"%d:%d" % (seed, step)))
    touched: list[bytes] = []
    if op is not None:
        touched = list(op.paths())
        if op.uses_handle and getattr(op, "h", None) in handle_paths:
            touched.append(handle_paths[op.h])  # type: ignore[attr-defined]
    chosen = dict.fromkeys(touched)
    if before is not None:
        for cls in before.identity_classes():  # the other names of the objects touched
            if any(p in cls for p in touched):
                chosen.update(dict.fromkeys(sorted(cls)))
        known = sorted(p for p in before.merged if p != b"/")
        chosen.update(dict.fromkeys(rng.sample(known, min(SAMPLE, len(known)))))
    out = [p for p in chosen if p != b"/"]
    rng.shuffle(out)
    return out


def summary(st: Any) -> tuple[str, int, int, int, int, int]:
    """What a lookup is compared on (a directory's size is the filesystem's bookkeeping)."""
    kind = KIND_NAMES.get(stat_mod.S_IFMT(st.mode), "?")
    return (kind, stat_mod.S_IMODE(st.mode), st.uid, st.gid,
            0 if kind == "dir" else st.size, st.nlink)  # fmt: skip


def probe(target: Any, paths: list[bytes]) -> dict[bytes, Outcome]:
    """``lstat`` of each path on ``target``, in order."""
    out = {}
    for p in paths:
        try:
            out[p] = Outcome(value=summary(target.lstat(p, cred=ROOT)))
        except (OSError, OvlError) as exc:
            out[p] = from_error(exc)
    return out


def probe_differences(expected: dict[bytes, Outcome], actual: dict[bytes, Outcome],
                      before: Observation | None = None) -> list[Difference]:
    """How a target's lookups differ from the model's (area ``lookup``); a field whose
    actual value is what the model showed before the step is noted ``stale``."""
    out = []
    for p, e in expected.items():
        a = actual.get(p)
        if a is None or compare(e, a) is None:
            continue
        line = f"lookup {p!r} before any listing: expected {e}, actual {a}"
        kind = e.value[0] if not e.is_error else a.value[0] if not a.is_error else ""
        if e.is_error or a.is_error:
            what = "errno" if e.is_error and a.is_error else "missing" if a.is_error else "extra"
            out.append(Difference("lookup", p, what, str(e), str(a), line, kind))
            continue
        prev = before.merged.get(p) if before is not None else None
        was = summary_of_entry(prev) if prev is not None else None
        for i, (name, x, y) in enumerate(zip(FIELDS, e.value, a.value, strict=True)):
            if x != y:
                stale = "stale" if was is not None and was[i] == y else ""
                out.append(Difference("lookup", p, name, x, y, line, kind, stale))
    return out


def summary_of_entry(e: MergedEntry) -> tuple[str, int, int, int, int, int]:
    """:func:`summary` of what the walk saw of a path."""
    return (e.kind, e.mode, e.uid, e.gid, e.size, e.nlink)
