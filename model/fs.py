"""The state of one overlay mount (``struct ovl_fs``): the layers, the options, the index.

What persists across :meth:`model.overlay.Overlay.remount` lives here: the layer trees, the
``index`` table (``workdir/index/`` with ``index=on``), the clock.  What a mount keeps in
memory only (open files, inode flags) lives in :mod:`model.file`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.config import Config
from model.layer import Clock, Layer, Node, build_layer
from model.spec import ORIGIN, LayersSpec


@dataclass
class IndexEntry:
    """One ``workdir/index/<fh>`` entry (index=on): the upper copy shared by every alias of a
    lower hard link, and the overlay nlink ("the union of the upper hardlinks and non-covered
    lower hardlinks", ``ovl_get_nlink``), kept as the kernel keeps it in
    ``trusted.overlay.nlink`` relative to the upper nlink."""

    upper: Node
    nlink: int


class OvlInode:
    """An overlay inode that an open file holds (``struct ovl_inode``): the real nodes behind
    it, updated in place when a copy-up gives it an upper node, so every open file follows
    the copy-up (catalogue §2.3, "An fd opened O_RDONLY before a copy-up reads the new
    upper data")."""

    __slots__ = ("key", "lowers", "pipe", "refs", "removed", "root", "upper")

    def __init__(
        self, key: tuple[object, ...], upper: Node | None, lowers: tuple[tuple[Layer, Node], ...],
        root: bool,
    ) -> None:  # fmt: skip
        self.key = key
        self.upper = upper
        self.lowers = lowers
        self.root = root
        self.refs = 0
        # its last overlay link is gone (model.inode.lose_link); for a directory, S_DEAD
        self.removed = False
        self.pipe: Any = None  # a FIFO's pipe (model.special.Pipe), shared by its opens

    @property
    def real(self) -> Node:
        return self.upper if self.upper is not None else self.lowers[0][1]


@dataclass
class OvlFs:
    config: Config
    clock: Clock
    lowers: list[Layer]
    upper: Layer | None
    # index=on: lower inode (by ino) -> its index entry (catalogue §2.10).
    index: dict[int, IndexEntry] = field(default_factory=dict)
    root_lowers: tuple[tuple[Layer, Node], ...] = ()
    # Overlay inodes held by open files, by inode_key() (dropped at remount).
    live: dict[tuple[object, ...], OvlInode] = field(default_factory=dict)
    root: Any = None  # the root dentry (model.lookup.Dentry), made at first use
    # Dir inodes hashed by their top lower dir (ino -> the dentry that made it), for the
    # ESTALE check of ``ovl_verify_inode`` (model.lookup); dropped at remount.
    dir_inodes: dict[int, Any] = field(default_factory=dict)
    index_gen: int = 0  # bumped when the index changes (dentry cache)
    # Every layer on one filesystem (the kernel's ovl_same_fs); False: each layer on a
    # filesystem of its own, which changes st_dev and directory inode numbers (§3)
    samefs: bool = True
    # data-only lower layers (below the lowers, idx numlower + 1 ...): reached only through
    # the absolute redirects of metacopy files (``ovl_lookup_data_layers``)
    datas: list[Layer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root_lowers = tuple((layer, layer.root) for layer in self.lowers)

    @classmethod
    def build(cls, spec: LayersSpec, config: Config, samefs: bool = True) -> OvlFs:
        clock = Clock()
        built = clock.tick()
        lowers = [
            build_layer(clock, i + 1, entries, built) for i, entries in enumerate(spec.lowers)
        ]
        upper = build_layer(clock, 0, spec.upper, built) if spec.upper is not None else None
        datas = [
            build_layer(clock, len(lowers) + 1 + i, entries, built)
            for i, entries in enumerate(spec.data)
        ]
        fs = cls(config, clock, lowers, upper, samefs=samefs, datas=datas)
        if upper is not None and config.index:
            # index=on records the lower root in trusted.overlay.origin of the upper root
            # at mount (catalogue §0, "Side effects of mounting").
            upper.root.xattrs.setdefault(ORIGIN, b"")
            upper.root.origin = (lowers[0], lowers[0].root)
        return fs

    @property
    def readonly(self) -> bool:
        """No upper layer, or mounted ``ro``: every write gives EROFS (catalogue §4)."""
        return self.upper is None or self.config.ro

    @property
    def same_dev(self) -> bool:
        """``ovl_same_dev``: one filesystem, or xino; without it, readdir neither recomputes
        d_ino nor looks entries up (``ovl_cache_update``, ``ovl_iterate``)."""
        return self.samefs or self.config.xino != "off"

    @property
    def numlower(self) -> int:
        return len(self.lowers)

    def tick(self) -> int:
        return self.clock.tick()
