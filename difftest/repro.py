"""Standalone reproducers of a saved case: ``repro.py`` (standard library) and ``repro.sh``.

Both rebuild the starting layers on a private tmpfs, mount the kernel overlay with the run's
options, run the steps and print each result next to what the model expected, then show the
upper layer and unmount.  They depend on nothing from this project.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from difftest import ops
from difftest.repro_template import REPRO_PY_BODY
from model.spec import Entry
from model.types import PATH_MAX

if TYPE_CHECKING:
    from difftest.divergence import ExampleRecord
    from difftest.runconfig import RunConfig


def _entry_tuple(e: object) -> str:
    return repr(
        (e.path, e.kind, e.mode, e.uid, e.gid, e.data, e.size, e.target, e.rdev, e.xattrs)  # type: ignore[attr-defined]
    )


def render_repro_py(record: ExampleRecord, rc: RunConfig) -> str:
    layers = [[_entry_tuple(e) for e in layer] for layer in record.spec.lowers]
    upper = None if record.spec.upper is None else [_entry_tuple(e) for e in record.spec.upper]
    data = [[_entry_tuple(e) for e in layer] for layer in record.spec.data]
    lines = [
        "#!/usr/bin/env python3",
        '"""Reproducer written by difftest: run as root on Linux with overlayfs.',
        "",
        f"Config: {rc.describe()}",
        '"""',
        "# Each entry: (path, kind, mode, uid, gid, data, size, target, rdev, xattrs)",
        "LOWERS = [",
        *["    [" + ", ".join(layer) + "]," for layer in layers],
        "]",
        "UPPER = " + ("None" if upper is None else "[" + ", ".join(upper) + "]"),
        "# data-only lower layers (lowerdir=...::data0)",
        "DATA = [",
        *["    [" + ", ".join(layer) + "]," for layer in data],
        "]",
        f"OPTIONS = {rc.config.mount_options()!r}",
        "# Each step: (syscall, args, uid, gid, expected by the model, recorded results)",
        "STEPS = [",
    ]
    for s in record.steps:
        args = {k: v for k, v in s.op.args().items()}
        if s.op.uses_handle:
            args = {"h": s.op.h, **args}  # type: ignore[attr-defined]
        if isinstance(s.op, ops.Chown):
            args = {"path": s.op.path, "uid": s.op.owner, "gid": s.op.group}
        if isinstance(s.op, ops.RemountRo | ops.RemountRw):
            args = {"ro": isinstance(s.op, ops.RemountRo)}
        if isinstance(s.op, ops.ArmCrash):
            args = {}  # the kernel cannot be crashed: a plain remount
        uid, gid = s.op.cred.uid, s.op.cred.gid
        recorded = {k: str(v) for k, v in s.outcomes.items() if k != "model"}
        expected = str(s.outcomes.get("model", ""))
        lines.append(f"    ({s.op.syscall!r}, {args!r}, {uid}, {gid}, {expected!r}, {recorded!r}),")
    lines.append("]")
    return "\n".join(lines) + "\n" + REPRO_PY_BODY


def _q(b: bytes) -> str:
    """Shell-quote a byte path (non-UTF-8 bytes as $'\\xNN')."""
    if all(32 < c < 127 and c not in b"'\\" for c in b):
        return shlex.quote(b.decode())
    return (
        "$'"
        + "".join(chr(c) if 32 < c < 127 and c not in b"'\\" else f"\\x{c:02x}" for c in b)
        + "'"
    )


