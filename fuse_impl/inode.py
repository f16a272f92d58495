"""Overlay inodes: the table FUSE addresses, lookup counts, st_ino rules, getattr/setattr.

A :class:`Node` stands for one overlay dentry+inode: (parent, name) plus what the name
resolved to.  FUSE refers to nodes by their own handle (``nodeid``), never reused; the
inode number reported to users follows the kernel's rules on a single filesystem
(catalogue §3, the kernel's ovl_getattr), and on layers that span several filesystems is
then made unique across them (:mod:`fuse_impl.xino`, with the fsid of the layer the number
comes from):

* root: the upper root's ino (the top lower root's without an upper);
* a directory with a lower stack: the top lower dir's ino (persistent across copy-up and
  redirects); otherwise its own ino;
* a non-directory with an upper: the origin's ino when ``overlay.origin`` decodes to an
  object of the same type with nlink 1, else the upper ino;
* a lower-only object: the real ino of the providing layer.

``st_nlink`` is 1 for merged directories (upper+lower, or several lowers), else real.
Lookup counts come from lookup/create/readdirplus replies and go back in ``forget``; a node
stays while counted or open.  A removed node keeps an O_PATH fd on its real object so that
open handles, fstat and fchmod keep working until the last forget (unlink-while-open).

There is one node per name, so the names of a hard-linked file are several FUSE inodes,
each with attributes of its own in the kernel's cache.  The table indexes nodes by their
providing real object (``Node.real``, its st_dev and st_ino), so that a change through one
name can reach every other (:meth:`NodeTable.same_object`).
"""

from __future__ import annotations

import contextvars
import ctypes
import errno
import os
import stat
import struct
import sys
import time
from collections.abc import Callable

import pyfuse3

from . import crash, index, layers
from .errors import fail
from .layers import Layer, LowerRef
from .lookup import Resolved, lookup
from .super import OverlayFs

ROOT_ID: int = pyfuse3.ROOT_INODE
RealKey = tuple[int, int]


def _attr_ino_offset() -> int:
    """Byte offset of ``attr.st_ino`` inside a pyfuse3 EntryAttributes object.

    pyfuse3 sets the FUSE node id and the reported st_ino together; the FUSE protocol keeps
    them apart.  The offset is found by writing a marker through the public setter.
    """
    probe = pyfuse3.EntryAttributes()
    marker = 0x5A17C0DE0BADF00D
    probe.st_ino = marker
    raw = ctypes.string_at(id(probe), sys.getsizeof(probe))
    hits = [i for i in range(0, len(raw) - 7) if struct.unpack_from("<Q", raw, i)[0] == marker]
    if len(hits) != 2:
        raise RuntimeError(f"unexpected EntryAttributes layout: {hits}")
    return hits[1]


_ATTR_INO_OFFSET = _attr_ino_offset()


def set_reported_ino(entry: pyfuse3.EntryAttributes, ino: int) -> None:
    """Report *ino* as st_ino while keeping the FUSE node id already set in *entry*."""
    ctypes.c_uint64.from_address(id(entry) + _ATTR_INO_OFFSET).value = ino


class Node:
    """One overlay object, as FUSE sees it."""

    __slots__ = (
        "const_ino", "copy_gen", "index", "indexed", "ino", "kind", "lookups", "lowers", "name",
        "nodeid", "opens", "orphan_fd", "parent", "real", "upper", "writers",
    )

    def __init__(self, nodeid: int, parent: Node | None, name: bytes):
        self.nodeid = nodeid
        self.parent = parent
        self.name = name
        self.lookups = 0
        self.opens = 0
        self.writers = 0
        self.kind = stat.S_IFDIR
        self.upper = False
        self.lowers: list[LowerRef] = []
        self.ino = 0
        # a non-dir with an upper that shows its origin's inode number (OVL_CONST_INO), also
        # when only this node remembers the origin (see identity)
        self.const_ino = False
        self.copy_gen = 0
        self.orphan_fd: int | None = None
        self.real: RealKey = (0, 0)  # (st_dev, st_ino) of the providing real object
        self.indexed: RealKey | None = None  # where NodeTable's index has it
        # index=on: the path of the index entry of an indexed file (fuse_impl.index), which
        # a name not yet copied up (upper False) shows
        self.index: bytes | None = None

    def path(self) -> bytes:
        """Overlay path relative to the root (b"" for the root); ENOENT once removed."""
        parts = []
        node = self
        while node.parent is not None:
            parts.append(node.name)
            node = node.parent
        if node.nodeid != ROOT_ID:
            fail(errno.ENOENT, self.name)
        return b"/".join(reversed(parts))

    @property
    def is_dir(self) -> bool:
        return self.kind == stat.S_IFDIR

    @property
    def merged(self) -> bool:
        """A directory contributed by more than one layer."""
        return self.is_dir and (len(self.lowers) + (1 if self.upper else 0)) > 1

    def __repr__(self) -> str:
        return f"Node({self.nodeid}, {self.name!r}, upper={self.upper}, lowers={len(self.lowers)})"


