"""Operations as commands a reader could type, in a directory holding the layers and ``m``.

The layout is fixed: ``l0`` (top lower), ``l1``..., ``u`` (upper), ``w`` (workdir) and the
mount point ``m``.  A shell command is used only where it makes exactly the one syscall the
operation names (``rm m/a`` is ``unlink``; ``mv m/a m/b`` is ``rename``); elsewhere the
command is a Python line (``os.unlink("m/x")``), or for the two calls Python lacks a
C-style line (``renameat2(...)``, ``utimensat(...)``, ``getdents64(fd0)``).  Why not always
the shell: GNU ``mv`` copies a directory when rename(2) says EXDEV, ``rm`` of a missing name
reports ENOENT without calling unlink(2), ``ls`` of a file lists the file.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping

from difftest import ops
from model.config import Config
from model.spec import LayersSpec

MOUNT_POINT = "m"


def layer_names(spec: LayersSpec) -> list[str]:
    return [f"l{i}" for i in range(len(spec.lowers))]


def mount_command(spec: LayersSpec, config: Config) -> str:
    """The ``mount`` command for an example's layers and options."""
    opts = ["lowerdir=" + ":".join(layer_names(spec))
            + "".join(f"::d{i}" for i in range(len(spec.data)))]  # fmt: skip
    if spec.upper is not None:
        opts += ["upperdir=u", "workdir=w"]
    opts += [o for o in config.mount_options() if o != "ro"]
    ro = spec.upper is None or config.ro
    return f"mount -t overlay overlay {'-r ' if ro else ''}-o {','.join(opts)} {MOUNT_POINT}"


def shell_path(path: bytes) -> str:
    """``b"/a"`` as ``m/a`` (shell-quoted when needed)."""
    rel = MOUNT_POINT + ("" if path == b"/" else os.fsdecode(path))
    if all(32 < ord(c) < 127 and c not in "'\"\\$`!*?[]{}()<>|&;#~" for c in rel):
        return rel
    raw = os.fsencode(rel)
    if all(32 <= c < 127 for c in raw):
        return shlex.quote(rel)
    return (
        "$'"
        + "".join(chr(c) if 32 < c < 127 and c not in b"'\\" else f"\\x{c:02x}" for c in raw)
        + "'"
    )


def py_path(path: bytes) -> str:
    """``b"/a"`` as a Python literal: ``"m/a"`` or ``b"m/\\xff"``; a long run of one
    character as ``"m/" + "a" * 150``."""
    raw = MOUNT_POINT.encode() + (b"" if path == b"/" else path)
    if any(len(c) > 40 and len(set(c)) == 1 for c in raw.split(b"/")) and raw.isascii():
        return _py_runs(raw.decode())
    if all(32 <= c < 127 for c in raw) and b'"' not in raw and b"\\" not in raw:
        return f'"{raw.decode()}"'
    return repr(raw)


def _py_runs(text: str) -> str:
    parts: list[str] = []
    lit = ""
    for i, comp in enumerate(text.split("/")):
        sep = "/" if i else ""
        if len(comp) > 40 and len(set(comp)) == 1:
            if lit + sep:
                parts.append(f'"{lit + sep}"')
            parts.append(f'"{comp[0]}" * {len(comp)}')
            lit = ""
        else:
            lit += sep + comp
    if lit:
        parts.append(f'"{lit}"')
    return " + ".join(parts)


def py_bytes(data: bytes) -> str:
    return repr(data)


def _arg(data: bytes) -> str:
    """A setfattr/ln argument: plain when it is safe, else quoted."""
    text = os.fsdecode(data)
    return (
        text
        if all(32 < c < 127 for c in data) and text == shlex.quote(text)
        else (shlex.quote(text))
    )


def _value(data: bytes) -> str:
    if all(32 < c < 127 for c in data) and not data.startswith(b"0"):
        return _arg(data)
    return "0x" + data.hex()


