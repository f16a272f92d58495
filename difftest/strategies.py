"""Hypothesis strategies for initial layers and operation arguments.

Layers draw from a small shared pool of names, so the same path often exists in several
layers: that is what makes directories merge, whiteouts hide something and copy-ups happen.
Rarer ingredients (names of 250 bytes, non-UTF-8 names, ``.wh.`` names, hard links, symlink
loops, sparse files past 4 GiB, setuid modes, other owners, ``user.*`` xattrs) are mixed in.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from model.spec import OPAQUE, Entry, LayersSpec

TOP_NAMES = [b"a", b"b", b"c", b"d"]
SUB_NAMES = [b"x", b"y", b"z"]
ODD_NAMES = [b".wh.a", b"\xff\xfe", b"n" * 250, b"e f"]
FRESH_NAMES = [b"a", b"b", b"new", b"x", b".wh.x", b"\xe9", b"m" * 255, b"m" * 256]
SYMLINK_TARGETS = [b"a", b"/a/x", b"dangling", b"../b", b"loop", b"/c", b"x"]
FILE_MODES = [0o644, 0o644, 0o600, 0o755, 0o444, 0o4755, 0o640]
DIR_MODES = [0o755, 0o755, 0o700, 0o777, 0o1777, 0o555]
OWNERS = [(0, 0), (0, 0), (0, 0), (1000, 1000), (1001, 1000)]
USER_XATTRS = [(b"user.a", b"1"), (b"user.b", b"two")]
BIG = 5 * 1024**3

Draw = Callable[..., object]


def _owner(draw: Draw) -> tuple[int, int]:
    return draw(st.sampled_from(OWNERS))  # type: ignore[return-value]


def _xattrs(draw: Draw) -> tuple[tuple[bytes, bytes], ...]:
    if draw(st.integers(0, 5)) == 0:
        return (draw(st.sampled_from(USER_XATTRS)),)  # type: ignore[return-value]
    return ()


def _file(draw: Draw, path: bytes) -> Entry:
    uid, gid = _owner(draw)
    data = draw(st.sampled_from([b"", b"lower data", b"hello\n", b"\x00\x01"]))
    size = None
    if draw(st.integers(0, 12)) == 0:
        size = BIG  # sparse file past 4 GiB
    mode = draw(st.sampled_from(FILE_MODES))
    return Entry(path, "reg", mode, uid, gid, data=data, size=size, xattrs=_xattrs(draw))  # type: ignore[arg-type]


def _dir(draw: Draw, path: bytes, may_be_opaque: bool) -> Entry:
    uid, gid = _owner(draw)
    xattrs = _xattrs(draw)
    if may_be_opaque and draw(st.integers(0, 4)) == 0:
        xattrs = (*xattrs, (OPAQUE, b"y"))
    mode = draw(st.sampled_from(DIR_MODES))
    return Entry(path, "dir", mode, uid, gid, xattrs=xattrs)  # type: ignore[arg-type]


def _object(
    draw: Draw, path: bytes, *, can_whiteout: bool, depth: int, opaque_ok: bool
) -> list[Entry]:
    """One object at ``path`` (and, for a dir, what it holds)."""
    kinds = ["absent", "absent", "dir", "dir", "reg", "reg", "lnk"]
    if can_whiteout:
        kinds += ["whiteout", "whiteout"]
    if depth > 0:
        kinds += ["fifo"]
    kind = draw(st.sampled_from(kinds))
    if kind == "absent":
        return []
    if kind == "reg":
        return [_file(draw, path)]
    if kind == "lnk":
        target = draw(st.sampled_from(SYMLINK_TARGETS))
        if target == b"loop":
            target = path.rsplit(b"/", 1)[-1]
        return [Entry(path, "lnk", 0o777, target=target)]
    if kind == "whiteout":
        return [Entry(path, "whiteout", 0)]
    if kind == "fifo":
        return [Entry(path, "fifo", 0o644)]
    out = [_dir(draw, path, opaque_ok)]
    if depth < 2:
        for name in SUB_NAMES[: 3 - depth]:
            out += _object(
                draw,
                path + b"/" + name,
                can_whiteout=can_whiteout,
                depth=depth + 1,
                opaque_ok=opaque_ok,
            )
    return out


@st.composite
def layer(draw: Draw, *, can_whiteout: bool, opaque_ok: bool) -> tuple[Entry, ...]:
    """One layer's entries, parents first."""
    entries: list[Entry] = []
    for name in TOP_NAMES:
        entries += _object(draw, name, can_whiteout=can_whiteout, depth=0, opaque_ok=opaque_ok)
    if draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from(ODD_NAMES))
        entries.append(_file(draw, name))
    regs = [e.path for e in entries if e.kind == "reg"]
    if regs and draw(st.integers(0, 3)) == 0:
        # A hard link inside the layer (index=off breaks it on copy-up, §2.10).
        src = draw(st.sampled_from(regs))
        parent = src.rpartition(b"/")[0]
        alias = (parent + b"/" if parent else b"") + b"hl"
        if all(e.path != alias for e in entries):
            entries.append(Entry(alias, "hardlink", target=src))
    return tuple(entries)


@st.composite
def layers_spec(draw: Draw, *, lowers: int, upper: bool) -> LayersSpec:
    """``lowers`` lower layers (the bottom one without whiteouts) and maybe an upper."""
    lows = tuple(
        draw(layer(can_whiteout=i < lowers - 1, opaque_ok=i < lowers - 1)) for i in range(lowers)
    )
    up = draw(layer(can_whiteout=True, opaque_ok=True)) if upper else None
    return LayersSpec(lowers=lows, upper=up)


def spec_paths(spec: LayersSpec) -> set[bytes]:
    """Every path named in any layer, as absolute overlay paths."""
    out = set()
    for entries in (*spec.lowers, spec.upper or ()):
        for e in entries:
            out.add(b"/" + e.path)
    return out
