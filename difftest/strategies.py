"""Hypothesis strategies for initial layers and operation arguments.

Layers draw from a small shared pool of names, so the same path often exists in several
layers: that is what makes directories merge, whiteouts hide something and copy-ups happen.
Rarer ingredients (names of 250 bytes, non-UTF-8 names, ``.wh.`` names, hard links across
directories, symlink loops, sparse files past 4 GiB, setuid and setgid modes, other owners,
``user.*``, ``trusted.*`` and escaped private xattrs, a chain of directories whose deepest
file is at PATH_MAX) are mixed in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import cast

from hypothesis import strategies as st

from model.spec import IMPURE, METACOPY, OPAQUE, REDIRECT, UUID, Entry, LayersSpec, Xattrs
from model.types import NAME_MAX, PATH_MAX
from model.xattrs import spelled

TOP_NAMES = [b"a", b"b", b"c", b"d"]
SUB_NAMES = [b"x", b"y", b"z"]
ODD_NAMES = [b".wh.a", b"\xff\xfe", b"n" * 250, b"e f"]
FRESH_NAMES = [b"a", b"b", b"new", b"x", b".wh.x", b"\xe9", b"m" * 255, b"m" * 256]
# Relative targets only: an absolute target (or ".." out of the root) resolves on the host,
# outside the scratch space, and the tester must touch nothing there.
SYMLINK_TARGETS = [b"a", b"x/y", b"dangling", b"../b", b"loop", b"c", b"x"]
# setuid, setgid with and without group-exec (only the first is cleared by a write), both
FILE_MODES = [0o644, 0o644, 0o600, 0o755, 0o444, 0o4755, 0o640, 0o2755, 0o6755, 0o2745]
DIR_MODES = [0o755, 0o755, 0o700, 0o777, 0o1777, 0o555, 0o2775]  # setgid: new files' group
OWNERS = [(0, 0), (0, 0), (0, 0), (1000, 1000), (1001, 1000)]
# A layer's xattrs: user.* names; an escaped name (what ``trusted.overlay.x`` set through
# the overlay is stored as: listed as that name); another trusted.* (listed for root only);
# a private name of no meaning to the overlay (never listed, never readable through it).
LAYER_XATTRS = [(b"user.a", b"1"), (b"user.b", b"two"), (b"trusted.overlay.overlay.x", b"esc"),
                (b"user.a", b"1"), (b"trusted.t", b"t"), (b"trusted.overlay.priv", b"p")]
BIG = 5 * 1024**3

# A chain of 16 directories of 250-byte names under ``/p``, ending in a file whose path
# (given from the root, without the leading slash: model.namei) is PATH_MAX - 1 bytes, the
# longest any call takes; a FUSE overlay that prefixes paths of its own runs past the limit
# there.  Fresh names at its end: one more file at the limit and one a byte past it; and a
# longer name for the chain's first directory, which takes everything below past the limit.
CHAIN = [b"p"] + [b"%02d" % i + b"k" * 248 for i in range(16)]
CHAIN_DIR = b"/".join(CHAIN)
_AT_LIMIT = PATH_MAX - 1 - len(CHAIN_DIR) - 1  # the name length that reaches the limit
assert 0 < _AT_LIMIT < NAME_MAX
CHAIN_FILE = CHAIN_DIR + b"/" + b"f" * _AT_LIMIT
CHAIN_FRESH = [
    b"/" + CHAIN_DIR + b"/" + b"g" * _AT_LIMIT,
    b"/" + CHAIN_DIR + b"/" + b"g" * (_AT_LIMIT + 1),
    b"/" + CHAIN[0] + b"/" + CHAIN[1] + b"xy",
]


def chain_entries() -> list[Entry]:
    """The chain's directories, parents first, and its file at the limit."""
    dirs = [Entry(b"/".join(CHAIN[: i + 1]), "dir", 0o755) for i in range(len(CHAIN))]
    return [*dirs, Entry(CHAIN_FILE, "reg", 0o644, data=b"deep")]

