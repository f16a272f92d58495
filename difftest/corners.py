"""Rules for the corners of the specification that the other rules reach less than once a
minute: measured with ``difftest --coverage`` (reports/coverage/), these are branches of the
model that need two or three calls in a row (a file made the caller's, then changed by it;
a directory opened, removed, then read) or one call whose odd argument meets the one kind
of object it matters for (``O_NOFOLLOW`` on a symlink, ``RENAME_NOREPLACE`` onto a name that
exists).  Each rule draws one of a fixed list of such short sequences, all of ordinary
calls, so a shrunk case is still a plain sequence of steps.

Objects are picked from the model's merged view; the directories a sequence makes have
names of their own (``/sticky``, ``/shared``, ...), remembered for the other rules."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import multiple, rule

from difftest import ops
from difftest.aims import AimedRules
from difftest.core import HANDLES
from difftest.draws import LONG_PRIVATE_NAME, PATH

handles = HANDLES

USER = {"uid": 1000, "gid": 1000}  # the generated users' uid and only group
FIFO, SOCK, REG_TYPE, NULL_DEV = 0o010644, 0o140644, 0o100644, 0x103


class CornerRules(AimedRules):
    """The rules of the corners (see the module docstring)."""

    def _pick(self, kind: str, p: int) -> bytes | None:
        """A path of the model's merged view holding an object of ``kind`` (not the root)."""
        paths = sorted(k for k, e in self._model_merged().items() if e.kind == kind and k != b"/")
        return paths[p % len(paths)] if paths else None

    def _made_dir(self, path: bytes, mode: int) -> bytes:
        """``path`` made a directory with ``mode`` (chmod after mkdir: mkdir drops setgid)."""
        self.run_op(ops.Mkdir(path, 0o755))
        self.run_op(ops.Chmod(path, mode))
        self.remember(path)
        return path

    # ---- a user's call on what root prepared -------------------------------------------------

    @rule(p=PATH, family=st.sampled_from(range(12)))
    def as_another_user(self, p: int, family: int) -> None:
        """Root makes a file or directory the way a permission rule needs it, then a user
        (uid and gid 1000) calls: chmod to setgid of a file in a group not theirs (setgid
        dropped), chgrp to a group not theirs (EPERM), truncate and write of a setgid or
        setuid file (both killed), unlink in another's sticky dir and user.* on it (EPERM),
        mknod of a device (EPERM), a setgid executable made in a setgid dir of another
        group (setgid dropped), a hard link to another's file that is readable and writable
        (allowed by protected_hardlinks), listxattr hiding trusted.*, security.* (EPERM),
        an O_TRUNC open of a setuid file (killed as a truncate kills it)."""
        f = self._pick("reg", p)
        if family in (4, 5, 6, 7, 8):
            self._prepared_dir(family, f, p)
            return
        if f is None:
            return
        setup: ops.Op | None = {
            0: ops.Chown(f, 1000, 0),
            1: ops.Chown(f, 1000, 1000),
            2: ops.Chmod(f, 0o2777),
            3: ops.Chmod(f, 0o4766),  # no group-exec: setuid alone is killed
            9: ops.Setxattr(f, b"trusted.t", b"t"),
            11: ops.Chmod(f, 0o6777),
        }.get(family)
        if setup is not None and self.run_op(setup).is_error:
            return
        if family in (3, 11):  # a write through a handle, or O_TRUNC: kill_suid
            flags = os.O_WRONLY if family == 3 else os.O_WRONLY | os.O_TRUNC
            label = self._opened(self.run_op(ops.Open(f, flags, **USER)))
            if label is not None:
                if family == 3:
                    self.run_op(ops.Write(label, b"u"))
                self.run_op(ops.Close(label))
            return
        call: ops.Op = {
            0: ops.Chmod(f, 0o2755, **USER),
            1: ops.Chown(f, -1, 0, **USER),
            2: ops.Truncate(f, 1, **USER),
            9: ops.Listxattr(f, **USER),
            10: ops.Setxattr(f, b"security.s", b"v", **USER),
        }[family]
        self.run_op(call)

    def _prepared_dir(self, family: int, f: bytes | None, p: int) -> None:
        if family in (4, 5):  # another's sticky directory
            d = self._made_dir(b"/sticky", 0o1777)
            if family == 4:
                self.run_op(ops.Mknod(d + b"/f", REG_TYPE))
                self.run_op(ops.Unlink(d + b"/f", **USER))
            else:
                self.run_op(ops.Setxattr(d, b"user.x", b"v", **USER))
        elif family == 6:  # a device made by a user who may write the directory
            d = self._made_dir(b"/shared", 0o777)
            self.run_op(ops.Mknod(d + b"/dev", 0o020644, NULL_DEV, **USER))
        elif family == 7:  # setgid dir of group 0: a user's setgid executable or dir in it
            d = self._made_dir(b"/sgid", 0o2777)
            if p % 2:
                self.run_op(ops.Mkdir(d + b"/sub", 0o755, **USER))
                return
            label = self._opened(self.run_op(
                ops.Open(d + b"/x", os.O_WRONLY | os.O_CREAT, 0o2755, **USER)))
            if label is not None:
                self.run_op(ops.Close(label))
        elif f is not None:  # protected_hardlinks: another's file, read-write for all or not
            d = self._made_dir(b"/shared", 0o777)
            if not self.run_op(ops.Chmod(f, 0o666 if p % 2 else 0o644)).is_error:
                self.run_op(ops.Link(f, d + b"/l", **USER))
                self.remember(d + b"/l")

    # ---- handles -------------------------------------------------------------------------

    @rule(target=handles, p=PATH, family=st.sampled_from(range(12)))
    def handle_corner(self, p: int, family: int) -> Any:
        """A handle in a state the plain handle rules seldom meet: ``O_NOFOLLOW`` on a
        symlink (ELOOP), an empty write, ftruncate of a file open for writing, SEEK_CUR on
        a file and on a directory, getdents on a removed directory (ENOENT), a directory
        read, copied up and read again from 0 (the real dir becomes merged), open of a
        socket (ENXIO), a write into a FIFO whose readers closed (EPIPE), a write of zero
        blocks inside one extent, lseek on the null device, a new directory made impure
        (a lower file moved in) and read."""
        if family == 0:
            link = self._pick("lnk", p) or b"/lnk"
            if link == b"/lnk":
                self.run_op(ops.Symlink(b"a", link))
                self.remember(link)
            self.run_op(ops.Open(link, os.O_RDONLY | os.O_NOFOLLOW))
            return multiple()
        if family in (5, 6, 11):
            return self._dir_handle_corner(p, family)
        if family in (7, 8, 10):
            return self._special_corner(family)
        f = self._pick("reg", p)
        d = self._pick("dir", p) or b"/"
        if f is None:
            return multiple()
        path, flags, then = {
            1: (f, os.O_WRONLY, lambda h: ops.Write(h, b"")),
            2: (f, os.O_RDWR, lambda h: ops.Ftruncate(h, 3)),
            3: (f, os.O_RDONLY, lambda h: ops.Lseek(h, 1 if p % 2 else -1, os.SEEK_CUR)),
            4: (d, os.O_RDONLY | os.O_DIRECTORY, lambda h: ops.Lseek(h, 2, os.SEEK_CUR)),
        }.get(family, (f, os.O_WRONLY, lambda h: ops.Pwrite(h, bytes(1 << 17) + b"z", 0)))
        label = self._opened(self.run_op(ops.Open(path, flags)))
        if label is None:
            return multiple()
        self.run_op(then(label))
        return label

    def _dir_handle_corner(self, p: int, family: int) -> Any:
        if family == 6:  # a lower dir read, then copied up by a new entry, then read from 0
            lower = self._lower_only("dir")
            if not lower:
                return multiple()
            d = lower[p % len(lower)]
            return self._read_dir_around(
                d, lambda h: [ops.Mknod(d + b"/new", REG_TYPE), ops.Lseek(h, 0)])
        if family == 5:  # read a directory after its removal
            d = b"/gone"
            self.run_op(ops.Mkdir(d))
            label = self._opened(self.run_op(ops.Open(d, os.O_RDONLY | os.O_DIRECTORY)))
            self.run_op(ops.Rmdir(d))
            if label is not None:
                self.run_op(ops.Fstat(label))  # st_nlink 0
        else:  # an upper dir made impure by a lower file moved in, then read
            lower = self._lower_only("reg")
            if not lower:
                return multiple()
            d = b"/imp"
            self.run_op(ops.Mkdir(d))
            self.run_op(ops.Rename(lower[p % len(lower)], d + b"/f"))
            self.remember(d + b"/f")
            label = self._opened(self.run_op(ops.Open(d, os.O_RDONLY | os.O_DIRECTORY)))
        if label is None:
            return multiple()
        self.run_op(ops.Getdents(label))
        return label

    def _special_corner(self, family: int) -> Any:
        if family == 10:  # the null device: lseek succeeds and says 0
            self.run_op(ops.Mknod(b"/null", 0o020666, NULL_DEV))
            label = self._opened(self.run_op(ops.Open(b"/null", os.O_RDWR)))
            if label is None:
                return multiple()
            self.run_op(ops.Lseek(label, 5))
            return label
        if family == 7:  # a socket's node
            self.run_op(ops.Mknod(b"/sock", SOCK))
            self.run_op(ops.Open(b"/sock", os.O_RDONLY))
            return multiple()
        self.run_op(ops.Mknod(b"/fifo", FIFO))  # a FIFO whose only reader closes
        both = self._opened(self.run_op(ops.Open(b"/fifo", os.O_RDWR)))
        if both is None:
            return multiple()
        writer = self._opened(self.run_op(ops.Open(b"/fifo", os.O_WRONLY)))
        self.run_op(ops.Close(both))
        if writer is None:
            return multiple()
        self.run_op(ops.Write(writer, b"x"))
        return writer

    # ---- one odd call ------------------------------------------------------------------------

    @rule(p=PATH, q=PATH, family=st.sampled_from(range(20)))
    def odd_call(self, p: int, q: int, family: int) -> None:
        """One call whose argument matters only for one kind of object, given that object:
        rename of the root onto itself with RENAME_NOREPLACE (EEXIST) and of a file onto an
        existing one (EEXIST), RENAME_EXCHANGE with a trailing slash on a file (ENOTDIR),
        RENAME_WHITEOUT (EINVAL, overlayfs refuses it), mknod with a trailing slash (ENOENT),
        unlink with one (ENOTDIR), a new dir renamed over an empty one, a lower hard link
        linked again and removed (the index entry's count with index=on), a truncate to
        128 MiB (digest windows short of 4 GiB), a new dir renamed over a merged dir that
        holds only whiteouts, O_CREAT on the root (EISDIR), rmdir of ``..`` (ENOTEMPTY), a
        trailing slash on a file renamed (ENOTDIR), XATTR_CREATE of a name that exists
        (EEXIST) or of a private name too long once escaped (EOPNOTSUPP, no copy-up), two
        directories of different parents exchanged, a new directory exchanged with a lower
        or merged one (EXDEV unless redirect_dir=on), a lower directory renamed twice in
        its parent (the first redirect is kept), getxattr and setxattr of a name the
        layer's filesystem cannot hold (its EOPNOTSUPP, not ENODATA; three families of the
        twenty: a FUSE daemon's xattr path is where this went wrong)."""
        f = self._pick("reg", p)
        if family == 0:
            self.run_op(ops.Rename(b"/", b"/", ops.RENAME_NOREPLACE))
        elif family == 6:
            self.run_op(ops.Mkdir(b"/n1"))
            self.run_op(ops.Mkdir(b"/n2"))
            self.run_op(ops.Rename(b"/n1", b"/n2"))
            self.remember(b"/n2")
        elif family == 7:
            self._link_lower_hard_link(p)
        elif family == 9:
            self._rename_over_whiteouts_only(p)
        elif family >= 10:
            self._odd_dir_call(p, family, f)
        elif f is not None and (g := self._pick("reg", q)) is not None:
            fresh = f + b".new"
            self.run_op({
                1: ops.Rename(f, g, ops.RENAME_NOREPLACE),
                2: ops.Rename(g, f + b"/", ops.RENAME_EXCHANGE),
                3: ops.Rename(f, fresh, ops.RENAME_WHITEOUT),
                4: ops.Mknod(fresh + b"/", FIFO),
                5: ops.Unlink(f + b"/"),
                8: ops.Truncate(f, 128 << 20),
            }[family])  # fmt: skip

    def _odd_dir_call(self, p: int, family: int, f: bytes | None) -> None:
        d = self._pick("dir", p)
        if family == 10:
            self.run_op(ops.Open(b"/", os.O_WRONLY | os.O_CREAT))
        elif family == 11 and d is not None:
            self.run_op(ops.Rmdir(d + b"/.."))
        elif family == 12 and f is not None:
            self.run_op(ops.Rename(f + b"/", f + b".new"))
        elif family == 13 and p % 2 and (lower := self._lower_only("reg")):
            # a private name too long once escaped, on a file not yet copied up: EOPNOTSUPP
            # before any copy-up, also with a flag (a FUSE daemon copied up first)
            target = lower[p % len(lower)]
            self.run_op(ops.Setxattr(target, self.xname(LONG_PRIVATE_NAME), b"v",
                                     ops.XATTR_CREATE))  # fmt: skip
        elif family == 13 and f is not None:
            if not self.run_op(ops.Setxattr(f, b"user.c", b"v")).is_error:
                self.run_op(ops.Setxattr(f, b"user.c", b"w", ops.XATTR_CREATE))
        elif family == 14:  # exchange across parents: write permission on both dirs
            for path in (b"/e1", b"/e1/s", b"/e2"):
                self.run_op(ops.Mkdir(path))
                self.remember(path)
            self.run_op(ops.Rename(b"/e1/s", b"/e2", ops.RENAME_EXCHANGE))
        elif family in (15, 16):
            lower = self._lower_only("dir")
            if not lower:
                return
            src = lower[p % len(lower)]
            if family == 15:
                self.run_op(ops.Mkdir(b"/n4"))
                self.run_op(ops.Rename(b"/n4", src, ops.RENAME_EXCHANGE))
            elif not self.run_op(ops.Rename(src, src + b"2")).is_error:
                self.run_op(ops.Rename(src + b"2", src + b"3"))
                self.remember(src + b"3")
        elif family >= 17:
            path = (f, d, b"/")[p % 3] or b"/"
            self.run_op([ops.Getxattr(path, b"system.x"), ops.Getxattr(path, b"other.x"),
                         ops.Setxattr(path, b"system.x", b"v", ops.XATTR_REPLACE)][family - 17])

    def _link_lower_hard_link(self, p: int) -> None:
        merged = self._model_merged()
        linked = sorted(k for k in self._lower_only("reg") if merged[k].nlink > 1)
        if not linked:
            return
        src = linked[p % len(linked)]
        if not self.run_op(ops.Link(src, src + b".l")).is_error:
            self.run_op(ops.Readdir(src.rpartition(b"/")[0] or b"/"))  # d_ino of the copy
            self.run_op(ops.Unlink(src))

    def _rename_over_whiteouts_only(self, p: int) -> None:
        """Empty a directory with lower entries (each becomes a whiteout), then rename a
        new directory over it."""
        merged = self._model_merged()
        upper = self._model_upper()
        with_lower = {c.rpartition(b"/")[0] for c in merged if c not in upper}
        dirs = sorted(k for k in with_lower if k in merged and merged[k].kind == "dir")
        if not dirs:
            return
        d = dirs[p % len(dirs)]
        children = sorted(k for k in merged if k.rpartition(b"/")[0] == d)
        if len(children) > 3:
            return
        for child in children:
            if merged[child].kind == "dir" or self.run_op(ops.Unlink(child)).is_error:
                return
        self.run_op(ops.Mkdir(b"/n3"))
        self.run_op(ops.Rename(b"/n3", d))
