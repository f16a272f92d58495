"""Observations that do not repair what they measure, and budgets that hold.

* A target whose lookups answer from a cache that only a listing refreshes looks right to
  the walk (which lists every directory first) and wrong to the lookups before it.
* A failure of the first observation is a divergence of that example, not a refused mount.
* Each Hypothesis shrink stops at its own cap.
"""

from __future__ import annotations

import errno
import time
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import difftest.example as example_mod
from difftest import ops
from difftest.divergence import is_setup_failure
from difftest.example import run_program
from difftest.outcome import Kind
from difftest.runconfig import PRESETS
from difftest.session import Session
from difftest.shrinkcap import ShrinkBudget, shrink_caps
from model.config import Config
from model.overlay import Overlay
from model.spec import Entry, LayersSpec
from model.types import ROOT, Cred, DirEntry, Stat

SPEC = LayersSpec(
    lowers=((Entry(b"a", "reg", 0o644, data=b"x"), Entry(b"d", "dir", 0o755),
             Entry(b"d/h", "hardlink", target=b"a")),),
    upper=(),
)  # fmt: skip


class ListingRefreshes(Overlay):
    """A broken overlay: lstat answers from a per-path cache that only readdir of the parent
    refreshes (a FUSE overlay whose other names of a file keep cached attributes)."""

    def __init__(self, fs: Any) -> None:
        super().__init__(fs)
        self.cached: dict[bytes, Stat] = {}

    def lstat(self, path: bytes, *, cred: Cred = ROOT) -> Stat:
        if path not in self.cached:
            self.cached[path] = super().lstat(path, cred=cred)
        return self.cached[path]

    def readdir(self, path: bytes, *, cred: Cred = ROOT) -> list[DirEntry]:
        prefix = path.rstrip(b"/") + b"/"
        for p in [p for p in self.cached if p.startswith(prefix) and b"/" not in p[len(prefix):]]:
            del self.cached[p]
        return super().readdir(path, cred=cred)


def _session_with(target: type[Overlay]) -> Session:
    session = Session(PRESETS["default"], ["broken"], None)
    session._make = lambda name, spec: target.from_spec(spec, Config())  # type: ignore[method-assign]
    return session


def test_a_stale_name_the_walk_repairs_is_found_by_the_lookups_before_it() -> None:
    record = run_program(_session_with(ListingRefreshes), SPEC, [ops.Chmod(b"/a", 0o600)])
    d = record.divergence
    assert d is not None and d.kind is Kind.STATE_DIFFERS, d
    assert any(k.startswith("state|attr+copy_up|lookup|reg|mode:stale") for k in d.keys), d.keys


def test_without_the_lookups_the_walk_alone_sees_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the same case passes when only the walk observes."""
    monkeypatch.setattr(example_mod, "PROBES", False)
    record = run_program(_session_with(ListingRefreshes), SPEC, [ops.Chmod(b"/a", 0o600)])
    assert record.divergence is None


class ListingFails(Overlay):
    def readdir(self, path: bytes, *, cred: Cred = ROOT) -> list[DirEntry]:
        raise OSError(errno.ENOMEM, "getdents failed")


def test_a_failure_of_the_first_observation_is_a_divergence_not_a_refused_mount() -> None:
    record = run_program(_session_with(ListingFails), SPEC, [])
    d = record.divergence
    assert d is not None and d.kind is Kind.TARGET_FAILED and d.step == 0
    assert not is_setup_failure(d)
    assert any("ENOMEM" in k for k in d.keys), d.keys


def test_each_shrink_stops_at_its_cap() -> None:
    """Two bugs, shrunk one after the other; each reaches its 0.3 s cap (a shrink of these
    lists takes well over a hundred slow calls), and both are still reported."""

    @settings(database=None, max_examples=200, deadline=None, report_multiple_bugs=True,
              phases=[Phase.generate, Phase.shrink])  # fmt: skip
    @given(st.lists(st.integers(0, 1000), min_size=8))
    def slow(xs: list[int]) -> None:
        time.sleep(0.005)
        if sum(xs) > 2000:
            raise ValueError("big")
        if len(set(xs)) == len(xs) and len(xs) > 9:
            raise KeyError("distinct")

    start = time.monotonic()
    budget = ShrinkBudget(0.3)
    with shrink_caps(budget), pytest.raises(BaseException) as info:
        slow()
    assert budget.capped >= 1
    assert time.monotonic() - start < 60
    assert isinstance(info.value, BaseExceptionGroup | ValueError | KeyError)


def test_a_batch_stops_shrinking_when_its_total_is_spent() -> None:
    """With a total of 0.5 s, the second bug is not shrunk at all once the first has used
    it up: the run ends soon after, however slow the shrinks would be."""

    @settings(database=None, max_examples=200, deadline=None, report_multiple_bugs=True,
              phases=[Phase.generate, Phase.shrink])  # fmt: skip
    @given(st.lists(st.integers(0, 1000), min_size=8))
    def slow(xs: list[int]) -> None:
        time.sleep(0.005)
        if sum(xs) > 2000:
            raise ValueError("big")
        if len(set(xs)) == len(xs) and len(xs) > 9:
            raise KeyError("distinct")

    budget = ShrinkBudget(10.0, total=0.5)
    start = time.monotonic()
    with shrink_caps(budget), pytest.raises((ExceptionGroup, ValueError, KeyError)):
        slow()
    assert budget.seconds_left() == 0.0
    assert time.monotonic() - start < 30


def test_a_batch_shares_what_is_left_evenly_among_the_bugs_still_to_shrink() -> None:
    budget = ShrinkBudget(20.0, total=80.0)
    assert 9.5 < budget.seconds_left(pending=8) <= 10.0  # not the first four taking it all
    assert 19.5 < budget.seconds_left(pending=2) <= 20.0  # never more than a shrink's cap
    late = ShrinkBudget(20.0, deadline=time.monotonic() + 30.0)
    assert 9.5 < late.seconds_left(pending=3) <= 10.0  # the run's deadline is shared too
    assert ShrinkBudget(20.0).seconds_left(pending=50) == 20.0  # no batch, no deadline


def test_the_replay_pass_gets_its_floor_even_from_a_spent_batch() -> None:
    spent = ShrinkBudget(30.0, total=0.0, replay_floor=15.0)
    assert spent.seconds_left() == 0.0
    assert spent.replay_pass_seconds(pending=5) == 15.0  # a capped shrink is still minimised
    assert ShrinkBudget(5.0, total=0.0).replay_pass_seconds() == 5.0  # never past a shrink's cap
    ending = ShrinkBudget(30.0, deadline=time.monotonic() + 2.0, replay_floor=15.0)
    assert ending.replay_pass_seconds() <= 2.0  # nor past the run's deadline
    gone = ShrinkBudget(30.0, deadline=time.monotonic() - 1.0)
    assert gone.replay_pass_seconds() == 0.0


def test_the_engine_tells_how_many_bugs_wait_for_their_shrink() -> None:
    from types import SimpleNamespace

    from difftest.shrinkcap import _pending

    runner = SimpleNamespace(interesting_test_cases={"a": 1, "b": 2, "c": 3},
                             shrunk_test_cases={"a"})  # fmt: skip
    assert _pending(runner) == 2
    assert _pending(SimpleNamespace()) == 1  # another Hypothesis: one at a time
