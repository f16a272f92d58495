"""Results and states as *facts*: short words that pages show and expectations match.

A fact is one word such as ``file``, ``nlink=1``, ``data=new``, ``opaque=y``, ``origin`` or
``ino=#2``.  Every rendered result, merged-view entry and upper-layer entry has a tuple of
facts and a display text built from them; :func:`match` checks a hand-written expectation
(see :class:`difftest.docs.schema.Expect`) against the facts.

Inode numbers are shown as labels ``#1``, ``#2``... handed out in order of first sight
(initial state in path order, then each step), so that "the same inode" and "a new inode"
read the same on every target (tolerance ``inode-numbers``: numbers are never compared).
"""

from __future__ import annotations

import errno as errno_mod
import os
import stat as stat_mod
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from difftest import ops
from difftest.observe import MergedEntry
from model.errors import OvlError
from model.types import DirEntry, Stat, StatFs, UpperEntry

KIND_WORDS = {
    "reg": "file",
    "dir": "dir",
    "lnk": "symlink",
    "chr": "chr",
    "blk": "blk",
    "fifo": "fifo",
    "sock": "sock",
    "whiteout": "whiteout",
}
DEFAULT_MODE = {"file": 0o644, "dir": 0o755, "symlink": 0o777, "whiteout": 0}
PREVIEW = 48  # bytes of file data shown


@dataclass(frozen=True)
class Shown:
    """One rendered result: what the page prints and the facts expectations match."""

    text: str
    facts: tuple[str, ...]
    error: bool = False


class InodeLabels:
    """``#1``, ``#2``... for raw inode numbers, in order of first sight."""

    def __init__(self) -> None:
        self.by_ino: dict[int, str] = {}

    def of(self, ino: int) -> str:
        if ino not in self.by_ino:
            self.by_ino[ino] = f"#{len(self.by_ino) + 1}"
        return self.by_ino[ino]


# ---- small spellings ----------------------------------------------------------------------


def name_of(name: bytes) -> str:
    """A path component for a drawing: ``a×150`` for a long run of one byte."""
    if len(name) > 40 and len(set(name)) == 1 and 32 < name[0] < 127:
        return f"{chr(name[0])}×{len(name)}"
    return text_of(name)


def text_of(data: bytes) -> str:
    """File data or an xattr value as a reader would type it: ``new`` or ``0x00ff``."""
    if all(32 < c < 127 for c in data):
        return data.decode()
    return "0x" + data.hex()


def quoted(data: bytes, full_size: int | None = None, *, hole_after: bool = False) -> str:
    """``"new"`` for display; ``"abc…" (5 GiB)`` for a longer file; ``"head", then zeros
    (5 GiB)`` for data followed by zeros (``hole_after``: ``data`` is all the data there
    is, as in a layer entry)."""
    size = len(data) if full_size is None else full_size
    shown = data[:PREVIEW]
    head = shown.rstrip(b"\0")
    zeros = (len(head) < len(shown) and (size > len(data) or len(data) == len(shown))) or (
        hole_after and size > len(data)
    )
    if zeros and all(32 <= c < 127 for c in head):
        return f'"{head.decode()}", then zeros ({human_size(size)})'
    body = shown.decode() if all(32 <= c < 127 for c in shown) else "0x" + shown.hex()
    out = f'"{body}"' if not body.startswith("0x") else body
    if size > len(shown):
        out = f"{out[:-1]}…{out[-1]}" if out.endswith('"') else out + "…"
        out += f" ({human_size(size)})"
    return out


def human_size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << (shift - 4)) == 0:
            v = n / (1 << shift)
            return f"{v:g} {unit}"
    return f"{n} bytes"


def errno_names(errnos: Iterable[int]) -> list[str]:
    return sorted(errno_mod.errorcode.get(e, str(e)) for e in errnos)


def xattr_word(name: bytes, value: bytes) -> str:
    return f"{text_of(name)}={text_of(value)}"


# ---- results ------------------------------------------------------------------------------


def show_error(exc: BaseException) -> Shown:
    """An error result: the errno, or for the model every errno the kernel may pick."""
    if isinstance(exc, OvlError):
        names = errno_names(exc.allowed)
    elif isinstance(exc, OSError) and exc.errno is not None:
        names = errno_names([exc.errno])
    else:
        raise exc
    return Shown(" or ".join(names), tuple(names), error=True)


FSID_WORDS = {"uuid": "from the overlay's uuid", "zero": "0",
              "layer": "of the layer's filesystem"}  # StatFs.fsid, for people


