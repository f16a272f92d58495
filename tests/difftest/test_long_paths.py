"""Paths up to PATH_MAX: the model, the kernel and ovlfuse agree on the chain of directories
whose deepest file is at the limit, and difftest's own plumbing (layers, walks, the upper
dump, calls as other users) reaches every object of it."""

from __future__ import annotations

import os

import pytest

from difftest import ops
from difftest.example import run_program
from difftest.scratch import Scratch
from difftest.session import PRESETS, Session
from difftest.strategies import CHAIN, CHAIN_DIR, CHAIN_FILE, chain_entries
from model.namei import syscall_length
from model.spec import Entry, LayersSpec
from model.types import PATH_MAX

pytestmark = pytest.mark.privileged

DEEP = b"/" + CHAIN_DIR
AT_LIMIT = DEEP + b"/" + b"g" * (PATH_MAX - 1 - len(CHAIN_DIR) - 1)
PAST_LIMIT = AT_LIMIT + b"g"
LONGER_TOP = b"/" + CHAIN[0] + b"/" + CHAIN[1] + b"xy"

SPEC = LayersSpec(lowers=(tuple(chain_entries()),), upper=(Entry(b"a", "dir", 0o755),))
PROGRAM = [
    ops.Lstat(b"/" + CHAIN_FILE),
    ops.Open(AT_LIMIT, os.O_CREAT | os.O_WRONLY, 0o640),
    ops.Write(0, b"at the limit"),
    ops.Open(PAST_LIMIT, os.O_CREAT | os.O_WRONLY, 0o640),
    ops.Chmod(b"/" + CHAIN_FILE, 0o600, uid=0),
    ops.Readdir(DEEP, uid=1000, gid=1000),
    ops.Setxattr(AT_LIMIT, b"user.x", b"1"),
    ops.Rename(b"/" + CHAIN_FILE, b"/a/moved"),
    ops.Link(b"/a/moved", b"/" + CHAIN_FILE),
    ops.Remount(),
    ops.Lstat(AT_LIMIT),
    ops.Rename(b"/" + CHAIN[0] + b"/" + CHAIN[1], LONGER_TOP),  # EXDEV: a lower dir
    ops.Unlink(AT_LIMIT),
    ops.Rmdir(DEEP),
]


def test_the_chain_reaches_exactly_the_limit() -> None:
    assert syscall_length(b"/" + CHAIN_FILE) == syscall_length(AT_LIMIT) == PATH_MAX - 1
    assert syscall_length(PAST_LIMIT) == PATH_MAX


@pytest.mark.parametrize("target", ["kernel", "fuse", "fuse-cached"])
def test_model_and_target_agree_on_paths_up_to_path_max(target: str, umask_zero: None) -> None:
    with Scratch() as scratch:
        session = Session(PRESETS["default"], [target], scratch)
        record = run_program(session, SPEC, PROGRAM)
    assert record.divergence is None, record.divergence
    assert len(record.steps) == len(PROGRAM)
    results = [s.outcomes["model"] for s in record.steps]
    assert not results[1].is_error and results[3].is_error  # at the limit; one byte past


def test_reproducers_rebuild_the_chain_and_run_its_steps(tmp_path, umask_zero: None) -> None:  # type: ignore[no-untyped-def]
    """repro.py and repro.sh build layers and give paths from inside the mount, so a case
    at PATH_MAX replays as it ran."""
    import subprocess
    import sys

    from difftest.repro import render_repro_py, render_repro_sh

    with Scratch() as scratch:
        record = run_program(Session(PRESETS["default"], ["kernel"], scratch), SPEC, PROGRAM)
    (tmp_path / "repro.py").write_text(render_repro_py(record, PRESETS["default"]))
    (tmp_path / "repro.sh").write_text(render_repro_sh(record, PRESETS["default"]))
    py = subprocess.run([sys.executable, str(tmp_path / "repro.py")], capture_output=True,
                        text=True, timeout=120, check=False)  # fmt: skip
    assert py.returncode == 0, py.stderr
    sh = subprocess.run(["bash", str(tmp_path / "repro.sh")], capture_output=True, text=True,
                        timeout=120, check=False)  # fmt: skip
    assert "--- step 14" in sh.stdout, sh.stdout + sh.stderr
    assert "File name too long" not in sh.stdout + sh.stderr  # step 4 needs repro.py
    steps = py.stdout.split("step ")[1:]
    assert len(steps) == len(PROGRAM), py.stdout
    too_long = [i for i, text in enumerate(steps, 1) if "now: ENAMETOOLONG" in text]
    assert too_long == [4], py.stdout
