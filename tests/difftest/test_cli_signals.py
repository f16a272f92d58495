"""The difftest command stops on SIGTERM and Ctrl-C with exit code 130, in the middle of a run,
and takes every mount and its scratch tmpfs down first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


@pytest.mark.parametrize("target", ["kernel", "fuse"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_run_exits_130_and_leaves_no_mount(target: str, sig: int,
                                                      tmp_path: Path) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "difftest", "--target", target, "--config", "default",
         "--time", "120", "--no-db", "-q", "--report-dir", str(tmp_path / "reports")],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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
