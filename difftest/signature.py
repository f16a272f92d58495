"""Signatures: what makes two divergences the same bug.

A divergence carries *keys*.  A key names what differs and where, and leaves out what only
this example has (paths, names, data, inode numbers):

* a result (errno or value) that differs: ``result|Op|variant|path classes|expected|actual``,
  where the variant is what selects a code path among calls of one syscall (open and rename
  flags, the xattr namespace, special mode bits, an unprivileged caller), a path class is
  the kind of object, the layers that hold its name and its name's class (see
  :func:`path_class`), and a value difference is classed by field (``mode^0o200``,
  ``nlink<``, ``+names(chr)``);
* a state that differs, one key per difference: ``state|family|area|path class|field|how``,
  where the family groups operations (:data:`FAMILIES`) and says whether the model copied
  the operation's path up at this step; a value that is the model's previous one is
  ``field:stale``, keyed by the object's kind alone;
* a target that failed: ``failed|Op|exception type|errno``.

A divergence's signature is its target and its primary key
(:func:`difftest.divergence.primary_key`).  The runner makes each signature an exception
type of its own, which is how Hypothesis tells bugs apart: a shrink keeps the signature, so
it cannot slip from a deep divergence to a shallow one.  Survey mode sets aside keys already
reported (:class:`Known`); the replay pass of :mod:`difftest.minimise` keeps the signature
while it removes steps and entries.
"""

from __future__ import annotations

import errno as errno_mod
import os
import stat as stat_mod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from difftest import ops
from difftest.divergence import ExampleRecord
from difftest.observe import Difference, Observation
from difftest.outcome import Kind, Outcome
from model.namei import syscall_length
from model.spec import PRIVATE_PREFIX, LayersSpec
from model.types import NAME_MAX, PATH_MAX


def lower_names(spec: LayersSpec) -> frozenset[bytes]:
    """The overlay paths that some lower layer holds (lower layers never change)."""
    return frozenset(b"/" + e.path.strip(b"/") for layer in spec.lowers for e in layer)


def name_class(path: bytes) -> str:
    """What is special about the last component where implementations are known to treat
    it specially: the aufs ``.wh.`` prefix, a name past NAME_MAX (255 bytes), a path within
    one name of PATH_MAX.  Long names
    within the limit and names that are not UTF-8 are ordinary names to every overlay seen
    so far; telling them apart split one bug into many."""
    name = path.rpartition(b"/")[2]
    if name.startswith(b".wh."):
        return "wh"
    if len(name) > 255:
        return "toolong"
    if syscall_length(path) >= PATH_MAX - NAME_MAX:
        return "deep"  # within one name of PATH_MAX: where paths of an overlay's own overflow
    return ""


def path_class(path: bytes, obs: Observation | None, lowers: frozenset[bytes],
               kind: str | None = None) -> str:
    """``kind@layers[+hl][.name-class]`` of ``path`` as the model's ``obs`` shows it:
    the object's kind (``absent`` when the merged view lacks it), which layers hold the name
    (``upper``, ``lower``, ``upper+lower``, ``none``; ``whiteout`` for a hidden name), ``+hl``
    for a non-directory with several links, and :func:`name_class`.  The root is ``root``."""
    if path == b"/":
        return "root"
    entry = obs.merged.get(path) if obs is not None else None
    k = entry.kind if entry is not None else (kind or "absent")
    if k.startswith("unresolvable"):
        k = "unresolvable"
    up = obs.upper.get(path) if obs is not None and obs.upper is not None else None
    if up is not None and up.kind == "whiteout":
        where = "whiteout"
    else:
        where = "+".join(w for w, there in (("upper", up is not None), ("lower", path in lowers))
                         if there) or "none"  # fmt: skip
    hl = "+hl" if entry is not None and k not in ("dir", "absent") and entry.nlink > 1 else ""
    nc = name_class(path)
    return f"{k}@{where}{hl}" + (f".{nc}" if nc else "")


# ---- values ---------------------------------------------------------------------------------


def _xattr_class(e: Iterable[tuple[bytes, bytes]], a: Iterable[tuple[bytes, bytes]]) -> str:
    de, da = dict(e), dict(a)
    plus = sorted(n for n in da if n not in de)
    minus = sorted(n for n in de if n not in da)
    changed = sorted(n for n in de if n in da and de[n] != da[n])
    parts = [f"+{_xname(n)}" for n in plus] + [f"-{_xname(n)}" for n in minus]
    return ",".join(parts + [f"~{_xname(n)}" for n in changed])


