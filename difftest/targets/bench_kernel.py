"""Micro-benchmark of the kernel target: ``python -m difftest.targets.bench_kernel``.

Prints the per-example cost of build + mount + teardown for a small spec (about 20 entries
over two lowers and an upper) and the per-call cost of the hot-path syscalls and of
``upper_dump``.  Needs root.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable

from difftest import realfs
from difftest.layers import build_layers
from difftest.scratch import Scratch
from difftest.targets.kernel import KernelOverlay, kernel_overlay_problem, mount_data
from model.config import Config
from model.spec import Entry, LayersSpec
from model.types import Cred

SPEC = LayersSpec(
    lowers=(
        (
            Entry(b"a", "dir", 0o755),
            Entry(b"a/f1", "reg", data=b"one"),
            Entry(b"a/f2", "reg", 0o600, data=b"two", size=1 << 20),
            Entry(b"a/sub", "dir", 0o750),
            Entry(b"a/sub/g", "reg", data=b"g"),
            Entry(b"l", "lnk", target=b"a/f1"),
            Entry(b"p", "fifo"),
            Entry(b"x", "reg", 0o4755, uid=1000, gid=100, data=b"suid"),
            Entry(b"wh", "whiteout"),
        ),
        (
            Entry(b"a", "dir", 0o755),
            Entry(b"a/f3", "reg", data=b"three"),
            Entry(b"b", "dir", 0o1777),
            Entry(b"b/h", "reg", data=b"h", xattrs=((b"user.k", b"v"),)),
            Entry(b"wh", "reg", data=b"hidden"),
        ),
    ),
    upper=(
        Entry(b"a", "dir", 0o755, xattrs=((b"trusted.overlay.opaque", b"y"),)),
        Entry(b"a/u1", "reg", data=b"upper"),
        Entry(b"c", "dir", 0o700),
        Entry(b"c/d", "dir"),
        Entry(b"c/d/e", "reg", data=b"deep"),
        Entry(b"n", "lnk", target=b"/nowhere"),
        Entry(b"hl", "hardlink", target=b"a/u1"),
    ),
)


def _per_call(fn: Callable[[], object], n: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def _us(s: float) -> str:
    return f"{s * 1e6:8.1f} µs"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("-n", type=int, default=300, help="examples to set up and tear down")
    ap.add_argument("--calls", type=int, default=5000, help="iterations per call benchmark")
    args = ap.parse_args(argv)
    problem = kernel_overlay_problem()
    if problem:
        print(f"bench_kernel: {problem}", file=sys.stderr)
        return 2
    entries = sum(len(layer) for layer in SPEC.lowers) + len(SPEC.upper or ())
    print(f"spec: {entries} entries over {len(SPEC.lowers)} lowers + upper")
    cfg = Config()
    with Scratch() as scratch:
        # The whole example life, as the tester sees it.
        t0 = time.perf_counter()
        for _ in range(args.n):
            KernelOverlay(scratch.new_dir(), SPEC, cfg, helpers=scratch.helpers).teardown()
        whole = (time.perf_counter() - t0) / args.n
        # Its parts.
        tb = tm = tu = tr = 0.0
        for _ in range(args.n):
            d = scratch.new_dir()
            a = time.perf_counter()
            dirs = build_layers(d, SPEC)
            b = time.perf_counter()
            flags, data = mount_data(dirs, cfg)
            realfs.mount(b"overlay", dirs.merged, b"overlay", flags, data)
            c = time.perf_counter()
            realfs.umount2(dirs.merged)
            e = time.perf_counter()
            realfs.remove_tree(os.fsencode(d))
            f = time.perf_counter()
            tb, tm, tu, tr = tb + b - a, tm + c - b, tu + e - c, tr + f - e
        n = args.n
        print(f"setup+mount+teardown per example: {_us(whole)}")
        print(f"  build layers {_us(tb / n)}   mount {_us(tm / n)}   umount {_us(tu / n)}"
              f"   remove dir {_us(tr / n)}")  # fmt: skip

        t = KernelOverlay(scratch.new_dir(), SPEC, cfg, helpers=scratch.helpers)
        try:
            k = args.calls
            t.unlink(b"/l")  # something to dump: a whiteout, a copied-up dir
            t.chmod(b"/b/h", 0o600)
            user = Cred(1000, 1000)
            fd = t.open(b"/a/u1", os.O_RDONLY)
            rows: list[tuple[str, Callable[[], object]]] = [
                ("lstat", lambda: t.lstat(b"/c/d/e")),
                ("lstat (ENOENT)", lambda: _swallow(t.lstat, b"/a/nope")),
                ("stat", lambda: t.stat(b"/x")),
                ("readdir (merged /)", lambda: t.readdir(b"/")),
                ("content_digest", lambda: t.content_digest(b"/x")),
                ("listxattr", lambda: t.listxattr(b"/b/h")),
                ("open+close", lambda: t.close(t.open(b"/a/u1", os.O_RDONLY))),
                ("pread (handle)", lambda: t.pread(fd, 64, 0)),
                ("lstat as uid 1000 (helper)", lambda: t.lstat(b"/a", cred=user)),
            ]
            assert t.upperdir is not None
            for i in range(9):  # grow the upper to 20 objects
                t.pwrite(t.open(b"/c/f%d" % i, os.O_CREAT | os.O_WRONLY, 0o644), b"data", 0)
            cold = realfs.TreeDumper(t.upperdir, cache=False)
            n_up = len(cold.dump())
            rows += [
                (f"upper_dump ({n_up} entries)", t.upper_dump),
                (f"upper_dump uncached ({n_up})", cold.dump),
            ]
            for name, fn in rows:
                print(f"{name:>32}: {_us(_per_call(fn, k if 'dump' not in name else k // 5))}")
        finally:
            t.teardown()
    return 0


def _swallow(fn: Callable[[bytes], object], path: bytes) -> None:
    with contextlib.suppress(OSError):
        fn(path)


if __name__ == "__main__":
    raise SystemExit(main())