def _layer_sh(root: str, entries: tuple[Entry, ...]) -> list[str]:
    """Commands that build a layer, from inside it (relative paths: one below a layer may
    be up to PATH_MAX - 1 bytes long on its own)."""
    out = [f'cd "{root}"']
    for e in entries:
        p = _q(e.path) if e.path.strip(b"/") else "."
        if e.kind == "dir":
            out.append(f"mkdir {p}")
        elif e.kind == "reg":
            out.append(f"printf '%b' {_q(_printf_escape(e.data))} > {p}")
            if e.size is not None:
                out.append(f"truncate -s {e.size} {p}")
        elif e.kind == "lnk":
            out.append(f"ln -s {_q(e.target)} {p}")
        elif e.kind == "whiteout":
            out.append(f"mknod {p} c 0 0")
        elif e.kind == "hardlink":
            out.append(f"ln {_q(e.target)} {p}")
        elif e.kind in ("chr", "blk"):
            out.append(f"mknod {p} {'c' if e.kind == 'chr' else 'b'} {e.rdev >> 8} {e.rdev & 0xFF}")
        elif e.kind == "fifo":
            out.append(f"mkfifo {p}")
        if e.kind not in ("lnk", "hardlink"):
            out.append(f"chown -h {e.uid}:{e.gid} {p}")
            out.append(f"chmod {e.mode:o} {p}")
        for k, v in e.xattrs:
            out.append(f"setfattr -h -n {_q(k)}{_xattr_value(v)} {p}")
    return [*out, "cd /"]


def _printf_escape(data: bytes) -> bytes:
    return b"".join(
        b"\\0%03o" % c if not (32 < c < 127) or c in b"\\'%" else bytes([c]) for c in data
    )


def _op_sh(op: ops.Op) -> str:
    """The step as a shell command, run from inside the mount: a path too long to follow
    the mountpoint's own path is given relative to it (as difftest calls it: model.namei)."""
    m = lambda p: _q(p[1:]) if len(p) > PATH_MAX - 256 else f'"$M"{_q(p)}'  # noqa: E731
    su = (
        f"setpriv --reuid={op.cred.uid} --regid={op.cred.gid} --clear-groups "
        if op.cred.uid
        else ""
    )
    simple = {
        ops.Lstat: lambda o: f"stat -c '%A %u:%g size=%s nlink=%h ino=%i' {m(o.path)}",
        ops.Stat: lambda o: f"stat -L -c '%A %u:%g size=%s nlink=%h ino=%i' {m(o.path)}",
        ops.Readdir: lambda o: f"ls -a1 {m(o.path)}",
        ops.Readlink: lambda o: f"readlink {m(o.path)}",
        ops.Listxattr: lambda o: f"getfattr -d -m - --absolute-names {m(o.path)}",
        ops.Getxattr: lambda o: f"getfattr -n {_q(o.name)} --absolute-names {m(o.path)}",
        ops.Mkdir: lambda o: f"mkdir -m {o.mode:o} {m(o.path)}",
        ops.Unlink: lambda o: f"unlink {m(o.path)}",
        ops.Rmdir: lambda o: f"rmdir {m(o.path)}",
        ops.Symlink: lambda o: f"ln -s {_q(o.target)} {m(o.path)}",
        ops.Link: lambda o: f"ln {m(o.old)} {m(o.new)}",
        ops.Chmod: lambda o: f"chmod {o.mode:o} {m(o.path)}",
        ops.Truncate: lambda o: f"truncate -s {o.length} {m(o.path)}",
        ops.Setxattr: lambda o: (
            f"setfattr -n {_q(o.name)}{_xattr_value(o.value)} {m(o.path)}"
        ),
        ops.Removexattr: lambda o: f"setfattr -x {_q(o.name)} {m(o.path)}",
        ops.Statfs: lambda o: f"stat -f -c 'type=%T namelen=%l' {m(o.path)}",
        # (a volatile mount's marker refuses the next mount; after a clean umount it may go)
        ops.Remount: lambda o: ('umount "$M" && rm -rf "$T/w/work/incompat/volatile" && '
                                'mount -t overlay overlay -o "$OPTS" "$M"'),
        # (ovlfuse run by hand crashes there with OVLFUSE_CRASH_AT=N in its environment)
        ops.ArmCrash: lambda o: ('umount "$M" && mount -t overlay overlay -o "$OPTS" "$M"'),
        ops.RemountRo: lambda o: 'mount -o remount,ro "$M"',
        ops.RemountRw: lambda o: 'mount -o remount,rw "$M"',
    }
    if isinstance(op, ops.LayerChange):  # on the layer's own directory, behind the mount
        layer = '"$T/u"' if op.layer == 0 else f'"$T/l{op.layer - 1}"'
        at = f"{layer}{_q(op.path)}"
        return {
            "remove": f"rm -rf {at}",
            "create": f"printf 'online\\n' > {at}",
            "mkdir": f"mkdir -m 755 {at}",
            "rename": f"mv -T --no-clobber {at} {layer}{_q(op.new)}",
        }[op.action]
    if isinstance(op, ops.Rename):  # renameat2 itself: mv would copy where it gives EXDEV
        return (
            f"{su}python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); "
            f"r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),{op.flags}); "
            f'print("ok" if r==0 else ctypes.get_errno())\' {m(op.old)} {m(op.new)}'
        )
    fn = simple.get(type(op))
    if fn is None:
        return f"# {op!r}: needs an open handle or a syscall the shell lacks; see repro.py"
    return su + fn(op)


