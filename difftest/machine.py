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

from hypothesis import strategies as st
from hypothesis.stateful import consumes, multiple, precondition, rule

from difftest import ops
from difftest.core import HANDLES
from difftest.corners import CornerRules
from difftest.draws import (
    DATA,
    LENGTHS,
    MKNOD_KINDS,
    MODES,
    ODD_XATTR_FLAGS,
    ODD_XATTR_NAMES,
    ODD_XATTR_VALUES,
    OPEN_FLAGS,
    PATH,
    SYMLINK_DESTS,
    WHO,
    XATTR_NAMES,
)
from difftest.session import Session
from model.online import ACTIONS, feasible

# The longest paths a layer change names: the tester's own calls on a layer's directory get
# its absolute path, which the chain at PATH_MAX would take past the limit.
ONLINE_PATH_MAX = 1024

handles = HANDLES


class OverlayMachine(CornerRules):
    """Subclassed per run by :func:`machine_for` with ``session``: the plain rules, one per
    call, above the aimed ones of :class:`~difftest.aims.AimedRules` and
    :class:`~difftest.corners.CornerRules`."""

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
        self.run_op(ops.Getxattr(self.at(p), self.xname(name), uid=uid, gid=gid))

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
        self.run_op(ops.Setxattr(self.at(p), self.xname(name), value, flags, uid=uid, gid=gid))

    @rule(p=PATH, who=WHO, name=st.sampled_from(XATTR_NAMES))
    def removexattr(self, p: int, who: tuple[int, int], name: bytes) -> None:
        uid, gid = who
        self.run_op(ops.Removexattr(self.at(p), self.xname(name), uid=uid, gid=gid))

    @rule(
        p=PATH, who=WHO, name=st.sampled_from(ODD_XATTR_NAMES),
        value=st.sampled_from(ODD_XATTR_VALUES), flags=st.sampled_from(ODD_XATTR_FLAGS),
        call=st.sampled_from(range(4)),
    )  # fmt: skip
    def odd_xattr(self, p: int, who: tuple[int, int], name: bytes, value: bytes, flags: int,
                  call: int) -> None:  # fmt: skip
        """An xattr call with a name, value or flags the ordinary rules never give: the
        overlay's private names through the merged view (escaped on the way down, unescaped
        in listings), bad flags, oversize values and names.  A set or remove is followed by
        root's listing of the object: the state compared after every step holds only user.*
        names, and the object may carry escaped names from its layer.

        XATTR_CREATE|XATTR_REPLACE together only where no FUSE program is a target: pyfuse3
        3.5 checks the flags itself, CREATE before REPLACE with an ``elif``, and does not
        pass them on, so both on a missing name set it where the kernel gives ENODATA (the
        REPLACE check); a FUSE daemon on pyfuse3 cannot tell (known deviation
        ``pyfuse3-create-and-replace``, measured 2026-12-05, README)."""
        if flags == ops.XATTR_CREATE | ops.XATTR_REPLACE and not self.session.kernel_only:
            flags = ops.XATTR_REPLACE
        uid, gid = who
        path = self.at(p)
        name = self.xname(name)
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
        if call in (1, 2):  # the state compared after each step holds user.* names only
            self.run_op(ops.Listxattr(path))

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

    @precondition(lambda self: self.session.kernel_only or self.session.run_config.live_remount)
    @rule(ro=st.booleans())
    def remount_live(self, ro: bool) -> None:
        """``mount -o remount,ro`` or ``remount,rw`` with every handle kept open.  Where a
        FUSE program is a target only in the ``live-remount`` configs (a rule more would
        shift every other config's fixed-seed examples), and there no remount,ro while an
        open name of a lower hard link has been unlinked: the VFS lets it through on FUSE
        where the kernel refuses (deviation ``ro-after-unlinking-an-open-lower-hard-link``,
        tests/difftest/test_live_remount.py)."""
        if ro and not self.session.kernel_only and self._unlinked_open_lower_hard_link():
            return
        self.run_op(ops.RemountRo() if ro else ops.RemountRw())

    def _unlinked_open_lower_hard_link(self) -> bool:
        assert self.example is not None
        model = self.example.targets["model"]
        return any(h.inode.removed and h.inode.upper is None and h.inode.lowers
                   and h.inode.lowers[0][1].nlink > 1
                   for h in model.handles.values())  # fmt: skip

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


