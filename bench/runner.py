"""Interleaved rounds: every round runs every (workload, implementation, placement) cell once.

Within a round the cells of one workload run back to back in an order rotated by one for
every round and every workload, so no implementation always runs first (page cache, CPU
frequency, a neighbour's load).  Each cell builds a fresh lower layer, mounts, runs the
workload, unmounts, waits for the daemon to exit and removes everything.

Placement: ``float`` leaves the benchmark process (and what it starts) and the FUSE daemon
free to run on either vCPU; ``cpu0`` pins both to CPU 0 (``sched_setaffinity`` for the
benchmark and its children, ``taskset -c 0`` for the daemon).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bench.impls import Impl, Mounted, mount, unmount
from bench.space import Space, SpaceError
from bench.trees import Sizes
from bench.workloads import Workload

FLOAT = "float"
PINNED = "cpu0"


@dataclass(frozen=True)
class Cell:
    workload: Workload
    impl: Impl
    placement: str = FLOAT


@dataclass
class Sample:
    round: int
    workload: str
    impl: str
    placement: str
    figures: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    build_s: float = 0.0
    mount_s: float = 0.0
    teardown_s: float = 0.0


def rotate(items: list[Cell], k: int) -> list[Cell]:
    if not items:
        return items
    k %= len(items)
    return items[k:] + items[:k]


def plan(workloads: list[Workload], impls: list[Impl], rounds: int,
         pin_workloads: set[str], pin_impls: list[Impl],
         impl_rounds: dict[str, int] | None = None) -> list[list[Cell]]:
    """Per round, the cells in the order they run.  ``impl_rounds`` limits some
    implementations to the first N rounds (a slow one measured fewer times)."""
    limit = impl_rounds or {}
    out = []
    for r in range(rounds):
        cells: list[Cell] = []
        for wi, w in enumerate(workloads):
            group = [Cell(w, i) for i in impls if r < limit.get(i.name, rounds)]
            if w.name in pin_workloads or w.key in pin_workloads:
                group += [Cell(w, i, PINNED) for i in pin_impls]
            cells += rotate(group, r + wi)
        out.append(cells)
    return out


@contextlib.contextmanager
def affinity(cpu: int | None) -> Iterator[None]:
    if cpu is None:
        yield
        return
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, old)


class Probe:
    """Something attached to a mount for one cell (a profiler): told when the workload has
    run (the mount still up) and when the mount is gone."""

    def after_run(self) -> None:
        pass

    def close(self) -> None:
        pass


Hook = Callable[[Cell, Mounted], Probe]


def prefault(nbytes: int) -> None:
    """Touch *nbytes* (plus a quarter) of anonymous memory and free it again.

    This VM (Firecracker, ``page_reporting.page_reporting_order=11``) reports free memory
    to its host, and the first use of a reported page costs a host page fault.  A 1 GiB
    read through a FUSE mount fills 1 GiB of fresh page cache: measured 2.3–3.6 s after
    6 s idle against 0.40–0.83 s right after touching 3 GiB, the same mount, the same
    requests.  Touching first makes every implementation start from memory the host backs
    (reporting waits about 2 s before it hands freed pages back)."""
    if nbytes <= 0:
        return
    size = nbytes + nbytes // 4
    mem = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)
    mem.close()


def run_cell(space: Space, cell: Cell, sizes: Sizes, ctx: dict[str, str], rnd: int,
             on_mounted: Hook | None = None) -> Sample:
    """Build, mount, run, take down; errors are recorded in the sample, not raised."""
    s = Sample(rnd, cell.workload.key, cell.impl.name, cell.placement)
    cpu = 0 if cell.placement == PINNED else None
    tag = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{cell.workload.key}-{cell.impl.name}-{cell.placement}")
    base = space.new_dir(tag)
    lower = os.path.join(base, "lower")
    os.mkdir(lower, 0o755)
    m: Mounted | None = None
    probe: Probe | None = None
    try:
        t0 = time.perf_counter()
        cell.workload.build(lower, sizes)
        t1 = time.perf_counter()
        try:
            m = mount(space, cell.impl, base, lower, cpu)
        except SpaceError as e:  # one retry: a daemon start can fail on a loaded machine
            print(f"bench: retrying the mount once: {e}", file=sys.stderr)
            m = mount(space, cell.impl, base, lower, cpu)
        s.build_s, s.mount_s = t1 - t0, time.perf_counter() - t1
        if on_mounted is not None:
            probe = on_mounted(cell, m)
        prefault(cell.workload.memory(sizes))
        with affinity(cpu):
            s.figures = cell.workload.run(m.root, sizes, ctx)
        if probe is not None:
            probe.after_run()
        if m.proc is not None and m.proc.poll() is not None:
            raise RuntimeError(f"{cell.impl.name} daemon exited ({m.proc.returncode})")
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:
        s.error = f"{type(e).__name__}: {e}"
        if os.environ.get("BENCH_DEBUG"):
            traceback.print_exc()
    finally:
        t2 = time.perf_counter()
        if m is not None:
            unmount(space, m)
        if probe is not None:
            probe.close()
        space.remove(base)
        s.teardown_s = time.perf_counter() - t2
    return s


def run_rounds(space: Space, rounds: list[list[Cell]], sizes: Sizes, ctx: dict[str, str],
               log: Callable[[str], None] | None = None,
               on_mounted: Hook | None = None) -> list[Sample]:
    samples = []
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    n_rounds = len(rounds)
    for r, cells in enumerate(rounds):
        for cell in cells:
            s = run_cell(space, cell, sizes, ctx, r, on_mounted)
            samples.append(s)
            shown = ", ".join(f"{k} {v:.3f}s" for k, v in s.figures.items())
            where = "" if cell.placement == FLOAT else f" [{cell.placement}]"
            log(f"[round {r + 1}/{n_rounds}] {cell.workload.key:4} {cell.impl.name}{where}: "
                + (shown if s.error is None else f"ERROR {s.error}"))
    return samples