def _xname(name: bytes) -> str:
    """An xattr name as a key shows it: private names in full, others by namespace."""
    if name.startswith(PRIVATE_PREFIX) or name.startswith(b"user.overlay."):
        return name.decode(errors="replace")
    return name.partition(b".")[0].decode(errors="replace") + ".*"


def _order(e: Any, a: Any) -> str:
    try:
        return "<" if a < e else ">"
    except TypeError:
        return "~"


def field_class(name: str, e: Any, a: Any) -> str:
    """How one field differs, without this example's own values where they vary."""
    if name == "mode" and isinstance(e, int) and isinstance(a, int):
        return f"mode^{e ^ a:#o}"
    if name in ("size", "nlink"):
        return f"{name}{_order(e, a)}" + ("" if name != "nlink" or e != 1 else "(from 1)")
    if name in ("content", "digest"):
        return "content"
    if name in ("xattrs", "user_xattrs"):
        return f"xattrs[{_xattr_class(e, a)}]"
    if name == "redirect":
        return f"redirect[{'set' if e else 'none'}->{'set' if a else 'none'}]"
    if name in ("kind", "uid", "gid", "opaque", "origin", "impure", "rdev"):
        return f"{name}:{_short(e)}->{_short(a)}"
    return name


def _short(v: Any) -> str:
    if isinstance(v, bytes):
        return repr(v) if len(v) <= 8 else "bytes"
    return str(v)


def _errnos(o: Outcome) -> str:
    return "|".join(sorted(errno_mod.errorcode.get(e, str(e)) for e in o.errnos))


def _entry_class(name: bytes, d_type: Any) -> str:
    return f"{name_class(b'/' + name) or 'name'}:{d_type}"


_STAT_FIELDS = ("mode", "uid", "gid", "size", "nlink", "rdev")


def value_class(syscall: str, e: Any, a: Any) -> str:
    """How two normalised values of one syscall differ (``+``/``-``: only in actual/expected)."""
    if syscall in ("readdir", "getdents") and isinstance(e, tuple) and isinstance(a, tuple):
        de, da = dict(e), dict(a)
        plus = sorted({_entry_class(n, t) for n, t in da.items() if n not in de})
        minus = sorted({_entry_class(n, t) for n, t in de.items() if n not in da})
        types = sorted({f"type:{de[n]}->{da[n]}" for n in de if n in da and de[n] != da[n]})
        return ",".join([*(f"+{x}" for x in plus), *(f"-{x}" for x in minus), *types])
    if syscall == "listxattr" and isinstance(e, tuple) and isinstance(a, tuple):
        return _xattr_class(((n, b"") for n in e), ((n, b"") for n in a))
    if syscall in ("stat", "lstat", "fstat") and isinstance(e, tuple) and isinstance(a, tuple):
        out = []
        for i, (x, y) in enumerate(zip(e, a, strict=False)):
            if x != y:
                name = _STAT_FIELDS[i] if i < len(_STAT_FIELDS) else str(i)
                if name == "mode":  # stat.filemode strings
                    out.append(f"mode:{x}->{y}")
                else:
                    out.append(field_class(name, x, y))
        return ",".join(out)
    if syscall == "statfs" and isinstance(e, tuple) and isinstance(a, tuple):
        return ",".join(f"statfs{i}:{x}->{y}" for i, (x, y) in enumerate(zip(e, a, strict=False))
                        if x != y)  # fmt: skip  # (f_type, namelen, readonly, fsid): few values
    if isinstance(e, bytes) or isinstance(a, bytes):
        return "data"
    if isinstance(e, int) and isinstance(a, int):
        return f"int{_order(e, a)}"
    return "value"


# ---- keys -----------------------------------------------------------------------------------


OPEN_CLASSES = ((os.O_CREAT, "creat"), (os.O_TRUNC, "trunc"), (os.O_DIRECTORY, "dir"),
                (os.O_APPEND, "append"), (os.O_NOFOLLOW, "nofollow"))


def variant(op: ops.Op) -> str:
    """What selects a code path among calls of one syscall: an unprivileged caller, open's
    access mode and the flags that change what open does, rename's and setxattr's flags,
    the xattr namespace, the file type mknod makes, special mode bits; not data, sizes or
    offsets (those pick values, not code paths)."""
    parts = []
    if getattr(op, "uid", 0):
        parts.append("unpriv")
    flags = getattr(op, "flags", None)
    if isinstance(op, ops.Open):
        acc = op.flags & os.O_ACCMODE
        parts.append("rdonly" if acc == os.O_RDONLY else "write")
        parts += [name for bit, name in OPEN_CLASSES if op.flags & bit]
    elif isinstance(flags, int) and flags:
        parts.append(f"flags={flags}")
    name = getattr(op, "name", None)
    if isinstance(name, bytes):
        parts.append(_xname(name))
    mode = getattr(op, "mode", None)
    if isinstance(mode, int) and not isinstance(op, ops.Open):
        if stat_mod.S_IFMT(mode):
            parts.append(stat_mod.filemode(mode)[0])
        if mode & 0o7000:
            parts.append("special")
    return ",".join(parts)


