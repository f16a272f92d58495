"""Directory listings (``fs/overlayfs/readdir.c``, catalogue §2.2).

Two kinds of directory:

* *real* (``ovl_dir_is_real``): a dir with a single real directory behind it and no
  reason to hold whiteouts (no upper+lower, one lower, no origin).  It is read straight
  from that real directory, whiteouts and all.
* *merged*: the union of the stacked layers, first layer wins, whiteouts hidden (char
  device 0:0; zero-size files with ``trusted.overlay.whiteout`` in lower layers of an
  ``opaque=x`` dir), ``.`` and ``..`` once.  Hidden whiteouts keep their slot, which only
  shows in the positions (``d_off``).

Order is not modelled (it follows each layer's hash order, catalogue §2.2); listings are
compared as sets.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from model.errors import fail
from model.fs import OvlFs
from model.inode import const_ino, st_ino
from model.layer import (
    CHR,
    DIR,
    DTYPE,
    Layer,
    Node,
    has_origin,
    is_whiteout,
    listed_as_whiteout,
)
from model.lookup import Dentry, LowerStack
from model.types import DirEntry

DT_DIR = DTYPE[DIR]


@dataclass(slots=True)
class CacheEntry:
    """One name of a merged listing (``struct ovl_cache_entry``)."""

    name: bytes
    node: Node | None  # None for "." and ".."
    is_upper: bool
    is_whiteout: bool


def is_real_dir(upper: Node | None, lowers: LowerStack) -> bool:
    """``ovl_dir_is_real``: no ``OVL_WHITEOUTS`` flag, i.e. not upper-plus-lower, not
    several lowers, and the real dir carries no origin."""
    if (upper is not None and lowers) or len(lowers) > 1:
        return False
    real = upper if upper is not None else lowers[0][1]
    return not has_origin(real)


def read_merged(
    fs: OvlFs, upper: Node | None, lowers: LowerStack, xwhiteouts: bool
) -> list[CacheEntry]:
    """``ovl_dir_read_merged``: every name of every stacked layer once; the first layer
    that has a name decides whether it is a whiteout.  The lowest layer's names come first,
    in its order, also those an upper layer has too ("Insert lowest layer entries before
    upper ones, this allows offsets to be reasonably constant": ``ovl_fill_lowest`` moves
    them before the rest), then the others in the order they were met (checked on 6.18:
    lseek(fd, 3) in a merged dir of upper-lower ``c`` and lowest ``a`` reads ``c``)."""
    seen: dict[bytes, CacheEntry] = {
        b".": CacheEntry(b".", None, upper is not None, False),
        b"..": CacheEntry(b"..", None, upper is not None, False),
    }
    layers: list[tuple[Layer | None, Node]] = []
    if upper is not None:
        layers.append((None, upper))
    layers.extend(lowers)
    for layer, node in layers:
        is_upper = layer is None
        check_x = xwhiteouts and layer is not None and layer.has_xwhiteouts
        assert node.children is not None
        for name, child in node.children.items():
            if name in seen:
                continue
            wo = listed_as_whiteout(child) or (check_x and is_whiteout(child))
            seen[name] = CacheEntry(name, child, is_upper, wo)
    if not lowers:
        return list(seen.values())
    lowest = lowers[-1][1].children
    assert lowest is not None
    first = [b".", b"..", *lowest]
    moved = set(first)
    return [seen[n] for n in first] + [e for n, e in seen.items() if n not in moved]


def list_merged(
    fs: OvlFs, upper: Node | None, lowers: LowerStack, xw: bool, dot_ino: int, dotdot_ino: int
) -> list[DirEntry]:
    """The visible records of a merged dir in one pass: what :func:`read_merged` and
    :func:`emit` give together, without the positions a handle needs."""
    seen = {b".", b".."}
    out = [DirEntry(b".", DT_DIR, dot_ino), DirEntry(b"..", DT_DIR, dotdot_ino)]
    if upper is not None:
        records = _upper_records(fs, upper)
        out.extend(rec for rec in records.values() if rec is not None)
        seen.update(records)
    for layer, node in lowers:
        records = _lower_records(node, xw and layer.has_xwhiteouts)
        for name in records.keys() - seen:
            rec = records[name]
            if rec is not None:
                out.append(rec)
        seen.update(records)
    return out


def _upper_records(fs: OvlFs, node: Node) -> dict[bytes, DirEntry | None]:
    """An upper dir's records, kept while its entries and the index are unchanged (a new
    origin under it bumps its version too, see ``_fix_origin``)."""
    key = (node.ver, fs.index_gen)
    cached = node.listing
    if isinstance(cached, tuple) and cached[0] == key:
        return cached[1]
    assert node.children is not None
    records: dict[bytes, DirEntry | None] = {}
    for name, child in node.children.items():
        kind = child.kind
        if kind == CHR and child.rdev == 0:  # a whiteout (is_chr_whiteout)
            records[name] = None
        elif child.origin is None:
            records[name] = DirEntry(name, DTYPE[kind], child.ino)
        else:
            ino = entry_ino(fs, child)
            records[name] = DirEntry(name, DTYPE[kind], ino)
    node.listing = (key, records)
    return records


def _lower_records(node: Node, check_x: bool) -> dict[bytes, DirEntry | None]:
    """A lower dir's records (None for a whiteout), computed once: lowers never change."""
    cached = node.listing
    if isinstance(cached, tuple) and cached[0] == check_x:
        return cached[1]
    assert node.children is not None
    records: dict[bytes, DirEntry | None] = {}
    for name, child in node.children.items():
        wo = listed_as_whiteout(child) or (check_x and is_whiteout(child))
        records[name] = None if wo else DirEntry(name, DTYPE[child.kind], child.ino)
    node.listing = (check_x, records)
    return records


