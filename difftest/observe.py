"""The full observable state of an overlay, taken the same way on every target.

The merged view is walked through the :class:`~difftest.syscalls.Syscalls` surface itself
(lstat, readdir, readlink, listxattr/getxattr, content digests), so one walker serves the
model, the kernel and FUSE targets alike.  The upper layer is each target's own dump of what
sits on disk.  Identity is compared as equivalence classes of paths, and its stability and
mtime changes relative to the previous observation.
"""

from __future__ import annotations

import dataclasses
import errno
import stat as stat_mod
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from difftest.syscalls import Syscalls
from difftest.tolerances import normalise_upper_entry, tolerated, untracked_uuid
from model.errors import OvlError
from model.types import UpperEntry

MAX_WALK = 400  # objects; deeper trees are cut (and the cut is visible in both views)


@dataclass(frozen=True)
class MergedEntry:
    """What the merged view shows of one path (as root)."""

    kind: str
    mode: int
    uid: int
    gid: int
    size: int
    nlink: int
    rdev: int
    content: str
    xattrs: tuple[tuple[bytes, bytes], ...]


def unresolvable(err: int) -> MergedEntry:
    """A name the listing shows and lookup does not resolve (or no call can name)."""
    return MergedEntry(f"unresolvable:{err}", 0, 0, 0, 0, 0, 0, "", ())


# A path too long for any call to give (model.namei.too_long): its object is not looked at.
UNRESOLVABLE_TOO_LONG = unresolvable(errno.ENAMETOOLONG)


def unreadable(err: int) -> str:
    """The content of a regular file that lookup finds and open refuses (a metacopy file
    whose data fails verity: EIO): the errno instead of a digest."""
    return f"unreadable:{err}"


@dataclass
class Observation:
    """What one walk saw: the merged view, each path's st_ino, st_mtime (non-directories)
    and st_dev, and the upper layer on disk.  ``ino_either``: paths whose st_ino the target
    may renumber at any step (the model says which: directories on layers that span several
    filesystems, catalogue §3), so only their identity is compared, not its stability."""

    merged: dict[bytes, MergedEntry]
    ino: dict[bytes, int]
    mtime: dict[bytes, int]
    upper: dict[bytes, UpperEntry] | None
    dev: dict[bytes, int] = field(default_factory=dict)
    ino_either: frozenset[bytes] = frozenset()

    # what identity_classes and dev_classes computed (an observation is not changed once made)
    _classes: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def identity_classes(self) -> frozenset[frozenset[bytes]]:
        """Paths that name one object (by st_dev and st_ino), for each object with several.
        Two objects with the same pair are one to ``find``, ``du`` and ``rsync``."""
        got = self._classes.get("identity")
        if got is None:
            got = self._classes["identity"] = self._identity_classes()
        return got

    def _identity_classes(self) -> frozenset[frozenset[bytes]]:
        dev = self.dev
        keys = {p: (dev.get(p, 0), i) for p, i in self.ino.items()}
        if len(set(keys.values())) == len(keys):
            return frozenset()  # the usual case: no aliases
        groups: dict[tuple[int, int], set[bytes]] = defaultdict(set)
        for path, key in keys.items():
            groups[key].add(path)
        return frozenset(frozenset(g) for g in groups.values() if len(g) > 1)

    def dev_classes(self) -> dict[bytes, tuple[bool, frozenset[bytes]]]:
        """Each path's device as a class: whether it is the root's device (the overlay's
        own), and the paths that share it."""
        got = self._classes.get("dev")
        if got is None:
            got = self._classes["dev"] = self._dev_classes()
        return got

    def _dev_classes(self) -> dict[bytes, tuple[bool, frozenset[bytes]]]:
        groups: dict[int, set[bytes]] = defaultdict(set)
        for p, d in self.dev.items():
            groups[d].add(p)
        root = self.dev.get(b"/")
        frozen = {d: frozenset(g) for d, g in groups.items()}
        return {p: (d == root, frozen[d]) for p, d in self.dev.items()}


KIND_NAMES = {
    stat_mod.S_IFDIR: "dir",
    stat_mod.S_IFREG: "reg",
    stat_mod.S_IFLNK: "lnk",
    stat_mod.S_IFCHR: "chr",
    stat_mod.S_IFBLK: "blk",
    stat_mod.S_IFIFO: "fifo",
    stat_mod.S_IFSOCK: "sock",
}


def _join(parent: bytes, name: bytes) -> bytes:
    return b"/" + name if parent == b"/" else parent + b"/" + name


def _user_xattrs(sys: Syscalls, path: bytes) -> tuple[tuple[bytes, bytes], ...]:
    out = []
    for name in sorted(sys.listxattr(path)):
        if name.startswith(b"user."):
            try:
                out.append((name, sys.getxattr(path, name)))
            except (OSError, OvlError):
                out.append((name, b"<unreadable>"))
    return tuple(out)


