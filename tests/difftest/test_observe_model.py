"""The model's fast observation is the generic walk, exactly, and leaves the model in the same
state: two identical models run the same random operations; after each one, ``observe_model``
of the first must equal ``walk`` of the second (merged view, inode numbers, mtimes, upper
layer), and so must what the observation left behind (the upper layer is part of the
observation; the overlay inode table that decides ESTALE is compared too)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from difftest import ops
from difftest.draws import CALLERS, DATA, LENGTHS, MODES, OPEN_FLAGS, XATTR_NAMES
from difftest.observe import Observation, walk
from difftest.observing import observe
from difftest.session import PRESETS, SUPPORTED
from difftest.strategies import FRESH_NAMES, layers_spec, spec_paths
from difftest.targets.observe_model import observe_model
from model.config import Config
from model.errors import OvlError
from model.overlay import Overlay
from model.spec import IMPURE, OPAQUE, ORIGIN, REDIRECT, Entry, LayersSpec

# Overlay xattrs as layers made offline carry them: redirects (to names that may still be
# visible: ESTALE), impure dirs (readdir looks up upper entries, or drops the flag), origins.
OFFLINE_XATTRS = [
    (REDIRECT, b"a"),
    (REDIRECT, b"d"),
    (REDIRECT, b"/a/x"),
    (REDIRECT, b"/c"),
    (IMPURE, b"y"),
    (IMPURE, b"y"),
    (ORIGIN, b""),
    (OPAQUE, b"x"),
]


@st.composite
def offline_marks(draw: Any, spec: LayersSpec) -> LayersSpec:
    """``spec`` with overlay xattrs added to some upper dirs (and maybe the upper root)."""
    if spec.upper is None or draw(st.booleans()):
        return spec
    upper: list[Entry] = []
    for e in spec.upper:
        pick = draw(st.integers(-len(OFFLINE_XATTRS), len(OFFLINE_XATTRS) - 1))
        if e.kind == "dir" and pick >= 0:
            e = dataclasses.replace(e, xattrs=(*e.xattrs, OFFLINE_XATTRS[pick]))
        upper.append(e)
    if draw(st.booleans()):
        upper.insert(0, Entry(b"/", "dir", 0o755, xattrs=((IMPURE, b"y"),)))
    return LayersSpec(spec.lowers, tuple(upper))


def op_strategy(paths: list[bytes]) -> st.SearchStrategy[ops.Op]:
    """Operations as :class:`difftest.machine.OverlayMachine` draws them."""
    p = st.sampled_from(paths)
    who = st.sampled_from(CALLERS)
    h = st.integers(0, 3)

    def as_who(cls: Any, *args: Any) -> Any:
        return st.builds(lambda w, *a: cls(*a, uid=w[0], gid=w[1]), who, *args)

    return st.one_of(
        st.sampled_from([ops.Lstat, ops.Stat, ops.Readdir, ops.Readlink, ops.Listxattr]).flatmap(
            lambda cls: as_who(cls, p)
        ),
        st.builds(ops.Getxattr, p, st.sampled_from(XATTR_NAMES)),
        st.builds(ops.Open, p, st.sampled_from(OPEN_FLAGS)),
        st.builds(ops.Read, h, st.sampled_from([0, 4, 4096])),
        st.builds(ops.Write, h, st.sampled_from(DATA)),
        st.builds(ops.Pwrite, h, st.sampled_from(DATA[1:]), st.sampled_from([0, 3, 1 << 20])),
        st.builds(ops.Ftruncate, h, st.sampled_from(LENGTHS[:4])),
        st.sampled_from([ops.Fsync, ops.Fstat, ops.Getdents]).flatmap(lambda c: st.builds(c, h)),
        st.builds(ops.Lseek, h, st.just(0), st.sampled_from([os.SEEK_SET, os.SEEK_END])),
        st.builds(ops.Close, h),
        as_who(ops.Truncate, p, st.sampled_from(LENGTHS)),
        as_who(ops.Mkdir, p, st.sampled_from([0o755, 0o700, 0o1777])),
        st.builds(ops.Mknod, p, st.sampled_from([0o010644, 0o020644]), st.sampled_from([0, 0x103])),
        as_who(ops.Symlink, st.sampled_from([b"a", b"b", b"nowhere", b"x/y", b"loop"]), p),
        st.builds(ops.Link, p, p),
        as_who(ops.Unlink, p),
        as_who(ops.Rmdir, p),
        as_who(
            ops.Rename,
            p,
            p,
            st.sampled_from([0, 0, ops.RENAME_NOREPLACE, ops.RENAME_EXCHANGE, ops.RENAME_WHITEOUT]),
        ),
        as_who(ops.Chmod, p, st.sampled_from(MODES)),
        as_who(ops.Chown, p, st.sampled_from([-1, 1000, 0]), st.sampled_from([-1, 1000, 0])),
        as_who(ops.Utimens, p, st.sampled_from([None, -1, 5]), st.sampled_from([None, -1, 5])),
        as_who(ops.Setxattr, p, st.sampled_from(XATTR_NAMES), st.sampled_from([b"v", b""])),
        st.builds(ops.Removexattr, p, st.sampled_from(XATTR_NAMES)),
        st.just(ops.Remount()),
    )


@st.composite
def scenarios(draw: Any) -> tuple[Config, LayersSpec, list[ops.Op]]:
    rc = PRESETS[draw(st.sampled_from(SUPPORTED))]
    spec = draw(layers_spec(lowers=rc.lowers, upper=rc.has_upper))
    spec = draw(offline_marks(spec))
    fresh = {b"/" + n for n in FRESH_NAMES} | {b"/a/" + n for n in FRESH_NAMES[:4]}
    paths = sorted(spec_paths(spec) | fresh | {b"/"})
    program = draw(st.lists(op_strategy(paths), max_size=14))
    return rc.config, spec, program


class Runner:
    """One model and its handle labels, run as :class:`difftest.example.Example` runs it."""

    def __init__(self, sys: Overlay) -> None:
        self.sys = sys
        self.handles = ops.Handles()
        self.next_label = 0

    def run(self, op: ops.Op) -> tuple[str, object]:
        if isinstance(op, ops.Remount):
            for fd in list(self.handles.by_label.values()):
                self.sys.close(fd)
            self.handles.by_label.clear()
        try:
            raw = op.run(self.sys, self.handles)
        except (OvlError, OSError) as exc:
            return ("error", exc.errno)
        if isinstance(op, ops.Open):
            self.handles.by_label[self.next_label] = raw
            self.next_label += 1
        elif isinstance(op, ops.Close):
            self.handles.by_label.pop(op.h, None)
        return ("ok", raw)


def inode_table(sys: Overlay) -> list[tuple[int, tuple[bytes, ...], int | None]]:
    """The dir inodes the model holds (what decides a later ESTALE), by path and upper ino."""
    return sorted(
        (ino, d.path(), d.upper.ino if d.upper is not None else None)
        for ino, d in sys.fs.dir_inodes.items()
    )


def assert_same(fast: Observation, slow: Observation) -> None:
    assert fast.merged == slow.merged
    assert fast.ino == slow.ino
    assert fast.mtime == slow.mtime
    assert fast.upper == slow.upper


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_observe_model_is_the_walk(scenario: tuple[Config, LayersSpec, list[ops.Op]]) -> None:
    config, spec, program = scenario
    a, b = Runner(Overlay.from_spec(spec, config)), Runner(Overlay.from_spec(spec, config))
    assert_same(observe_model(a.sys), walk(b.sys))
    assert inode_table(a.sys) == inode_table(b.sys)
    for op in program:
        assert a.run(op) == b.run(op), op
        assert_same(observe_model(a.sys), walk(b.sys))
        assert inode_table(a.sys) == inode_table(b.sys), op


def test_observe_uses_the_fast_path_for_the_model_only() -> None:
    spec = LayersSpec(lowers=((Entry(b"d", "dir", 0o755),),), upper=())
    model = Overlay.from_spec(spec, Config())
    assert observe(model) == observe_model(model)

    class Mutant(Overlay):  # a deliberately changed model is walked through its syscalls
        def readdir(self, path: bytes, **kw: Any) -> Any:
            return []

    mutant = Mutant.from_spec(spec, Config())
    assert list(observe(mutant).merged) == [b"/"]


def test_redirect_to_a_visible_lower_dir_is_observed_like_the_walk() -> None:
    """The docs example ``redirect-to-lower-dir-still-visible``: the name looked up first
    owns the lower dir's inode, the other is ESTALE; its lookup made the root impure, so the
    next listing of the root leaves it out."""
    spec = LayersSpec(
        lowers=((Entry(b"d", "dir", 0o755), Entry(b"d/f", "reg", data=b"x")),),
        upper=(Entry(b"e", "dir", 0o755, xattrs=((REDIRECT, b"d"),)),),
    )
    a, b = Overlay.from_spec(spec, Config()), Overlay.from_spec(spec, Config())
    first = observe_model(a)
    assert_same(first, walk(b))
    assert first.merged[b"/e"].kind == "unresolvable:116"  # ESTALE
    second = observe_model(a)
    assert_same(second, walk(b))
    assert b"/e" not in second.merged and b"/d/f" in second.merged