def _stat_facts(st: Stat, labels: InodeLabels) -> list[str]:
    kind = KIND_WORDS.get(_kind_of_mode(st.mode), "?")
    facts = [kind, f"mode={stat_mod.S_IMODE(st.mode):04o}", f"uid={st.uid}", f"gid={st.gid}"]
    if kind != "dir":
        facts.append(f"size={st.size}")
    facts.append(f"nlink={st.nlink}")
    if kind in ("chr", "blk"):
        facts.append(f"rdev={os.major(st.rdev)}:{os.minor(st.rdev)}")
    facts.append(f"ino={labels.of(st.ino)}")
    return facts


def _kind_of_mode(mode: int) -> str:
    return {
        stat_mod.S_IFDIR: "dir",
        stat_mod.S_IFREG: "reg",
        stat_mod.S_IFLNK: "lnk",
        stat_mod.S_IFCHR: "chr",
        stat_mod.S_IFBLK: "blk",
        stat_mod.S_IFIFO: "fifo",
        stat_mod.S_IFSOCK: "sock",
    }.get(stat_mod.S_IFMT(mode), "?")


def _stat_text(facts: list[str], show_inodes: bool) -> str:
    d = dict(f.split("=", 1) for f in facts if "=" in f)
    parts = [f"{facts[0]} {d['mode']}"]
    if d["uid"] != "0" or d["gid"] != "0":
        parts.append(f"owner {d['uid']}:{d['gid']}")
    if "size" in d:
        parts.append(f"size {d['size']}")
    parts.append(f"nlink {d['nlink']}")
    if "rdev" in d:
        parts.append(f"rdev {d['rdev']}")
    if show_inodes:
        parts.append(f"inode {d['ino']}")
    return ", ".join(parts)


def _names(entries: Iterable[Any]) -> list[str]:
    out = []
    for e in entries:
        if not isinstance(e, DirEntry):
            continue
        name = text_of(e.name)
        if e.d_type == stat_mod.S_IFDIR >> 12 and e.name not in (b".", b".."):
            name += "/"
        out.append(name)
    return sorted(out)


def show_value(op: ops.Op, value: Any, labels: InodeLabels, show_inodes: bool) -> Shown:
    """A successful result, as the page shows it."""
    if isinstance(value, Stat):
        facts = _stat_facts(value, labels)
        return Shown(_stat_text(facts, show_inodes), tuple(facts))
    if isinstance(op, ops.Readdir | ops.Getdents):
        names = _names(value)
        return Shown(" ".join(names) if names else "(nothing)", tuple(names))
    if isinstance(value, StatFs):
        fs_facts = (
            f"f_type={value.f_type:#x}",
            f"namelen={value.namelen}",
            "ro" if value.readonly else "rw",
            f"fsid={value.fsid}",
        )
        text = f"f_type {value.f_type:#x}, namelen {value.namelen}" + (
            ", read-only" if value.readonly else ""
        ) + f", fsid {FSID_WORDS.get(value.fsid, value.fsid)}"
        return Shown(text, fs_facts)
    if isinstance(op, ops.Listxattr):
        names = sorted(text_of(n) for n in value)
        return Shown(" ".join(names) if names else "(none)", tuple(names))
    if isinstance(op, ops.Open):
        return Shown(f"fd{value}", (f"fd{value}",))
    if isinstance(value, bytes):
        return Shown(quoted(value), (text_of(value), f"data={text_of(value)}"))
    if value is None:
        return Shown("ok", ("ok",))
    if isinstance(op, ops.Remount):  # what the umount left in work/incompat/
        left = [f"incompat/{n}" for n in value]
        return Shown("ok, left " + " ".join(left), ("ok", *left))
    return Shown(str(value), (str(value),))


# ---- state --------------------------------------------------------------------------------


def merged_facts(e: MergedEntry, data: bytes | None, label: str) -> tuple[str, ...]:
    """Facts of one merged-view entry (as root sees it)."""
    if e.kind.startswith("unresolvable"):
        err = int(e.kind.split(":")[1])
        return ("unresolvable", *errno_names([err]))
    kind = KIND_WORDS.get(e.kind, e.kind)
    facts = [kind, f"mode={e.mode:04o}", f"uid={e.uid}", f"gid={e.gid}", f"nlink={e.nlink}"]
    if kind != "dir":
        facts.append(f"size={e.size}")
    if data is not None:
        facts.append(f"data={text_of(data)}" if len(data) == e.size else "data=…")
    if kind == "symlink":
        facts.append(f"target={text_of(bytes.fromhex(e.content))}")
    if kind in ("chr", "blk"):
        facts.append(f"rdev={os.major(e.rdev)}:{os.minor(e.rdev)}")
    facts += [xattr_word(k, v) for k, v in e.xattrs]
    facts.append(f"ino={label}")
    return tuple(facts)


