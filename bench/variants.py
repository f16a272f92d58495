"""Experimental ovlfuse variants, to measure proposed (or reverted) changes side by side.

``python -m bench.variants VARIANT[+VARIANT...] [ovlfuse arguments]`` runs ovlfuse exactly as
``ovlfuse`` would, with some of its (or pyfuse3's) behaviour patched at run time.  Nothing
in ``fuse_impl/`` is changed; the benchmark can mount these as extra implementations
(``python -m bench --impls ovlfuse,ovlfuse+trio,...``).

Variants:

``trio``
    The request loop ovlfuse had before ``fuse_impl/loop.py`` (adopted from the former
    ``syncloop`` variant, 2026-12-03): ``pyfuse3.main()`` under ``trio.run`` with its default
    worker tasks, termination signals watched by a trio task.  Kept to measure the gain.
``readahead``
    After mounting, raise the FUSE mount's read-ahead (``/sys/class/bdi/MAJ:MIN/
    read_ahead_kb``) from 128 KiB to 1 MiB so that sequential reads arrive as 1 MiB
    requests (libfuse already negotiates ``max_pages`` = 256).
``quietlog``
    ``fuse_impl.operations.log.debug`` made a no-op (it is called for every failing
    request, e.g. every ENODATA getxattr, even when debug logging is off).
``gc``
    ``gc.freeze()`` once mounted and gen-0 threshold 700 → 50,000: the cyclic garbage
    collector ran for ~10 % of the daemon's time (every request allocates attribute
    objects, coroutines and lookup results, few of them in cycles).

Variants combine with ``+``: ``gc+readahead``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import types
from collections.abc import Iterable
from typing import Any

VARIANTS = ("trio", "readahead", "quietlog", "gc")
READ_AHEAD_KB = 1024


def _run_under_trio(signals: Iterable[int], pending: bool) -> None:
    """``fuse_impl.loop.run`` as it was: pyfuse3's loop in trio, signals watched by a task."""
    import pyfuse3
    import trio

    sigs = tuple(signals)

    async def watch() -> None:
        with trio.open_signal_receiver(*sigs) as received:
            if pending:
                pyfuse3.terminate()
                return
            async for _signum in received:
                pyfuse3.terminate()
                return

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            await pyfuse3.main()
            nursery.cancel_scope.cancel()

    trio.run(main)


# ---- applying variants ---------------------------------------------------------------------

def apply(variants: list[str]) -> None:
    from fuse_impl import daemon, loop

    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"bench.variants: unknown variant(s) {unknown}; known: {VARIANTS}")
    if "trio" in variants:
        loop.run = _run_under_trio

    if "readahead" in variants:
        orig_mount = daemon.mount

        def mount(cfg: Any) -> Any:
            out = orig_mount(cfg)
            # The kernel caps read-ahead at its INIT offer (128 KiB) when the INIT reply
            # arrives, which happens once the loop runs: set it from a thread afterwards.
            mnt = os.fsdecode(cfg.mountpoint)
            threading.Thread(target=set_read_ahead_after_init, args=(mnt, READ_AHEAD_KB),
                             daemon=True).start()
            return out

        daemon.mount = mount

    if "gc" in variants:
        import gc

        orig_mount_gc = daemon.mount

        def mount_gc(cfg: Any) -> Any:
            out = orig_mount_gc(cfg)
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 20)
            return out

        daemon.mount = mount_gc

    if "quietlog" in variants:
        from fuse_impl import operations

        real = operations.log
        operations.log = types.SimpleNamespace(  # type: ignore[assignment]
            debug=lambda *a, **k: None, exception=real.exception, info=real.info,
            warning=real.warning, error=real.error)


def set_read_ahead_after_init(mountpoint: str, kb: int) -> None:
    """Wait until the mount answers (INIT done), then raise its read-ahead."""
    for _ in range(200):
        try:
            os.stat(mountpoint)
            break
        except OSError:
            time.sleep(0.01)
    set_read_ahead(mountpoint, kb)


def set_read_ahead(mountpoint: str, kb: int) -> None:
    """Set the read-ahead of the mount at *mountpoint* (found in mountinfo: no stat, which
    would wait for the not yet running FUSE loop)."""
    dev = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == mountpoint:
                dev = fields[2]
    if dev is None:
        return
    with contextlib.suppress(OSError), open(f"/sys/class/bdi/{dev}/read_ahead_kb", "w") as f:
        f.write(str(kb))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    apply([v for v in args[0].replace("+", ",").split(",") if v])
    from fuse_impl.main import run

    return run(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