Draw = Callable[..., object]

# One layer is drawn as a single byte string (a "genome"): two bytes per candidate path, in
# parents-first order, plus a few trailing bytes.  One draw per layer keeps generation cheap,
# and Hypothesis shrinks bytes towards zero, which decodes to "absent": shrinking removes
# objects.
SLOTS: list[tuple[bytes, int]] = []
for _t in TOP_NAMES:
    SLOTS.append((_t, 0))
    for _s in SUB_NAMES:
        SLOTS.append((_t + b"/" + _s, 1))
        for _ss in SUB_NAMES[:2]:
            SLOTS.append((_t + b"/" + _s + b"/" + _ss, 2))
GENOME = 2 * len(SLOTS) + 4
FILE_DATA = [b"", b"lower data", b"hello\n", b"\x00\x01"]


def _kind(byte: int, can_whiteout: bool, depth: int) -> str:
    k = byte % 16
    if k < 4:
        return "absent"
    if k < 7:
        return "reg"
    if k < 12:
        return "dir"
    if k == 12:
        return "lnk"
    if k < 15:
        return "whiteout" if can_whiteout else "absent"
    return "fifo" if depth > 0 else "reg"


def _decode_entry(path: bytes, kind: str, attr: int, opaque_ok: bool) -> Entry:
    uid, gid = OWNERS[(attr >> 3) % len(OWNERS)]
    xattrs: tuple[tuple[bytes, bytes], ...] = ()
    if attr & 0x40:
        xattrs = (LAYER_XATTRS[(attr >> 4) % len(LAYER_XATTRS)],)
    if kind == "reg":
        mode = FILE_MODES[attr % len(FILE_MODES)]
        size = BIG if (attr & 0x87) == 0x87 else None  # sparse file past 4 GiB, now and then
        data = FILE_DATA[(attr >> 1) % len(FILE_DATA)]
        return Entry(path, "reg", mode, uid, gid, data=data, size=size, xattrs=xattrs)
    if kind == "dir":
        # Left out for now: what an offline tool may leave on a directory, an absolute
        # redirect to a path no lower layer has.  With redirect_dir=on, a rename of such a
        # lower dir shows its entries on the kernel and none on the model (open, report in
        # reports/coverage/open-20261205); redirects to names still visible (ESTALE, where
        # the model and the kernel part on split-fs) and malformed ones (EINVAL) too
        # (reports/coverage/README.md).
        if opaque_ok and xattrs and xattrs[0][0] == b"trusted.t":
            xattrs = ((OPAQUE, b"x"),)  # in a lower layer: holds xwhiteouts, not opaque
        if opaque_ok and attr & 0x80:
            xattrs = (*xattrs, (OPAQUE, b"y"))
        return Entry(path, "dir", DIR_MODES[attr % len(DIR_MODES)], uid, gid, xattrs=xattrs)
    if kind == "lnk":
        target = SYMLINK_TARGETS[attr % len(SYMLINK_TARGETS)]
        if target.startswith(b"../") and b"/" not in path:
            target = target[3:]  # ".." from the root would leave the mount
        if target == b"loop":
            target = path.rsplit(b"/", 1)[-1]
        return Entry(path, "lnk", 0o777, target=target)
    if kind == "whiteout":
        return Entry(path, "whiteout", 0)
    return Entry(path, "fifo", 0o644, uid, gid)


