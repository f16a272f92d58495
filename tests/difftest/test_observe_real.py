"""The fast observation of a real mount (cached for the kernel; by file descriptor, with
lookup attributes and a digest cache, for ovlfuse) equals the generic walk through the
syscalls."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from difftest import ops
from difftest.observe import walk
from difftest.scratch import Scratch
from difftest.strategies import layers_spec
from difftest.targets import make_target
from model.config import Config
from model.spec import Entry, LayersSpec

pytestmark = pytest.mark.privileged

PROGRAM = [
    ops.Lstat(b"/a"),
    ops.Open(b"/a", os.O_WRONLY | os.O_APPEND),
    ops.Write(0, b"more"),
    ops.Setxattr(b"/b", b"user.n", b"v"),
    ops.Chmod(b"/c", 0o600),
    ops.Truncate(b"/d", 1),
    ops.Unlink(b"/a/x"),
    ops.Rename(b"/b", b"/e"),
    ops.Removexattr(b"/e", b"user.n"),
    ops.Mkdir(b"/a/new"),
    ops.Remount(),
    ops.Symlink(b"t", b"/s"),
]


@pytest.mark.parametrize("target", ["kernel", "fuse"])
@settings(max_examples=25, deadline=None, database=None)
@given(spec=layers_spec(lowers=2, upper=True), cut=st.integers(1, len(PROGRAM)))
def test_fast_observation_equals_the_generic_walk(target, spec, cut) -> None:  # type: ignore[no-untyped-def]
    with Scratch() as scratch:
        k = make_target(target, scratch, spec, Config())
        handles = ops.Handles()
        try:
            for i, op in enumerate(PROGRAM[:cut]):
                try:
                    fd = op.run(k, handles)
                    if isinstance(op, ops.Open):
                        handles.by_label[0] = fd
                except OSError:
                    pass
                fast, slow = k.observe_state(), walk(k)
                assert (fast.merged, fast.ino, fast.mtime, fast.upper) == (
                    slow.merged, slow.ino, slow.mtime, slow.upper
                ), f"after step {i}: {op!r}"
        finally:
            k.teardown()


def test_fuse_directory_listings_are_reused_only_while_the_upper_layer_is_unchanged() -> None:
    spec = LayersSpec(lowers=((Entry(b"a", "reg", data=b"x"),),), upper=())
    with Scratch() as scratch:
        t = make_target("fuse", scratch, spec, Config())
        try:
            obs = t._observer
            upper = t.upper_dump()
            first = obs.merged_by_fd(upper)[0]
            assert set(first) == {b"/", b"/a"}
            key, xattrs, _names = obs.dir_cache[b"/"]
            obs.dir_cache[b"/"] = (key, xattrs, ())  # a listing the mount would not give
            obs.upper_seen = upper
            assert set(obs.merged_by_fd(upper)[0]) == {b"/"}  # reused: upper unchanged
            changed = {**upper, b"/new": upper[b"/"]}
            assert set(obs.merged_by_fd(changed)[0]) == {b"/", b"/a"}  # listed again
        finally:
            t.teardown()


def test_kernel_view_is_reused_only_until_the_upper_layer_changes_or_a_remount() -> None:
    spec = LayersSpec(lowers=((Entry(b"a", "reg", data=b"x"),),), upper=())
    with Scratch() as scratch:
        t = make_target("kernel", scratch, spec, Config())
        try:
            assert set(t.observe_state().merged) == {b"/", b"/a"}
            gen, (merged, ino, mtime, dev) = t._observer.view
            poisoned = {b"/": merged[b"/"]}  # a view the mount would not give
            t._observer.view = (gen, (poisoned, ino, mtime, dev))
            t.lstat(b"/a")  # changes nothing on disk
            t.expect_unchanged(True)
            assert t.observe_state().merged == poisoned  # reused
            t._observer.view = (gen, (poisoned, ino, mtime, dev))
            t.remount()
            assert set(t.observe_state().merged) == {b"/", b"/a"}  # walked after a remount
            gen, (merged, ino, mtime, dev) = t._observer.view
            t._observer.view = (gen, (poisoned, ino, mtime, dev))
            t.chmod(b"/a", 0o600)  # copies /a up: the upper layer changes
            after = t.observe_state().merged
            assert set(after) == {b"/", b"/a"} and after[b"/a"].mode == 0o600  # walked
        finally:
            t.teardown()


def test_kernel_view_is_walked_when_the_model_expects_a_change_or_a_lookup_failed() -> None:
    spec = LayersSpec(lowers=((Entry(b"a", "reg", data=b"x"),),), upper=())
    with Scratch() as scratch:
        t = make_target("kernel", scratch, spec, Config())
        try:
            t.observe_state()
            gen, (merged, ino, mtime, dev) = t._observer.view
            t._observer.view = (gen, ({b"/": merged[b"/"]}, ino, mtime, dev))
            t.expect_unchanged(False)  # the model's view changed at this step
            assert set(t.observe_state().merged) == {b"/", b"/a"}
            unresolvable = dict(merged)
            unresolvable[b"/a"] = replace(merged[b"/a"], kind="unresolvable:116")
            t._observer.view = (gen, (unresolvable, ino, mtime, dev))
            t.expect_unchanged(True)
            assert t.observe_state().merged == unresolvable  # reused once ...
            assert t._observer.view is None  # ... but not kept: a lookup failed in it
        finally:
            t.teardown()


def test_kernel_view_is_not_reused_without_the_upper_dump_cache(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DIFFTEST_UPPER_CACHE", "0")
    spec = LayersSpec(lowers=((Entry(b"a", "reg", data=b"x"),),), upper=())
    with Scratch() as scratch:
        t = make_target("kernel", scratch, spec, Config())
        try:
            t.observe_state()
            gen, (merged, ino, mtime, dev) = t._observer.view
            t._observer.view = (gen, ({b"/": merged[b"/"]}, ino, mtime, dev))
            assert set(t.observe_state().merged) == {b"/", b"/a"}
        finally:
            t.teardown()
