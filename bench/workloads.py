"""The workloads W1–W7.

A :class:`Workload` builds its lower layer, then runs on a fresh mount of it and returns
one or more figures (seconds).  Figures measured on the same mount one after the other
(``W1 cold`` then ``W1 warm``) say so in their description.  Only the workload itself is
timed: building the lower, mounting and unmounting are not.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import trees
from bench.trees import Sizes

_ENV = {**os.environ, "LC_ALL": "C"}


@dataclass(frozen=True)
class Figure:
    key: str  # e.g. "W1-cold"
    title: str  # row heading
    doc: str


@dataclass(frozen=True)
class Workload:
    name: str  # W1 .. W6 (several workloads may share a name: W4 has two)
    key: str  # unique: W1, W2, W3, W4a, W4b, W5a, W5b, W6
    figures: tuple[Figure, ...]
    build: Callable[[str, Sizes], None]
    run: Callable[[str, Sizes, dict[str, str]], dict[str, float]]
    # bytes of memory the workload may newly take (page cache, an upper copy): touched
    # just before it runs, see bench.runner.prefault
    memory: Callable[[Sizes], int] = lambda sizes: 0


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _sh(cmd: list[str]) -> None:
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_ENV,
                       check=False)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.decode()[-500:]}")


# ---- W1: stat every file -----------------------------------------------------------------

def _stat_all(root: str, sizes: Sizes) -> None:
    lstat = os.lstat
    for rel in trees.tree_paths(sizes):
        lstat(f"{root}/{rel}")


def run_w1(root: str, sizes: Sizes, ctx: dict[str, str]) -> dict[str, float]:
    cold = _timed(lambda: _stat_all(root, sizes))
    warm = _timed(lambda: _stat_all(root, sizes))
    return {"W1-cold": cold, "W1-warm": warm}


# ---- W2: ls -lR --------------------------------------------------------------------------

def run_w2(root: str, sizes: Sizes, ctx: dict[str, str]) -> dict[str, float]:
    return {"W2": _timed(lambda: _sh(["ls", "-lR", root]))}


# ---- W3: sequential read -----------------------------------------------------------------

def _read_all(path: str) -> int:
    buf = bytearray(1 << 20)
    total = 0
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with open(fd, "rb", buffering=0, closefd=False) as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                total += n
    finally:
        os.close(fd)
    return total


def run_w3(root: str, sizes: Sizes, ctx: dict[str, str]) -> dict[str, float]:
    path = f"{root}/big"
    t0 = time.perf_counter()
    n = _read_all(path)
    t = time.perf_counter() - t0
    if n != sizes.big:
        raise RuntimeError(f"W3 read {n} bytes of {sizes.big}")
    return {"W3": t}


# ---- W4: copy-up -------------------------------------------------------------------------

def _append(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    try:
        os.write(fd, b"+")
    finally:
        os.close(fd)


def run_w4a(root: str, sizes: Sizes, ctx: dict[str, str]) -> dict[str, float]:
    paths = [f"{root}/small/s{i:05d}" for i in range(sizes.small_files)]

    def go() -> None:
        for p in paths:
            _append(p)

    t = _timed(go)
    if os.lstat(paths[-1]).st_size != sizes.small_size + 1:
        raise RuntimeError("W4 append did not land")
    return {"W4-append": t}


def run_w4b(root: str, sizes: Sizes, ctx: dict[str, str]) -> dict[str, float]:
    t = _timed(lambda: _append(f"{root}/big"))
    if os.lstat(f"{root}/big").st_size != sizes.big + 1:
        raise RuntimeError("W4 copy-up append did not land")
    return {"W4-copyup": t}


# ---- W7: stat during a copy-up ----------------------------------------------------------

W7_FILES = 20


def build_w7(root: str, sizes: Sizes) -> None:
    """The big file and ``W7_FILES`` small files beside it, never looked up before W7."""
    trees.build_big(root, sizes)
    for i in range(W7_FILES):
        with open(os.path.join(root, f"other{i:02d}"), "wb") as f:
            f.write(b"o")


def run_w7(root: str, sizes: Sizes, ctx: dict[str, str]) -> dict[str, float]:
    """The slowest of up to ``W7_FILES`` lstats of other files, made one after the other
    while a thread copies the big file up (open O_APPEND + 1 byte), as long as it does (the
    first one in any case); each file is new to the mount, so every lstat reaches the
    filesystem.  Also the copy-up's own time, for scale."""
    done = threading.Event()
    took: list[float] = []

    def copy_up() -> None:
        took.append(_timed(lambda: _append(f"{root}/big")))
        done.set()

    worker = threading.Thread(target=copy_up, daemon=True)
    worker.start()
    time.sleep(0.02)  # the copy-up is under way (it takes far longer than this)
    worst = 0.0
    for i in range(W7_FILES):
        if i and done.is_set():  # lstats made during the copy-up (--quick: it is short)
            break
        worst = max(worst, _timed(lambda i=i: os.lstat(f"{root}/other{i:02d}")))
    worker.join()
    return {"W7-stat": worst, "W7-copyup": took[0]}


# ---- W5: create, rm -rf ------------------------------------------------------------------

def run_w5a(root: str, sizes: Sizes, ctx: dict[str, str]) -> dict[str, float]:
    data = b"c" * sizes.create_size
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC

    def go() -> None:
        d = f"{root}/new"
        os.mkdir(d, 0o755)
        for i in range(sizes.create_files):
            fd = os.open(f"{d}/c{i:05d}", flags, 0o644)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

    return {"W5-create": _timed(go)}