def object_class(path: bytes, obs: Observation | None) -> str:
    """What a result key says of a path: the kind of object there (``absent``, ``root``),
    and the class of its name."""
    if path == b"/":
        return "root"
    entry = obs.merged.get(path) if obs is not None else None
    k = entry.kind if entry is not None else "absent"
    nc = name_class(path)
    return ("unresolvable" if k.startswith("unresolvable") else k) + (f".{nc}" if nc else "")


# Errors of the path walk, decided before the call itself: one key whatever the call.
WALK_ERRORS = frozenset({errno_mod.ENAMETOOLONG, errno_mod.ELOOP})


@dataclass
class Context:
    """What a key is computed against: the model's view before the step (for an op's paths)
    and after it (for state differences), the lower layers' names, open handles' paths."""

    lowers: frozenset[bytes]
    before: Observation | None = None
    after: Observation | None = None
    handle_paths: dict[int, bytes] = field(default_factory=dict)


def op_name(op: ops.Op | None) -> str:
    return type(op).__name__ if op is not None else "initial"


# A state difference is keyed by the family of the step's operation, not its name: one
# wrong copy-up shows after chmod, chown, utimens, setxattr and truncate alike.
FAMILIES: dict[type[ops.Op], str] = {
    **{c: "look" for c in (ops.Lstat, ops.Stat, ops.Readdir, ops.Readlink, ops.Getxattr,
                           ops.Listxattr, ops.Statfs)},
    **{c: "attr" for c in (ops.Chmod, ops.Chown, ops.Utimens, ops.Setxattr, ops.Removexattr,
                           ops.Truncate)},
    **{c: "create" for c in (ops.Mkdir, ops.Mknod, ops.Symlink)},
    ops.Open: "open", ops.Link: "link", ops.Rename: "rename", ops.Remount: "remount",
    ops.ArmCrash: "remount", ops.RemountRo: "remount", ops.RemountRw: "remount",
    ops.Unlink: "remove", ops.Rmdir: "remove", ops.LayerChange: "online",
}


def op_family(op: ops.Op | None) -> str:
    """``initial``, ``look``, ``attr``, ``create``, ``open``, ``link``, ``rename``,
    ``remove``, ``remount``, or ``handle`` for calls through an open handle."""
    if op is None:
        return "initial"
    if op.uses_handle:
        return "handle"
    return FAMILIES.get(type(op), type(op).__name__)


def copied_up(op: ops.Op | None, ctx: Context) -> bool:
    """Whether the model copied one of ``op``'s paths up at this step (the step's own
    effect, as the model shows it, is part of where a state difference comes from)."""
    b, a = ctx.before, ctx.after
    if op is None or b is None or a is None or b.upper is None or a.upper is None:
        return False
    return any(p in ctx.lowers and p not in b.upper and p in a.upper for p in _op_paths(op, ctx))


def _op_paths(op: ops.Op, ctx: Context) -> tuple[bytes, ...]:
    if op.uses_handle:
        p = ctx.handle_paths.get(getattr(op, "h", -1))
        return (p,) if p is not None else ()
    return op.paths()


def result_key(kind: Kind, op: ops.Op, expected: Outcome, actual: Outcome, ctx: Context) -> str:
    """``result|Op|variant|object classes|expected|actual`` (see the module docstring)."""
    classes = "/".join(object_class(p, ctx.before) for p in _op_paths(op, ctx))
    if kind is Kind.VALUE_DIFFERS:
        how = value_class(op.syscall, expected.value, actual.value)
        return f"result|{op_name(op)}|{variant(op)}|{classes}|value|{how}"
    exp = _errnos(expected) if expected.is_error else "value"
    act = _errnos(actual) if actual.is_error else "value"
    if expected.errnos and expected.errnos <= WALK_ERRORS:
        return f"result|path-walk||{classes.split('/')[-1]}|{exp}|{act}"
    return f"result|{op_name(op)}|{variant(op)}|{classes}|{exp}|{act}"


