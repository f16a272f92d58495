"""The Hypothesis state machine: one example is a set of starting layers plus a sequence of
operations, run on the model and on every real target, compared after every step.

The model is the *expected* side of every comparison; the kernel is the reference that
judges the model (a disagreement is a bug in whichever is wrong, and the report says which
target disagreed).  Rules draw paths from names that exist in some layer or were created
during the example, plus a few fresh names; open handles live in a ``Bundle``.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from difftest import ops
from difftest.example import Example
from difftest.outcome import Outcome
from difftest.session import Session
from difftest.strategies import CHAIN_DIR, CHAIN_FRESH, FRESH_NAMES, layers_spec, spec_paths
from difftest.swarm import SwarmRules

OPEN_FLAGS = [
    os.O_RDONLY,
    os.O_RDONLY,
    os.O_WRONLY,
    os.O_RDWR,
    os.O_RDONLY | os.O_TRUNC,
    os.O_WRONLY | os.O_TRUNC,
    os.O_WRONLY | os.O_CREAT,
    os.O_RDWR | os.O_CREAT | os.O_EXCL,
    os.O_WRONLY | os.O_APPEND,
    os.O_RDONLY | os.O_DIRECTORY,
    os.O_RDONLY | os.O_DIRECTORY,
    os.O_RDONLY | os.O_NOFOLLOW,
]
CALLERS = [(0, 0), (0, 0), (0, 0), (0, 0), (1000, 1000)]
DATA = [b"", b"new", b"x" * 10, b"\x00\x00z"]
LENGTHS = [0, 0, 3, 100, 5 * 1024**3 + 1]
MODES = [0o644, 0o600, 0o755, 0o777, 0o4755, 0o000, 0o1777]
# Rule arguments are drawn by the state machine itself (no st.data() draws: each of those
# costs a copy of the random state): a path is an index into the example's known paths.
PATH = st.sampled_from(range(240))  # uniform, unlike integers(), which favours small values
WHO = st.sampled_from(CALLERS)
XATTR_NAMES = [b"user.a", b"user.b", b"user.new", b"trusted.overlay.x", b"trusted.t"]


class OverlayMachine(RuleBasedStateMachine):
    """Subclassed per run by :func:`machine_for` with ``session``."""

    session: Session
    handles = Bundle("handles")

    def __init__(self) -> None:
        super().__init__()
        if os.environ.get("DIFFTEST_HYPOTHESIS_SWARM") != "1":  # 1: Hypothesis's own, for A/B
            self._rules_strategy = SwarmRules(self)
        self.example: Example | None = None
        self.paths: list[bytes] = []
        self.last_op: ops.Op | None = None

    # ---- setup ----------------------------------------------------------------------------

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        s = self.session
        spec = data.draw(layers_spec(lowers=s.lowers, upper=s.has_upper), label="layers")
        if isinstance(self._rules_strategy, SwarmRules):
            self._rules_strategy.off = data.draw(self._rules_strategy.swarm(), label="swarm")
        self.example = Example(s, spec)
        fresh = {b"/" + n for n in FRESH_NAMES} | {b"/a/" + n for n in FRESH_NAMES[:4]}
        known = spec_paths(spec)
        if b"/" + CHAIN_DIR in known:
            fresh.update(CHAIN_FRESH)
        self.paths = sorted(known | fresh | {b"/"})

    def teardown(self) -> None:
        if self.example is not None:
            self.example.close()

    @invariant()
    def state_agrees(self) -> None:
        """After the initial layers, every target shows the model's merged view and upper
        layer; after each step :meth:`Example.step` compares the same way."""
        if self.example is not None and not self.example.prev_obs:
            self.example.check_state(None)

    def run_op(self, op: ops.Op) -> Outcome:
        note(repr(op))
        assert self.example is not None
        self.last_op = op
        return self.example.step(op)

    def at(self, index: int) -> bytes:
        """The path an index names: the known paths and fresh names, in a fixed order
        (shrinking goes towards index 0, the root)."""
        return self.paths[index % len(self.paths)]

    def remember(self, path: bytes) -> None:
        if path not in self.paths:
            self.paths.append(path)

    # ---- rules: looking ---------------------------------------------------------------------

    @rule(
        p=PATH, who=WHO,
        cls=st.sampled_from([ops.Lstat, ops.Stat, ops.Readdir, ops.Readlink, ops.Listxattr]),
    )
    def look(self, p: int, who: tuple[int, int], cls: type[ops.Op]) -> None:
        uid, gid = who
        self.run_op(cls(self.at(p), uid=uid, gid=gid))  # type: ignore[call-arg]

    @rule(p=PATH, name=st.sampled_from(XATTR_NAMES))
    def getxattr(self, p: int, name: bytes) -> None:
        self.run_op(ops.Getxattr(self.at(p), name))

    @rule(p=PATH)
    def statfs(self, p: int) -> None:
        self.run_op(ops.Statfs(self.at(p)))

    # ---- rules: handles ---------------------------------------------------------------------

    @rule(target=handles, p=PATH, flags=st.sampled_from(OPEN_FLAGS))
    def open(self, p: int, flags: int) -> Any:
        path = self.at(p)
        out = self.run_op(ops.Open(path, flags, 0o644))
        if out.is_error:
            return multiple()
        self.remember(path)
        assert self.example is not None
        return self.example.next_label - 1

    @rule(h=handles, size=st.sampled_from([0, 4, 4096]))
    def read(self, h: int, size: int) -> None:
        self.run_op(ops.Read(h, size))

    @rule(
        h=handles, size=st.sampled_from([4, 4096]), offset=st.sampled_from([0, 2, 5 * 1024**3 - 2])
    )
    def pread(self, h: int, size: int, offset: int) -> None:
        self.run_op(ops.Pread(h, size, offset))

    @rule(h=handles, data=st.sampled_from(DATA))
    def write(self, h: int, data: bytes) -> None:
        self.run_op(ops.Write(h, data))

    @rule(h=handles, data=st.sampled_from(DATA[1:]), offset=st.sampled_from([0, 3, 1 << 20]))
    def pwrite(self, h: int, data: bytes, offset: int) -> None:
        self.run_op(ops.Pwrite(h, data, offset))

    @rule(h=handles, length=st.sampled_from(LENGTHS[:4]))
    def ftruncate(self, h: int, length: int) -> None:
        self.run_op(ops.Ftruncate(h, length))

    @rule(h=handles, cls=st.sampled_from([ops.Fsync, ops.Fstat, ops.Getdents]))
    def handle_op(self, h: int, cls: type[ops.Op]) -> None:
        self.run_op(cls(h))  # type: ignore[call-arg]

    @rule(h=handles, whence=st.sampled_from([os.SEEK_SET, os.SEEK_SET, os.SEEK_END]))
    def lseek(self, h: int, whence: int) -> None:
        self.run_op(ops.Lseek(h, 0, whence))

    @rule(h=consumes(handles))
    def close(self, h: int) -> None:
        self.run_op(ops.Close(h))

    # ---- rules: changing --------------------------------------------------------------------

    @rule(p=PATH, who=WHO, length=st.sampled_from(LENGTHS))
    def truncate(self, p: int, who: tuple[int, int], length: int) -> None:
        uid, gid = who
        self.run_op(ops.Truncate(self.at(p), length, uid=uid, gid=gid))

    @rule(p=PATH, who=WHO, mode=st.sampled_from([0o755, 0o700, 0o1777]))
    def mkdir(self, p: int, who: tuple[int, int], mode: int) -> None:
        uid, gid = who
        path = self.at(p)
        self.run_op(ops.Mkdir(path, mode, uid=uid, gid=gid))
        self.remember(path)

    @rule(p=PATH, kind=st.sampled_from([(0o010644, 0), (0o020644, 0), (0o020644, 0x103)]))
    def mknod(self, p: int, kind: tuple[int, int]) -> None:
        self.run_op(ops.Mknod(self.at(p), kind[0], kind[1]))

    @rule(p=PATH, who=WHO, dest=st.sampled_from([b"a", b"b", b"nowhere", b"x/y", b"loop"]))
    def symlink(self, p: int, who: tuple[int, int], dest: bytes) -> None:
        uid, gid = who
        path = self.at(p)
        self.run_op(ops.Symlink(dest, path, uid=uid, gid=gid))
        self.remember(path)

    @rule(p=PATH, q=PATH)
    def link(self, p: int, q: int) -> None:
        new = self.at(q)
        self.run_op(ops.Link(self.at(p), new))
        self.remember(new)

    @rule(p=PATH, who=WHO)
    def unlink(self, p: int, who: tuple[int, int]) -> None:
        uid, gid = who
        self.run_op(ops.Unlink(self.at(p), uid=uid, gid=gid))

    @rule(p=PATH, who=WHO)
    def rmdir(self, p: int, who: tuple[int, int]) -> None:
        uid, gid = who
        self.run_op(ops.Rmdir(self.at(p), uid=uid, gid=gid))

    @rule(
        p=PATH, q=PATH, who=WHO,
        flags=st.sampled_from(
            [0, 0, 0, ops.RENAME_NOREPLACE, ops.RENAME_EXCHANGE, ops.RENAME_WHITEOUT]
        ),
    )
    def rename(self, p: int, q: int, who: tuple[int, int], flags: int) -> None:
        uid, gid = who
        new = self.at(q)
        self.run_op(ops.Rename(self.at(p), new, flags, uid=uid, gid=gid))
        self.remember(new)

    @rule(p=PATH, who=WHO, mode=st.sampled_from(MODES))
    def chmod(self, p: int, who: tuple[int, int], mode: int) -> None:
        uid, gid = who
        self.run_op(ops.Chmod(self.at(p), mode, uid=uid, gid=gid))

    @rule(p=PATH, who=WHO, owner=st.sampled_from([(-1, -1), (1000, 1000), (0, 0), (-1, 1000)]))
    def chown(self, p: int, who: tuple[int, int], owner: tuple[int, int]) -> None:
        uid, gid = who
        self.run_op(ops.Chown(self.at(p), owner[0], owner[1], uid=uid, gid=gid))

    @rule(p=PATH, who=WHO, times=st.sampled_from([(None, None), (None, 10**18), (-1, -1), (5, 5)]))
    def utimens(self, p: int, who: tuple[int, int], times: tuple[int | None, int | None]) -> None:
        uid, gid = who
        self.run_op(ops.Utimens(self.at(p), times[0], times[1], uid=uid, gid=gid))

    @rule(
        p=PATH, who=WHO,
        name=st.sampled_from(XATTR_NAMES),
        value=st.sampled_from([b"v", b""]),
        flags=st.sampled_from([0, 0, ops.XATTR_CREATE, ops.XATTR_REPLACE]),
    )
    def setxattr(self, p: int, who: tuple[int, int], name: bytes, value: bytes, flags: int) -> None:
        uid, gid = who
        self.run_op(ops.Setxattr(self.at(p), name, value, flags, uid=uid, gid=gid))

    @rule(p=PATH, name=st.sampled_from(XATTR_NAMES))
    def removexattr(self, p: int, name: bytes) -> None:
        self.run_op(ops.Removexattr(self.at(p), name))

    @precondition(lambda self: self.session.remount_ok)
    @rule()
    def remount(self) -> None:
        """Unmount and mount again; a remount right after a remount shows nothing new and is
        skipped (it was 60% of all remounts: Hypothesis draws this argument-less first rule
        often).  Skipped, not forbidden by a precondition: with one, removing a step between
        two remounts turns the second into another rule, and shrinking got stuck at 13 steps
        where 4 were enough."""
        if not isinstance(self.last_op, ops.Remount):
            self.run_op(ops.Remount())

    @precondition(lambda self: self.session.remount_ok)
    @rule(p=PATH, q=PATH, family=st.sampled_from(range(8)))
    def change_then_remount(self, p: int, q: int, family: int) -> None:
        """One change of each family, then a remount: what the overlay wrote must read back
        the same (a remount drawn on its own follows only what happened to come before)."""
        path, other = self.at(p), self.at(q)
        op: ops.Op = [
            ops.Chmod(path, 0o640),
            ops.Truncate(path, 3),
            ops.Setxattr(path, b"user.new", b"v"),
            ops.Link(path, other),
            ops.Unlink(path),
            ops.Rmdir(path),
            ops.Rename(path, other),
            ops.Mkdir(other, 0o755),
        ][family]
        self.run_op(op)
        self.remember(other)
        self.run_op(ops.Remount())

    # ---- rules that head for deep states ----------------------------------------------------
    # Plain rules reach these only by luck; each of these aims at one, with ordinary steps.

    def _model_upper(self) -> dict[bytes, Any]:
        assert self.example is not None
        obs = self.example.prev_obs.get("model")
        return obs.upper or {} if obs is not None else {}

    def _model_merged(self) -> dict[bytes, Any]:
        assert self.example is not None
        obs = self.example.prev_obs.get("model")
        return obs.merged if obs is not None else {}

    @rule(p=PATH, q=PATH, flags=st.sampled_from([0, ops.RENAME_NOREPLACE]))
    def rename_over_whiteout(self, p: int, q: int, flags: int) -> None:
        """Rename onto a name that the upper layer holds as a whiteout."""
        hidden = sorted(k for k, e in self._model_upper().items() if e.kind == "whiteout")
        if hidden:
            self.run_op(ops.Rename(self.at(p), hidden[q % len(hidden)], flags))

    @rule(p=PATH)
    def empty_then_rmdir(self, p: int) -> None:
        """Unlink everything a directory shows, then remove it: with lower entries, the
        upper dir is left holding only whiteouts when rmdir comes."""
        merged = self._model_merged()
        dirs = sorted(k for k, e in merged.items() if e.kind == "dir" and k != b"/")
        if not dirs:
            return
        d = dirs[p % len(dirs)]
        for child in sorted(k for k in merged if k.rpartition(b"/")[0] == d):
            op = ops.Rmdir(child) if merged[child].kind == "dir" else ops.Unlink(child)
            self.run_op(op)
        self.run_op(ops.Rmdir(d))

    @rule(target=handles, p=PATH, flags=st.sampled_from([
        os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND,
        os.O_RDONLY | os.O_TRUNC | os.O_DIRECTORY]))  # fmt: skip
    def open_lower_for_write(self, p: int, flags: int) -> Any:
        """A write open (O_TRUNC counts) of something only a lower layer holds, where an
        open copies up; the open rule reaches one about once in thirty opens."""
        upper = self._model_upper()
        lower = sorted(k for k in self._model_merged() if k not in upper and k != b"/")
        if not lower:
            return multiple()
        path = lower[p % len(lower)]
        if self.run_op(ops.Open(path, flags, 0o644)).is_error:
            return multiple()
        assert self.example is not None
        return self.example.next_label - 1

    @rule(h=handles, mode=st.sampled_from([0o600, 0o644]))
    def copy_up_under_open_handle(self, h: int, mode: int) -> None:
        """Copy up a file that a handle has open, then read through that handle."""
        assert self.example is not None
        opened = self.example.events.opened.get(h)
        if opened is not None:
            self.run_op(ops.Chmod(opened[0], mode))
            self.run_op(ops.Pread(h, 16, 0))

    @rule(p=PATH, q=PATH)
    def rename_dir_then_touch_inside(self, p: int, q: int) -> None:
        """Rename a directory (a redirect with redirect_dir=on), then copy up inside it."""
        merged = self._model_merged()
        dirs = sorted(k for k, e in merged.items() if e.kind == "dir" and k != b"/")
        if not dirs:
            return
        src, dst = dirs[p % len(dirs)], self.at(q)
        if self.run_op(ops.Rename(src, dst)).is_error:
            return
        self.remember(dst)
        inside = sorted(k for k in self._model_merged() if k.startswith(dst + b"/"))
        if inside:
            self.run_op(ops.Chmod(inside[q % len(inside)], 0o640))
        else:
            self.run_op(ops.Mkdir(dst + b"/new"))


def machine_for(session: Session) -> type[OverlayMachine]:
    """The state machine of one run: :class:`OverlayMachine` bound to ``session``."""
    return type("OverlayMachineRun", (OverlayMachine,), {"session": session})
