"""Scratch space and credential helpers: cleanup on every exit path, helpers that never
outlive the tester."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from difftest import realfs
from difftest.credhelper import HelperError, HelperPool
from difftest.scratch import Scratch
from difftest.targets.kernel import KernelOverlay
from model.spec import Entry, LayersSpec
from model.types import Cred

ROOT_DIR = Path(__file__).resolve().parents[2]
SPEC = LayersSpec(lowers=((Entry(b"d", "dir"), Entry(b"d/f", "reg")),), upper=())


def _gone(pid: int) -> bool:
    """The process is dead (reaped, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if _gone(pid):
            return True
        time.sleep(0.02)
    return False


@pytest.mark.privileged
@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_scratch_cleans_up_on_exceptions(exc: type[BaseException], umask_zero: None) -> None:
    # the target is never torn down (only its scratch is closed), so it keeps the umask at 0
    path = ""
    with pytest.raises(exc), Scratch() as s:
        path = s.path
        t = KernelOverlay(s.new_dir(), SPEC, helpers=s.helpers)
        t.open(b"/d/f", os.O_RDONLY)  # busy: the scratch must detach it
        t.open(b"/d", os.O_RDONLY, cred=Cred(1000, 1000))
        assert len(realfs.mounts_under(path)) == 2
        raise exc()
    assert path and not realfs.mounts_under(path)
    assert not os.path.exists(path)


@pytest.mark.privileged
def test_scratch_restores_the_sigterm_handler() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with Scratch():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.privileged
def test_scratch_dirs_are_fresh_and_reachable_by_other_users() -> None:
    with Scratch() as s:
        a, b = s.new_dir(), s.new_dir()
        assert a != b and os.path.dirname(a) == s.path
        assert os.stat(s.path).st_mode & 0o777 == 0o755
        pool = s.helpers
        assert pool.get(Cred(1000, 1000)).call("lstat", os.fsencode(a)).uid == 0


@pytest.mark.privileged
def test_atexit_cleans_up_a_scratch_left_open() -> None:
    script = textwrap.dedent(
        """
        from difftest.scratch import Scratch
        s = Scratch(); s.open(); s.new_dir()
        print(s.path, flush=True)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT_DIR, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out and not realfs.mounts_under(out) and not os.path.exists(out)


@pytest.mark.privileged
def test_helpers_die_with_the_tester_even_on_sigkill() -> None:
    script = textwrap.dedent(
        """
        import os, time
        from difftest.scratch import Scratch
        from model.types import Cred
        s = Scratch(); s.open()
        h = s.helpers.get(Cred(1000, 1000, (5, 6)))
        print(s.path, h.pid, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT_DIR, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    path, pid = line[0], int(line[1])
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        assert "\nUid:\t1000\t1000\t1000\t1000\n" in status
        assert "\nGroups:\t5 6 \n" in status or "\nGroups:\t5 6\n" in status
        proc.kill()  # no cleanup can run in the tester
        proc.wait()
        assert _wait_gone(pid), "helper outlived the tester"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        # The killed tester could not clean its scratch: do it here.
        for mp, _fs in reversed(realfs.mounts_under(path)):
            realfs.umount2(os.fsencode(mp), realfs.MNT_DETACH)
        os.rmdir(path)


@pytest.mark.privileged
def test_helper_reports_errno_and_closes() -> None:
    pool = HelperPool()
    try:
        h = pool.get(Cred(1000, 1000))
        assert pool.get(Cred(1000, 1000)) is h and len(pool) == 1
        with pytest.raises(OSError) as info:
            h.call("mkdir", b"/proc/nope", 0o755)
        assert info.value.errno in (errno.EACCES, errno.ENOENT)
        with pytest.raises(HelperError):
            h.call("no-such-op")
        pid = h.pid
    finally:
        pool.close()
    assert _wait_gone(pid)
    assert not h.alive
    with pytest.raises(HelperError):
        h.call("lstat", b"/")


@pytest.mark.privileged
def test_target_with_its_own_helpers_reaps_them() -> None:
    with Scratch() as s:
        t = KernelOverlay(s.new_dir(), SPEC)  # no pool given: its own
        t.lstat(b"/d", cred=Cred(1000, 1000))
        pids = t.helper_pids()
        assert len(pids) == 1
        t.teardown()
        assert all(_wait_gone(p) for p in pids)
