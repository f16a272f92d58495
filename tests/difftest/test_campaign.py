"""Campaigns across processes: a shared Redis example database, its replay gate and report.

A real ``redis-server`` (Debian's) is started on 127.0.0.1 for each test that needs one, on
a free port, with a temporary directory and no snapshots, and always stopped.  Workers are
separate ``difftest`` processes that know nothing of each other but the database URL.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import pytest
from conftest import IN_CI
from test_seeded_faults import FAULTS, broken_copy

ROOT = Path(__file__).resolve().parents[2]
FAULT = next(f for f in FAULTS if f.name == "unlink of a lower file leaves no whiteout")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _start_redis(exe: str, where: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(where), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    end = time.monotonic() + 10
    while time.monotonic() < end and proc.poll() is None:
        if _pings(port):
            return proc, port
        time.sleep(0.05)
    _stop(proc)
    return None  # the port was taken meanwhile, or the server did not come up


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A Redis server of this test's own; its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        why = "redis-server is not installed (scripts/setup.sh installs it)"
        pytest.fail(why) if IN_CI else pytest.skip(why)
    where = tmp_path / "redis"
    where.mkdir()
    for _ in range(3):
        started = _start_redis(exe, where)
        if started is not None:
            break
    else:
        pytest.fail("redis-server did not start")
    proc, port = started
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


def difftest(args: list[str], cwd: Path, first: Path | None = None,
             timeout: float = 300) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """``python -m difftest ARGS``, with ``first`` (a broken copy of the model, a package
    that hides another) first on the import path."""
    path = os.pathsep.join(str(p) for p in (first, ROOT) if p is not None)
    return subprocess.run([sys.executable, "-m", "difftest", *args], cwd=cwd, text=True,
                          env=dict(os.environ, PYTHONPATH=path), capture_output=True,
                          timeout=timeout)  # fmt: skip


def _client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def _saved_examples(url: str) -> int:
    """How many failing examples the database holds (Hypothesis's primary corpus: not the
    examples met on the way to a smaller one, under ``.secondary``)."""
    c = _client(url)
    keys = [k for k in c.scan_iter(match=b"difftest:examples:*")
            if not k.endswith((b".secondary", b".pareto"))]  # fmt: skip
    return sum(int(c.scard(k)) for k in keys)


def _records(url: str, kind: str) -> list[dict[str, Any]]:
    return [json.loads(r) for r in _client(url).lrange(f"difftest:{kind}s", 0, -1)]


def _worker_args(url: str, seed: int, reports: Path) -> list[str]:
    return ["--target", "kernel", "--config", "default", "--examples", "300", "--steps", "12",
            "--seed", str(seed), "--shrink-time", "3", "--no-pin", "-q", "--db", url,
            "--report-dir", str(reports)]  # fmt: skip


def _run_two_workers(url: str, model: Path, tmp_path: Path) -> None:
    """Two difftest processes at once, the first with two worker processes of its own."""
    path = f"{model}{os.pathsep}{ROOT}"
    procs = [subprocess.Popen([sys.executable, "-m", "difftest", *jobs,
                               *_worker_args(url, seed, tmp_path / f"reports-w{seed}")],
                              cwd=tmp_path, env=dict(os.environ, PYTHONPATH=path), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for seed, jobs in ((1, ["--jobs", "2", "--html", str(tmp_path / "html-w1")]),
                                (2, []))]  # fmt: skip
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 1, out


@pytest.mark.privileged
def test_a_find_of_two_workers_is_replayed_and_reported_by_a_run_that_generates_nothing(
    redis_url: str, tmp_path: Path
) -> None:
    model = broken_copy(FAULT, tmp_path / "broken")
    _run_two_workers(redis_url, model, tmp_path)
    found = {(f["target"], f["key"]) for f in _records(redis_url, "find")}
    assert found, "the workers recorded no find"
    assert "Divergences found" in (tmp_path / "html-w1" / "index.html").read_text()
    saved = _saved_examples(redis_url)
    assert saved >= 1

    gate = difftest(["replay", "--db", redis_url, "--report-dir", str(tmp_path / "gate")],
                    tmp_path, model)  # fmt: skip
    assert gate.returncode == 1, gate.stdout + gate.stderr
    replayed = [json.loads(p.read_text()) for p in (tmp_path / "gate").glob("*/report.json")]
    assert replayed, gate.stdout
    assert {(r["divergence"]["target"], k) for r in replayed for k in r["divergence"]["keys"]} \
        & found  # fmt: skip
    [replay] = _records(redis_url, "replay")
    # nothing generated: each example run is a saved one (and at most 10 of those met on the
    # way to it, when a saved one no longer fails), or Hypothesis's final replay of one
    assert 1 <= replay["examples"] <= 2 * (saved + 10)
    assert replay["diverged"] == len(replayed)

    page = tmp_path / "html"
    rep = difftest(["report", "--db", redis_url, "--html", str(page)], tmp_path)
    assert rep.returncode == 0, rep.stderr
    html = (page / "index.html").read_text()
    assert all(escape(key) in html for _, key in found)
    assert (page / "campaign.jsonl").stat().st_size > 0

    fixed = difftest(["replay", "--db", redis_url, "--report-dir", str(tmp_path / "fixed")],
                     tmp_path)  # the real model: the saved divergences are gone
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert _saved_examples(redis_url) == 0  # Hypothesis drops what no longer fails


@pytest.mark.privileged
def test_a_directory_database_is_replayed_the_same_way(tmp_path: Path) -> None:
    model = broken_copy(FAULT, tmp_path / "broken")
    db = str(tmp_path / "db")
    clean = difftest(["--target", "kernel", "--config", "lowers=3", "--examples", "3", "-q",
                      "--db", db], tmp_path)  # a keyspace with nothing saved  # fmt: skip
    assert clean.returncode == 0, clean.stdout + clean.stderr
    run = difftest(_worker_args(db, 2, tmp_path / "reports"), tmp_path, model)
    assert run.returncode == 1, run.stdout + run.stderr
    gate = difftest(["replay", "--db", db, "--report-dir", str(tmp_path / "gate")], tmp_path,
                    model)  # fmt: skip
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert list((tmp_path / "gate").glob("*/report.json"))
    assert difftest(["replay", "--db", db], tmp_path).returncode == 0  # the real model


UNREACHABLE = [
    ["--target", "kernel", "--config", "default", "--examples", "1"],
    ["replay"],
    ["report", "--html", "out"],
]


@pytest.mark.parametrize("cmd", UNREACHABLE, ids=["run", "replay", "report"])
def test_an_unreachable_redis_is_a_one_line_usage_error(cmd: list[str], tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    proc = difftest([*cmd, "--db", url], tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Redis server" in lines[0], proc.stderr
    assert url in lines[0]
    assert not (tmp_path / "out").exists()


def test_without_the_redis_package_a_redis_db_is_a_one_line_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "block" / "redis"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ImportError("blocked by the test")\n')
    proc = difftest(["--target", "kernel", "--config", "default", "--examples", "1",
                     "--db", "redis://127.0.0.1:6379/0"], tmp_path, blocker.parent)  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "redis package is not importable" in lines[0], proc.stderr