def _mode(mode: int) -> str:
    return f"{mode & 0o7777:o}"


OPEN_FLAG_ORDER = [(os.O_WRONLY, "os.O_WRONLY"), (os.O_RDWR, "os.O_RDWR")] + [
    (bit, "os." + name) for bit, name in ops.OPEN_FLAG_NAMES[2:]
]


def open_flags(flags: int) -> str:
    names = [name for bit, name in OPEN_FLAG_ORDER if flags & bit]
    if not flags & (os.O_WRONLY | os.O_RDWR):
        names.insert(0, "os.O_RDONLY")
    return " | ".join(names)


RENAME_FLAGS = {
    ops.RENAME_NOREPLACE: "RENAME_NOREPLACE",
    ops.RENAME_EXCHANGE: "RENAME_EXCHANGE",
    ops.RENAME_WHITEOUT: "RENAME_WHITEOUT",
}


def _rename_flags(flags: int) -> str:
    names = [n for bit, n in RENAME_FLAGS.items() if flags & bit]
    rest = flags & ~sum(RENAME_FLAGS)
    if rest:
        names.append(hex(rest))
    return " | ".join(names) or "0"


def _utime(ns: int | None) -> str:
    if ns is None:
        return "UTIME_OMIT"
    if ns == -1:
        return "UTIME_NOW"
    return str(ns)


def _touch_time(ns: int) -> str:
    sec, frac = divmod(ns, 10**9)
    return f"@{sec}" if not frac else f"@{sec}.{frac:09d}"


class Before:
    """What the merged view held before a step: ``kind`` of each path (``dir``, ``file``,
    ...) and its inode label, from the previous observation."""

    def __init__(self, kinds: Mapping[bytes, str], inodes: Mapping[bytes, str]) -> None:
        self.kinds = kinds
        self.inodes = inodes

    def kind(self, path: bytes) -> str | None:
        return self.kinds.get(path.rstrip(b"/") or b"/")

    def exists(self, path: bytes) -> bool:
        return self.kind(path) not in (None, "unresolvable")


def command(op: ops.Op, before: Before, *, fd: int | None, readonly: bool, mount: str) -> str:
    """The command for ``op`` (``fd``: the label an Open got, None if it failed)."""
    line = _shell(op, before, readonly, mount)
    uid = getattr(op, "uid", 0)
    gid = getattr(op, "gid", 0)
    if line is None:
        line = _python(op, fd)
        if uid or gid:
            return f"{_setpriv(uid, gid)} python3 -c {shlex.quote('import os; ' + line)}"
        return line
    return f"{_setpriv(uid, gid)} {line}" if uid or gid else line


def _setpriv(uid: int, gid: int) -> str:
    return f"setpriv --reuid={uid} --regid={gid} --clear-groups"


