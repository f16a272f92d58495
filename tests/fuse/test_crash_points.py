"""Crash points (fuse_impl/crash.py): an armed daemon dies with SIGKILL just before its N-th
change to a layer, counted from the moment its mount is live, and the next mount shows
what the interrupted operation started from or ended with."""

from __future__ import annotations

import errno
import os
import select
import signal
import subprocess
from pathlib import Path

import pytest
from ovlfuse_testlib import (
    OVLFUSE,
    REPO,
    Client,
    make_layers,
    mounted,
    ovlfuse,
    start_ovlfuse,
    umount,
)

pytestmark = pytest.mark.privileged


def _dead(pid: int, timeout: float = 10) -> bool:
    fd = os.pidfd_open(pid)
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def test_armed_at_the_first_change_the_daemon_dies_in_the_copy_up_and_the_lower_survives(
        tmpfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads make no change; the chmod's copy-up is killed before its first step, so the
    file is as it was, nothing reached the upper layer, and the next mount empties work/."""
    layers = make_layers(tmpfs, {"d": {"f": "lower data"}})
    monkeypatch.setenv("OVLFUSE_CRASH_AT", "1")
    daemon = start_ovlfuse(layers.mnt, layers.options("exact"))
    try:
        assert (layers.mnt / "d" / "f").read_text() == "lower data"
        assert daemon.proc.poll() is None, "a read killed the daemon"
        with pytest.raises(OSError) as err:
            os.chmod(layers.mnt / "d" / "f", 0o600)
        assert err.value.errno in (errno.ENOTCONN, errno.ECONNABORTED)
        assert daemon.proc.wait(10) == -signal.SIGKILL
    finally:
        umount(layers.mnt, lazy=True)
    assert sorted(os.listdir(layers.upper)) == []
    monkeypatch.delenv("OVLFUSE_CRASH_AT")
    with ovlfuse(layers) as m:
        assert (m / "d" / "f").read_text() == "lower data"
        assert (m / "d" / "f").stat().st_mode & 0o777 == 0o644
    assert list((layers.work / "work").iterdir()) == []


def test_a_copy_up_killed_after_its_data_leaves_only_work_files_the_next_mount_removes(
        tmpfs: Path, server: Client) -> None:
    """Armed through the mount server at the 4th change: the copy is in work/ (created, its
    data copied), not in the upper dir; the next mount shows the lower file and cleans."""
    layers = make_layers(tmpfs, {"f": "lower data"})
    reply = server(op="mount", options=layers.options("exact"), mountpoint=str(layers.mnt),
                   crash_at=4)
    assert reply["ok"]
    with pytest.raises(OSError):
        os.chmod(layers.mnt / "f", 0o600)
    assert _dead(reply["pid"])
    assert not server(op="umount", mountpoint=str(layers.mnt))["ok"]  # it had died
    assert not mounted(layers.mnt)
    assert not (layers.upper / "f").exists()
    assert list((layers.work / "work").iterdir()), "the kill came before anything in work/"
    reply = server(op="mount", options=layers.options("exact"), mountpoint=str(layers.mnt))
    assert reply["ok"]
    assert list((layers.work / "work").iterdir()) == []
    assert (layers.mnt / "f").read_text() == "lower data"
    assert server(op="umount", mountpoint=str(layers.mnt))["ok"]


def test_a_crash_point_must_be_a_whole_number_from_one(tmpfs: Path, server: Client) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    for bad in (0, -1, "3", 1.5):
        reply = server(op="mount", options=layers.options("exact"),
                       mountpoint=str(layers.mnt), crash_at=bad)
        assert not reply["ok"] and "crash_at" in reply["error"], reply
    env = dict(os.environ, OVLFUSE_CRASH_AT="soon")
    proc = subprocess.run([*OVLFUSE, "-f", "-o", layers.options("exact"), str(layers.mnt)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "OVLFUSE_CRASH_AT='soon'" in proc.stderr
    assert not mounted(layers.mnt)