def decode_layer(genome: bytes, *, can_whiteout: bool, opaque_ok: bool) -> tuple[Entry, ...]:
    """Turn a layer's genome into entries, parents first (children of non-dirs are dropped)."""
    genome = genome.ljust(GENOME, b"\0")
    entries: list[Entry] = []
    dirs = {b""}
    for i, (path, depth) in enumerate(SLOTS):
        parent = path.rpartition(b"/")[0]
        if parent not in dirs:
            continue
        kind = _kind(genome[2 * i], can_whiteout, depth)
        if kind == "absent":
            continue
        entries.append(_decode_entry(path, kind, genome[2 * i + 1], opaque_ok))
        if kind == "dir":
            dirs.add(path)
    tail = genome[2 * len(SLOTS) :]
    if tail[0] % 4 == 3:
        entries.append(_decode_entry(ODD_NAMES[tail[1] % len(ODD_NAMES)], "reg", tail[1], False))
    if tail[0] >> 3 == 0x1F:  # one layer in 32: its 18 objects weigh on every walk
        entries.extend(chain_entries())
    regs = [e.path for e in entries if e.kind == "reg"]
    if regs and tail[2] % 4 == 3:
        # Hard links inside the layer (index=off breaks them on copy-up, catalogue §2.10):
        # one or two more names, in the file's own directory, the root or another directory
        src = regs[tail[3] % len(regs)]
        dirs_here = [b""] + [e.path for e in entries if e.kind == "dir"]
        for n in range(1 + (tail[2] >> 6 & 1)):
            parent = _alias_dir(src, dirs_here, (tail[2] >> (2 + 2 * n)) % 4)
            alias = (parent + b"/" if parent else b"") + (b"hl" if n == 0 else b"hl2")
            if all(e.path != alias for e in entries):
                entries.append(Entry(alias, "hardlink", target=src))
    return tuple(entries)


def _alias_dir(src: bytes, dirs: list[bytes], choice: int) -> bytes:
    """Where a hard link to ``src`` goes: its own directory (choices 0 and 1), the layer
    root (2), or the last directory of the layer that is not its own (3)."""
    own = src.rpartition(b"/")[0]
    if choice < 2:
        return own
    if choice == 2:
        return b""
    others = [d for d in dirs if d != own]
    return others[-1] if others else own


_GENOME = st.binary(min_size=GENOME, max_size=GENOME)


DATA_DIR = b"objs"  # where a data-only layer keeps its files (a name no other layer uses)


# A well-formed fs-verity digest in a metacopy xattr (``struct ovl_metacopy``: version 0,
# length 36, flags 0, FS_VERITY_HASH_ALG_SHA256, then the 32-byte SHA-256 digest)
METACOPY_DIGEST = bytes([0, 36, 0, 1]) + bytes(range(32))


def with_data_layer(spec: LayersSpec, digests: bool = False) -> LayersSpec:
    """``spec`` with the regular files of its bottom lower layer made metacopy files whose
    data sits in one data-only layer, as composefs builds an image: each keeps its
    attributes, xattrs and size, holds no data, and gains ``trusted.overlay.metacopy`` and
    the absolute redirect ``/objs/<n>``; the data layer holds its data at ``objs/<n>``.
    ``digests``: every other one's metacopy xattr holds an fs-verity digest, as composefs
    writes them (which the data file, on a filesystem without fs-verity, cannot match).
    (Only the bottom layer: a redirect is also looked up in the lower layers below the
    file's own, and none is below the bottom one.)"""
    entries: list[Entry] = []
    data = [Entry(DATA_DIR, "dir", 0o755)]
    for e in spec.lowers[-1]:
        if e.kind != "reg":
            entries.append(e)
            continue
        obj = DATA_DIR + b"/%d" % len(data)
        data.append(Entry(obj, "reg", 0o644, data=e.data, size=e.size))
        digest = METACOPY_DIGEST if digests and len(data) % 2 == 0 else b""
        meta = ((METACOPY, digest), (REDIRECT, b"/" + obj))
        entries.append(replace(e, data=b"", size=e.file_size, xattrs=(*e.xattrs, *meta)))
    return replace(spec, lowers=(*spec.lowers[:-1], tuple(entries)), data=(tuple(data),))


