"""The ovlfuse mount server of a run (``ovlfuse --serve``, fuse_impl/server.py): one per
scratch space, forking a daemon per mount; used by the FUSE targets and by nested presets
whose lower layers are an ovlfuse mount (:mod:`difftest.nesting`)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
import threading
from typing import IO, Any

from difftest.scratch import Scratch


class FuseMountError(OSError):
    """The FUSE program did not mount; the message carries its stderr."""


def ovlfuse_command() -> list[str]:
    """The ovlfuse to mount: the one ``--ovlfuse`` named (``DIFFTEST_OVLFUSE``), else the one
    of this interpreter's own environment, else this interpreter running ``fuse_impl`` (never
    an ovlfuse that happens to be first on PATH: it may be another checkout's)."""
    named = os.environ.get("DIFFTEST_OVLFUSE")
    if named:
        return shlex.split(named)
    exe = os.path.join(os.path.dirname(sys.executable), "ovlfuse")
    if os.path.exists(exe):
        return [exe]
    return [sys.executable, "-m", "fuse_impl.main"]


class OvlfuseServer:
    """A long-lived ``ovlfuse --serve`` speaking JSON lines; forks one daemon per mount."""

    def __init__(self) -> None:
        self.argv = [*ovlfuse_command(), "--serve"]
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.lock = threading.Lock()

    def request(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self.lock:
            try:
                self.proc.stdin.write(json.dumps(req).encode() + b"\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            except OSError as exc:
                line = b""
                err = str(exc)
            else:
                err = ""
        if not line:
            tail = _tail(self.proc.stderr)
            raise FuseMountError(5, f"ovlfuse server died {err}: {tail}")
        try:
            reply: dict[str, Any] = json.loads(line)
        except ValueError:
            reply = {}
        if not isinstance(reply, dict) or "ok" not in reply:
            tail = _tail(self.proc.stderr)
            shown = line.decode(errors="replace").strip()[:200]
            raise FuseMountError(5, f"{shlex.join(self.argv)} is not an ovlfuse mount server: "
                                    f"it answered {shown!r} {tail}".rstrip())
        return reply

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _tail(stream: IO[bytes] | None, limit: int = 2000) -> str:
    if stream is None:
        return ""
    with contextlib.suppress(OSError, ValueError):
        os.set_blocking(stream.fileno(), False)
        data = stream.read() or b""
        return data[-limit:].decode(errors="replace").strip()
    return ""


_servers: dict[int, OvlfuseServer] = {}


def server_for(scratch: Scratch) -> OvlfuseServer:
    """One server per run (per scratch space), stopped when the scratch closes."""
    key = id(scratch)
    srv = _servers.get(key)
    if srv is None or srv.proc.poll() is not None:
        srv = _servers[key] = OvlfuseServer()
        scratch.on_close(lambda: _servers.pop(key, srv).close())
    return srv