def real_path(ofs: OverlayFs, node: Node) -> bytes:
    """Where the node's providing object is: orphan fd, upper path or top lower."""
    if node.orphan_fd is not None:
        return b"/proc/self/fd/%d" % node.orphan_fd
    if node.upper:
        assert ofs.upper is not None
        return ofs.upper.real(node.path())
    if node.index is not None:
        return node.index
    if not node.lowers:
        fail(errno.ENOENT, node.name)
    return node.lowers[0].real()


def provider(ofs: OverlayFs, node: Node) -> Layer | None:
    """The layer holding the node's providing object."""
    if node.upper or node.index is not None:
        return ofs.upper
    return node.lowers[0].layer if node.lowers else None


def shown_attrs(ofs: OverlayFs, node: Node, st: os.stat_result) -> tuple[int, int, int]:
    """(mode, uid, gid) the node shows, from its providing object's lstat *st* (owners.py)."""
    if ofs.owners.identity:
        return st.st_mode, st.st_uid, st.st_gid
    return ofs.owners.shown(provider(ofs, node), real_path(ofs, node), st)


def upper_path(ofs: OverlayFs, node: Node) -> bytes:
    """The upper object's path (the node must be copied up)."""
    if node.orphan_fd is not None:
        return b"/proc/self/fd/%d" % node.orphan_fd
    assert ofs.upper is not None and node.upper
    return ofs.upper.real(node.path())


def reported_ino(ofs: OverlayFs, res: Resolved, is_dir: bool) -> int:
    """st_ino by the kernel's rules (see module doc), unique across filesystems (xino)."""
    return ofs.xino.ino(_ino_source(res, is_dir))


def _ino_source(res: Resolved, is_dir: bool) -> os.stat_result:
    """The real object whose inode number the overlay object shows."""
    if is_dir:
        return res.lowers[0].st if res.lowers else res.top.st
    if res.index is not None:  # indexed: the origin's, whatever its link count
        return res.origin if res.origin is not None else res.lowers[0].st
    if res.upper is not None:
        origin = res.origin
        if (
            origin is not None
            and origin.st_nlink == 1
            and stat.S_IFMT(origin.st_mode) == stat.S_IFMT(res.upper.st.st_mode)
        ):
            return origin
        return res.upper.st
    return res.lowers[0].st


def apply_resolved(ofs: OverlayFs, node: Node, res: Resolved) -> None:
    """Record in *node* what its name resolved to."""
    node.kind = res.kind
    node.upper = res.upper is not None
    node.lowers = [LowerRef(hit.layer, hit.rel) for hit in res.lowers]
    source = _ino_source(res, res.is_dir)
    node.ino = ofs.xino.ino(source)
    node.const_ino = not res.is_dir and res.upper is not None and source is not res.upper.st
    node.real = real_key(res.shown_st)
    node.index = res.index[0] if res.index is not None else None


def origin_type(ofs: OverlayFs, node: Node) -> bool:
    """OVL_TYPE_ORIGIN: an upper object that shows a lower's inode number, so that moving or
    linking it into another directory makes that directory impure.  A directory has it when
    its upper carries an origin; a non-directory when its node shows its origin's number,
    which a name that remembers an origin the layer cannot carry (userxattr) or nobody can
    decode (a user namespace) does too, as the kernel's dentry does (found by difftest in
    the userxattr preset: reports/ovlfuse-userxattr-20261205/)."""
    if not node.upper:
        return False
    if node.is_dir:
        return layers.getxattr(upper_path(ofs, node), ofs.private(b"origin")) is not None
    return node.const_ino


def real_key(st: os.stat_result) -> RealKey:
    """Which real object a stat result is of."""
    return st.st_dev, st.st_ino


