"""The Hypothesis state machine: one example is a set of starting layers plus a sequence of
operations, run on the model and on every real target, compared after every step.

The model is the *expected* side of every comparison; the kernel is the reference that
judges the model (a disagreement is a bug in whichever is wrong, and the report says which
target disagreed).  Rules draw paths from names that exist in some layer or were created
during the example, plus a few fresh names; open handles live in a ``Bundle``.
"""

from __future__ import annotations

import os
import stat
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
# (mode, rdev): a FIFO, a whiteout (EPERM through the overlay), the null device, a socket,
# the type bits of no file (EINVAL), a directory (EPERM) and type 0 (a regular file)
# relative targets only (see difftest.strategies); "": ENOENT; PATH_MAX bytes: ENAMETOOLONG
SYMLINK_DESTS = [b"a", b"b", b"nowhere", b"x/y", b"loop", b"", b"t" * 4096]
MKNOD_KINDS = [(0o010644, 0), (0o020644, 0), (0o020644, 0x103), (0o140644, 0), (0o170644, 0),
               (0o040755, 0), (0o000644, 0)]  # fmt: skip
DATA = [b"", b"new", b"x" * 10, b"\x00\x00z", b"y" * 70000]  # one write longer than 64 KiB
# 128 MiB: a file past model.content.LARGE that does not reach 4 GiB
LENGTHS = [0, 0, 3, 100, 5 * 1024**3 + 1, -1, 128 << 20]
MODES = [0o644, 0o600, 0o755, 0o777, 0o4755, 0o000, 0o1777, 0o2775]
# Rule arguments are drawn by the state machine itself (no st.data() draws: each of those
# costs a copy of the random state): a path is an index into the example's known paths.
PATH = st.sampled_from(range(240))  # uniform, unlike integers(), which favours small values
WHO = st.sampled_from(CALLERS)
XATTR_NAMES = [b"user.a", b"user.b", b"user.new", b"trusted.overlay.x", b"trusted.t"]
# The names the ordinary xattr rules leave out: the overlay's private namespace as a caller
# gives it (stored escaped since 6.7, as ``trusted.overlay.overlay.*``; an escaped name past
# 255 bytes is EOPNOTSUPP), an escaped name given again, security.*, namespaces the layers'
# filesystem has no handler for, and names of no or too many bytes.
ODD_XATTR_NAMES = [
    b"trusted.overlay.overlay.x",
    b"trusted.overlay.opaque",
    b"trusted.overlay." + b"l" * 235,
    b"security.s",
    b"system.x",
    b"other.x",
    b"",
    b"user." + b"u" * 251,
    b"user.a",
]
XATTR_SIZE_MAX = 65536
ODD_XATTR_VALUES = [b"v", b"", b"w" * (XATTR_SIZE_MAX + 1)]
ODD_XATTR_FLAGS = [0, ops.XATTR_CREATE, ops.XATTR_REPLACE, 3, 4]  # 3: both; 4: no such flag
# Suffixes that make a path odd: a trailing slash (a directory is demanded), "." and ".."
# as the last component, a doubled slash.  ".." is never put after the root: it would leave
# the mount.
ODD_SUFFIXES = [b"/", b"/.", b"/..", b"//", b"/./", b"./"]  # "./": "." before the last name
# Modes with the special bits, for the rule that copies such a file up (sgid without
# group-exec is not a "setgid executable": nobody clears it)
SPECIAL_MODES = [0o4755, 0o2755, 0o6755, 0o2745, 0o1755, 0o4744]


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
        self.xattr_paths: list[bytes] = []
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
        # paths whose object has xattrs in some layer (odd_xattr aims at them)
        self.xattr_paths = sorted({b"/" + e.path for layer in (*spec.lowers, spec.upper or ())
                                   for e in layer if e.xattrs})  # fmt: skip

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

    @rule(p=PATH, who=WHO, name=st.sampled_from(XATTR_NAMES))
    def getxattr(self, p: int, who: tuple[int, int], name: bytes) -> None:
        uid, gid = who
        self.run_op(ops.Getxattr(self.at(p), name, uid=uid, gid=gid))

    @rule(p=PATH)
    def statfs(self, p: int) -> None:
        self.run_op(ops.Statfs(self.at(p)))

    # ---- rules: handles ---------------------------------------------------------------------

    @rule(target=handles, p=PATH, flags=st.sampled_from(OPEN_FLAGS), who=WHO)
    def open(self, p: int, flags: int, who: tuple[int, int]) -> Any:
        """Open as root or as a user: writes through a user's handle kill setuid."""
        path = self.at(p)
        uid, gid = who
        out = self.run_op(ops.Open(path, flags, 0o644, uid=uid, gid=gid))
        if out.is_error:
            return multiple()
        self.remember(path)
        assert self.example is not None
        return self.example.next_label - 1

    @rule(h=handles, size=st.sampled_from([0, 4, 4096]))
    def read(self, h: int, size: int) -> None:
        self.run_op(ops.Read(h, size))

    @rule(
        h=handles, size=st.sampled_from([4, 4096]),
        offset=st.sampled_from([0, 2, 5 * 1024**3 - 2, -1]),
    )
    def pread(self, h: int, size: int, offset: int) -> None:
        self.run_op(ops.Pread(h, size, offset))

    @rule(h=handles, data=st.sampled_from(DATA))
    def write(self, h: int, data: bytes) -> None:
        self.run_op(ops.Write(h, data))

    @rule(h=handles, data=st.sampled_from(DATA[1:]), offset=st.sampled_from([0, 3, 1 << 20, -1]))
    def pwrite(self, h: int, data: bytes, offset: int) -> None:
        self.run_op(ops.Pwrite(h, data, offset))

    @rule(h=handles, length=st.sampled_from([*LENGTHS[:4], -1]))
    def ftruncate(self, h: int, length: int) -> None:
        self.run_op(ops.Ftruncate(h, length))

    @rule(h=handles, cls=st.sampled_from([ops.Fsync, ops.Fstat, ops.Getdents]))
    def handle_op(self, h: int, cls: type[ops.Op]) -> None:
        self.run_op(cls(h))  # type: ignore[call-arg]

    @rule(
        h=handles, offset=st.sampled_from([0, 0, 3, -1]),
        whence=st.sampled_from([os.SEEK_SET, os.SEEK_SET, os.SEEK_END, os.SEEK_CUR, 5]),
    )
    def lseek(self, h: int, offset: int, whence: int) -> None:
        """Every whence lseek(2) takes on a file and a directory, and one it does not (5).  A
        directory is sought to offset 0 (or a negative one: EINVAL) only: any other position,
        and the one SEEK_CUR returns, is a cookie of the real directory or a place in a
        listing whose order the model cannot know (tolerance readdir-order); found
        2026-12-05: a pure upper dir sought to 3 listed a name on the kernel and none on the
        model, and SEEK_CUR at the end of a lower dir gave the model's INT_MAX - 1 and
        ovlfuse's entry count."""
        if whence in (os.SEEK_SET, os.SEEK_CUR) and self._is_dir_handle(h):
            whence, offset = os.SEEK_SET, min(offset, 0)
        self.run_op(ops.Lseek(h, offset, whence))

    def _is_dir_handle(self, h: int) -> bool:
        assert self.example is not None
        fd = self.example.handle_maps["model"].by_label.get(h)
        if fd is None:
            return False
        try:
            return stat.S_ISDIR(self.example.targets["model"].fstat(fd).mode)
        except Exception:  # a handle the model cannot stat: a file, as far as seeking goes
            return False

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

    @rule(p=PATH, who=WHO, kind=st.sampled_from(MKNOD_KINDS))
    def mknod(self, p: int, who: tuple[int, int], kind: tuple[int, int]) -> None:
        uid, gid = who
        path = self.at(p)
        self.run_op(ops.Mknod(path, kind[0], kind[1], uid=uid, gid=gid))
        self.remember(path)

    @rule(p=PATH, who=WHO, dest=st.sampled_from(SYMLINK_DESTS))
    def symlink(self, p: int, who: tuple[int, int], dest: bytes) -> None:
        uid, gid = who
        path = self.at(p)
        self.run_op(ops.Symlink(dest, path, uid=uid, gid=gid))
        self.remember(path)

    @rule(p=PATH, q=PATH, who=WHO)
    def link(self, p: int, q: int, who: tuple[int, int]) -> None:
        """As root or as a user (protected_hardlinks asks a user for a safe source)."""
        uid, gid = who
        new = self.at(q)
        self.run_op(ops.Link(self.at(p), new, uid=uid, gid=gid))
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
            [0, 0, 0, ops.RENAME_NOREPLACE, ops.RENAME_EXCHANGE, ops.RENAME_WHITEOUT,
             ops.RENAME_EXCHANGE | ops.RENAME_NOREPLACE, 8]  # 8: no such flag
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

    @rule(p=PATH, who=WHO,
          owner=st.sampled_from([(-1, -1), (1000, 1000), (0, 0), (-1, 1000), (1000, 0)]))
    def chown(self, p: int, who: tuple[int, int], owner: tuple[int, int]) -> None:
        uid, gid = who
        self.run_op(ops.Chown(self.at(p), owner[0], owner[1], uid=uid, gid=gid))

    @rule(p=PATH, who=WHO,
          times=st.sampled_from([(None, None), (None, 10**18), (-1, -1), (5, 5), (5, None)]))
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

    @rule(p=PATH, who=WHO, name=st.sampled_from(XATTR_NAMES))
    def removexattr(self, p: int, who: tuple[int, int], name: bytes) -> None:
        uid, gid = who
        self.run_op(ops.Removexattr(self.at(p), name, uid=uid, gid=gid))

    @precondition(lambda self: self.session.kernel_only)
    @rule(
        p=PATH, who=WHO, name=st.sampled_from(ODD_XATTR_NAMES),
        value=st.sampled_from(ODD_XATTR_VALUES), flags=st.sampled_from(ODD_XATTR_FLAGS),
        call=st.sampled_from(range(4)),
    )  # fmt: skip
    def odd_xattr(self, p: int, who: tuple[int, int], name: bytes, value: bytes, flags: int,
                  call: int) -> None:  # fmt: skip
        """An xattr call with a name, value or flags the ordinary rules never give: the
        overlay's private names through the merged view (escaped on the way down, unescaped
        in listings), bad flags, oversize values and names.  Not yet against FUSE targets: its
        first run there found ovlfuse answering XATTR_CREATE|XATTR_REPLACE on a security.*
        name with success where the kernel gives ENODATA (2026-12-05, not yet analysed)."""
        uid, gid = who
        path = self.at(p)
        if p % 2:  # half the time an object with xattrs, now and then one of its user.* names
            merged = self._model_merged()
            with_xattrs = sorted({*self.xattr_paths, *(k for k, e in merged.items() if e.xattrs)})
            if with_xattrs:
                path = with_xattrs[p % len(with_xattrs)]
                entry = merged.get(path)
                if p % 4 == 1 and entry is not None and entry.xattrs:
                    name = entry.xattrs[0][0]
        op: ops.Op = [
            ops.Getxattr(path, name, uid=uid, gid=gid),
            ops.Setxattr(path, name, value, flags, uid=uid, gid=gid),
            ops.Removexattr(path, name, uid=uid, gid=gid),
            ops.Listxattr(path, uid=uid, gid=gid),
        ][call]
        self.run_op(op)

    def _handles_open(self) -> bool:
        assert self.example is not None
        model = self.example.handle_maps.get("model")
        return model is not None and bool(model.by_label)

    @precondition(lambda self: self.session.remount_ok)
    @rule(anyway=st.sampled_from([False, False, False, True]))
    def remount(self, anyway: bool) -> None:
        """Unmount and mount again; a remount right after a remount shows nothing new and is
        skipped (it was 60% of all remounts: Hypothesis draws this argument-less first rule
        often).  Skipped, not forbidden by a precondition: with one, removing a step between
        two remounts turns the second into another rule, and shrinking got stuck at 13 steps
        where 4 were enough.  While handles are open, three remounts in four are skipped as
        well: a remount closes every handle, and writes through handles after a copy-up
        were reached a handful of times in 10,000 examples."""
        if isinstance(self.last_op, ops.Remount) or (self._handles_open() and not anyway):
            return
        self.run_op(ops.Remount())

    @precondition(lambda self: self.session.kernel_only)
    @rule(ro=st.booleans())
    def remount_live(self, ro: bool) -> None:
        """``mount -o remount,ro`` or ``remount,rw`` with every handle kept open.  Only where
        no FUSE program is a target: after an open name of a lower hard link is unlinked, the
        VFS lets remount,ro through on FUSE where the kernel refuses (a known difference,
        tests/difftest/test_live_remount.py)."""
        self.run_op(ops.RemountRo() if ro else ops.RemountRw())

    @precondition(lambda self: self.session.remount_ok)
    @rule(p=PATH, q=PATH, family=st.sampled_from(range(8)))
    def change_then_remount(self, p: int, q: int, family: int) -> None:
        """One change of each family, then a remount: what the overlay wrote must read back
        the same (a remount drawn on its own follows only what happened to come before).
        While handles are open, only two families in eight remount (see :meth:`remount`)."""
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
        if not self._handles_open() or family % 4 == 0:  # handles: see remount()
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

    def _lower_only(self, kind: str) -> list[bytes]:
        """Paths of the model's merged view of ``kind`` that no upper object backs yet."""
        upper = self._model_upper()
        return sorted(k for k, e in self._model_merged().items()
                      if e.kind == kind and k not in upper and k != b"/")  # fmt: skip

    def _opened(self, out: Outcome) -> int | None:
        """The label of the handle the ``Open`` just run made, if it succeeded."""
        assert self.example is not None
        return None if out.is_error else self.example.next_label - 1

    @rule(target=handles, p=PATH, q=PATH, suffix=st.sampled_from(ODD_SUFFIXES),
          call=st.sampled_from([0, 1, 2, 3, 4, 16]))  # fmt: skip
    def odd_path_look(self, p: int, q: int, suffix: bytes, call: int) -> Any:
        """:meth:`odd_path` for the calls that look or open."""
        return self.odd_path(p, q, suffix, call)

    @rule(target=handles, p=PATH, q=PATH, suffix=st.sampled_from(ODD_SUFFIXES),
          call=st.sampled_from([*range(5, 16), 17]))  # fmt: skip
    def odd_path_change(self, p: int, q: int, suffix: bytes, call: int) -> Any:
        """:meth:`odd_path` for the calls that change (two rules: the calls on odd paths
        get two shares of the steps, each one operation long)."""
        return self.odd_path(p, q, suffix, call)

    def odd_path(self, p: int, q: int, suffix: bytes, call: int) -> Any:
        """A call on a path with a trailing slash, ``.`` or ``..`` as its last component, or
        a doubled slash: the rules of the last component's type (LAST_DOT, LAST_DOTDOT,
        LAST_ROOT) and of trailing slashes, in every call that takes a path.  The path is
        mostly one the model shows, now and then the root."""
        if p % 8 == 7:
            p = 0  # the root: "/" + suffix is LAST_ROOT
        named = sorted(self._model_merged())
        base = named[p % len(named)] if named and p % 4 else self.at(p)
        if base == b"/" and b".." in suffix:
            suffix = b"/"  # "/.." is outside the mount
        if suffix == b"./":
            parent, _, name = base.rpartition(b"/")
            path = parent + b"/./" + name
        else:
            path = base.rstrip(b"/") + suffix
        other = self.at(q)
        op: ops.Op = [
            ops.Lstat(path),
            ops.Stat(path),
            ops.Open(path, os.O_RDONLY),
            ops.Open(path, os.O_WRONLY | os.O_CREAT),
            ops.Open(path, os.O_RDONLY | os.O_DIRECTORY),
            ops.Mkdir(path),
            ops.Mknod(path, 0o010644),
            ops.Unlink(path),
            ops.Rmdir(path),
            ops.Rename(path, other),
            ops.Rename(other, path),
            ops.Rename(other, path, ops.RENAME_EXCHANGE),
            ops.Link(other, path),
            ops.Symlink(b"a", path),
            ops.Truncate(path, 0),
            ops.Setxattr(path, b"user.new", b"v"),
            ops.Open(path, os.O_RDONLY | os.O_CREAT | os.O_DIRECTORY),
            ops.Rmdir(path),
        ][call]
        out = self.run_op(op)
        label = self._opened(out) if isinstance(op, ops.Open) else None
        return multiple() if label is None else label

    @rule(target=handles, p=PATH, flags=st.sampled_from([os.O_RDWR, os.O_RDONLY, os.O_WRONLY]),
          io=st.sampled_from(range(6)))  # fmt: skip
    def open_special_file(self, p: int, flags: int, io: int) -> Any:
        """Open a FIFO or device of the merged view (made with mknod at a drawn path when
        there is none) and read, write, seek or sync through it: a FIFO's pipe (empty, with
        data, full), the null device, the ENXIO of devices with no driver."""
        merged = self._model_merged()
        special = sorted(k for k, e in merged.items() if e.kind in ("fifo", "chr", "sock"))
        if special:
            path = special[p % len(special)]
        else:
            path = self.at(p)
            kind = (0o010644, 0) if p % 2 else (0o020644, 0x103)  # a FIFO or the null device
            if self.run_op(ops.Mknod(path, *kind)).is_error:
                return multiple()
            self.remember(path)
        label = self._opened(self.run_op(ops.Open(path, flags)))
        if label is None:
            return multiple()
        io_ops: list[list[ops.Op]] = [
            [ops.Write(label, b"new"), ops.Read(label, 4)],  # through the pipe
            [ops.Write(label, DATA[-1]), ops.Write(label, b"new")],  # a full pipe
            [ops.Read(label, 4)],
            [ops.Write(label, b"new"), ops.Write(label, b"new"), ops.Read(label, 4)],  # merged
            [ops.Lseek(label, 0)],
            [ops.Fsync(label)],
        ]
        for op in io_ops[io]:
            self.run_op(op)
        return label

    @rule(target=handles, p=PATH, q=PATH, mode=st.sampled_from(SPECIAL_MODES),
          trigger=st.sampled_from([*range(10), 3, 4, 5]),  # writes count twice
          who=st.sampled_from(range(3)))  # fmt: skip
    def special_mode_copy_up(self, p: int, q: int, mode: int, trigger: int, who: int) -> Any:
        """Copy up a lower file with setuid, setgid or sticky set (the layers' own mode if it
        has one, else ``mode`` given after a first copy-up) by each call that copies up,
        as its owner, as root or as another user of its group."""
        lower = self._lower_only("reg")
        merged = self._model_merged()
        special = [k for k in lower if merged[k].mode & 0o7000]
        if who == 0:  # as its owner: a user's, where a write kills setuid
            special = [k for k in special if merged[k].uid] or special
        if special:
            path = special[p % len(special)]
        else:
            regs = sorted(k for k, e in merged.items() if e.kind == "reg")
            if not regs:
                return multiple()
            path = regs[p % len(regs)]
            self.run_op(ops.Chmod(path, mode))
        e = self._model_merged().get(path)
        if e is None:
            return multiple()
        uid, gid = [(e.uid, e.gid), (0, 0), (1001, 1000)][who]
        other = self.at(q)
        op: ops.Op = [
            ops.Chmod(path, e.mode, uid=uid, gid=gid),
            ops.Chown(path, -1, -1, uid=uid, gid=gid),
            ops.Chown(path, -1, 1000, uid=uid, gid=gid),
            ops.Truncate(path, 3, uid=uid, gid=gid),
            ops.Open(path, os.O_WRONLY, uid=uid, gid=gid),
            ops.Open(path, os.O_RDWR | os.O_TRUNC, uid=uid, gid=gid),
            ops.Link(path, other, uid=uid, gid=gid),
            ops.Rename(path, other, uid=uid, gid=gid),
            ops.Setxattr(path, b"user.new", b"v", uid=uid, gid=gid),
            ops.Utimens(path, -1, -1, uid=uid, gid=gid),
        ][trigger]
        out = self.run_op(op)
        if not isinstance(op, ops.Open) or (label := self._opened(out)) is None:
            return multiple()
        self.run_op(ops.Write(label, b"new"))  # a user's write kills setuid
        return label

    @rule(target=handles, p=PATH, q=PATH, data=st.sampled_from(DATA[1:]),
          how=st.sampled_from(range(8)))  # fmt: skip
    def handle_then_change(self, p: int, q: int, data: bytes, how: int) -> Any:
        """A handle kept across a change of what it has open (one rule for two aims, so that
        together they cost the other rules one share of the steps):

        * ``how`` < 4: a handle opened for reading on a lower file, then a write open of the
          same file (which copies it up: O_WRONLY, O_RDWR, O_RDWR|O_TRUNC, O_APPEND), a
          write through the new handle and a read through the first: where writes land
          after a copy-up, and what an earlier handle sees of them;
        * ``how`` >= 4: a directory read through a handle, then a new entry, a removed one,
          a copy-up of the directory itself or none, a seek (back to 0, to the end, to -1)
          or none, and a read on: the handle's cached list of a merged dir, and a real dir
          that becomes merged."""
        if how < 4:
            return self._write_after_copy_up(p, data, how)
        return self._read_dir_across_change(p, q, how - 4)

    def _write_after_copy_up(self, p: int, data: bytes, how: int) -> Any:
        lower = self._lower_only("reg")
        if not lower:
            return multiple()
        path = lower[p % len(lower)]
        first = self._opened(self.run_op(ops.Open(path, os.O_RDONLY)))
        flags = [os.O_WRONLY, os.O_RDWR, os.O_RDWR | os.O_TRUNC, os.O_WRONLY | os.O_APPEND][how]
        second = self._opened(self.run_op(ops.Open(path, flags)))
        if second is not None:
            self.run_op(ops.Pwrite(second, data, 1) if how == 1 else ops.Write(second, data))
        if first is not None:
            self.run_op(ops.Pread(first, 16, 0))
        return multiple(*(h for h in (first, second) if h is not None))

    def _read_dir_across_change(self, p: int, q: int, change: int) -> Any:
        merged = self._model_merged()
        dirs = sorted(k for k, e in merged.items() if e.kind == "dir")
        if not dirs:
            return multiple()
        d = dirs[p % len(dirs)]
        label = self._opened(self.run_op(ops.Open(d, os.O_RDONLY | os.O_DIRECTORY)))
        if label is None:
            return multiple()
        self.run_op(ops.Getdents(label))
        base = d.rstrip(b"/")
        inside = sorted(k for k in merged if k != d and k.rpartition(b"/")[0] == base)
        change_op = [
            ops.Mkdir(base + b"/new"),
            ops.Unlink(inside[q % len(inside)]) if inside else ops.Mknod(base + b"/new", 0),
            ops.Chmod(d, 0o755),
            None,
        ][change]
        seek = [ops.Lseek(label, 0), ops.Lseek(label, 0, os.SEEK_END), ops.Lseek(label, -1),
                None][q % 4]  # fmt: skip
        for op in (change_op, seek):
            if op is not None:
                self.run_op(op)
        self.run_op(ops.Getdents(label))
        return label

def machine_for(session: Session) -> type[OverlayMachine]:
    """The state machine of one run: :class:`OverlayMachine` bound to ``session``."""
    return type("OverlayMachineRun", (OverlayMachine,), {"session": session})
