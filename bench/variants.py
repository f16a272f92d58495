"""Experimental ovlfuse variants, to measure proposed changes before anyone makes them.

``python -m bench.variants VARIANT[+VARIANT...] [ovlfuse arguments]`` runs ovlfuse exactly as
``ovlfuse`` would, with some of its (or pyfuse3's) behaviour patched at run time.  Nothing
in ``fuse_impl/`` is changed; the benchmark can mount these as extra implementations
(``python -m bench --impls ovlfuse,ovlfuse+syncloop,...``).

Variants:

``onetask``
    ``pyfuse3.main(min_tasks=1, max_tasks=1)``: ovlfuse's handlers never await, so extra
    worker tasks only hand the read lock back and forth (a trio task switch per request).
``syncloop``
    No event loop at all: pyfuse3 is driven by a stand-in for its ``trio`` module whose
    ``wait_readable`` is a blocking ``poll()`` and whose lock is a no-op, the main coroutine
    being run with a single ``send()`` (possible only because no handler ever suspends; a
    handler that did would stop the daemon with an error).  Implies one worker task.
``asyncio``
    pyfuse3's asyncio mode (``pyfuse3.asyncio.enable()``) instead of trio, one task.
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

Variants combine with ``+``: ``syncloop+gc+readahead``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Coroutine
from typing import Any

VARIANTS = ("onetask", "syncloop", "asyncio", "readahead", "quietlog", "gc")
READ_AHEAD_KB = 1024


# ---- syncloop: a stand-in for the trio module, as pyfuse3 uses it --------------------------

class _ClosedResourceError(Exception):
    pass


class _NoLock:
    async def __aenter__(self) -> _NoLock:
        return self

    async def __aexit__(self, *exc: object) -> bool:
        return False


class _Task:
    name = "pyfuse-sync"


class _Nursery:
    def __init__(self) -> None:
        self.pending: list[Coroutine[Any, Any, Any]] = []

    async def __aenter__(self) -> _Nursery:
        return self

    def start_soon(self, fn: Callable[..., Any], *args: Any, name: str | None = None) -> None:
        self.pending.append(fn(*args))

    async def __aexit__(self, *exc: object) -> bool:
        while self.pending:
            await self.pending.pop(0)
        return False


class _SyncIO:
    """``wait_readable`` as a blocking poll on the FUSE fd and a wake-up pipe."""

    def __init__(self) -> None:
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        self.closed: set[int] = set()
        self.poll = select.poll()
        self.poll.register(self.wake_r, select.POLLIN)
        self.registered: set[int] = set()

    async def wait_readable(self, fd: int) -> None:
        if fd not in self.registered:
            self.poll.register(fd, select.POLLIN)
            self.registered.add(fd)
        while True:
            if fd in self.closed:
                raise _ClosedResourceError()
            for got, _ev in self.poll.poll():
                if got == fd:
                    return
            # only the wake-up pipe: loop to check `closed`

    def notify_closing(self, fd: int) -> None:
        self.closed.add(fd)
        with contextlib.suppress(BlockingIOError):
            os.write(self.wake_w, b"x")


def _fake_trio() -> types.ModuleType:
    io = _SyncIO()
    fake = types.ModuleType("bench_sync_trio")
    low = types.SimpleNamespace(
        current_trio_token=lambda: "sync",
        current_task=lambda: _Task(),
        wait_readable=io.wait_readable,
        notify_closing=io.notify_closing,
    )
    fake.lowlevel = low  # type: ignore[attr-defined]
    fake.Lock = _NoLock  # type: ignore[attr-defined]
    fake.ClosedResourceError = _ClosedResourceError  # type: ignore[attr-defined]
    fake.open_nursery = _Nursery  # type: ignore[attr-defined]
    return fake


def _drive(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("syncloop: a request handler tried to suspend")


def _on_signal_terminate() -> None:
    import pyfuse3  # type: ignore[import-not-found,unused-ignore]

    def handler(signum: int, frame: object) -> None:
        pyfuse3.terminate()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, handler)


# ---- applying variants ---------------------------------------------------------------------

def apply(variants: list[str]) -> None:
    import pyfuse3

    from fuse_impl import daemon

    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"bench.variants: unknown variant(s) {unknown}; known: {VARIANTS}")
    one_task = {"onetask", "syncloop", "asyncio"} & set(variants)
    if one_task:
        main = pyfuse3.main
        pyfuse3.main = functools.partial(main, 1, 1)

    if "syncloop" in variants:
        setattr(pyfuse3, "trio", _fake_trio())  # noqa: B010 (not in pyfuse3's stubs)

        async def run_until_done() -> None:
            await pyfuse3.main()

        def run(fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
            _on_signal_terminate()
            return _drive(fn())

        daemon._run_until_done = run_until_done
        setattr(daemon, "trio", types.SimpleNamespace(run=run))  # noqa: B010

    if "asyncio" in variants:
        import asyncio

        import pyfuse3.asyncio as pa  # type: ignore[import-not-found,unused-ignore]

        pa.enable()

        async def run_until_done_aio() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.add_signal_handler(sig, pyfuse3.terminate)
            await pyfuse3.main()

        daemon._run_until_done = run_until_done_aio
        setattr(daemon, "trio", types.SimpleNamespace(run=lambda fn: asyncio.run(fn())))  # noqa: B010

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
