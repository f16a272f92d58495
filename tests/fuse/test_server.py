"""``ovlfuse --serve``: the JSON-lines mount server used by the differential tester."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from ovlfuse_testlib import Client, make_layers, mounted

pytestmark = pytest.mark.privileged


def test_mount_use_and_umount_cycles_are_fast(tmpfs: Path, server: Client) -> None:
    layers = make_layers(tmpfs, {"f": "lower"})
    assert server(op="ping") == {"ok": True}
    reply = server(op="mount", options=layers.options("exact"), mountpoint=str(layers.mnt))
    assert reply["ok"] and reply["pid"] > 0
    (layers.mnt / "g").write_text("written")
    assert sorted(os.listdir(layers.mnt)) == ["f", "g"]
    assert server(op="umount", mountpoint=str(layers.mnt)) == {"ok": True, "status": 0}
    assert (layers.upper / "g").read_text() == "written"
    cycles = 40
    start = time.monotonic()
    for _ in range(cycles):
        assert server(op="mount", options=layers.options("exact"),
                      mountpoint=str(layers.mnt))["ok"]
        assert server(op="umount", mountpoint=str(layers.mnt))["ok"]
    per_cycle = (time.monotonic() - start) / cycles
    print(f"\novlfuse --serve: {per_cycle * 1000:.1f} ms per mount+umount cycle "
          f"({cycles} cycles, {1 / per_cycle:.0f} cycles/s)")
    assert not mounted(layers.mnt)
    assert per_cycle < 0.2


def test_bad_requests_get_error_replies(tmpfs: Path, server: Client) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    reply = server(op="mount", options=layers.options("nonsense"), mountpoint=str(layers.mnt))
    assert reply == {"ok": False, "error": "unknown mount option 'nonsense'"}
    reply = server(op="mount", options="lowerdir=/does/not/exist:/nor/this",
                   mountpoint=str(layers.mnt))
    assert not reply["ok"] and "No such file or directory" in reply["error"]
    assert not server(op="umount", mountpoint=str(layers.mnt))["ok"]
    assert not server(op="frobnicate")["ok"]
    assert not mounted(layers.mnt)


def test_a_daemon_that_died_is_reported_at_umount(tmpfs: Path, server: Client) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    reply = server(op="mount", options=layers.options("exact"), mountpoint=str(layers.mnt))
    os.kill(reply["pid"], signal.SIGKILL)
    time.sleep(0.05)
    reply = server(op="umount", mountpoint=str(layers.mnt))
    assert not reply["ok"] and reply["status"] == -signal.SIGKILL
    assert "had exited" in reply["error"]
    assert not mounted(layers.mnt)


def test_sigterm_unmounts_everything(tmpfs: Path, server: Client) -> None:
    layers = make_layers(tmpfs, {"a": "1"})
    assert server(op="mount", options=layers.options("exact"), mountpoint=str(layers.mnt))["ok"]
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(60) == 0
    assert not mounted(layers.mnt)


def test_daemons_do_not_outlive_a_killed_server(tmpfs: Path, server: Client) -> None:
    layers = make_layers(tmpfs, {"a": "1"})
    reply = server(op="mount", options=layers.options("exact"), mountpoint=str(layers.mnt))
    assert reply["ok"]
    server.proc.kill()
    server.proc.wait(30)
    deadline = time.monotonic() + 20
    while mounted(layers.mnt) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not mounted(layers.mnt)
    while os.path.exists(f"/proc/{reply['pid']}") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not os.path.exists(f"/proc/{reply['pid']}")


def test_end_of_input_unmounts_everything(tmpfs: Path, server: Client) -> None:
    first = make_layers(tmpfs, {"a": "1"}, name="first")
    second = make_layers(tmpfs, {"b": "2"}, name="second")
    for layers in (first, second):
        assert server(op="mount", options=layers.options("exact"),
                      mountpoint=str(layers.mnt))["ok"]
    assert mounted(first.mnt) and mounted(second.mnt)
    assert server.close() == 0
    assert not mounted(first.mnt) and not mounted(second.mnt)