def identity(ofs: OverlayFs, node: Node, res: Resolved) -> bool:
    """Whether *res* is still the object *node* stands for (same type and real inode).

    A copied-up non-dir whose origin the upper layer does not carry (a symlink or special
    file under userxattr) or nobody can decode (in a user namespace, no open_by_handle_at)
    resolves to its upper object alone (no decoded origin); under the name it was copied up
    as, it is still the node that knew its lower, as the kernel's dentry keeps the lower
    stack until it is dropped (the node is forgotten).  Found by difftest in the userns
    preset: an open handle's next read went to a new node's stale path
    (reports/ovlfuse-userns-20261205)."""
    if res.kind != node.kind:
        return False
    if node.upper != (res.upper is not None):
        return False
    if reported_ino(ofs, res, res.is_dir) == node.ino:
        return True
    return (node.upper and not res.is_dir and res.origin is None
            and node.real == real_key(res.shown_st))


class NodeTable:
    """nodeid → Node, (parent nodeid, name) → Node for attached nodes, and real object →
    the nodes it provides.

    A node enters the real-object index when its name resolves.  Copy-up gives a node a new
    real object of which it is the only node; it moves in the index when next asked about
    (:meth:`same_object`, :meth:`track`), which link() does before giving it a second name.
    """

    def __init__(self, ofs: OverlayFs):
        self.ofs = ofs
        self.nodes: dict[int, Node] = {}
        self.dentries: dict[tuple[int, bytes], Node] = {}
        self.objects: dict[RealKey, tuple[Node, ...]] = {}
        self._next = ROOT_ID + 1
        self._fresh: list[Node] = []  # made outside any request (see fresh_begin)
        self.root = self._make_root()

    def _make_root(self) -> Node:
        ofs = self.ofs
        root = Node(ROOT_ID, None, b"")
        root.upper = ofs.upper is not None
        root.lowers = list(ofs.root_stack)
        top = ofs.upper if ofs.upper is not None else ofs.lowers[0]
        st = os.stat(top.real(b""))
        root.ino = ofs.xino.ino(st)
        root.real = real_key(st)
        root.lookups = 1
        self.nodes[ROOT_ID] = root
        self.track(root)
        return root

    def track(self, node: Node) -> None:
        """Index a node of the table under its current real object."""
        if node.indexed == node.real or self.nodes.get(node.nodeid) is not node:
            return
        self._untrack(node)
        self.objects[node.real] = (*self.objects.get(node.real, ()), node)
        node.indexed = node.real

    def _untrack(self, node: Node) -> None:
        key = node.indexed
        if key is None:
            return
        rest = tuple(n for n in self.objects.get(key, ()) if n is not node)
        if rest:
            self.objects[key] = rest
        else:
            self.objects.pop(key, None)
        node.indexed = None

    def same_object(self, node: Node) -> tuple[Node, ...]:
        """The nodes whose providing real object is *node*'s, *node* first."""
        old = node.indexed
        self.track(node)
        if node.index is not None and old is not None and old != node.real:
            self._adopt_index(old, node)
        group = self.objects.get(node.real, ())
        if len(group) == 1 and group[0] is node:
            return group  # the usual case: no other name
        return (node, *(n for n in group if n is not node and n.real == node.real))

    def _adopt_index(self, lower: RealKey, node: Node) -> None:
        """*node* was copied up through the index: the other names of its lower file, one
        overlay inode with it under index=on, now show the index entry (found by difftest in
        caching mode, where their attributes were served from the lower file:
        reports/ovlfuse-index-20261205)."""
        for other in self.objects.get(lower, ()):
            if other is not node and not other.is_dir and not other.upper:
                other.index, other.real = node.index, node.real
                self.track(other)

    def get(self, nodeid: int) -> Node:
        node = self.nodes.get(nodeid)
        if node is None:
            fail(errno.ESTALE)
        return node

    def child(self, parent: Node, name: bytes) -> Node | None:
        return self.dentries.get((parent.nodeid, name))

    def attach(self, node: Node, parent: Node, name: bytes) -> None:
        """Bind *node* to (parent, name), unbinding whatever was there."""
        self.detach_name(node)
        old = self.dentries.get((parent.nodeid, name))
        if old is not None and old is not node:
            self.detach(old)
        node.parent, node.name = parent, name
        self.dentries[(parent.nodeid, name)] = node

    def detach_name(self, node: Node) -> None:
        if node.parent is not None and self.dentries.get((node.parent.nodeid, node.name)) is node:
            del self.dentries[(node.parent.nodeid, node.name)]

    def pin(self, node: Node) -> None:
        """Keep the real object of a node FUSE still uses reachable after its name goes."""
        if node.orphan_fd is not None or not (node.lookups or node.opens):
            return
        try:
            node.orphan_fd = os.open(
                real_path(self.ofs, node), os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
            )
        except OSError:
            node.orphan_fd = None

    def unpin(self, node: Node) -> None:
        """Undo :meth:`pin` when the removal did not happen."""
        if node.orphan_fd is not None and node.parent is not None:
            os.close(node.orphan_fd)
            node.orphan_fd = None

    def detach(self, node: Node, pin: bool = False) -> None:
        """The node's name is gone; with *pin*, keep its object reachable (see :meth:`pin`)."""
        if pin:
            self.pin(node)
        self.detach_name(node)
        node.parent = None
        self.drop_if_unused(node)

    def resolve(self, parent: Node, name: bytes, res: Resolved) -> Node:
        """The node for a positive *res* at (parent, name), new when the object changed."""
        node = self.child(parent, name)
        if node is not None and identity(self.ofs, node, res):
            # the name's node keeps the number it showed (see identity)
            ino, const_ino = node.ino, node.const_ino
            apply_resolved(self.ofs, node, res)
            node.ino, node.const_ino = ino, const_ino
            self.track(node)
            return node
        if node is not None:
            self.detach(node)
        node = Node(self._next, parent, name)
        self._next += 1
        apply_resolved(self.ofs, node, res)
        self.nodes[node.nodeid] = node
        self.dentries[(parent.nodeid, name)] = node
        self.track(node)
        fresh = _fresh.get()
        (self._fresh if fresh is None else fresh).append(node)
        return node

    def sweep(self, fresh: list[Node] | None = None) -> None:
        """Drop the nodes made during a request (*fresh*: that request's own list, see
        :func:`fresh_begin`) that the kernel was never handed."""
        nodes = self._fresh if fresh is None else fresh
        for node in nodes:
            self.drop_if_unused(node)
        nodes.clear()


    def shown_ino(self, parent: Node, name: bytes, res: Resolved) -> int:
        """The inode number a lookup of *name* in *parent* shows: its node's while the name
        has one for the same object (which may remember an origin, see identity), else by
        the rules."""
        node = self.child(parent, name)
        if node is not None and identity(self.ofs, node, res):
            return node.ino
        return reported_ino(self.ofs, res, res.is_dir)

    def lookup(self, parent: Node, name: bytes) -> tuple[Resolved, Node | None]:
        """Resolve *name* in the directory *parent*: the result and its node (None if negative)."""
        if not parent.is_dir:
            fail(errno.ENOTDIR, parent.name)
        res = lookup(self.ofs, parent.path(), parent.upper, parent.lowers, name)
        if not res.positive:
            stale = self.child(parent, name)
            if stale is not None:
                self.detach(stale)
            return res, None
        return res, self.resolve(parent, name, res)

    def forget(self, nodeid: int, count: int) -> None:
        node = self.nodes.get(nodeid)
        if node is None or nodeid == ROOT_ID:
            return
        node.lookups = max(0, node.lookups - count)
        self.drop_if_unused(node)

    def drop_if_unused(self, node: Node) -> None:
        if node.lookups or node.opens or node.nodeid == ROOT_ID:
            return
        self.nodes.pop(node.nodeid, None)
        self._untrack(node)
        self.detach_name(node)
        if node.orphan_fd is not None:
            os.close(node.orphan_fd)
            node.orphan_fd = None


