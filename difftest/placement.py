"""CPU placement: each tester process runs on one CPU, and so do the FUSE daemons it starts.

A FUSE request is a round trip between the tester and the daemon; on these 2-vCPU machines it
costs about 30 µs when both share a CPU and about 78 µs when it has to wake the other one
(``fuse-performance-notes.md``).  Pinned, a single-process run against ovlfuse went from 5.6
to 7.9 examples/s; against the kernel it made no difference.  With ``--jobs N`` the workers
get different CPUs; the ovlfuse server (and every daemon it forks) inherits its worker's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


def pin(index: int) -> int | None:
    """Pin the calling thread (and what it starts from now on) to one of the CPUs it may use,
    counted from the last one: worker ``index`` gets its own while there are enough.  Returns
    the CPU, or None where there is only one to choose."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    cpu = cpus[len(cpus) - 1 - index % len(cpus)]
    os.sched_setaffinity(0, {cpu})
    return cpu


@contextlib.contextmanager
def pinned(index: int, enabled: bool = True) -> Iterator[int | None]:
    """:func:`pin` for the body only (a test calling the CLI in-process keeps its CPUs)."""
    before = os.sched_getaffinity(0)
    try:
        yield pin(index) if enabled else None
    finally:
        os.sched_setaffinity(0, before)
