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
from model.super import init_uuid
from model.xattrs import spelled


@dataclass
class IndexEntry:
    """One ``workdir/index/<fh>`` entry (index=on): the upper copy shared by every alias of a
    lower hard link, and the overlay nlink ("the union of the upper hardlinks and non-covered
    lower hardlinks", ``ovl_get_nlink``), kept as the kernel keeps it in
    ``trusted.overlay.nlink`` relative to the upper nlink."""

    upper: Node
    nlink: int
    # the lower's own nlink at copy-up: 1 only under nfs_export=on, where every copy-up is
    # indexed; such an entry's union nlink is not stored (ovl_get_nlink: "lower nlink 1 ->
    # fallback"), so an inode made again from it shows the upper's real nlink, which
    # counts the index's own link (checked on 6.18: a copied-up file linked once shows
    # nlink 3 after a remount)
    lower_nlink: int = 2

    def forget(self) -> None:
        """The overlay inode was evicted: the next one computes its nlink afresh."""
        if self.lower_nlink == 1:
            self.nlink = self.upper.nlink


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
    # Copied-up objects whose origin could not be stored (userxattr: no user.* xattr on a
    # FIFO or symlink): the dentry of the name that was copied up keeps its lower stack in
    # memory until the mount goes, and moves with a rename (d_move); another name of the
    # object, or the same name after a remount, finds none.  (upper parent dir, name) ->
    # (the upper node, its origin).
    named_origins: dict[tuple[Node, bytes], tuple[Node, tuple[Layer, Node]]] = field(
        default_factory=dict)
    # Upper dirs whose impure list (ovl_cache_get_impure) was found not empty, cached in
    # the dir's inode until an impure change (impurity_changed).  Dropped with the inode (a
    # remount; a reconfigure, unless an open file holds the dir).
    impure_lists: set[Node] = field(default_factory=set)
    # mounted from inside a user namespace: its root holds no capability of the initial
    # namespace (trusted.* xattrs out of reach, no device nodes; difftest.userns)
    userns: bool = False
    # a lower layer's filesystem cannot decode file handles (an overlay as a lower layer,
    # model.nested): index and nfs_export are off and every origin is written empty
    nofh: bool = False
    # lower dirs copied up through the index (nfs_export=on indexes dirs too; their index
    # entries hold nothing else the model needs): such a dir's handle names its origin
    indexed_dirs: set[Node] = field(default_factory=set)
    # the uuid= mode this mount runs with after its fallbacks (model.super.init_uuid)
    uuid_mode: str = "auto"

    def __post_init__(self) -> None:
        self.root_lowers = tuple((layer, layer.root) for layer in self.lowers)

    @classmethod
    def build(cls, spec: LayersSpec, config: Config, samefs: bool = True,
              userns: bool = False) -> OvlFs:
        """The overlay of ``spec``, whose xattrs are named as the layers spell them (with
        ``userxattr``, the private ones ``user.overlay.*``: :func:`model.xattrs.spelled`)."""
        spec = _model_names(spec, config.userxattr)
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
        fs = cls(config, clock, lowers, upper, samefs=samefs, datas=datas, userns=userns)
        if upper is not None and config.index:
            # index=on records the lower root in trusted.overlay.origin of the upper root
            # at mount (catalogue §0, "Side effects of mounting").
            upper.root.xattrs.setdefault(ORIGIN, b"")
            upper.root.origin = (lowers[0], lowers[0].root)
        fs.init_uuid()
        return fs

    def init_uuid(self) -> None:
        """At every mount: the uuid= mode after its fallbacks (:func:`model.super.init_uuid`)."""
        root = None if self.upper is None else self.upper.root
        self.uuid_mode = init_uuid(self.config.uuid, root, self.samefs)

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


def _model_names(spec: LayersSpec, userxattr: bool) -> LayersSpec:
    """``spec`` with its xattrs under the model's names (:func:`model.xattrs.spelled`)."""
    if not userxattr:
        return spec
    return spec.with_xattrs(lambda xattrs: tuple((spelled(k, True), v) for k, v in xattrs))


def kept_origin(fs: OvlFs, parent: Node, name: bytes,
                upper: Node) -> tuple[Layer, Node] | None:
    """The in-memory origin of ``upper`` under ``name`` in ``parent`` (see
    ``OvlFs.named_origins``), or None."""
    kept = fs.named_origins.get((parent, name))
    return kept[1] if kept is not None and kept[0] is upper else None


def move_kept_origins(fs: OvlFs, odir: Node, oname: bytes, ndir: Node, nname: bytes,
                      exchange: bool) -> None:
    """A rename moves the dentry (both, exchanging), and in-memory origins with them; the
    dentry of a name renamed over goes."""
    named = fs.named_origins
    src = named.pop((odir, oname), None)
    dst = named.pop((ndir, nname), None)
    if src is not None:
        named[(ndir, nname)] = src
    if exchange and dst is not None:
        named[(odir, oname)] = dst


def impurity_changed(fs: OvlFs, *dirs: Node | None) -> None:
    """``ovl_dir_modified(dir, impurity=true)``: an entry with an origin came or went, so
    the impure lists cached for ``dirs`` are stale (a change of another entry leaves a real
    dir's list valid: ``ovl_dir_version_inc`` counts only impure changes there)."""
    fs.impure_lists.difference_update(dirs)
