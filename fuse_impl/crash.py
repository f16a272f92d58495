"""Crash points: an armed daemon kills itself with SIGKILL just before its N-th change to a
layer, so a test can interrupt an operation at any step it takes (fault injection, as the
kernel's ``fail_*`` knobs do for its own code).

A *change* is every call of :mod:`fuse_impl.layers` that writes to a layer (create, link,
rename, remove, chmod, chown, truncate, times, xattrs) and each data write: a copy-up's data
copy and a write request.  The count starts when the daemon is armed, which the mount server
does right after the mount is live (``{"op": "mount", ..., "crash_at": N}``), so what a mount
itself writes (the work dir, the index dir) is not counted.  ``ovlfuse`` run by hand is armed
by the environment variable ``OVLFUSE_CRASH_AT=N``.  Unarmed, a change costs one comparison.

The promise it tests: after the next mount the overlay shows what the interrupted operation
started from or what it would have ended with (or a complete copy-up on the way between), and
the work dir is empty again.  The crash lane of difftest (``--target fuse-crash``) checks it.
"""

from __future__ import annotations

import os
import signal

from .errors import UsageError

ENV = "OVLFUSE_CRASH_AT"

_left: int | None = None  # changes still allowed; None: not armed


def arm(at: int | None) -> None:
    """Die just before the ``at``-th change from now (1: the very next); None disarms."""
    global _left
    if at is not None and at < 1:
        raise ValueError(f"a crash point counts from 1, not {at}")
    _left = at


def from_env() -> int | None:
    """The crash point :data:`ENV` asks for, or None; a bad value is refused, not ignored."""
    value = os.environ.get(ENV, "")
    if not value:
        return None
    try:
        at = int(value)
    except ValueError:
        at = 0
    if at < 1:
        raise UsageError(f"{ENV}={value!r}: a crash point is a whole number from 1")
    return at


def step() -> None:
    """Count one change; on the armed one, SIGKILL this process (nothing after it runs)."""
    global _left
    if _left is None:
        return
    _left -= 1
    if _left <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