class ExportMachine(OverlayMachine):
    """:class:`OverlayMachine` with file handles, for configs with ``nfs_export=on`` (the
    others refuse every handle with EOPNOTSUPP: a rule there would only shift every other
    config's fixed-seed examples): take a handle of a path, and later open it again,
    whatever happened to the object in between (copy-up, rename, unlink, remount)."""

    def __init__(self) -> None:
        super().__init__()
        self.handle_paths: list[bytes] = []

    @rule(p=PATH, follow=st.sampled_from([False, False, False, True]))
    def name_to_handle(self, p: int, follow: bool) -> None:
        """Half the time a lower-only directory: encoding one may copy up (it, or the
        ancestor that makes it reachable from its layer) where no other call would."""
        path = self.at(p)
        if p % 2:
            dirs = self._lower_only("dir")
            if dirs:
                path = dirs[p // 2 % len(dirs)]
        if not self.run_op(ops.NameToHandle(path, follow)).is_error:
            self.handle_paths.append(path)

    @precondition(lambda self: bool(self.handle_paths))
    @rule(i=st.integers(0, 7))
    def open_by_handle(self, i: int) -> None:
        self.run_op(ops.OpenByHandle(self.handle_paths[i % len(self.handle_paths)]))


class OnlineMachine(OverlayMachine):
    """:class:`OverlayMachine` that also changes a layer underneath the mount (configs
    ``online*``; a rule of its own, so other configs keep their fixed-seed examples)."""

    @rule(layer=st.integers(0, 3), action=st.sampled_from(ACTIONS), p=PATH, q=PATH)
    def change_layer(self, layer: int, action: str, p: int, q: int) -> None:
        """remove, create, mkdir or rename a known path (or a fresh name) in the upper or
        a lower layer; a remount drawn later ends the loose comparison."""
        self._change(layer, action, p, q)

    @rule(layer=st.integers(0, 3), action=st.sampled_from(ACTIONS), p=PATH, q=PATH,
          look=st.sampled_from([ops.Lstat, ops.Readdir, ops.Unlink, ops.Rmdir, ops.Mkdir]))
    def change_layer_then_use(self, layer: int, action: str, p: int, q: int,
                              look: type[ops.Op]) -> None:
        """A change, then a call on the changed name or its parent through the mount, where
        what the mount remembers meets what the layer now holds."""
        if self._change(layer, action, p, q):
            path = self.at(p)
            parent = path.rpartition(b"/")[0] or b"/"
            self.run_op(look(parent if look is ops.Readdir else path))  # type: ignore[call-arg]

    @rule(layer=st.integers(0, 3), action=st.sampled_from(ACTIONS), p=PATH, q=PATH)
    def change_layer_then_remount(self, layer: int, action: str, p: int, q: int) -> None:
        """A change, then a remount: from there the view is compared exactly again."""
        if self._change(layer, action, p, q):
            self.run_op(ops.Remount())

    def _change(self, layer: int, action: str, p: int, q: int) -> bool:
        """Run the change; whether it changed the layer."""
        assert self.example is not None
        path, new = self.at(p), self.at(q) if action == "rename" else b""
        if path == b"/" or new == b"/" or len(path) + len(new) > ONLINE_PATH_MAX:
            return False
        model = self.example.targets["model"]
        first = 0 if self.session.has_upper else 1
        layers = list(range(first, self.session.lowers + 1))
        layers = layers[layer % len(layers):] + layers[:layer % len(layers)]
        # the first layer, from the drawn one on, where the change changes something
        chosen = next((n for n in layers if feasible(model, n, action, path, new)), layers[0])
        return not self.run_op(ops.LayerChange(chosen, action, path, new)).is_error


def machine_for(session: Session) -> type[OverlayMachine]:
    """The state machine of one run: :class:`OverlayMachine` (:class:`ExportMachine` where
    handles can be decoded, :class:`OnlineMachine` for layers changed underneath) bound to
    ``session``."""
    base = ExportMachine if session.run_config.config.nfs_export else OverlayMachine
    if session.run_config.online:
        base = OnlineMachine
    return type("OverlayMachineRun", (base,), {"session": session})