def _xattr_value(value: bytes) -> str:
    """setfattr's ``-v`` for ``value`` in hex; none for an empty value (``-v 0x`` is refused,
    and ``0x00`` would be one NUL byte: an empty metacopy xattr read as a broken one)."""
    return f" -v 0x{value.hex()}" if value else ""


def render_repro_sh(record: ExampleRecord, rc: RunConfig) -> str:
    nl, nd = len(record.spec.lowers), len(record.spec.data)
    opts = ["lowerdir=" + ":".join(f"$T/l{i}" for i in range(nl))
            + "".join(f"::$T/d{i}" for i in range(nd))]  # fmt: skip
    layer_dirs = " ".join([*(f"$T/l{i}" for i in range(nl)), *(f"$T/d{i}" for i in range(nd))])
    if record.spec.upper is not None:
        opts += ["upperdir=$T/u", "workdir=$T/w"]
    opts += rc.config.mount_options()
    if record.spec.upper is None:
        opts.append("ro")
    lines = [
        "#!/bin/bash",
        "# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.",
        f"# Config: {rc.describe()}",
        "set -u",
        "T=$(mktemp -d /tmp/ovl-repro.XXXXXX)",
        'mount -t tmpfs tmpfs "$T"',
        'M="$T/m"',
        'cleanup() { umount "$M" 2>/dev/null; umount "$T"; rmdir "$T"; }',
        "trap cleanup EXIT",
        f'mkdir "$M" {layer_dirs}'
        + (' "$T/u" "$T/w"' if record.spec.upper is not None else ""),
    ]
    for i, layer in enumerate(record.spec.lowers):
        lines += _layer_sh(f"$T/l{i}", layer)
    for i, layer in enumerate(record.spec.data):
        lines += _layer_sh(f"$T/d{i}", layer)
    if record.spec.upper is not None:
        lines += _layer_sh("$T/u", record.spec.upper)
    lines += [f'OPTS="{",".join(opts)}"', 'mount -t overlay overlay -o "$OPTS" "$M"', ""]
    for i, s in enumerate(record.steps, 1):
        exp = str(s.outcomes.get("model", ""))
        got = {k: str(v) for k, v in s.outcomes.items() if k != "model"}
        lines.append(
            "echo " + shlex.quote(f"--- step {i}: {s.op!r}  (model: {exp}; recorded: {got})")
        )
        cmd = _op_sh(s.op)
        if cmd.startswith("#"):  # nothing the shell can run
            lines.append(cmd)
            continue
        if not isinstance(s.op, ops.Remount | ops.RemountRo | ops.RemountRw):
            cmd = f'(cd "$M" && {cmd})'
        lines.append(f'{cmd} || echo "failed: $?"')
    lines += [
        "",
        "echo '--- upper layer'",
        'find "$T/u" -printf "%y %m %U:%G %s %p\\n" 2>/dev/null | sort',
        'getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null',
    ]
    return "\n".join(lines) + "\n"