def read_real(node: Node) -> list[CacheEntry]:
    """A real directory as the real filesystem lists it: nothing is hidden."""
    assert node.children is not None
    out = [CacheEntry(b".", None, False, False), CacheEntry(b"..", None, False, False)]
    out.extend(CacheEntry(n, c, False, False) for n, c in node.children.items())
    return out


def check_empty_dir(fs: OvlFs, upper: Node | None, lowers: LowerStack, xw: bool) -> list[bytes]:
    """``ovl_check_empty_dir``: ENOTEMPTY when the merged view holds anything but ``.``,
    ``..`` and whiteouts; else the upper whiteouts, which a removal must clear."""
    upper_whiteouts = []
    for e in read_merged(fs, upper, lowers, xw):
        if e.is_whiteout:
            if e.is_upper:
                upper_whiteouts.append(e.name)
            continue
        if e.name not in (b".", b".."):
            raise fail(errno.ENOTEMPTY, "directory not empty (merged view)")
    return upper_whiteouts


def dotdot_ino(fs: OvlFs, d: Dentry, merged: bool) -> int:
    """d_ino of ``..`` in the listing of ``d``, which is not always the parent's st_ino.

    The record starts as the real ``..`` that the topmost real dir lists (the upper dir, else
    the top lower: ``p->real_ino``), i.e. the inode number of that dir's *real* parent.  A
    merged listing replaces it with the parent's st_ino only for a parent of type
    ``OVL_TYPE_ORIGIN`` (an upper dir with a lower stack, hashed by its lower; never the root,
    whose inode is not hashed): ``ovl_calc_d_ino`` "Always recalc d_ino for parent", then
    ``ovl_cache_update`` takes ``this = dget(dir->d_parent)`` and calls ``vfs_getattr`` only
    ``if (OVL_TYPE_ORIGIN(type))``.  A real listing (``ovl_iterate_real``) uses the parent's
    st_ino when ``OVL_TYPE_MERGE(ovl_path_type(dir->d_parent))``.  So a lower-only merged dir
    right under the root shows the top lower root's inode, not the root's st_ino (checked on
    6.18).  ``..`` of the root itself leaves the mount: the root's st_ino stands in."""
    parent = d.parent
    if parent is None:
        return st_ino(fs, d.upper, d.lowers, True)
    if merged:
        adjust = (
            not parent.is_root
            and parent.upper is not None
            and const_ino(fs, parent.upper, parent.lowers)
        )
    else:
        adjust = parent.is_root or parent.merged
    if adjust:
        return st_ino(fs, parent.upper, parent.lowers, parent.is_root)
    if d.upper is not None:
        assert parent.upper is not None
        return parent.upper.ino
    top = d.lowers[0][0]
    for layer, node in parent.lowers:
        if layer is top:
            return node.ino
    # not reached: a lower dir's parent has a dir in every layer that holds it
    return st_ino(fs, parent.upper, parent.lowers, parent.is_root)  # pragma: no cover - above


def entry_ino(fs: OvlFs, node: Node) -> int:
    """d_ino of an entry whose node records an origin: the origin's inode number where the
    overlay identifies the object by it (``OVL_CONST_INO``), else the node's own; equal to
    the entry's st_ino on one filesystem (catalogue §2.2)."""
    assert node.origin is not None
    if const_ino(fs, node, (node.origin,)):
        return node.origin[1].ino
    return node.ino  # pragma: no cover - an origin is recorded only where const_ino holds


def emit(fs: OvlFs, entries: list[CacheEntry], dot_ino: int, dotdot_ino: int) -> list[DirEntry]:
    """The visible records of a listing."""
    out = []
    for e in entries:
        if e.is_whiteout:
            continue
        node = e.node
        if node is None:
            out.append(DirEntry(e.name, DT_DIR, dot_ino if e.name == b"." else dotdot_ino))
        elif node.origin is None:
            out.append(DirEntry(e.name, DTYPE[node.kind], node.ino))
        else:
            out.append(DirEntry(e.name, DTYPE[node.kind], entry_ino(fs, node)))
    return out