def _shell(op: ops.Op, before: Before, readonly: bool, mount: str) -> str | None:
    """The shell form, or None where the shell has no command making exactly this call."""
    m = shell_path
    if isinstance(op, ops.Lstat):
        return f"stat {m(op.path)}"
    if isinstance(op, ops.Stat):
        return f"stat -L {m(op.path)}"
    if isinstance(op, ops.Readdir):
        return f"ls -a {m(op.path)}" if before.kind(op.path) == "dir" else None
    if isinstance(op, ops.Readlink):
        return f"readlink {m(op.path)}" if before.kind(op.path) == "symlink" else None
    if isinstance(op, ops.Getxattr):
        return f"getfattr --only-values -n {_arg(op.name)} {m(op.path)}"
    if isinstance(op, ops.Listxattr):
        return f"getfattr -m - {m(op.path)}"
    if isinstance(op, ops.Statfs):
        return f"stat -f {m(op.path)}"
    if isinstance(op, ops.Mkdir):
        return f"mkdir {'' if op.mode == 0o755 else f'-m {_mode(op.mode)} '}{m(op.path)}"
    if isinstance(op, ops.Rmdir):
        return f"rmdir {m(op.path)}"
    if isinstance(op, ops.Mknod):
        return _mknod(op)
    if isinstance(op, ops.Symlink):
        ok = before.kind(op.path) != "dir"
        return f"ln -s {_arg(op.target)} {m(op.path)}" if ok else None
    if isinstance(op, ops.Link):
        ok = before.kind(op.new) != "dir" and before.kind(op.old) not in ("dir", None)
        return f"ln {m(op.old)} {m(op.new)}" if ok else None
    if isinstance(op, ops.Unlink):
        ok = not readonly and before.exists(op.path) and before.kind(op.path) != "dir"
        return f"rm {m(op.path)}" if ok else None
    if isinstance(op, ops.Rename):
        return _mv(op, before, readonly)
    if isinstance(op, ops.Chmod):
        return f"chmod {_mode(op.mode)} {m(op.path)}"
    if isinstance(op, ops.Chown):
        return _chown(op)
    if isinstance(op, ops.Truncate):
        ok = before.kind(op.path) == "file" and not readonly
        return f"truncate -s {op.length} {m(op.path)}" if ok else None
    if isinstance(op, ops.Utimens):
        return _touch(op, before)
    if isinstance(op, ops.Setxattr) and op.flags == 0:
        value = f" -v {_value(op.value)}" if op.value else ""
        return f"setfattr -n {_arg(op.name)}{value} {m(op.path)}"
    if isinstance(op, ops.Removexattr):
        return f"setfattr -x {_arg(op.name)} {m(op.path)}"
    if isinstance(op, ops.Remount):
        # a volatile mount's marker refuses the next mount until it is removed
        clean = " && rm -r w/work/incompat/volatile" if ",volatile" in mount else ""
        return f"umount {MOUNT_POINT}{clean} && {mount}"
    return None


def _mknod(op: ops.Mknod) -> str | None:
    import stat as st

    fmt, perm = st.S_IFMT(op.mode), op.mode & 0o7777
    m_opt = "" if perm == 0o644 else f"-m {_mode(perm)} "
    if fmt == st.S_IFIFO:
        return f"mkfifo {m_opt}{shell_path(op.path)}"
    if fmt in (st.S_IFCHR, st.S_IFBLK):
        t = "c" if fmt == st.S_IFCHR else "b"
        dev = f"{os.major(op.rdev)} {os.minor(op.rdev)}"
        return f"mknod {m_opt}{shell_path(op.path)} {t} {dev}"
    return None


def _mv(op: ops.Rename, before: Before, readonly: bool) -> str | None:
    if op.flags or readonly:
        return None
    src, dst = before.kind(op.old), before.kind(op.new)
    if src in (None, "dir", "unresolvable") or dst in ("dir", "unresolvable"):
        return None
    if dst is not None and before.inodes.get(op.new) == before.inodes.get(op.old):
        return None  # mv refuses "are the same file" without calling rename(2)
    return f"mv {shell_path(op.old)} {shell_path(op.new)}"


def _chown(op: ops.Chown) -> str | None:
    if op.owner == -1 and op.group == -1:
        return None
    owner = "" if op.owner == -1 else str(op.owner)
    group = "" if op.group == -1 else f":{op.group}"
    return f"chown {owner}{group} {shell_path(op.path)}"


def _touch(op: ops.Utimens, before: Before) -> str | None:
    if not before.exists(op.path):
        return None
    a, mt = op.atime_ns, op.mtime_ns
    p = shell_path(op.path)
    if a == -1 and mt == -1:
        return f"touch -c {p}"
    if a is None and mt is not None and mt >= 0:
        return f"touch -c -m -d {_touch_time(mt)} {p}"
    if mt is None and a is not None and a >= 0:
        return f"touch -c -a -d {_touch_time(a)} {p}"
    if a is not None and a == mt and a >= 0:
        return f"touch -c -d {_touch_time(a)} {p}"
    return None


