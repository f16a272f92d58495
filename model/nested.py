"""Nested overlays: an overlay whose lower layer is another overlay's merged view.

Rules (checked on 6.18 with a read-only overlay of two lowers under a read-write one):

* the outer overlay sees exactly what the inner one shows: the inner's whiteouts, opaque
  directories and redirects are the inner's business, and its own private xattrs
  (``trusted.overlay.*`` on its layers) are hidden from the outer;
* an escaped name on an inner layer (``trusted.overlay.overlay.opaque``) is shown by the
  inner overlay unescaped (``trusted.overlay.opaque``), so the outer one obeys it
  (``ovl_xattr_escape``: escaping is how a nested overlay's layers carry the outer's marks);
* the inner overlay's attributes come through its getattr: a directory it merges reports one
  link; a non-directory keeps its link count and its inode number, hard links included;
* an overlay cannot decode file handles unless mounted with ``nfs_export=on``
  (``ovl_can_decode_fh``), so the outer one mounts with ``ofs->nofh``: index=on and
  nfs_export=on fall back to off ("fs on '…' does not support file handles, falling back to
  index=off,nfs_export=off"), and each copy-up writes an empty origin (a null file handle,
  as in a user namespace): the copy keeps its inode number only until the next mount;
* the layers then sit on two filesystems (the inner overlay's and the upper's), with
  their st_dev rules (catalogue §3).
"""

from __future__ import annotations

from dataclasses import replace

from model.config import Config
from model.errors import OvlError
from model.fs import OvlFs
from model.layer import CHR, DIR, Clock, Layer, LookupHole, Node, build_layer, xattr_flag
from model.namei import Nameidata, resolve
from model.overlay import Overlay
from model.spec import OPAQUE, LayersSpec
from model.types import ROOT
from model.xattrs import get_value, listed_names, stored_name


class ViewDir(Node):
    """A directory of the inner overlay's view: its link count is the one the inner overlay
    reports (1 for a directory it merges), not one computed from its entries."""

    __slots__ = ("shown_nlink",)

    def __init__(self, kind: str, mode: int, uid: int, gid: int, ino: int, mtime: int,
                 shown_nlink: int) -> None:  # fmt: skip
        super().__init__(kind, mode, uid, gid, ino, mtime)
        self.shown_nlink = shown_nlink

    def real_nlink(self) -> int:
        return 0 if self.nlink == 0 else self.shown_nlink


def _shown_xattrs(inner: Overlay, real: Node) -> dict[bytes, bytes]:
    """The xattrs ``inner`` shows root on an object whose real node is ``real``
    (``llistxattr``, ``lgetxattr``: private names hidden, escaped ones unescaped)."""
    cfg = inner.fs.config
    return {name: get_value(real, stored_name(name, cfg.userxattr))
            for name in listed_names(real, ROOT, cfg.userxattr, inner.fs.userns)}  # fmt: skip


def _join(parent: bytes, name: bytes) -> bytes:
    return (parent.rstrip(b"/") + b"/" + name) if parent != b"/" else b"/" + name


class _Viewer:
    """Copies the inner overlay's merged view, as root sees it, into nodes of a layer."""

    def __init__(self, inner: Overlay, clock: Clock, built: int) -> None:
        self.inner = inner
        self.clock = clock
        self.built = built
        self.by_ino: dict[int, Node] = {}  # the inner's inode numbers: hard links share a node
        self.dirs: list[Node] = []

    def node(self, path: bytes) -> Node:
        """The node for ``path`` (a hole where the inner lookup fails)."""
        try:
            st = self.inner.lstat(path)
            d = resolve(Nameidata(self.inner.fs, ROOT), path, follow=False)
        except OvlError:
            return self.hole()
        real = d.real
        if real.kind != DIR and st.ino in self.by_ino:
            return self.by_ino[st.ino]
        if real.kind == DIR:
            node: Node = ViewDir(DIR, real.mode, real.uid, real.gid, self.clock.new_ino(),
                                 self.built, st.nlink)  # fmt: skip
            self.dirs.append(node)
        else:
            node = Node(real.kind, real.mode, real.uid, real.gid, self.clock.new_ino(),
                        self.built)  # fmt: skip
            node.nlink = st.nlink
            node.rdev = real.rdev
            node.target = real.target
            if real.data is not None:
                node.data = real.data.copy()
            self.by_ino[st.ino] = node
        node.xattrs = _shown_xattrs(self.inner, real)
        return node

    def hole(self) -> Node:
        """A name the inner overlay lists and does not find (a whiteout in a directory it
        does not merge, catalogue §5): listed by the outer overlay, never found."""
        return LookupHole(CHR, 0, 0, 0, self.clock.new_ino(), self.built)

    def fill(self, path: bytes, into: Node) -> None:
        for entry in self.inner.readdir(path):
            if entry.name in (b".", b".."):
                continue
            child_path = _join(path, entry.name)
            child = self.node(child_path)
            into.dir_children()[entry.name] = child
            if child.kind == DIR:
                self.fill(child_path, child)


def view_layer(inner: Overlay, clock: Clock, idx: int) -> Layer:
    """The merged view of ``inner`` as layer ``idx`` of another overlay."""
    built = clock.tick()
    root = build_layer(clock, idx, (), built).root
    root.xattrs = _shown_xattrs(inner, resolve(Nameidata(inner.fs, ROOT), b"/", True).real)
    viewer = _Viewer(inner, clock, built)
    viewer.fill(b"/", root)
    layer = Layer(idx, root)
    layer.has_xwhiteouts = any(xattr_flag(n, OPAQUE) == b"x" for n in viewer.dirs)
    return layer


def nested(inner: LayersSpec, outer_upper: LayersSpec, config: Config) -> Overlay:
    """An overlay of ``config`` whose only lower layer is the merged view of a read-only
    overlay of ``inner``'s lowers (default options), with ``outer_upper.upper`` as its
    upper layer (see the module doc)."""
    inner_ovl = Overlay.from_spec(LayersSpec(lowers=inner.lowers, upper=None), Config(),
                                  samefs=True)  # fmt: skip
    config = replace(config, index=False, nfs_export=False)  # ofs->nofh: no file handles
    shell = Overlay.from_spec(LayersSpec(lowers=((),), upper=outer_upper.upper), config,
                              samefs=False)  # fmt: skip
    fs: OvlFs = shell.fs
    fs.lowers = [view_layer(inner_ovl, fs.clock, 1)]
    fs.root_lowers = tuple((layer, layer.root) for layer in fs.lowers)
    fs.nofh = True
    fs.root = None  # no dentry of the shell's own empty lower may stay cached
    return shell
