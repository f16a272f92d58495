"""The upper layer as a listing of the real upper directory shows it (catalogue §5).

Same reading rules as ``difftest.realfs.upper_entry``: a char device 0:0 is a ``whiteout``;
``opaque`` and ``redirect`` by value, ``origin`` and ``metacopy`` by presence, ``impure``
when ``y``, ``uuid`` by its shape; the other private names (nlink...) are bookkeeping and not
shown;
escaped names (``trusted.overlay.overlay.*``) and all other xattrs are listed, sorted, as the
layer spells them (``user.overlay.*`` with userxattr: :func:`model.xattrs.spelled`).
"""

from __future__ import annotations

from model.fs import OvlFs
from model.layer import CHR, DIR, LNK, REG, Node, walk_tree
from model.spec import IMPURE, METACOPY, OPAQUE, ORIGIN, REDIRECT, UUID
from model.super import UUID_SIZE
from model.types import UpperEntry
from model.xattrs import is_own, spelled

UpperFields = tuple[
    str, int, int, int, int, str, bytes | None, bytes | None, bool, bool,
    tuple[tuple[bytes, bytes], ...], bool, str,
]  # fmt: skip


def upper_fields(node: Node, userxattr: bool = False) -> UpperFields:
    """The fields of :func:`upper_entry`, in order (hashable: observers intern entries)."""
    kind = "whiteout" if node.kind == CHR and node.rdev == 0 else node.kind
    if node.kind == REG:
        assert node.data is not None
        digest = node.data.digest()
    elif node.kind == LNK:
        digest = node.target.hex()
    else:
        digest = ""
    size = 0 if node.kind == DIR else node.size
    x = node.xattrs
    if not x:
        return (kind, node.mode, node.uid, node.gid, size, digest, None, None, False, False, (),
                False, "")  # fmt: skip
    return (
        kind,
        node.mode,
        node.uid,
        node.gid,
        size,
        digest,
        x.get(OPAQUE),
        x.get(REDIRECT),
        ORIGIN in x,
        x.get(IMPURE) == b"y",
        _ordinary(x, userxattr),
        METACOPY in x,
        uuid_shape(x.get(UUID)),
    )


def uuid_shape(value: bytes | None) -> str:
    """``UpperEntry.uuid`` of a ``trusted.overlay.uuid`` value (None: no such xattr)."""
    if value is None:
        return ""
    return "uuid" if len(value) == UUID_SIZE else "bad"


def _ordinary(x: dict[bytes, bytes], userxattr: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The xattrs a dump lists by name: all but the private ones, as the layer spells them."""
    return tuple(sorted((spelled(k, userxattr), v) for k, v in x.items()
                        if not is_own(k, userxattr)))


def upper_entry(node: Node, userxattr: bool = False) -> UpperEntry:  # pragma: no cover
    return UpperEntry(*upper_fields(node, userxattr))


# difftest's model observer walks the upper layer itself (observe_model.py)
def dump_upper(fs: OvlFs) -> dict[bytes, UpperEntry]:  # pragma: no cover - library API
    """``{b"/": root, b"/a": ..., ...}`` for every object in the upper layer (empty
    without one)."""
    if fs.upper is None:
        return {}
    ux = fs.config.userxattr
    return {path: upper_entry(node, ux) for path, node in walk_tree(fs.upper.root)}