def upper_facts(e: UpperEntry, data: bytes | None) -> tuple[str, ...]:
    """Facts of one upper-layer entry as it sits on disk (overlay xattrs by short name)."""
    kind = KIND_WORDS.get(e.kind, e.kind)
    if kind == "whiteout":
        return ("whiteout",)
    facts = [kind, f"mode={e.mode:04o}", f"uid={e.uid}", f"gid={e.gid}"]
    if kind == "file":
        facts.append(f"size={e.size}")
        if data is not None:
            facts.append(f"data={text_of(data)}" if len(data) == e.size else "data=…")
    if kind == "symlink":
        facts.append(f"target={text_of(bytes.fromhex(e.digest))}")
    if e.opaque is not None:
        facts.append(f"opaque={text_of(e.opaque)}")
    if e.redirect is not None:
        facts.append(f"redirect={text_of(e.redirect)}")
    if e.origin:
        facts.append("origin")
    if e.impure:
        facts.append("impure")
    if e.metacopy:
        facts.append("metacopy")
    if e.uuid:
        facts.append("uuid" if e.uuid == "uuid" else f"uuid={e.uuid}")
    facts += [xattr_word(k, v) for k, v in e.xattrs]
    return tuple(facts)


def describe(
    facts: tuple[str, ...],
    data: bytes | None = None,
    *,
    show_inodes: bool = False,
    size: int | None = None,
) -> str:
    """The annotation a tree drawing prints next to a name."""
    if not facts:
        return ""
    kind = facts[0]
    if kind == "whiteout":
        return "whiteout (char device 0:0)"
    if kind == "unresolvable":
        return f"listed by readdir, lookup gives {facts[1]}"
    d: dict[str, str] = {}
    flags: list[str] = []
    extra: list[str] = []
    for f in facts[1:]:
        key, eq, value = f.partition("=")
        if not eq:
            flags.append(f)
        elif key in ("mode", "uid", "gid", "nlink", "size", "data", "target", "rdev", "ino"):
            d[key] = value
        else:
            extra.append(f)
    parts: list[str] = []
    head = "" if kind == "dir" else kind  # a directory's name ends in "/" in the drawing
    if kind == "file" and data is not None:
        head = f"file {quoted(data, size)}"
    elif kind == "symlink":
        head = f"symlink → {d.get('target', '')}"
    elif kind in ("chr", "blk"):
        head = f"{'char' if kind == 'chr' else 'block'} device {d.get('rdev', '')}"
    if head:
        parts.append(head)
    mode = d.get("mode")
    if mode is not None and int(mode, 8) != DEFAULT_MODE.get(kind, 0o644) and kind != "symlink":
        parts.append(f"mode {mode}")
    if d.get("uid", "0") != "0" or d.get("gid", "0") != "0":
        parts.append(f"owner {d.get('uid')}:{d.get('gid')}")
    if kind == "file" and data is None and "size" in d:
        parts.append(f"size {d['size']}")
    nlink = d.get("nlink")
    if nlink is not None and (show_inodes or (kind != "dir" and nlink != "1")):
        parts.append(f"nlink {nlink}")
    if show_inodes and "ino" in d:
        parts.append(f"inode {d['ino']}")
    own = [f for f in extra if f.split("=", 1)[0] in ("opaque", "redirect")]
    parts += own + flags + [f for f in extra if f not in own]
    return ", ".join(parts)


# ---- matching -----------------------------------------------------------------------------


def match(expected: str, facts: Collection[str]) -> list[str]:
    """Problems with ``facts`` against an expectation's words (empty when it holds)."""
    problems = []
    for word in expected.split():
        if word.startswith("-") and len(word) > 1:
            bad = word[1:]
            hit = [f for f in facts if f == bad or f.startswith(bad + "=")]
            if hit:
                problems.append(f"{bad!r} must not hold, but {hit[0]!r} does")
        elif word not in facts:
            problems.append(f"{word!r} does not hold")
    return problems


def match_result(op: ops.Op, expected: str, shown: Shown) -> list[str]:
    """An expected result: the exact text, ``*``, or (except for listings) fact words."""
    if expected in ("*", shown.text):
        return []
    if isinstance(op, ops.Readdir | ops.Getdents):
        # The listing must be exact; "d_ino=st_ino" may be added as a fact to check.
        words = expected.split()
        names = [w for w in words if not w.startswith("d_ino")]
        got = [f for f in shown.facts if not f.startswith("d_ino")]
        if names == ["(nothing)"]:
            names = []
        ok = names == got and all(w in shown.facts for w in words if w.startswith("d_ino"))
        return [] if ok else [f"expected {expected!r}, got {shown.text!r}"]
    problems = match(expected, shown.facts)
    return [f"expected {expected!r}, got {shown.text!r}"] if problems else []