def run_w5b(root: str, sizes: Sizes, ctx: dict[str, str]) -> dict[str, float]:
    t = _timed(lambda: _sh(["rm", "-rf", f"{root}/del"]))
    if os.path.lexists(f"{root}/del"):
        raise RuntimeError("W5 rm -rf left the directory")
    return {"W5-rm": t}


# ---- W6: untar ---------------------------------------------------------------------------

def run_w6(root: str, sizes: Sizes, ctx: dict[str, str]) -> dict[str, float]:
    def go() -> None:
        os.mkdir(f"{root}/untar", 0o755)
        _sh(["tar", "-xf", ctx["tarball"], "-C", f"{root}/untar"])

    return {"W6": _timed(go)}


def _fig(key: str, title: str, doc: str) -> Figure:
    return Figure(key, title, doc)


WORKLOADS: tuple[Workload, ...] = (
    Workload("W1", "W1", (
        _fig("W1-cold", "W1 stat all files, cold",
             "lstat of every file of the tree (by path), first pass on a fresh mount"),
        _fig("W1-warm", "W1 stat all files, warm", "the same again, second pass, same mount"),
    ), trees.build_tree, run_w1),
    Workload("W2", "W2", (
        _fig("W2", "W2 ls -lR", "`ls -lR` of the tree on a fresh mount"),
    ), trees.build_tree, run_w2),
    Workload("W3", "W3", (
        _fig("W3", "W3 sequential read", "read the lower big file with 1 MiB read() calls, "
             "fresh mount"),
    ), trees.build_big, run_w3, lambda sizes: sizes.big),
    Workload("W4", "W4a", (
        _fig("W4-append", "W4 append 1 byte to small files",
             "open(O_APPEND)+write 1 byte+close on each small lower file (copy-up each)"),
    ), trees.build_small, run_w4a),
    Workload("W4", "W4b", (
        _fig("W4-copyup", "W4 copy-up of the big file",
             "open(O_APPEND)+write 1 byte+close on the big lower file"),
    ), trees.build_big, run_w4b, lambda sizes: sizes.big),
    Workload("W5", "W5a", (
        _fig("W5-create", "W5 create 4 KiB files",
             "mkdir, then create+write 4 KiB+close each file"),
    ), trees.build_del, run_w5a),
    Workload("W5", "W5b", (
        _fig("W5-rm", "W5 rm -rf lower dir", "`rm -rf` of the lower directory of files"),
    ), trees.build_del, run_w5b),
    Workload("W6", "W6", (
        _fig("W6", "W6 untar source tree", "mkdir + `tar -xf` of the tarball into the mount"),
    ), trees.build_base, run_w6),
    Workload("W7", "W7", (
        _fig("W7-stat", "W7 stat during a copy-up",
             "the slowest lstat of 20 other files while a thread copies the big file up"),
        _fig("W7-copyup", "W7 the copy-up meanwhile",
             "open(O_APPEND)+write 1 byte+close on the big lower file, timed in its thread"),
    ), build_w7, run_w7, lambda sizes: sizes.big),
)


def figures() -> list[Figure]:
    return [f for w in WORKLOADS for f in w.figures]


def select(only: list[str] | None) -> list[Workload]:
    """Workloads named by ``--only`` (W1..W7, or keys like W4b); all when None."""
    if not only:
        return list(WORKLOADS)
    wanted = {o.strip().upper() for o in only if o.strip()}
    known = {w.name.upper() for w in WORKLOADS} | {w.key.upper() for w in WORKLOADS}
    unknown = wanted - known
    if unknown:
        raise ValueError(f"unknown workload(s) {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(sorted(known))}")
    return [w for w in WORKLOADS if w.name.upper() in wanted or w.key.upper() in wanted]


def describe_sizes(sizes: Sizes, tar: trees.Tarball | None) -> dict[str, str]:
    """One line per workload: what exactly it does at these sizes."""
    mib = 1 << 20
    out = {
        "W1": f"{sizes.tree_files:,} files of {sizes.tree_file_size} B in "
              f"{sizes.tree_dirs:,} directories; lstat each by path (Python os.lstat loop)",
        "W2": "`ls -lR MNT >/dev/null` of the same tree (LC_ALL=C)",
        "W3": f"one lower file of {sizes.big / mib:,.0f} MiB, read sequentially with 1 MiB "
              "read() calls",
        "W4": f"{sizes.small_files:,} lower files of {sizes.small_size} B, each opened "
              f"O_APPEND and given one byte; and one {sizes.big / mib:,.0f} MiB lower file "
              "given one byte the same way",
        "W5": f"create {sizes.create_files:,} files of {sizes.create_size} B in a new "
              f"directory; `rm -rf` of a lower directory of {sizes.rm_files:,} files of "
              f"{sizes.rm_size} B",
        "W7": f"lstat of {W7_FILES} small lower files new to the mount, one after the other, "
              f"while a thread gives the {sizes.big / mib:,.0f} MiB lower file one byte "
              "(its copy-up)",
    }
    if tar:
        out["W6"] = (f"`tar -xf` (as root: owners, modes, mtimes restored) of an uncompressed "
                     f"tarball of {tar.files:,} files in {tar.dirs:,} directories, "
                     f"{tar.content_bytes / mib:.1f} MiB (this Python's stdlib sources, then "
                     "this project's; built once per run)")
    return out
