"""Nested overlays on real mounts (difftest.nesting): the kernel over the kernel, ovlfuse over
the kernel and the kernel over ovlfuse agree with model.nested on one program that meets
what nesting changes: a whiteout the inner overlay lists and does not find (also once its
directory is merged), a copy-up's origin that no file handle can follow after a remount,
hard links and a merged directory's link count seen through the inner overlay."""

from __future__ import annotations

import os

import pytest

from difftest import ops
from difftest.example import run_program
from difftest.scratch import Scratch
from difftest.session import PRESETS, Session
from model.spec import Entry, LayersSpec

pytestmark = pytest.mark.privileged

SPEC = LayersSpec(
    lowers=(
        (Entry(b"d", "dir", 0o755), Entry(b"d/a", "reg", 0o644, data=b"a"),
         Entry(b"e", "dir", 0o755), Entry(b"e/w", "whiteout", 0),
         Entry(b"f", "reg", 0o644, data=b"f"), Entry(b"g", "hardlink", 0o644, target=b"f")),
        (Entry(b"d", "dir", 0o755), Entry(b"d/b", "reg", 0o644, data=b"b")),
    ),
    upper=(),
)  # fmt: skip
PROGRAM = [
    ops.Readdir(b"/e"),
    ops.Lstat(b"/e/w"),
    ops.Mkdir(b"/e/new", 0o755),  # /e is merged from now on
    ops.Readdir(b"/e"),
    ops.Chmod(b"/d/a", 0o600),
    ops.Lstat(b"/d"),
    ops.Chmod(b"/f", 0o600),  # a copy-up breaks the hard link
    ops.Remount(),
    ops.Lstat(b"/d/a"),
    ops.Open(b"/d/a", os.O_RDONLY),
    ops.Read(0, 10),
]


@pytest.mark.parametrize(("target", "preset"), [
    ("kernel", "nested"), ("kernel", "nested+redirect_dir=on"), ("fuse", "nested"),
    ("kernel", "nested-on-ovlfuse"), ("fuse", "nested-on-ovlfuse"),
])  # fmt: skip
def test_a_nested_overlay_agrees_with_the_nested_model(target: str, preset: str,
                                                       umask_zero: None) -> None:
    with Scratch() as scratch:
        record = run_program(Session(PRESETS[preset], [target], scratch), SPEC, PROGRAM)
    assert record.divergence is None, record.divergence
    assert len(record.steps) == len(PROGRAM)
    assert "w" in str(record.steps[3].outcomes[target]), record.steps[3]