def stat_node(ofs: OverlayFs, node: Node) -> os.stat_result:
    """lstat of the providing real object."""
    if node.orphan_fd is not None:
        return os.fstat(node.orphan_fd)
    return os.lstat(real_path(ofs, node))


def entry_attributes(ofs: OverlayFs, node: Node,
                     st: os.stat_result | None = None) -> pyfuse3.EntryAttributes:
    """The FUSE attributes of *node*, with overlay st_ino and nlink."""
    if st is None:
        st = stat_node(ofs, node)
    entry = pyfuse3.EntryAttributes()
    entry.st_ino = node.nodeid
    set_reported_ino(entry, node.ino)
    entry.generation = 0
    entry.entry_timeout = ofs.timeout
    entry.attr_timeout = ofs.timeout
    entry.st_mode, entry.st_uid, entry.st_gid = shown_attrs(ofs, node, st)
    entry.st_nlink = 1 if node.merged or (node.is_dir and ofs.cfg.static_nlink) else st.st_nlink
    if node.index is not None and node.orphan_fd is None:
        entry.st_nlink = index.union_nlink(ofs, real_path(ofs, node), st)
    entry.st_rdev = st.st_rdev
    entry.st_size = st.st_size
    entry.st_blksize = st.st_blksize
    entry.st_blocks = st.st_blocks
    entry.st_atime_ns = st.st_atime_ns
    entry.st_mtime_ns = st.st_mtime_ns
    entry.st_ctime_ns = st.st_ctime_ns
    return entry


