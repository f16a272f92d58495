"""Initial layers as plain data: what a layer directory holds before the overlay is mounted.

The same description builds the model's layers and, in ``difftest``, real directories on
disk, so it uses the kernel's on-disk vocabulary: a whiteout is ``kind="whiteout"`` (char
device 0:0), an opaque directory is a ``dir`` carrying ``trusted.overlay.opaque=y``, a redirect
is a ``trusted.overlay.redirect`` xattr.  Every ``repr`` is valid Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

Kind = Literal["dir", "reg", "lnk", "chr", "blk", "fifo", "sock", "whiteout", "hardlink"]

OPAQUE = b"trusted.overlay.opaque"
REDIRECT = b"trusted.overlay.redirect"
ORIGIN = b"trusted.overlay.origin"
IMPURE = b"trusted.overlay.impure"
XWHITEOUT = b"trusted.overlay.whiteout"
METACOPY = b"trusted.overlay.metacopy"
UUID = b"trusted.overlay.uuid"
PRIVATE_PREFIX = b"trusted.overlay."


Xattrs = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True)
class Entry:
    """One object in a layer, at ``path`` relative to the layer root (``b"a/b"``).

    Parents must appear before their children.  ``reg`` files hold ``data`` at offset 0 and
    are ``size`` bytes long (``None``: ``len(data)``); the rest is a hole, so a 5 GiB sparse
    file is cheap.  ``lnk`` uses ``target`` as the symlink target; ``hardlink`` uses it as the
    layer-relative path of an existing ``reg`` entry to link to.  ``chr``/``blk`` use ``rdev``.
    """

    path: bytes
    kind: Kind
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    data: bytes = b""
    size: int | None = None
    target: bytes = b""
    rdev: int = 0
    xattrs: Xattrs = ()

    @property
    def file_size(self) -> int:
        return len(self.data) if self.size is None else self.size


@dataclass(frozen=True)
class LayersSpec:
    """The layers of one overlay: ``lowers[0]`` is the top lower (leftmost in ``lowerdir=``).

    ``upper`` is ``None`` for an overlay without an upper layer (mounted read-only).
    ``data`` are data-only lower layers below the lowers (``lowerdir=l0::d0``, or
    ``datadir+``): their names are never visible; they hold the data of the lowers'
    metacopy files, found through absolute redirects.
    """

    lowers: tuple[tuple[Entry, ...], ...]
    upper: tuple[Entry, ...] | None = ()
    notes: tuple[str, ...] = field(default=(), compare=False)
    data: tuple[tuple[Entry, ...], ...] = ()

    def with_xattrs(self, fn: Callable[[Xattrs], Xattrs]) -> LayersSpec:
        """The same layers with every entry's xattrs replaced by ``fn(xattrs)``."""

        def layer(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
            return tuple(replace(e, xattrs=fn(e.xattrs)) if e.xattrs else e for e in entries)

        return replace(self, lowers=tuple(layer(x) for x in self.lowers),
                       upper=None if self.upper is None else layer(self.upper),
                       data=tuple(layer(x) for x in self.data))  # fmt: skip