def state_key(op: ops.Op | None, d: Difference, ctx: Context, label: str | None = None) -> str:
    """The key of one state difference after ``op`` (``label`` instead of the operation's
    name for checks that follow no operation, such as the kernel's view of FUSE layers)."""
    pc = path_class(d.path, ctx.after, ctx.lowers, d.kind or None)
    if d.note == "stale":
        # a change that did not reach this answer: where the object lives is beside the
        # point (one missed invalidation shows in every layer and under every name)
        pc = pc.split("@")[0]
    if d.area == "upper":  # the upper entry itself says what it is
        nc = name_class(d.path)
        pc = f"{d.kind}@upper" + (f".{nc}" if nc else "")
    if d.field in ("extra", "missing"):
        what = d.actual if d.field == "extra" else d.expected
        how = f"{d.field}:{d.kind or getattr(what, 'kind', '?')}"
    elif d.field == "errno":
        how = f"errno:{d.expected}->{d.actual}"
    elif d.area in ("ino-changed", "mtime-changed"):
        how = "changed-only-in-actual" if d.actual else "unchanged-only-in-actual"
    elif d.note == "stale":
        how = f"{d.field}:stale"
    elif d.area == "dev":
        how = "dev:" + {(True, True): "regrouped", (True, False): "overlay->layer",
                        (False, True): "layer->overlay", (False, False): "regrouped"}[
                            (bool(d.expected), bool(d.actual))]
    elif d.area == "identity":
        how = "more-aliases" if len(d.actual) > len(d.expected) else "fewer-aliases"
    else:
        how = field_class(d.field, d.expected, d.actual)
    return f"state|{label or _step_class(op, d.path, ctx)}|{d.area}|{pc}|{how}"


def _step_class(op: ops.Op | None, path: bytes, ctx: Context) -> str:
    """What a state key says of the step: the operation's family (and whether the model
    copied its path up) where the difference is at a path the operation named or beneath
    one; ``*`` elsewhere and in the starting layers, where the difference is rarely the
    step's own doing (a target that reads merged directories wrongly shows it after every
    kind of step that makes one)."""
    if op is None or d_path_unrelated(op, path, ctx):
        return "*"
    return op_family(op) + ("+copy_up" if copied_up(op, ctx) else "")


def d_path_unrelated(op: ops.Op, path: bytes, ctx: Context) -> bool:
    """Whether ``op`` names paths and ``path`` is neither one of them nor beneath one (a
    step that names no path, a remount, is the whole mount's)."""
    paths = _op_paths(op, ctx)
    return bool(paths) and not any(path == p or path.startswith(p.rstrip(b"/") + b"/")
                                   for p in paths)  # fmt: skip


def failure_key(op: ops.Op | None, exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    err = errno_mod.errorcode.get(code, str(code)) if isinstance(code, int) else ""
    return f"failed|{op_name(op)}|{type(exc).__name__}|{err}"


SPECIAL_NAMES = ("wh", "toolong", "deep")  # name classes implementations treat specially


def _special(classes: str) -> str:
    """`` on .wh. names`` etc. when an object class of a key has a special name class."""
    found = sorted({c.rsplit(".", 1)[-1] for c in classes.split("/") if "." in c}
                   & set(SPECIAL_NAMES))  # fmt: skip
    return f" on {', '.join('.' + f for f in found)} names" if found else ""


def group_of(key: str) -> str:
    """The probable cause a key belongs to, for the survey summary: what differs (the
    observable and its field, or the errno pair) and whether the object had a name that
    implementations treat specially, without the operation or the rest of the path class:
    one missing check shows through many operations and kinds of object."""
    parts = key.split("|")
    if parts[0] == "state" and len(parts) >= 5:
        how = parts[4].split("[")[0].split("^")[0]
        return f"state: {parts[2]} {how}{_special(parts[3])}"
    if parts[0] == "result" and len(parts) >= 6:
        return f"result: {parts[4]} -> {parts[5]}{_special(parts[3])}"
    return parts[0] + (f": {parts[2]}" if len(parts) > 2 else "")


# ---- survey mode: what is known -------------------------------------------------------------


@dataclass
class Known:
    """The keys of the divergences a survey has reported so far."""

    records: list[ExampleRecord] = field(default_factory=list)
    keys: set[tuple[str, str]] = field(default_factory=set)  # (target, key)

    def add(self, record: ExampleRecord) -> None:
        """Every key of ``record``'s divergence becomes known, its secondary ones too."""
        assert record.divergence is not None
        self.records.append(record)
        d = record.divergence
        self.keys |= {(d.target, k) for k in d.keys} | {d.signature}

    def is_known(self, target: str, key: str) -> bool:
        return (target, key) in self.keys