def walk(sys: Syscalls) -> Observation:
    """The generic walk through the syscall surface (the definition of an observation)."""
    merged: dict[bytes, MergedEntry] = {}
    ino: dict[bytes, int] = {}
    mtime: dict[bytes, int] = {}
    dev: dict[bytes, int] = {}
    todo = [b"/"]
    while todo and len(merged) < MAX_WALK:
        path = todo.pop()
        try:
            st = sys.lstat(path)
        except (OSError, OvlError) as exc:
            # Listed by readdir but not found by lookup: e.g. a whiteout inside a pure-upper
            # opaque directory, which readdir reads straight from the upper dir (§5 xwhiteout).
            merged[path] = unresolvable(exc.errno or 0)
            continue
        kind = KIND_NAMES[stat_mod.S_IFMT(st.mode)]
        content = ""
        xattrs: tuple[tuple[bytes, bytes], ...] = ()
        if kind == "reg":
            try:
                content = sys.content_digest(path)
            except (OSError, OvlError) as exc:
                content = unreadable(exc.errno or 0)
        elif kind == "lnk":
            content = sys.readlink(path).hex()
        if kind in ("reg", "dir"):
            xattrs = _user_xattrs(sys, path)
        size = 0 if kind == "dir" else st.size
        merged[path] = MergedEntry(
            kind,
            stat_mod.S_IMODE(st.mode),
            st.uid,
            st.gid,
            size,
            st.nlink,
            st.rdev,
            content,
            xattrs,
        )
        ino[path] = st.ino
        dev[path] = st.dev
        mtime[path] = st.mtime
        if kind == "dir":
            names = sorted(e.name for e in sys.readdir(path) if e.name not in (b".", b".."))
            todo.extend(_join(path, n) for n in reversed(names))
    upper = {p: normalise_upper_entry(e) for p, e in sys.upper_dump().items()}
    return Observation(merged, ino, mtime, upper, dev)


@dataclass(frozen=True)
class Difference:
    """One way two observations differ: ``area`` (``merged``, ``upper``, ``identity``,
    ``ino-changed``, ``mtime-changed``), the path, the field (``missing``/``extra`` for a
    path only one side has), both values, and the line people read (shared by the fields of
    one path that differ together)."""

    area: str
    path: bytes
    field: str
    expected: Any
    actual: Any
    line: str
    kind: str = ""  # the kind of the entry the difference is in (either side's)
    # "stale": the actual value is the one the model showed at the previous step (a change
    # that did not reach this answer), whatever the values are
    note: str = ""

    def __str__(self) -> str:
        return self.line


def _diff_dicts(area: str, a: dict[bytes, Any], b: dict[bytes, Any]) -> list[Difference]:
    if a == b:
        return []
    out = []
    for path in sorted(set(a) | set(b)):
        ea, eb = a.get(path), b.get(path)
        if ea == eb:
            continue
        if ea is None:
            out.append(Difference(area, path, "extra", None, eb,
                                  f"{area} {path!r}: missing in expected, actual has {eb}",
                                  getattr(eb, "kind", "")))  # fmt: skip
        elif eb is None:
            out.append(Difference(area, path, "missing", ea, None,
                                  f"{area} {path!r}: expected {ea}, missing in actual",
                                  getattr(ea, "kind", "")))
        else:
            names = [k for k in ea.__dataclass_fields__ if getattr(ea, k) != getattr(eb, k)]
            text = "; ".join(f"{k}: {getattr(ea, k)!r} != {getattr(eb, k)!r}" for k in names)
            out += [Difference(area, path, k, getattr(ea, k), getattr(eb, k),
                               f"{area} {path!r}: {text}", getattr(ea, "kind", "")) for k in names]
    return out


def _changed(prev: dict[bytes, int] | None, cur: dict[bytes, int]) -> set[bytes]:
    if prev is None or prev is cur or prev == cur:
        return set()
    return {p for p, v in cur.items() if p in prev and prev[p] != v}


SKIP_REPLACED_MTIME = tolerated("mtime-of-replaced")


def _same_object(prev: Observation, cur: Observation, path: bytes) -> bool:
    """Whether ``path`` names the same object as at the previous step: same st_dev, st_ino
    and type.  The inode number alone is not enough where layers sit on several filesystems:
    there an upper directory and a file of a lower layer can both have st_ino 3."""
    before, after = prev.merged.get(path), cur.merged.get(path)
    return (
        prev.ino.get(path) == cur.ino.get(path)
        and prev.dev.get(path) == cur.dev.get(path)
        and (before.kind if before else None) == (after.kind if after else None)
    )


def _mtime_changed(prev: Observation | None, cur: Observation) -> tuple[set[bytes], set[bytes]]:
    """(paths whose mtime changed, paths that name another object than at the previous
    step)."""
    if prev is None:
        return set(), set()
    changed = _changed(prev.mtime, cur.mtime)
    replaced = {p for p in cur.mtime if p in prev.mtime and not _same_object(prev, cur, p)}
    return changed - replaced, replaced


SAME_TICK = tolerated("mtime-same-tick")
TICK_NS = max(1, int(time.clock_getres(getattr(time, "CLOCK_REALTIME_COARSE", 5)) * 1e9))


