"""The crash lane: an ovlfuse daemon killed at each change to a layer inside an operation, and
what the next mount must show (difftest.crash).

The model-only tests pin which states an interrupted operation may leave; the privileged ones
run the lane on ovlfuse itself, kill point by kill point, and check that a planted partial
state is reported."""

from __future__ import annotations

import os
import stat

import pytest

from difftest import crash, ops
from difftest.divergence import DivergenceFound
from difftest.example import Example, run_program
from difftest.observing import observe
from difftest.scratch import Scratch
from difftest.session import PRESETS, Session
from model.config import Config
from model.overlay import Overlay
from model.spec import Entry, LayersSpec
from model.types import Cred

LOWER_FILE = LayersSpec(
    lowers=((Entry(b"d", "dir", 0o755), Entry(b"d/f", "reg", 0o644, data=b"lower data")),),
    upper=(),
)  # fmt: skip


def _kinds(states: list[crash.Allowed]) -> list[str]:
    return [s.kind for s in states]


def _mode(state: crash.Allowed, path: bytes) -> int:
    return state.view.merged[path].mode


def test_a_chmod_of_a_lower_file_may_leave_before_after_or_its_copy_ups() -> None:
    """Between the start and the end of a chmod of /d/f: /d copied up (a merged directory's
    nlink becomes 1), then /d/f copied up with its old mode; nothing partial."""
    before = Overlay.from_spec(LOWER_FILE, Config())
    after = Overlay.from_spec(LOWER_FILE, Config())
    op = ops.Chmod(b"/d/f", 0o600)
    after.chmod(b"/d/f", 0o600)
    states = crash.allowed_states(before, after, op)
    assert _kinds(states) == ["before", "after", "between"]
    assert _mode(states[0], b"/d/f") == _mode(states[2], b"/d/f") == 0o644
    assert _mode(states[1], b"/d/f") == 0o600
    assert states[0].view.merged[b"/d"].nlink != states[2].view.merged[b"/d"].nlink
    assert before.fs.upper is not None and not before.fs.upper.root.dir_children(), \
        "the model before the operation is left as it was"


def test_a_directory_renamed_onto_an_upper_whiteout_may_leave_the_whiteout_at_its_old_name(
) -> None:
    """ovl_rename exchanges a lower-less directory with the whiteout it replaces and removes
    the whiteout afterwards: in between, a pure upper parent lists the whiteout."""
    spec = LayersSpec(lowers=((Entry(b"w", "reg", 0o644),),),
                      upper=(Entry(b"p", "dir", 0o755), Entry(b"p/s", "dir", 0o755),
                             Entry(b"w", "whiteout", 0)))  # fmt: skip
    before = Overlay.from_spec(spec, Config())
    after = Overlay.from_spec(spec, Config())
    op = ops.Rename(b"/p/s", b"/w")
    after.rename(b"/p/s", b"/w")
    states = crash.allowed_states(before, after, op)
    left = [s for s in states if s.kind == "between"]
    assert len(left) == 1, _kinds(states)
    assert left[0].view.merged[b"/p/s"].kind.startswith("unresolvable"), left[0].view.merged


def test_a_write_that_kills_setuid_may_leave_the_bit_killed_and_nothing_written() -> None:
    """FUSE sends the kill of a non-root writer as a SETATTR before the WRITE."""
    spec = LayersSpec(lowers=((),), upper=(Entry(b"f", "reg", 0o4777, data=b"old"),))
    before = Overlay.from_spec(spec, Config())
    fd = before.open(b"/f", os.O_WRONLY, 0, cred=Cred(1000, 1000))
    after = Overlay.from_spec(spec, Config())
    fd_after = after.open(b"/f", os.O_WRONLY, 0, cred=Cred(1000, 1000))
    after.write(fd_after, b"new")
    states = crash.allowed_states(before, after, ops.Write(0, b"new"), fd)
    killed = [s for s in states if s.kind == "between"]
    assert len(killed) == 1
    assert not _mode(killed[0], b"/f") & stat.S_ISUID
    assert killed[0].view.merged[b"/f"].content == states[0].view.merged[b"/f"].content


def test_a_view_in_none_of_the_states_is_matched_by_none_and_named_by_the_nearest() -> None:
    before = Overlay.from_spec(LOWER_FILE, Config())
    after = Overlay.from_spec(LOWER_FILE, Config())
    after.chmod(b"/d/f", 0o600)
    states = crash.allowed_states(before, after, ops.Chmod(b"/d/f", 0o600))
    partial = Overlay.from_spec(LOWER_FILE, Config())
    partial.truncate(b"/d/f", 3)  # a copy-up that lost data
    partial.remount()
    state, diffs = crash.match(states, observe(partial))
    assert state is None and diffs
    assert all("nearest:" in d.line for d in diffs)


# ---- on ovlfuse ------------------------------------------------------------------------------


@pytest.mark.privileged
def test_every_kill_point_of_a_copy_up_leaves_an_allowed_state_and_an_empty_workdir(
    umask_zero: None,
) -> None:
    """A chmod of a lower file makes about ten changes (copy-ups of /d and /d/f, then the
    chmod); the daemon is killed before each in turn, and each recovery agrees.  Past the
    last change the operation completes and nothing is killed."""
    met = 0
    with Scratch() as scratch:
        session = Session(PRESETS["default"], ["fuse-crash"], scratch)
        for after in range(1, 20):
            record = run_program(session, LOWER_FILE,
                                 [ops.ArmCrash(after), ops.Chmod(b"/d/f", 0o600)])  # fmt: skip
            assert record.divergence is None, (after, record.divergence)
            if "crash" not in record.events:
                break
            met += 1
    assert 5 <= met < 19, met


@pytest.mark.privileged
def test_a_partial_state_after_the_crash_is_a_divergence(umask_zero: None) -> None:
    """The check bites: after the crash, the recovered mount's layer is changed behind its
    back (a partial copy-up's leftover in the upper layer), and the view matches no state."""
    with Scratch() as scratch:
        ex = Example(Session(PRESETS["default"], ["fuse-crash"], scratch), LOWER_FILE)
        ex.check_state(None)
        ex.step(ops.ArmCrash(3))
        target = ex.targets["fuse-crash"]
        recover = target.recover

        def recover_with_a_partial_copy() -> list[bytes]:
            assert target.upperdir is not None
            os.makedirs(os.path.join(target.upperdir, b"d"), exist_ok=True)
            with open(os.path.join(target.upperdir, b"d", b"f"), "wb") as f:
                f.write(b"low")  # part of the data
            return recover()

        target.recover = recover_with_a_partial_copy
        with pytest.raises(DivergenceFound):
            ex.step(ops.Chmod(b"/d/f", 0o600))
        ex.close()
    div = ex.record.divergence
    assert div is not None and div.target == "fuse-crash"
    assert any(crash.KILL_POINT in key for key in div.keys), div.keys
    assert any("/d/f" in line for line in div.details), div.details
