"""Profile the ovlfuse daemon: ``python -m bench.profile [--only W1,W2] [--impl ovlfuse]``.

For each workload the daemon is run twice in the foreground on a fresh lower layer:

* under ``python -m cProfile`` — exact call counts (one call of an ``operations.py``
  handler is one FUSE request) and per-function times (inflated by cProfile's overhead);
* attached to ``py-spy record --gil`` (sampling, low overhead, ``--nonblocking``; only
  samples where the daemon holds the GIL, i.e. runs Python or Cython code — blocking waits
  and system calls made without the GIL are not in it) — where the daemon's Python-level
  time goes, by part and by function; the daemon's CPU seconds (utime+stime from /proc,
  system calls included) are compared with the workload's wall time.

Writes ``profile-<workload>.txt`` into ``--out`` (default: a new temporary directory) and
prints a summary.  Needs root and ``py-spy`` in the environment (``pip install py-spy``).
"""

from __future__ import annotations

import argparse
import collections
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

from bench import trees
from bench.impls import Impl, Mounted, lookup_impl, ovlfuse_program
from bench.runner import Cell, Probe, run_cell
from bench.space import Space, stop_process
from bench.trees import Sizes
from bench.workloads import select

CLK_TCK = os.sysconf("SC_CLK_TCK")
HANDLERS = {
    "lookup", "forget", "getattr", "setattr", "readlink", "mknod", "mkdir", "unlink", "rmdir",
    "symlink", "rename", "link", "open", "read", "write", "flush", "release", "fsync",
    "opendir", "readdir", "releasedir", "fsyncdir", "statfs", "getxattr", "setxattr",
    "listxattr", "removexattr", "access", "create",
}


def proc_cpu(pid: int) -> float:
    """utime+stime of a process (all threads) in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def py_spy() -> str | None:
    here = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return here if os.path.exists(here) else shutil.which("py-spy")


def summarize_raw(path: str, top: int = 30) -> list[str]:
    """Inclusive and self shares per function from py-spy's raw (collapsed) output."""
    incl: collections.Counter[str] = collections.Counter()
    self_: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not stack or not n.isdigit():
                continue
            count = int(n)
            total += count
            frames = [_short(fr) for fr in stack.split(";")]
            for fr in set(frames):
                incl[fr] += count
            self_[frames[-1]] += count
    if not total:
        return ["(no samples)"]
    cats = categorize(path)
    out = [f"{total} samples", "", "by part (deepest frame that decides):"]
    for name, k in sorted(cats.items(), key=lambda kv: -kv[1]):
        out.append(f"{k / total:8.1%}  {name}")
    out += ["", "inclusive  self  function"]
    for fn, k in incl.most_common(top):
        out.append(f"{k / total:8.1%} {self_[fn] / total:6.1%}  {fn}")
    out += ["", "top self time:"]
    for fn, k in self_.most_common(15):
        out.append(f"{k / total:8.1%}  {fn}")
    return out


PARTS = (
    ("ovlfuse request handlers (fuse_impl/, below operations.py)", "handler"),
    ("pyfuse3 C path (read /dev/fuse, dispatch, reply; self time of its wrapper)", "c"),
    ("event loop (trio / asyncio: scheduling, lock, epoll)", "loop"),
    ("other", "other"),
)


def _part(frames: list[str]) -> str:
    if any("fuse_impl/operations.py" in f and not f.startswith("<module>") for f in frames):
        return PARTS[0][0]
    leaf = frames[-1]
    if "_pyfuse3.py" in leaf:
        return PARTS[1][0]
    loop = ("(trio/", "/trio/", "(asyncio/", "/asyncio/", "(outcome/", "/outcome/", "variants.py")
    if any(x in f for f in frames for x in loop):
        return PARTS[2][0]
    return PARTS[3][0]


def categorize(path: str) -> dict[str, int]:
    """Samples per part of the daemon (see PARTS)."""
    out: collections.Counter[str] = collections.Counter()
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if stack and n.isdigit():
                out[_part(stack.split(";"))] += int(n)
    return dict(out)


