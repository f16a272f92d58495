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
``quietlog``
    ``fuse_impl.operations.log.debug`` made a no-op (it is called for every failing
    request, e.g. every ENODATA getxattr, even when debug logging is off).
``gc``
    ``gc.freeze()`` once mounted and gen-0 threshold 700 → 50,000: the cyclic garbage
    collector ran for ~10 % of the daemon's time (every request allocates attribute
    objects, coroutines and lookup results, few of them in cycles).

Variants combine with ``+``: ``gc+quietlog``.  (``readahead`` was adopted in 2026-12 as
``fuse_impl/daemon.py``'s ``raise_read_ahead``.)
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

VARIANTS = ("trio", "quietlog", "gc")


def _run_under_trio(
    signals: Iterable[int], pending: bool, after_init: Callable[[], None] | None = None
) -> None:
    """``fuse_impl.loop.run`` as it was: pyfuse3's loop in trio, signals watched by a task.
    ``after_init`` (the read-ahead raise) is not run: that loop had no such hook, so W3 under
    this variant is the old 128 KiB read-ahead."""
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