def respelled(spec: LayersSpec, userxattr: bool, userns: bool) -> LayersSpec:
    """``spec`` as the layers of a ``userxattr`` mount spell it: the draws name the
    overlay's xattrs ``trusted.overlay.*``, which become ``user.overlay.*`` (and the other
    way round: :func:`model.xattrs.spelled`).  Inside a user namespace nobody may write a
    ``trusted.*`` xattr, so a layer built there has none: they are left out."""
    if not (userxattr or userns):
        return spec

    def names(xattrs: Xattrs) -> Xattrs:
        out = ((spelled(k, userxattr), v) for k, v in xattrs)
        return tuple((k, v) for k, v in out if not (userns and k.startswith(b"trusted.")))

    return spec.with_xattrs(names)


# What an upper root may already hold when an overlay mounts it (the uuid=* presets): each
# decides the uuid= mode's fallbacks (model.super.init_uuid).  "impure": a root marked by an
# overlay of the kernels before persistent uuids; "bad": a uuid of the wrong size.
UPPER_ROOT_HISTORIES: dict[str, Xattrs] = {
    "new": (),
    "uuid": ((UUID, bytes(range(100, 116))),),
    "bad": ((UUID, b"short"),),
    "impure": ((IMPURE, b"y"),),
    "impure+uuid": ((IMPURE, b"y"), (UUID, bytes(range(100, 116)))),
}
_ROOT_HISTORY = st.sampled_from([UPPER_ROOT_HISTORIES[k] for k in sorted(UPPER_ROOT_HISTORIES)])


@st.composite
def _layers_spec(draw: Draw, *, lowers: int, upper: bool, data_only: bool, userxattr: bool,
                 userns: bool, root_history: bool, digests: bool) -> LayersSpec:
    lows = tuple(
        decode_layer(draw(_GENOME), can_whiteout=i < lowers - 1, opaque_ok=i < lowers - 1)  # type: ignore[arg-type]
        for i in range(lowers)
    )
    up = decode_layer(draw(_GENOME), can_whiteout=True, opaque_ok=True) if upper else None  # type: ignore[arg-type]
    if up is not None and root_history:
        history = cast(Xattrs, draw(_ROOT_HISTORY))
        if history:
            up = (Entry(b"", "dir", 0o755, xattrs=history), *up)
    spec = LayersSpec(lowers=lows, upper=up)
    return respelled(with_data_layer(spec, digests) if data_only else spec, userxattr, userns)


@functools.cache
def layers_spec(*, lowers: int, upper: bool, data_only: bool = False, userxattr: bool = False,
                userns: bool = False, root_history: bool = False,
                digests: bool = False) -> st.SearchStrategy[LayersSpec]:
    """``lowers`` lower layers (the bottom one without whiteouts) and maybe an upper;
    ``data_only``: the bottom layer's files keep their data in a data-only layer (the same
    draws, :func:`with_data_layer`); ``userxattr``, ``userns``: as :func:`respelled`;
    ``root_history``: the upper root may hold what earlier mounts left on it
    (:data:`UPPER_ROOT_HISTORIES`); ``digests``: see :func:`with_data_layer`.  One strategy
    object per shape: Hypothesis validates a new one at its first draw, which cost a fresh
    strategy per example about 0.3 ms."""
    return _layers_spec(lowers=lowers, upper=upper, data_only=data_only, userxattr=userxattr,
                        userns=userns, root_history=root_history, digests=digests)


def without_big_files(spec: LayersSpec) -> LayersSpec:
    """``spec`` with its sparse files past 4 GiB cut to their data (for layers read through
    ovlfuse: FUSE has no SEEK_DATA through pyfuse3, so a copy-up from such a layer copies
    every byte of 5 GiB of holes, longer than the tester waits for one call)."""

    def cut(layer: tuple[Entry, ...]) -> tuple[Entry, ...]:
        return tuple(replace(e, size=None) if e.size == BIG else e for e in layer)

    return replace(spec, lowers=tuple(cut(layer) for layer in spec.lowers),
                   upper=None if spec.upper is None else cut(spec.upper))


def spec_paths(spec: LayersSpec) -> set[bytes]:
    """Every path named in any layer, as absolute overlay paths."""
    out = set()
    for entries in (*spec.lowers, spec.upper or ()):
        for e in entries:
            out.add(b"/" + e.path)
    return out
