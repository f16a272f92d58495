"""Without --config, a run covers every supported config a target takes; named, a config a
target refuses still runs and the refusal is reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.privileged


def _difftest(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:  # type: ignore[type-arg]
    out = tmp / "summary.json"
    cmd = [sys.executable, "-m", "difftest", "--target", "fuse", "--examples", "1", "--seed", "1",
           "--no-db", "--no-shrink", "-q", "--report-dir", str(tmp / "reports"), "--json", str(out),
           *args]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return res, json.loads(out.read_text()) if out.exists() else {}


def test_default_configs_all_mount_on_ovlfuse(tmp_path: Path) -> None:
    """Every default config, index=on included, is one ovlfuse supports: none is skipped."""
    res, summary = _difftest(tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "skipping config" not in res.stdout
    ran = [r["config"] for r in summary["runs"]]
    assert {"index=on", "default", "no-upper"} <= set(ran)
    assert f"agreed with the model in {len(ran)} config(s)" in res.stdout  # -q: one summary line


def test_a_named_config_that_ovlfuse_refuses_is_reported(tmp_path: Path) -> None:
    res, _ = _difftest(tmp_path, "--config", "nfs_export=on")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "nfs_export=on" in res.stdout and "not supported" in res.stdout


def test_the_time_of_a_config_that_does_not_mount_goes_to_the_next(tmp_path: Path) -> None:
    """--time is shared by the configs that mount: nfs_export=on ends at its first example
    (ovlfuse refuses it), and default, after it, gets the rest, not half."""
    out = tmp_path / "summary.json"
    cmd = [sys.executable, "-m", "difftest", "--target", "fuse", "--config", "nfs_export=on",
           "--config", "default", "--time", "16", "--seed", "1", "--no-db", "--no-shrink",
           "-q", "--report-dir", str(tmp_path / "reports"), "--json", str(out)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    refused, default = json.loads(out.read_text())["runs"]
    assert refused["config"] == "nfs_export=on" and refused["refused_by"] == ["fuse"]
    assert refused["seconds"] < 8
    assert default["seconds"] > 16 - refused["seconds"] - 4, (refused, default)


def test_fuse_mounts_the_ovlfuse_of_its_own_environment_not_the_first_on_path(
    tmp_path: Path,
) -> None:
    """Another checkout's ovlfuse first on PATH is not mounted; --ovlfuse names one that is,
    and the summary says which program each target mounted."""
    fake = tmp_path / "bin" / "ovlfuse"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'ovlfuse 9.9-elsewhere'; exit 3\n")
    fake.chmod(0o755)
    env_path = f"{fake.parent}:/usr/sbin:/usr/bin:/sbin:/bin"
    out = tmp_path / "summary.json"
    base = [sys.executable, "-m", "difftest", "--target", "fuse", "--config", "default",
            "--examples", "2", "--seed", "1", "--no-db", "--no-shrink", "-q",
            "--report-dir", str(tmp_path / "reports"), "--json", str(out)]  # fmt: skip
    res = subprocess.run(base, capture_output=True, text=True, timeout=300,
                         env={"PATH": env_path, "HOME": "/root"})  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    mounted = json.loads(out.read_text())["programs"]["fuse"]
    assert str(Path(sys.executable).parent / "ovlfuse") in mounted and "0.1" in mounted
    res = subprocess.run([*base, "--ovlfuse", str(fake)], capture_output=True, text=True,
                         timeout=300, env={"PATH": env_path, "HOME": "/root"})  # fmt: skip
    assert res.returncode == 1, res.stdout + res.stderr  # the named one cannot mount
    assert "9.9-elsewhere" in json.loads(out.read_text())["programs"]["fuse"]


def test_the_nightly_profile_runs_the_whole_option_matrix(tmp_path: Path) -> None:
    """--profile nightly without --config runs every preset (issue 15's matrix), each
    mounted on ovlfuse, less those ovlfuse refuses by design (nfs_export=on, metacopy=on
    and data-only layers, which the verity presets use)."""
    from difftest.runconfig import MATRIX, SUPPORTED

    res, summary = _difftest(tmp_path, "--profile", "nightly")
    assert res.returncode == 0, res.stdout + res.stderr
    ran = {r["config"] for r in summary["runs"]}
    refused = {"metacopy=on", "data-only", "data-only+metacopy=on",
               "data-only+fsconfig", "nfs_export=on",
               "nfs_export=on+redirect_dir=on", "data-only+verity=on",
               "data-only+verity=require", "metacopy=on+verity=require"}
    assert ran == set(MATRIX) - refused
    assert "skipping config metacopy=on" in res.stdout
    assert {"xino=on", "split-fs+xino=auto", "volatile", "ro"} <= ran - set(SUPPORTED)