def _python(op: ops.Op, fd: int | None) -> str:
    """The Python (or C-style) line for ``op``."""
    if op.uses_handle:
        h = f"fd{op.h}"  # type: ignore[attr-defined]
        return {
            ops.Close: lambda o: f"os.close({h})",
            ops.Read: lambda o: f"os.read({h}, {o.size})",
            ops.Pread: lambda o: f"os.pread({h}, {o.size}, {o.offset})",
            ops.Write: lambda o: f"os.write({h}, {py_bytes(o.data)})",
            ops.Pwrite: lambda o: f"os.pwrite({h}, {py_bytes(o.data)}, {o.offset})",
            ops.Ftruncate: lambda o: f"os.ftruncate({h}, {o.length})",
            ops.Fsync: lambda o: f"os.fsync({h})",
            ops.Fstat: lambda o: f"os.fstat({h})",
            ops.Getdents: lambda o: f"getdents64({h})",
            ops.Lseek: lambda o: f"os.lseek({h}, {o.offset}, {_whence(o.whence)})",
        }[type(op)](op)
    p = py_path
    if isinstance(op, ops.Open):
        mode = f", 0o{op.mode:o}" if op.flags & os.O_CREAT else ""
        call = f"os.open({p(op.path)}, {open_flags(op.flags)}{mode})"
        return f"fd{fd} = {call}" if fd is not None else call
    if isinstance(op, ops.Rename) and op.flags:
        flags = _rename_flags(op.flags)
        return f"renameat2(AT_FDCWD, {p(op.old)}, AT_FDCWD, {p(op.new)}, {flags})"
    if isinstance(op, ops.Utimens):
        times = f"{{{_utime(op.atime_ns)}, {_utime(op.mtime_ns)}}}"
        return f"utimensat(AT_FDCWD, {p(op.path)}, {times}, 0)"
    if isinstance(op, ops.NameToHandle):  # the handle is kept under the path's name
        flags = "AT_SYMLINK_FOLLOW" if op.follow else "0"
        return f"fh[{p(op.path)}] = name_to_handle_at(AT_FDCWD, {p(op.path)}, {flags})"
    if isinstance(op, ops.OpenByHandle):
        return f"os.fstat(open_by_handle_at(mount_fd, fh[{p(op.path)}], O_PATH))"
    if isinstance(op, ops.Setxattr):
        names = {ops.XATTR_CREATE: "os.XATTR_CREATE", ops.XATTR_REPLACE: "os.XATTR_REPLACE"}
        f = names.get(op.flags, str(op.flags))
        return f"os.setxattr({p(op.path)}, {py_bytes(op.name)}, {py_bytes(op.value)}, {f})"
    simple = {
        ops.Readdir: lambda o: f"os.listdir({p(o.path)})",
        ops.Readlink: lambda o: f"os.readlink({p(o.path)})",
        ops.Link: lambda o: f"os.link({p(o.old)}, {p(o.new)}, follow_symlinks=False)",
        ops.Unlink: lambda o: f"os.unlink({p(o.path)})",
        ops.Rename: lambda o: f"os.rename({p(o.old)}, {p(o.new)})",
        ops.Truncate: lambda o: f"os.truncate({p(o.path)}, {o.length})",
        ops.Chown: lambda o: f"os.chown({p(o.path)}, {o.owner}, {o.group})",
        ops.Symlink: lambda o: f"os.symlink({py_bytes(o.target)}, {p(o.path)})",
        ops.Mknod: lambda o: f"os.mknod({p(o.path)}, 0o{o.mode:o}, {o.rdev})",
    }
    fn = simple.get(type(op))
    return fn(op) if fn is not None else repr(op)


def _whence(w: int) -> str:
    return {os.SEEK_SET: "os.SEEK_SET", os.SEEK_CUR: "os.SEEK_CUR", os.SEEK_END: "os.SEEK_END"}.get(
        w, str(w)
    )
