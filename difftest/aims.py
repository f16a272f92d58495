"""Rules that head for deep states: each aims at one state that the plain rules of
:mod:`difftest.machine` reach only by luck (a whiteout under a new name, a removed lower
directory, a handle across a copy-up, a moved directory), with ordinary steps, so a
shrunk case is still a plain sequence of calls."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import multiple, rule

from difftest import ops
from difftest.core import HANDLES, MachineCore
from difftest.draws import DATA, ODD_SUFFIXES, PATH, SPECIAL_MODES

handles = HANDLES


class AimedRules(MachineCore):
    """The rules that head for deep states (see the module docstring)."""

    def _upper_whiteouts(self) -> list[bytes]:
        """Names the model's upper layer holds as whiteouts, sorted."""
        return sorted(k for k, e in self._model_upper().items() if e.kind == "whiteout")

    def _lower_files(self) -> list[bytes]:
        """Files and symlinks only a lower layer holds (files first, each kind sorted)."""
        return self._lower_only("reg") + self._lower_only("lnk")

    def _remove(self, path: bytes, merged: dict[bytes, Any]) -> bool:
        """Remove ``path`` of the model's merged view ``merged`` (rmdir for a directory);
        whether it succeeded on the model."""
        op = ops.Rmdir(path) if merged[path].kind == "dir" else ops.Unlink(path)
        return not self.run_op(op).is_error

    @rule(p=PATH, q=PATH, flags=st.sampled_from([0, ops.RENAME_NOREPLACE]))
    def rename_over_whiteout(self, p: int, q: int, flags: int) -> None:
        """Rename onto a name that the upper layer holds as a whiteout."""
        hidden = self._upper_whiteouts()
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
            self._remove(child, merged)
        self.run_op(ops.Rmdir(d))

    @rule(p=PATH, q=PATH, make=st.sampled_from(range(6)))
    def create_over_whiteout(self, p: int, q: int, make: int) -> None:
        """Create at a name the upper layer holds as a whiteout: a directory made there is
        opaque (the lower directory's entries stay hidden), anything else replaces the
        whiteout.  Without a whiteout yet, a lower-only entry is removed first (a
        directory with lower entries by preference, its contents before it)."""
        hidden = self._upper_whiteouts()
        if hidden and p % 2:
            path = hidden[q % len(hidden)]
        elif not (path := self._remove_lower_entry(p)):
            return
        op: ops.Op = [
            ops.Mkdir(path, 0o755),
            ops.Mkdir(path, 0o700),
            ops.Mknod(path, 0o010644),
            ops.Symlink(b"a", path),
            ops.Link(self.at(q), path),
            ops.Open(path, os.O_WRONLY | os.O_CREAT, 0o644),
        ][make]
        out = self.run_op(op)
        if isinstance(op, ops.Open) and (label := self._opened(out)) is not None:
            self.run_op(ops.Close(label))

    def _remove_lower_entry(self, p: int) -> bytes:
        """Remove a lower-only entry (a directory with entries first), its contents deepest
        first; the removed path, or b"" when there is none or its removal failed."""
        merged = self._model_merged()
        dirs = self._lower_only("dir")
        full = [d for d in dirs if any(k.startswith(d + b"/") for k in merged)]
        others = sorted(self._lower_files())
        choices = full or dirs or others
        if not choices:
            return b""
        path = choices[p % len(choices)]
        inside = sorted((k for k in merged if k.startswith(path + b"/")), key=len, reverse=True)
        if not all(self._remove(k, merged) for k in [*inside, path]):
            return b""  # stops at the first removal that fails
        return path

    @rule(p=PATH, q=PATH, whole=st.booleans())
    def move_to_another_dir(self, p: int, q: int, whole: bool) -> None:
        """Move what a lower layer holds into another directory: the new parent of a moved
        lower object is marked impure; a moved lower directory needs a redirect
        (redirect_dir=on) or is refused with EXDEV.  ``whole``: a directory, else a file
        or symlink (copied up by the move)."""
        moved = self._lower_only("dir") if whole else []
        moved = moved or self._lower_files()
        if not moved:
            return
        src = moved[p % len(moved)]
        parent, _, name = src.rpartition(b"/")
        dirs = sorted(k for k, e in self._model_merged().items() if e.kind == "dir")
        into = [d for d in dirs if d.rstrip(b"/") != parent and d != src
                and not d.startswith(src + b"/")]  # fmt: skip
        if not into:
            return
        dst = into[q % len(into)].rstrip(b"/") + b"/" + name
        if not self.run_op(ops.Rename(src, dst)).is_error:
            self.remember(dst)

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
        base = d.rstrip(b"/")
        inside = sorted(k for k in merged if k != d and k.rpartition(b"/")[0] == base)
        change_op = [
            ops.Mkdir(base + b"/new"),
            ops.Unlink(inside[q % len(inside)]) if inside else ops.Mknod(base + b"/new", 0),
            ops.Chmod(d, 0o755),
            None,
        ][change]
        return self._read_dir_around(d, lambda h: [
            change_op,
            [ops.Lseek(h, 0), ops.Lseek(h, 0, os.SEEK_END), ops.Lseek(h, -1), None][q % 4],
        ])  # fmt: skip

    def _read_dir_around(self, d: bytes, between: Callable[[int], list[ops.Op | None]]) -> Any:
        """Open directory ``d``, read it, run the calls ``between`` gives for the handle
        (None: no call), read on; the handle's label, or none when the open failed."""
        label = self._opened(self.run_op(ops.Open(d, os.O_RDONLY | os.O_DIRECTORY)))
        if label is None:
            return multiple()
        self.run_op(ops.Getdents(label))
        for op in between(label):
            if op is not None:
                self.run_op(op)
        self.run_op(ops.Getdents(label))
        return label
