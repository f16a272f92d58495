"""mount(8) integration: ``mount -t fuse.ovlfuse`` and an fstab line, through the
``mount.fuse.ovlfuse`` helper installed as a symlink in /sbin for the test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ovlfuse_testlib import make_layers, mounted, umount

pytestmark = pytest.mark.privileged

HELPER = Path(sys.executable).parent / "mount.fuse.ovlfuse"
INSTALLED = Path("/sbin/mount.fuse.ovlfuse")


@pytest.fixture(scope="module")
def helper() -> Iterator[Path]:
    """/sbin/mount.fuse.ovlfuse → the venv's console script, removed afterwards if we made it."""
    if not HELPER.exists():
        pytest.fail(f"{HELPER} missing: run scripts/setup.sh (pip install -e .)")
    made = False
    if not os.path.lexists(INSTALLED):
        os.symlink(HELPER, INSTALLED)
        made = True
    try:
        yield INSTALLED
    finally:
        if made:
            os.unlink(INSTALLED)


def fstype(mnt: Path) -> str:
    return subprocess.run(["findmnt", "-n", "-o", "FSTYPE,SOURCE", str(mnt)],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_mount_t_fuse_ovlfuse_runs_the_helper(tmpfs: Path, helper: Path) -> None:
    layers = make_layers(tmpfs, {"f": "from the lower"})
    res = subprocess.run(["mount", "-t", "fuse.ovlfuse", "overlay", "-o", layers.options(),
                          str(layers.mnt)], capture_output=True, text=True, env={}, check=False)
    try:
        assert res.returncode == 0, res.stderr
        assert mounted(layers.mnt)
        assert fstype(layers.mnt).split() == ["fuse.ovlfuse", "overlay"]
        assert (layers.mnt / "f").read_text() == "from the lower"
        (layers.mnt / "g").write_text("new")
    finally:
        umount(layers.mnt)
    assert (layers.upper / "g").read_text() == "new"


def test_fstab_line_mounts_through_the_helper(tmpfs: Path, helper: Path) -> None:
    layers = make_layers(tmpfs, {"f": "fstab"})
    fstab = tmpfs / "fstab"
    fstab.write_text(f"overlay {layers.mnt} fuse.ovlfuse {layers.options('exact')},noauto 0 0\n")
    res = subprocess.run(["mount", "--fstab", str(fstab), str(layers.mnt)],
                         capture_output=True, text=True, check=False)
    try:
        assert res.returncode == 0, res.stderr
        assert mounted(layers.mnt)
        assert (layers.mnt / "f").read_text() == "fstab"
    finally:
        umount(layers.mnt)


def test_helper_reports_bad_options_like_mount(tmpfs: Path, helper: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    res = subprocess.run(["mount", "-t", "fuse.ovlfuse", "overlay", "-o",
                          layers.options("frobnicate"), str(layers.mnt)],
                         capture_output=True, text=True, check=False)
    assert res.returncode != 0
    assert "unknown mount option 'frobnicate'" in res.stderr
    assert not mounted(layers.mnt)


def test_mount_fuse3_runs_ovlfuse_with_source_and_mountpoint(tmpfs: Path) -> None:
    """Without the helper, mount(8) ends in mount.fuse3, which runs ``ovlfuse SOURCE MNT -o
    OPTIONS`` (found on PATH); SOURCE names the mount."""
    layers = make_layers(tmpfs, {"f": "via mount.fuse3"})
    env = {"PATH": f"{HELPER.parent}:/usr/sbin:/usr/bin:/sbin:/bin"}
    res = subprocess.run(["mount.fuse3", "my-overlay", str(layers.mnt), "-t", "ovlfuse",
                          "-o", layers.options()], capture_output=True, text=True, env=env,
                         check=False)  # fmt: skip
    try:
        assert res.returncode == 0, res.stderr
        assert fstype(layers.mnt).split() == ["fuse.ovlfuse", "my-overlay"]
        assert (layers.mnt / "f").read_text() == "via mount.fuse3"
    finally:
        umount(layers.mnt)


def test_ovlfuse_refuses_a_third_positional_argument(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    res = subprocess.run([str(HELPER.parent / "ovlfuse"), "-o", layers.options(), "a", "b",
                          str(layers.mnt)], capture_output=True, text=True, check=False)
    assert res.returncode == 2
    assert res.stderr.strip() == f"ovlfuse: too many arguments: a b {layers.mnt}"
    assert not mounted(layers.mnt)
