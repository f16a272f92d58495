"""A user's call on a path too long to be given below the mountpoint's own path, where the
user may not search the mount's root.

Such a path is given relative to the mountpoint, from a working directory there
(:meth:`difftest.targets.real.RealOverlay._call`).  The user cannot chdir into a root it
may not search, and the tester once reported that EACCES where the kernel refuses the call
before it walks (renameat2's flags, openat's O_CREAT|O_DIRECTORY): found by the seed-7
control run of tests/difftest/test_seeded_faults.py once the generator reached it
(2026-12-05).  Now the call is made from a helper that root started in the mountpoint.
"""

from __future__ import annotations

import errno
import os

import pytest

from difftest import ops
from difftest.example import run_program
from difftest.scratch import Scratch
from difftest.session import PRESETS, Session
from difftest.strategies import CHAIN_FILE, CHAIN_FRESH, chain_entries
from model.spec import Entry, LayersSpec

SPEC = LayersSpec(lowers=((*chain_entries(), Entry(b"a", "reg", 0o644)),), upper=())
USER = {"uid": 1000, "gid": 1000}
DEEP = b"/" + CHAIN_FILE
PROGRAM = [
    ops.Chmod(b"/", 0o640),  # the root: no search permission for uid 1000
    ops.Rename(b"/a", DEEP, ops.RENAME_NOREPLACE | ops.RENAME_EXCHANGE, **USER),  # EINVAL
    ops.Open(CHAIN_FRESH[0], os.O_CREAT | os.O_DIRECTORY, **USER),  # EINVAL
    ops.Rename(b"/a", DEEP, **USER),  # EACCES: the walk from the root
    ops.Link(DEEP, b"/b", **USER),  # EACCES
    ops.Chmod(b"/", 0o755),
    ops.Lstat(DEEP, **USER),  # the walk goes through now
]
EXPECTED = [0, errno.EINVAL, errno.EINVAL, errno.EACCES, errno.EACCES, 0, 0]


@pytest.mark.privileged
@pytest.mark.parametrize("target", ["kernel", "fuse"])
def test_a_call_refused_before_its_walk_is_refused_so_for_a_user_below_an_unsearchable_root(
    target: str, umask_zero: None
) -> None:
    with Scratch() as scratch:
        record = run_program(Session(PRESETS["default"], [target], scratch), SPEC, PROGRAM)
    assert record.divergence is None, record.divergence
    got = [min(s.outcomes[target].errnos, default=0) for s in record.steps]
    assert got == EXPECTED