def _short(frame: str) -> str:
    """``func (path/to/file.py:123)`` → ``func (file.py)``, with the package for ours."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    parts = file.split("/")
    short = "/".join(parts[-2:]) if "fuse_impl" in parts else parts[-1]
    return f"{name} ({short})"


def summarize_cprofile(path: str, top: int = 25) -> list[str]:
    st = pstats.Stats(path)
    rows = []
    for (file, _line, fn), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append((file, fn, nc, tt, ct))
    ops = sorted((r for r in rows if r[0].endswith("fuse_impl/operations.py")
                  and r[1] in HANDLERS), key=lambda r: -r[2])
    out = ["FUSE requests reaching Python (calls of operations.py handlers):"]
    for _f, fn, nc, _tt, ct in ops:
        if nc:
            out.append(f"  {fn:12} {nc:8d} calls  {ct:8.3f} s cumulative "
                       f"({ct / nc * 1e6:7.1f} µs/call under cProfile)")
    out += ["", "top functions by self time (cProfile; absolute times inflated):"]
    for file, fn, nc, tt, _ct in sorted(rows, key=lambda r: -r[3])[:top]:
        out.append(f"  {tt:8.3f} s {nc:9d}  {fn} ({os.path.basename(file)})")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    p.add_argument("--only", default="W1,W2,W3,W4,W5,W6")
    p.add_argument("--impl", default="ovlfuse",
                   help="ovlfuse, ovlfuse-exact or a variant like ovlfuse+syncloop")
    p.add_argument("--quick", action="store_true", help="tiny sizes")
    p.add_argument("--out", default=None)
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--native", action="store_true",
                   help="py-spy --native (C frames of pyfuse3/libfuse too; pauses the daemon "
                   "for each sample, so slower)")
    p.add_argument("--no-cprofile", action="store_true", help="only the py-spy run")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.profile: needs root", file=sys.stderr)
        return 2
    spy = py_spy()
    if spy is None:
        print("bench.profile: py-spy not found (pip install py-spy)", file=sys.stderr)
        return 2
    out = args.out or tempfile.mkdtemp(prefix="ovlbench-profile-")
    os.makedirs(out, exist_ok=True)
    sizes = Sizes.quick() if args.quick else Sizes()
    found = lookup_impl(args.impl)
    if found is None or not args.impl.startswith("ovlfuse"):
        print("bench.profile: --impl must be ovlfuse, ovlfuse-exact or ovlfuse+VARIANT[+...] "
              "(bench/variants.py)", file=sys.stderr)
        return 2
    base = found
    workloads = select(args.only.split(","))
    with Space() as space:
        ctx: dict[str, str] = {}
        if any(w.key == "W6" for w in workloads):
            ctx["tarball"] = trees.build_tarball(os.path.join(space.path, "src.tar"),
                                                 sizes.tar_max_bytes).path
        for w in workloads:
            lines: list[str] = [f"# {w.key} on {base.name}", ""]
            # 1) cProfile: request counts
            cprof = os.path.join(out, f"{w.key}.cprof")
            # the daemon's own command, run under cProfile (a script, or "-m module ...")
            rest = base.argv[1:] if base.argv[0] == sys.executable else (ovlfuse_program(),)
            cimpl = replace(base, argv=(sys.executable, "-m", "cProfile", "-o", cprof, *rest))
            if not args.no_cprofile:
                s = run_cell(space, Cell(w, cimpl), sizes, ctx, 0)
                lines += [f"cProfile run: {s.figures} {s.error or ''}", ""]
                if os.path.exists(cprof):
                    lines += summarize_cprofile(cprof)
            # 2) py-spy: where the CPU goes
            raw = os.path.join(out, f"{w.key}.pyspy.txt")
            probes: list[SpyProbe] = []

            def hook(cell: Cell, m: Mounted, raw: str = raw,
                     probes: list[SpyProbe] = probes) -> Probe:
                probes.append(SpyProbe(spy, raw, args.rate, m, args.native))
                return probes[-1]

            s2 = run_cell(space, Cell(w, base), sizes, ctx, 0, on_mounted=hook)
            wall = sum(s2.figures.values())
            cpu = probes[0].cpu if probes else 0.0
            lines += ["", f"py-spy run: {s2.figures} {s2.error or ''}",
                      f"daemon CPU during the workload: {cpu:.2f} s of {wall:.2f} s wall "
                      f"({cpu / wall if wall else 0:.0%})", ""]
            if os.path.exists(raw):
                lines += summarize_raw(raw)
            text = "\n".join(lines) + "\n"
            with open(os.path.join(out, f"profile-{w.key}.txt"), "w") as f:
                f.write(text)
            print(text, flush=True)
    print(f"profiles in {out}", file=sys.stderr)
    return 0


class SpyProbe(Probe):
    """py-spy attached to the daemon; the daemon's CPU time over the workload."""

    def __init__(self, spy: str, raw: str, rate: int, m: Mounted, native: bool = False) -> None:
        assert m.proc is not None
        self.pid = m.proc.pid
        extra = ["--native"] if native else ["--nonblocking"]
        self.rec = subprocess.Popen(
            [spy, "record", "--pid", str(self.pid), "--rate", str(rate), *extra,
             "--gil", "--format", "raw", "--output", raw],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # let py-spy attach before the workload starts
        self.c0 = proc_cpu(self.pid)
        self.cpu = 0.0

    def after_run(self) -> None:
        self.cpu = proc_cpu(self.pid) - self.c0

    def close(self) -> None:
        stop_process(self.rec, timeout=30)  # py-spy ends with the daemon, writing its file


__all__ = ["Impl", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
