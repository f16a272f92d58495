"""The difftest command stops on SIGTERM and Ctrl-C with exit code 130, in the middle of a run,
and takes every mount and its scratch tmpfs down first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from difftest import realfs

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.privileged


def _wait_for_mounts(base: Path, proc: subprocess.Popen[str], seconds: float) -> list[str]:
    """The mounts under ``base`` once an example has mounted its target (at least two:
    the scratch tmpfs and an overlay)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        found = [t for t, _ in realfs.mounts_under(str(base))]
        if len(found) >= 2:
            return found
        time.sleep(0.05)
    return []


def _default_sigint() -> None:
    """A shell without job control starts background commands with SIGINT ignored, and the
    test runner may be one of them; the child must see SIGINT as a terminal's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("target", ["kernel", "fuse"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_run_exits_130_and_leaves_no_mount(target: str, sig: int, jobs: str) -> None:
    tmp_path = Path(tempfile.mkdtemp())  # under the session's 0711 TMPDIR: users can reach it
    os.chmod(tmp_path, 0o711)
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "difftest", "--target", target, "--config", "default",
         "--time", "120", "--no-db", "-q", "--report-dir", str(tmp_path / "reports"),
         "--jobs", jobs],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=_default_sigint,
    )  # fmt: skip
    try:
        assert _wait_for_mounts(tmp_path, proc, 60), "difftest never mounted a target"
        time.sleep(1.0)  # well into the run
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out
    assert "interrupted" in out
    assert not realfs.mounts_under(str(tmp_path))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("difftest-")]


def test_a_scratch_place_other_users_cannot_reach_is_a_usage_error(tmp_path: Path) -> None:
    """pytest's tmp_path sits in a 0700 directory: operations run as uid 1000 would get
    EACCES from the path walk and be reported as divergences."""
    hidden = tmp_path / "hidden"
    hidden.mkdir(mode=0o700)
    proc = subprocess.run(
        [sys.executable, "-m", "difftest", "--target", "kernel", "--examples", "1"],
        env=dict(os.environ, TMPDIR=str(hidden)), cwd=tmp_path, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "cannot be searched by other users" in proc.stdout
    assert list(hidden.iterdir()) == []