def _same_tick(unchanged: set[bytes], prev: Observation, recent_ns: int) -> set[bytes]:
    """The paths among ``unchanged`` whose previous mtime is recent enough that a change at
    this step could have been stamped with the same coarse time."""
    return {p for p in unchanged if prev.mtime.get(p, 0) >= recent_ns}


def _aliases(classes: frozenset[frozenset[bytes]]) -> dict[bytes, tuple[bytes, ...]]:
    return {p: tuple(sorted(c)) for c in classes for p in c}


def _identity(expected: Observation, actual: Observation) -> list[Difference]:
    ce, ca = expected.identity_classes(), actual.identity_classes()
    if ce == ca:
        return []
    ae, aa = _aliases(ce), _aliases(ca)
    out = []
    for p in sorted(set(ae) | set(aa)):
        e, a = ae.get(p, (p,)), aa.get(p, (p,))
        if e != a:
            out.append(Difference("identity", p, "aliases", e, a,
                                  f"inode identity of {p!r}: expected aliases {list(e)}, "
                                  f"actual {list(a)}"))
    return out


SKIP_FUSE_DEV = tolerated("st_dev")


def _devices(expected: Observation, actual: Observation) -> list[Difference]:
    """Paths whose device class differs (only where both sides report devices: a FUSE
    mount has one device of its own, tolerance ``st_dev``)."""
    if not expected.dev or not actual.dev:
        return []
    ce, ca = expected.dev_classes(), actual.dev_classes()
    out = []
    for p in sorted(set(ce) & set(ca)):
        (eo, em), (ao, am) = ce[p], ca[p]
        if (eo, em) == (ao, am):
            continue
        name = {True: "the overlay's device", False: "a layer's device"}
        out.append(Difference("dev", p, "dev", eo, ao,
                              f"device of {p!r}: expected {name[eo]} shared by {len(em)} "
                              f"path(s), actual {name[ao]} shared by {len(am)}"))
    return out


def _change_sets(area: str, what: str, e: set[bytes], a: set[bytes]) -> list[Difference]:
    out = []
    for p in sorted(e ^ a):
        exp, act = p in e, p in a
        out.append(Difference(area, p, what, exp, act,
                              f"{what} of {p!r} since previous step: expected "
                              f"{'changed' if exp else 'unchanged'}, actual "
                              f"{'changed' if act else 'unchanged'}"))
    return out


def differences(
    expected: Observation,
    actual: Observation,
    prev_expected: Observation | None,
    prev_actual: Observation | None,
    recent_ns: int | None = None,
) -> list[Difference]:
    """Every way ``actual`` differs from ``expected`` (empty when they agree).
    ``recent_ns``: one coarse clock tick before the step began (tolerance
    ``mtime-same-tick``); None where no real clock ran between the observations."""
    out = mark_stale(_diff_dicts("merged", expected.merged, actual.merged), prev_expected)
    if expected.upper is not None and actual.upper is not None:
        eu = expected.upper
        if b"/" in eu and b"/" in actual.upper:
            eu = {**eu, b"/": untracked_uuid(eu[b"/"], actual.upper[b"/"])}
        out += _diff_dicts("upper", eu, actual.upper)
    out += _identity(expected, actual)
    out += _devices(expected, actual)
    prev_ino_e = prev_expected.ino if prev_expected else None
    prev_ino_a = prev_actual.ino if prev_actual else None
    either = expected.ino_either | (prev_expected.ino_either if prev_expected else frozenset())
    ie = _changed(prev_ino_e, expected.ino) - either
    ia = _changed(prev_ino_a, actual.ino) - either
    out += _change_sets("ino-changed", "inode", ie, ia)
    me, re_ = _mtime_changed(prev_expected, expected)
    ma, ra = _mtime_changed(prev_actual, actual)
    # an mtime is compared only where both sides still name the same object
    renamed = (ie ^ ia) | re_ | ra
    if recent_ns is not None and prev_actual is not None:
        me -= _same_tick(me - ma, prev_actual, recent_ns)
    out += _change_sets("mtime-changed", "mtime", me - renamed, ma - renamed)
    return out


def mark_stale(diffs: list[Difference], prev: Observation | None) -> list[Difference]:
    """Note the merged-view fields whose actual value is the model's previous one."""
    if prev is None:
        return diffs
    out = []
    for d in diffs:
        before = prev.merged.get(d.path)
        if (before is not None and d.field in before.__dataclass_fields__
                and getattr(before, d.field) == d.actual):  # fmt: skip
            d = dataclasses.replace(d, note="stale")
        out.append(d)
    return out


def lines_of(diffs: list[Difference]) -> list[str]:
    """The lines people read (one per path and area, however many fields differ)."""
    return list(dict.fromkeys(d.line for d in diffs))


def diff(
    expected: Observation,
    actual: Observation,
    prev_expected: Observation | None,
    prev_actual: Observation | None,
) -> list[str]:
    """Human-readable differences between two observations (empty when they agree)."""
    return lines_of(differences(expected, actual, prev_expected, prev_actual))
