"""Survey mode's notion of "the same divergence", which decides what a survey reports once."""

from __future__ import annotations

from difftest import ops
from difftest.example import Divergence, ExampleRecord
from difftest.outcome import Kind
from difftest.survey import Known, signature
from model.spec import LayersSpec


def mount_failure(where: str) -> Divergence:
    return Divergence(0, "fuse-overlayfs", Kind.TARGET_FAILED, None, "a mount",
                      f"[Errno 5] did not mount {where}/ex{len(where)}/merged")  # fmt: skip


def test_a_target_that_cannot_mount_is_one_divergence_whatever_the_paths() -> None:
    assert signature(mount_failure("/tmp/a")) == signature(mount_failure("/tmp/bb"))


def test_state_differences_at_other_paths_are_known() -> None:
    known = Known()
    first = Divergence(1, "t", Kind.STATE_DIFFERS, ops.Remount(), "same", "1",
                       ["merged b'/a': nlink: 1 != 2"])  # fmt: skip
    known.add(ExampleRecord(LayersSpec((), ()), divergence=first))
    again = Divergence(3, "t", Kind.STATE_DIFFERS, ops.Remount(), "same", "1",
                       ["merged b'/x/y': nlink: 1 != 3"])  # fmt: skip
    assert known.unknown_part(again) is None
    new = Divergence(3, "t", Kind.STATE_DIFFERS, ops.Remount(), "same", "2",
                     ["merged b'/x/y': nlink: 1 != 3", "merged b'/z': mode: 420 != 384"])
    rest = known.unknown_part(new)
    assert rest is not None and rest.details == ["merged b'/z': mode: 420 != 384"]
