"""The replay pass after Hypothesis's shrinking drops the steps and entries a divergence does
not need, and keeps the case when nothing reproduces."""

from __future__ import annotations

import pytest

from difftest import ops
from difftest.example import run_program
from difftest.minimise import minimise, signature
from difftest.scratch import Scratch
from difftest.session import PRESETS, Session
from model.overlay import Overlay
from model.spec import Entry, LayersSpec
from model.types import ROOT, Cred

pytestmark = pytest.mark.privileged


class UnlinkForgets(Overlay):
    """A broken model: unlink succeeds and changes nothing."""

    def unlink(self, path: bytes, *, cred: Cred = ROOT) -> None:
        self.lstat(path, cred=cred)


SPEC = LayersSpec(
    lowers=(
        (
            Entry(b"d", "dir", 0o755),
            Entry(b"d/x", "reg", data=b"x"),
            Entry(b"f", "reg", data=b"f"),
            Entry(b"g", "reg", data=b"g"),
            Entry(b"h", "hardlink", target=b"g"),
        ),
    ),
    upper=(Entry(b"u", "dir", 0o755), Entry(b"u/v", "reg", data=b"v")),
)
PROGRAM = [
    ops.Lstat(b"/g"),
    ops.Removexattr(b"/", b"user.a"),
    ops.Chmod(b"/u/v", 0o600),
    ops.Removexattr(b"/", b"user.a"),
    ops.Unlink(b"/f"),
    ops.Lstat(b"/f"),
]


def test_replay_pass_keeps_only_the_step_and_entry_the_divergence_needs(umask_zero: None) -> None:
    with Scratch() as scratch:
        session = Session(PRESETS["default"], ["kernel"], scratch, expected=UnlinkForgets.from_spec)
        found = run_program(session, SPEC, PROGRAM)
        assert found.divergence is not None and len(found.steps) == 5
        small = minimise(session, found)
    assert small.divergence is not None
    assert signature(small.divergence) == signature(found.divergence)
    assert [s.op for s in small.steps] == [ops.Unlink(b"/f")]
    assert small.spec.lowers == ((Entry(b"f", "reg", data=b"f"),),)
    assert small.spec.upper == ()


def test_replay_pass_keeps_a_case_that_does_not_reproduce(umask_zero: None) -> None:
    with Scratch() as scratch:
        broken = Session(PRESETS["default"], ["kernel"], scratch, expected=UnlinkForgets.from_spec)
        found = run_program(broken, SPEC, PROGRAM)
        fixed = Session(PRESETS["default"], ["kernel"], scratch)  # the real model agrees
        assert minimise(fixed, found) is found
