"""Observations: identity as classes, stability and mtime relative to the previous step."""

from __future__ import annotations

import pytest

from difftest.observe import MergedEntry, Observation, diff
from difftest.tolerances import TOLERANCES, normalise_upper_entry, tolerated
from model.types import UpperEntry

F = MergedEntry("reg", 0o644, 0, 0, 1, 1, 0, "d", ())


def obs(ino: dict[bytes, int], mtime: dict[bytes, int] | None = None) -> Observation:
    return Observation({p: F for p in ino}, ino, mtime or {p: 0 for p in ino}, None)


def test_inode_numbers_compare_as_alias_classes_not_values() -> None:
    a = obs({b"/x": 10, b"/y": 10, b"/z": 11})
    b = obs({b"/x": 70, b"/y": 70, b"/z": 3})
    assert diff(a, b, None, None) == []


def test_a_broken_hard_link_is_a_difference() -> None:
    a = obs({b"/x": 10, b"/y": 10})
    b = obs({b"/x": 70, b"/y": 71})
    assert any("identity" in line for line in diff(a, b, None, None))


def test_inode_change_since_previous_step_is_compared() -> None:
    before = obs({b"/x": 1})
    assert diff(obs({b"/x": 1}), obs({b"/x": 2}), before, before)


def test_mtime_is_compared_as_changed_or_unchanged() -> None:
    before = obs({b"/x": 1}, {b"/x": 100})
    model_after = obs({b"/x": 1}, {b"/x": 7})  # logical clock
    kernel_after = obs({b"/x": 1}, {b"/x": 1_700_000_000})
    assert diff(model_after, kernel_after, before, before) == []
    kernel_same = obs({b"/x": 1}, {b"/x": 100})
    assert diff(model_after, kernel_same, before, before)


def test_mtime_of_an_object_replaced_at_a_path_is_not_compared() -> None:
    """tolerance mtime-of-replaced: a new object's creation time may fall in the old one's
    clock tick; the identity change is still a difference if only one side shows it."""
    before = obs({b"/x": 1}, {b"/x": 100})
    model_after = obs({b"/x": 2}, {b"/x": 101})
    kernel_same_tick = obs({b"/x": 5}, {b"/x": 100})
    assert diff(model_after, kernel_same_tick, before, before) == []
    kernel_same_object = obs({b"/x": 1}, {b"/x": 100})
    assert diff(model_after, kernel_same_object, before, before)


def test_an_object_is_the_same_only_with_the_same_device_inode_and_type() -> None:
    """Found by a campaign (reports/campaign-20261205, split-fs): RENAME_EXCHANGE of an upper
    directory with a copied-up file on layers of separate filesystems leaves at each path an
    object with the same st_ino as before, on another st_dev; the kernel's real mtimes
    differ, the model's logical ones did not, and the tester took it for a changed mtime."""
    D = MergedEntry("dir", 0o755, 0, 0, 0, 2, 0, "", ())

    def split(kinds: dict[bytes, MergedEntry], dev: dict[bytes, int],
              mtime: dict[bytes, int]) -> Observation:
        return Observation(kinds, {b"/f": 3, b"/d": 3}, mtime, None, dev)

    before = split({b"/f": F, b"/d": D}, {b"/f": 40, b"/d": 41}, {b"/f": 5, b"/d": 6})
    model = split({b"/f": D, b"/d": F}, {b"/f": 41, b"/d": 40}, {b"/f": 5, b"/d": 6})
    kernel = split({b"/f": D, b"/d": F}, {b"/f": 41, b"/d": 40}, {b"/f": 6, b"/d": 5})
    assert diff(model, kernel, before, before) == []
    # on one filesystem the same pair means the same object, and its mtime is compared
    kept = split({b"/f": F, b"/d": D}, {b"/f": 40, b"/d": 41}, {b"/f": 9, b"/d": 6})
    assert diff(before, kept, before, before)


def test_whiteout_mode_and_owner_are_tolerated_but_kind_is_not() -> None:
    w1 = UpperEntry("whiteout", 0, 0, 0, 0, "", None, None, False, False, ())
    w2 = UpperEntry("whiteout", 0o644, 5, 5, 0, "", None, None, False, False, ())
    assert normalise_upper_entry(w1) == normalise_upper_entry(w2)
    c = UpperEntry("chr", 0, 0, 0, 0, "", None, None, False, False, ())
    assert normalise_upper_entry(c) != normalise_upper_entry(w1)


def test_an_unknown_tolerance_name_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(KeyError):
        tolerated("no-such-tolerance")


def test_every_tolerance_states_a_reason() -> None:
    assert all(t.reason and t.name for t in TOLERANCES)
