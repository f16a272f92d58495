"""The end-of-example check of a FUSE target's layers through the kernel compares with an
observation of the current state, also when the last step was interrupted after its
operation and before its observation (a --jobs worker stopped by SIGTERM)."""

from __future__ import annotations

import pytest

from difftest import ops, stop
from difftest.example import Example
from difftest.scratch import Scratch, Terminated
from difftest.session import PRESETS, Session
from model.spec import Entry, LayersSpec

pytestmark = pytest.mark.privileged

SPEC = LayersSpec(lowers=((Entry(b"d", "dir", 0o755), Entry(b"d/f", "reg", data=b"f")),),
                  upper=())


def test_a_step_stopped_before_its_observation_is_not_checked_against_the_old_one(
    monkeypatch: pytest.MonkeyPatch, umask_zero: None,
) -> None:
    with Scratch() as scratch:
        ex = Example(Session(PRESETS["default"], ["fuse"], scratch), SPEC)
        try:
            ex.check_state(None)
            calls = []

            def stop_at_the_observation() -> None:  # the second check of a step
                calls.append(1)
                if len(calls) == 2:
                    raise Terminated("signal 15")

            monkeypatch.setattr(stop, "check", stop_at_the_observation)
            with pytest.raises(Terminated):
                ex.step(ops.Unlink(b"/d/f"))  # ran everywhere, never observed
            monkeypatch.undo()
        finally:
            ex.close()  # raised DivergenceFound: the view before the unlink was compared
        assert ex.record.divergence is None
