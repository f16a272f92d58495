"""``ovlfuse --serve``: the JSON-lines mount server used by the differential tester."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ovlfuse_testlib import OVLFUSE, REPO, make_layers, mounted

pytestmark = pytest.mark.privileged


class Client:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([*OVLFUSE, "--serve"], cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)

    def __call__(self, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "server closed its output"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(60)


@pytest.fixture
def server() -> Iterator[Client]:
    client = Client()
    try:
        yield client
    finally:
        if client.proc.poll() is None:
            client.close()


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
