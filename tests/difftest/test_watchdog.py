"""A call into a FUSE mount that hangs is cut off by the watchdog and reported, not waited for."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
import time

import pytest

from difftest.scratch import Scratch
from difftest.targets import make_target
from difftest.targets.ovlfuse_server import _servers
from difftest.watchdog import Watchdog
from model.config import Config
from model.spec import LayersSpec


def test_expiry_runs_when_the_body_overruns() -> None:
    fired = threading.Event()
    with Watchdog().guard(0.05, fired.set):
        assert fired.wait(2.0)


def test_a_body_that_finishes_in_time_never_fires() -> None:
    dog = Watchdog()
    fired: list[int] = []
    for _ in range(200):
        with dog.guard(0.2, lambda: fired.append(1)):
            pass
    time.sleep(0.4)
    assert fired == []


def test_a_nested_guard_gives_the_outer_one_back() -> None:
    dog = Watchdog()
    outer = threading.Event()
    with dog.guard(0.2, outer.set):
        with dog.guard(30, lambda: None):
            pass
        assert outer.wait(2.0)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(p) for p in f.read().split()]
    return out


@pytest.mark.privileged
def test_a_stopped_fuse_daemon_gives_enotconn_and_a_reason() -> None:
    spec = LayersSpec(lowers=((),), upper=())
    with Scratch() as scratch:
        target = make_target("fuse", scratch, spec, Config())
        daemons = _children(next(iter(_servers.values())).proc.pid)
        try:
            for pid in daemons:
                os.kill(pid, signal.SIGSTOP)
            t0 = time.monotonic()
            with pytest.raises(OSError) as exc, target.deadline(0.3):
                os.lstat(target.mountpoint + b"/x")
            assert exc.value.errno in (errno.ENOTCONN, errno.ECONNABORTED)
            assert time.monotonic() - t0 < 5
            assert "FUSE connection aborted" in target.died
        finally:
            for pid in daemons:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
            target.teardown()
