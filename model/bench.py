"""Model throughput on a mixed operation stream: ``python -m model.bench [STEPS] [SEED]``.

The tree: two lowers and an upper, about 400 entries (ten merged dirs with files in every
layer, a few upper whiteouts).  The stream mixes stat, open/write/read/close, create,
unlink, rename, readdir and chmod on names drawn from the tree plus as many new names, so
creates, unlinks and renames move names around while the tree keeps its size.  Failing
calls (ENOENT after an unlink, EEXIST on a create...) are part of the mix.

The stream is drawn before the clock starts: only the model is timed.  The figure is
syscalls per second of process CPU time (an open/write/read/close step counts four).
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable

from model.config import Config
from model.errors import OvlError
from model.overlay import Overlay
from model.spec import Entry, LayersSpec

DIRS = 10
Step = tuple[str, bytes, bytes, int]


def bench_spec() -> LayersSpec:
    """Ten dirs merged from all layers, 15 files per lower in each, 8 upper files and a
    whiteout in every other one."""
    low0: list[Entry] = []
    low1: list[Entry] = []
    upper: list[Entry] = []
    for i in range(DIRS):
        d = b"d%d" % i
        low0.append(Entry(d, "dir", 0o755))
        low1.append(Entry(d, "dir", 0o755))
        low1.append(Entry(d + b"/sub", "dir", 0o755))
        for j in range(15):
            low0.append(Entry(d + b"/f%d" % j, "reg", 0o644, data=b"lower0 %d" % j))
            low1.append(Entry(d + b"/g%d" % j, "reg", 0o644, data=b"lower1 %d" % j))
        if i % 2 == 0:
            upper.append(Entry(d, "dir", 0o755))
            upper.extend(Entry(d + b"/u%d" % j, "reg", 0o644, data=b"up") for j in range(8))
            upper.append(Entry(d + b"/g0", "whiteout"))
    return LayersSpec(lowers=(tuple(low0), tuple(low1)), upper=tuple(upper))


def draw_stream(steps: int, seed: int) -> list[Step]:
    """``steps`` operations as ``(kind, path, path2, number)``."""
    rng = random.Random(seed)
    names = [
        b"/d%d/%s%d" % (i, p, j)
        for i in range(DIRS)
        for p in (b"f", b"g", b"n", b"m")
        for j in range(15)
    ]
    kinds = (
        ["stat"] * 35 + ["rw"] * 20 + ["create"] * 10 + ["unlink"] * 7 + ["rename"] * 8
        + ["readdir"] * 10 + ["chmod"] * 10
    )  # fmt: skip
    out: list[Step] = []
    for _ in range(steps):
        kind = rng.choice(kinds)
        path = b"/d%d" % rng.randrange(DIRS) if kind == "readdir" else rng.choice(names)
        number = rng.choice((0o600, 0o644, 0o755)) if kind == "chmod" else rng.randrange(128)
        out.append((kind, path, rng.choice(names), number))
    return out


def _rw(o: Overlay, path: bytes, number: int) -> int:
    write = number & 1
    fd = o.open(path, os.O_RDWR if write else os.O_RDONLY)
    try:
        if write:
            o.pwrite(fd, b"data", number >> 1)
        o.read(fd, 64)
    finally:
        o.close(fd)
    return 4 if write else 3


def _op(o: Overlay, kind: str) -> Callable[[bytes, bytes, int], object]:
    return {
        "stat": lambda p, q, n: o.lstat(p),
        "rw": lambda p, q, n: _rw(o, p, n),
        "create": lambda p, q, n: o.mknod(p, 0o100644),
        "unlink": lambda p, q, n: o.unlink(p),
        "rename": lambda p, q, n: o.rename(p, q),
        "readdir": lambda p, q, n: o.readdir(p),
        "chmod": lambda p, q, n: o.chmod(p, n),
    }[kind]


def run(steps: int, seed: int = 1) -> tuple[float, int, Counter[str], int]:
    """Run a drawn stream: (CPU seconds, syscalls, steps per kind, failed steps)."""
    stream = draw_stream(steps, seed)
    o = Overlay.from_spec(bench_spec(), Config())
    ops = {kind: _op(o, kind) for kind in {s[0] for s in stream}}
    kinds: Counter[str] = Counter()
    failed = syscalls = 0
    t0 = time.process_time()
    for kind, path, path2, number in stream:
        kinds[kind] += 1
        try:
            n = ops[kind](path, path2, number)
            syscalls += n if isinstance(n, int) else 1
        except OvlError:
            failed += 1
            syscalls += 1
    return time.process_time() - t0, syscalls, kinds, failed


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    steps = int(args[0]) if args else 200_000
    seed = int(args[1]) if len(args) > 1 else 1
    spec = bench_spec()
    entries = sum(len(layer) for layer in spec.lowers) + len(spec.upper or ())
    secs, syscalls, kinds, failed = run(steps, seed)
    print(f"model.bench: {steps} steps on {entries} layer entries (2 lowers + upper), seed {seed}")
    for kind, n in sorted(kinds.items()):
        print(f"  {kind:8} {n}")
    print(f"  failed   {failed} (ENOENT, EEXIST, ... are part of the mix)")
    print(f"  {syscalls} syscalls in {secs:.2f} s CPU: {syscalls / secs:,.0f} syscalls/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
