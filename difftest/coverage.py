"""Which interesting states an example reached, read off the model before and after a step.

A differential tester is only as good as the states it drives both sides into.  These events
name the deep ones (copy-up of something already renamed, rmdir of a directory whose lower
entries are all whited out, rename over a whiteout, ...); the run summary prints how many
examples reached each, so a generator change that starves one of them shows.
"""

from __future__ import annotations

import errno
from collections import Counter
from typing import TYPE_CHECKING

from difftest import ops
from difftest.outcome import Outcome

if TYPE_CHECKING:
    from difftest.observe import Observation

DEEP_EVENTS = (
    "copy-up",
    "copy-up-after-rename",
    "whiteout-created",
    "rmdir-whited-out-dir",
    "rename-over-whiteout",
    "redirect-created",
    "opaque-created",
    "exdev",
    "enotempty",
    "handle-sees-copy-up",
    "denied-unprivileged",
    "remount",
    "hardlink-broken",
)
# the crash lane (difftest.crash): a daemon killed inside an operation, and which of the
# allowed states the next mount showed
CRASH_EVENTS = ("crash", "crash-left-before", "crash-left-between", "crash-left-after")
# the online configs (model.online): a layer changed underneath the mount
ONLINE_EVENTS = ("layer-changed-upper", "layer-changed-lower", "online-resynced",
                 "online-deviated")


class Events:
    """Events seen in one example."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.renamed: set[bytes] = set()
        self.opened: dict[int, tuple[bytes, bool]] = {}  # label -> (path, was in upper)

    def add(self, names: set[str]) -> None:
        self.seen |= names

    def step(
        self,
        op: ops.Op,
        outcome: Outcome,
        pre: Observation | None,
        post: Observation | None,
        label: int | None,
    ) -> None:
        """Record the events of one step (``label``: the handle an ``Open`` produced)."""
        self.add(classify_step(op, outcome, pre, post, self.renamed))
        if outcome.is_error or post is None or post.upper is None:
            return
        if isinstance(op, ops.Rename):
            self.renamed.add(op.new)
        elif isinstance(op, ops.Open) and label is not None:
            self.opened[label] = (op.path, op.path in post.upper)
        elif isinstance(op, ops.Read | ops.Pread | ops.Fstat) and op.h in self.opened:
            path, was_upper = self.opened[op.h]
            if not was_upper and path in post.upper:
                self.seen.add("handle-sees-copy-up")


def _parent(path: bytes) -> bytes:
    head = path.rpartition(b"/")[0]
    return head or b"/"


def classify_step(
    op: ops.Op,
    outcome: Outcome,
    pre: Observation | None,
    post: Observation | None,
    renamed: set[bytes],
) -> set[str]:
    """Events of one step, judged on the model's observations around it."""
    ev: set[str] = set()
    if outcome.is_error:
        if errno.EXDEV in outcome.errnos:
            ev.add("exdev")
        if errno.ENOTEMPTY in outcome.errnos:
            ev.add("enotempty")
        if op.cred.uid != 0 and outcome.errnos & {errno.EACCES, errno.EPERM}:
            ev.add("denied-unprivileged")
        return ev
    if isinstance(op, ops.Remount):
        ev.add("remount")
    if isinstance(op, ops.RemountRo | ops.RemountRw):
        ev.add("remount-live")
    if isinstance(op, ops.LayerChange):
        ev.add(f"layer-changed-{'upper' if op.layer == 0 else 'lower'}")
    if pre is None or post is None or pre.upper is None or post.upper is None:
        return ev
    before, after = pre.upper, post.upper
    for path, entry in after.items():
        old = before.get(path)
        if entry.kind == "whiteout" and (old is None or old.kind != "whiteout"):
            ev.add("whiteout-created")
        if entry.redirect is not None and (old is None or old.redirect is None):
            ev.add("redirect-created")
        if entry.opaque == b"y" and (old is None or old.opaque != b"y"):
            ev.add("opaque-created")
        if old is None and entry.kind != "whiteout" and path in pre.merged:
            ev.add("copy-up")
            if any(path.startswith(r + b"/") for r in renamed):
                ev.add("copy-up-after-rename")
    if (
        isinstance(op, ops.Link | ops.Open | ops.Truncate | ops.Chmod)
        and post.identity_classes() != pre.identity_classes()
    ):
        ev.add("hardlink-broken")
    if isinstance(op, ops.Rmdir):
        kids = [p for p in before if _parent(p) == op.path and p != op.path]
        if kids and all(before[k].kind == "whiteout" for k in kids):
            ev.add("rmdir-whited-out-dir")
    if isinstance(op, ops.Rename):
        old_target = before.get(op.new)
        if old_target is not None and old_target.kind == "whiteout":
            ev.add("rename-over-whiteout")
    return ev


class EventTally:
    """How many examples reached each event, over a run."""

    def __init__(self) -> None:
        self.examples = 0
        self.counts: Counter[str] = Counter()

    def add(self, events: set[str]) -> None:
        self.examples += 1
        self.counts.update(events)

    def rows(self) -> list[tuple[str, int, float]]:
        n = max(self.examples, 1)
        shown = DEEP_EVENTS + (CRASH_EVENTS if self.counts["crash"] else ())
        if any(self.counts[e] for e in ONLINE_EVENTS):
            shown += ONLINE_EVENTS
        if self.counts["remount-live"]:
            shown += ("remount-live",)
        return [(e, self.counts[e], 100.0 * self.counts[e] / n) for e in shown]
