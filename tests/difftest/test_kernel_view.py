"""The end-of-example check of a FUSE target's layers: the kernel overlay mounts them, and its
view must be the one a fresh mount of them shows, which is the model's after a remount, not
the FUSE program's live view (that one may hold what only memory knows)."""

from __future__ import annotations

import os

import pytest

from difftest import ops
from difftest.divergence import DivergenceFound
from difftest.example import KERNEL_VIEW, Example, run_program
from difftest.scratch import Scratch
from difftest.session import PRESETS, Session
from model.spec import Entry, LayersSpec

pytestmark = pytest.mark.privileged

# From reports/ovlfuse-userxattr-20261205 (run of 2026-12-05, seed 1): a lower symlink cannot
# carry user.overlay.origin, so after its copy-up only its name remembers the lower.
SPEC = LayersSpec(
    lowers=((), (Entry(b"a", "dir", 0o755), Entry(b"a/z", "reg", 0o644), Entry(b"c", "dir", 0o755),
                 Entry(b"c/y", "lnk", 0o777, target=b"a"))),
    upper=(),
)  # fmt: skip
PROGRAM = [ops.Unlink(b"/a/z"), ops.Rmdir(b"/a"), ops.Link(b"/c/y", b"/a")]


def test_a_name_that_remembers_its_origin_is_no_divergence_in_the_kernel_view(
    umask_zero: None,
) -> None:
    """Live, /c/y shows the lower symlink's inode number and the new link /a the upper's (two
    inodes, on the kernel as on ovlfuse); a fresh mount of the same layers shows the upper's
    under both names (one inode).  Compared with ovlfuse's live view, the kernel's fresh
    one was reported as a divergence of ovlfuse's layer format (2 of 3 reports of a
    300-example run); compared with the model's view after a remount, it agrees."""
    with Scratch() as scratch:
        record = run_program(Session(PRESETS["userxattr"], ["fuse"], scratch), SPEC, PROGRAM)
    assert record.divergence is None, record.divergence


def test_layers_changed_behind_the_fuse_program_are_a_kernel_view_divergence(
    umask_zero: None,
) -> None:
    """The check still bites: a merged dir made opaque in the upper layer behind ovlfuse's
    back (its live view, cached, does not show it) hides the lower entries from a fresh
    mount, where the model's remounted view keeps them."""
    spec = LayersSpec(lowers=((Entry(b"d", "dir", 0o755), Entry(b"d/x", "reg", 0o644)),),
                      upper=())  # fmt: skip
    with Scratch() as scratch:
        ex = Example(Session(PRESETS["default"], ["fuse"], scratch), spec)
        ex.check_state(None)
        ex.step(ops.Mkdir(b"/d/n", 0o755))  # copies /d up
        target = ex.targets["fuse"]
        assert target.upperdir is not None
        os.setxattr(os.path.join(target.upperdir, b"d"), "trusted.overlay.opaque", b"y")
        with pytest.raises(DivergenceFound):
            ex.close()
    div = ex.record.divergence
    assert div is not None and div.target == "fuse"
    assert any(KERNEL_VIEW in key for key in div.keys), div.keys
    assert any("/d/x" in line for line in div.details), div.details