def setattr_node(ofs: OverlayFs, node: Node, attr: pyfuse3.EntryAttributes,
                 fields: pyfuse3.SetattrFields, fd: int | None,
                 invalidate: Callable[[Node], None] | None = None) -> None:
    """chmod / chown / truncate / utimens: always copy up first, even for no-op values.

    That includes chown(-1, -1), which arrives as a ctime-only change (utimensat with
    UTIME_OMIT twice never gets here: the VFS returns early).  Truncation copies only the
    data that survives (none for size 0).  chown runs before chmod because it clears suid.
    """
    from .copy_up import copy_up  # copy_up builds on this module

    if not ofs.writable:
        fail(errno.EROFS)
    if fields.update_size and node.is_dir:
        fail(errno.EISDIR)
    copy_up(ofs, node, data_limit=attr.st_size if fields.update_size else None,
            invalidate=invalidate)
    path = upper_path(ofs, node)
    if fields.update_uid or fields.update_gid:
        ofs.owners.chown(path, *ofs.owners.store_ids(attr.st_uid if fields.update_uid else -1,
                                                     attr.st_gid if fields.update_gid else -1))
    if fields.update_mode and node.kind != stat.S_IFLNK:
        ofs.owners.chmod(path, attr.st_mode)
    if fields.update_size:
        if fd is not None:
            crash.step()
            os.ftruncate(fd, attr.st_size)
        else:
            layers.truncate(path, attr.st_size)
    if fields.update_atime or fields.update_mtime:
        layers.utimens(path, _fine_now(attr.st_atime_ns) if fields.update_atime else None,
                       _fine_now(attr.st_mtime_ns) if fields.update_mtime else None)


def _fine_now(ns: int) -> int:
    """A time the kernel filled in for UTIME_NOW, made fine-grained.

    For UTIME_NOW the FUSE module sends its own (coarse, once per clock tick) current time
    together with FATTR_MTIME_NOW, and pyfuse3 hands on the explicit time whenever it is
    there, so two "now"s within one tick would leave the time unchanged; the kernel overlay
    writes a fine-grained time to its tmpfs upper.  A time within the last tick of the coarse
    clock is taken for "now"; an explicit time that close to now differs from the real now by
    less than a tick anyway.
    """
    coarse = time.clock_gettime_ns(_REALTIME_COARSE)
    if coarse - _TICK_NS <= ns <= coarse:
        return time.time_ns()
    return ns


_REALTIME_COARSE = getattr(time, "CLOCK_REALTIME_COARSE", 5)  # Linux's id; Python 3.11 lacks it
_TICK_NS = max(1, int(time.clock_getres(_REALTIME_COARSE) * 1e9))


def listed_only(ofs: OverlayFs, st: os.stat_result) -> pyfuse3.EntryAttributes:
    """A readdirplus entry without a node (FUSE node id 0: the kernel links nothing)."""
    return listed_entry(ofs.xino.ino(st), st.st_mode, st.st_rdev)


def listed_entry(ino: int, mode: int, rdev: int = 0) -> pyfuse3.EntryAttributes:
    """A readdirplus entry without a node, from what is known of it (its listing's d_type
    and d_ino when not even lstat finds it)."""
    entry = pyfuse3.EntryAttributes()
    entry.st_ino = 0
    set_reported_ino(entry, ino)
    entry.entry_timeout = 0
    entry.attr_timeout = 0
    entry.st_mode = mode
    entry.st_rdev = rdev
    return entry


# The nodes made during the request running in this context (each request task has its own:
# fuse_impl/loop.py), so that a request's sweep never drops what another, waiting for a
# copy-up's data, has made and not yet handed to the kernel.
_fresh: contextvars.ContextVar[list[Node] | None] = contextvars.ContextVar(
    "ovlfuse_fresh_nodes", default=None)


def fresh_begin() -> tuple[contextvars.Token[list[Node] | None], list[Node]]:
    fresh: list[Node] = []
    return _fresh.set(fresh), fresh


def fresh_end(token: contextvars.Token[list[Node] | None]) -> None:
    _fresh.reset(token)
