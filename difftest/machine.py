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
from difftest.strategies import FRESH_NAMES, layers_spec, spec_paths

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
XATTR_NAMES = [b"user.a", b"user.b", b"user.new", b"trusted.overlay.x", b"trusted.t"]


class OverlayMachine(RuleBasedStateMachine):
    """Subclassed per run by :func:`difftest.session.Session.machine_class` with ``session``."""

    session: Session
    handles = Bundle("handles")

    def __init__(self) -> None:
        super().__init__()
        self.example: Example | None = None
        self.paths: list[bytes] = []

    # ---- setup ----------------------------------------------------------------------------

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        s = self.session
        spec = data.draw(layers_spec(lowers=s.lowers, upper=s.has_upper), label="layers")
        self.example = Example(s, spec)
        fresh = {b"/" + n for n in FRESH_NAMES} | {b"/a/" + n for n in FRESH_NAMES[:4]}
        self.paths = sorted(spec_paths(spec) | fresh | {b"/"})

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
        return self.example.step(op)

    def path(self, data: st.DataObject, label: str = "path") -> bytes:
        return data.draw(st.sampled_from(self.paths), label=label)

    def remember(self, path: bytes) -> None:
        if path not in self.paths:
            self.paths.append(path)

    def caller(self, data: st.DataObject) -> tuple[int, int]:
        return data.draw(st.sampled_from(CALLERS), label="caller")  # type: ignore[return-value]

    # ---- rules: looking ---------------------------------------------------------------------

    @rule(
        data=st.data(),
        cls=st.sampled_from([ops.Lstat, ops.Stat, ops.Readdir, ops.Readlink, ops.Listxattr]),
    )
    def look(self, data: st.DataObject, cls: type[ops.Op]) -> None:
        uid, gid = self.caller(data)
        self.run_op(cls(self.path(data), uid=uid, gid=gid))  # type: ignore[call-arg]

    @rule(data=st.data(), name=st.sampled_from(XATTR_NAMES))
    def getxattr(self, data: st.DataObject, name: bytes) -> None:
        self.run_op(ops.Getxattr(self.path(data), name))

    @rule(data=st.data())
    def statfs(self, data: st.DataObject) -> None:
        self.run_op(ops.Statfs(self.path(data)))

    # ---- rules: handles ---------------------------------------------------------------------

    @rule(target=handles, data=st.data(), flags=st.sampled_from(OPEN_FLAGS))
    def open(self, data: st.DataObject, flags: int) -> Any:
        path = self.path(data)
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

    @rule(data=st.data(), length=st.sampled_from(LENGTHS))
    def truncate(self, data: st.DataObject, length: int) -> None:
        uid, gid = self.caller(data)
        self.run_op(ops.Truncate(self.path(data), length, uid=uid, gid=gid))

    @rule(data=st.data(), mode=st.sampled_from([0o755, 0o700, 0o1777]))
    def mkdir(self, data: st.DataObject, mode: int) -> None:
        uid, gid = self.caller(data)
        path = self.path(data)
        self.run_op(ops.Mkdir(path, mode, uid=uid, gid=gid))
        self.remember(path)

    @rule(data=st.data(), kind=st.sampled_from([(0o010644, 0), (0o020644, 0), (0o020644, 0x103)]))
    def mknod(self, data: st.DataObject, kind: tuple[int, int]) -> None:
        self.run_op(ops.Mknod(self.path(data), kind[0], kind[1]))

    @rule(data=st.data(), dest=st.sampled_from([b"a", b"/b", b"nowhere", b"x/y", b"loop"]))
    def symlink(self, data: st.DataObject, dest: bytes) -> None:
        uid, gid = self.caller(data)
        path = self.path(data)
        self.run_op(ops.Symlink(dest, path, uid=uid, gid=gid))
        self.remember(path)

    @rule(data=st.data())
    def link(self, data: st.DataObject) -> None:
        new = self.path(data, "new")
        self.run_op(ops.Link(self.path(data, "old"), new))
        self.remember(new)

    @rule(data=st.data())
    def unlink(self, data: st.DataObject) -> None:
        uid, gid = self.caller(data)
        self.run_op(ops.Unlink(self.path(data), uid=uid, gid=gid))

    @rule(data=st.data())
    def rmdir(self, data: st.DataObject) -> None:
        uid, gid = self.caller(data)
        self.run_op(ops.Rmdir(self.path(data), uid=uid, gid=gid))

    @rule(
        data=st.data(),
        flags=st.sampled_from(
            [0, 0, 0, ops.RENAME_NOREPLACE, ops.RENAME_EXCHANGE, ops.RENAME_WHITEOUT]
        ),
    )
    def rename(self, data: st.DataObject, flags: int) -> None:
        uid, gid = self.caller(data)
        new = self.path(data, "new")
        self.run_op(ops.Rename(self.path(data, "old"), new, flags, uid=uid, gid=gid))
        self.remember(new)

    @rule(data=st.data(), mode=st.sampled_from(MODES))
    def chmod(self, data: st.DataObject, mode: int) -> None:
        uid, gid = self.caller(data)
        self.run_op(ops.Chmod(self.path(data), mode, uid=uid, gid=gid))

    @rule(data=st.data(), owner=st.sampled_from([(-1, -1), (1000, 1000), (0, 0), (-1, 1000)]))
    def chown(self, data: st.DataObject, owner: tuple[int, int]) -> None:
        uid, gid = self.caller(data)
        self.run_op(ops.Chown(self.path(data), owner[0], owner[1], uid=uid, gid=gid))

    @rule(data=st.data(), times=st.sampled_from([(None, None), (None, 10**18), (-1, -1), (5, 5)]))
    def utimens(self, data: st.DataObject, times: tuple[int | None, int | None]) -> None:
        uid, gid = self.caller(data)
        self.run_op(ops.Utimens(self.path(data), times[0], times[1], uid=uid, gid=gid))

    @rule(
        data=st.data(),
        name=st.sampled_from(XATTR_NAMES),
        value=st.sampled_from([b"v", b""]),
        flags=st.sampled_from([0, 0, ops.XATTR_CREATE, ops.XATTR_REPLACE]),
    )
    def setxattr(self, data: st.DataObject, name: bytes, value: bytes, flags: int) -> None:
        uid, gid = self.caller(data)
        self.run_op(ops.Setxattr(self.path(data), name, value, flags, uid=uid, gid=gid))

    @rule(data=st.data(), name=st.sampled_from(XATTR_NAMES))
    def removexattr(self, data: st.DataObject, name: bytes) -> None:
        self.run_op(ops.Removexattr(self.path(data), name))

    @precondition(lambda self: self.session.remount_ok)
    @rule()
    def remount(self) -> None:
        self.run_op(ops.Remount())
