"""Layers changed underneath a mount on real targets (difftest.online, model.online): the
kernel and ovlfuse give results in the allowed range while the change is unseen by a
remount, and the model's view exactly after it."""

from __future__ import annotations

import pytest

from difftest import ops
from difftest.example import run_program
from difftest.scratch import Scratch
from difftest.session import PRESETS, Session
from model.spec import Entry, LayersSpec

pytestmark = pytest.mark.privileged

SPEC = LayersSpec(
    lowers=((Entry(b"d", "dir", 0o755), Entry(b"d/a", "reg", 0o644, data=b"a")),
            (Entry(b"e", "dir", 0o755),)),
    upper=(Entry(b"u", "dir", 0o755), Entry(b"u/f", "reg", 0o644, data=b"f")),
)  # fmt: skip
PROGRAM = [
    ops.Lstat(b"/u/f"),  # the mount now remembers /u/f
    ops.LayerChange(0, "rename", b"/u/f", b"/u/g"),
    ops.Unlink(b"/u/f"),  # the upper no longer holds what the mount looked up
    ops.Readdir(b"/u"),
    ops.LayerChange(1, "remove", b"/d/a"),
    ops.Lstat(b"/d/a"),
    ops.Chmod(b"/d/a", 0o600),  # the kernel copies up the lower inode its dentry holds
    ops.LayerChange(2, "create", b"/e/new"),
    ops.Remount(),
    ops.Readdir(b"/u"),
    ops.Readdir(b"/d"),
    ops.Lstat(b"/e/new"),
]


@pytest.mark.parametrize("target", ["kernel", "fuse"])
def test_changes_underneath_give_allowed_results_and_end_the_example_where_they_differ(
        target: str, umask_zero: None) -> None:
    """The kernel refuses to unlink an upper name whose upper object moved (ESTALE: its
    parent no longer holds the child it looked up) where the model looks the name up again
    (ENOENT); ovlfuse looks the vanished lower file up again (ENOENT) where the kernel's
    dentry still holds it.  Both are in the allowed range; the example then ends at the
    remount, since the layers may now differ from the model's."""
    with Scratch() as scratch:
        record = run_program(Session(PRESETS["online"], [target], scratch), SPEC, PROGRAM)
    assert record.divergence is None, record.divergence
    assert "online-deviated" in record.events
    if target == "kernel":
        assert str(record.steps[2].outcomes[target]) == "ESTALE"
    else:
        assert str(record.steps[5].outcomes[target]) == "ENOENT"


@pytest.mark.parametrize("target", ["kernel", "fuse"])
def test_after_the_remount_the_view_is_the_changed_layers_exactly(
        target: str, umask_zero: None) -> None:
    program = [
        ops.Readdir(b"/d"),
        ops.LayerChange(1, "create", b"/d/new"),
        ops.LayerChange(0, "mkdir", b"/u/sub"),
        ops.LayerChange(2, "rename", b"/e", b"/e2"),
        ops.Remount(),
        ops.Readdir(b"/d"),
        ops.Readdir(b"/u"),
    ]
    with Scratch() as scratch:
        record = run_program(Session(PRESETS["online"], [target], scratch), SPEC, program)
    assert record.divergence is None, record.divergence
    assert "online-resynced" in record.events and len(record.steps) == len(program)
    assert "new" in str(record.steps[5].outcomes[target])
