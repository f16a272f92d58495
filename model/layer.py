"""Layer trees: the real filesystems under the overlay (catalogue §8 "State").

A layer is a tree of :class:`Node` objects.  A node is one *real* inode: hard links inside a
layer are the same node object under several names (``nlink`` counts them).  Lower layers
never change after :func:`build_layer`; the upper layer is mutated in place, so copy-up copies
exactly the nodes it copies up and nothing else.

Everything here is the vocabulary of the underlying filesystem (tmpfs in the tests): modes,
owners, a logical mtime, xattrs stored raw (``trusted.overlay.*`` included, exactly as a
listing of the real directory shows them), sparse file data, symlink targets, device numbers.
"""

from __future__ import annotations

import bisect
import stat as _stat
from collections.abc import Iterator

from model.content import content_digest
from model.spec import IMPURE, METACOPY, OPAQUE, ORIGIN, REDIRECT, XWHITEOUT, Entry

DIR, REG, LNK, CHR, BLK, FIFO, SOCK = "dir", "reg", "lnk", "chr", "blk", "fifo", "sock"

IFMT = {
    DIR: _stat.S_IFDIR,
    REG: _stat.S_IFREG,
    LNK: _stat.S_IFLNK,
    CHR: _stat.S_IFCHR,
    BLK: _stat.S_IFBLK,
    FIFO: _stat.S_IFIFO,
    SOCK: _stat.S_IFSOCK,
}
KIND_OF_IFMT = {v: k for k, v in IFMT.items()}
DTYPE = {k: v >> 12 for k, v in IFMT.items()}  # DT_DIR == S_IFDIR >> 12, etc.

# The logical clock starts far above any explicit utimens value a test would pick, so a
# "now" never collides with a value set on purpose.
CLOCK_BASE = 1 << 62


class SparseData:
    """File contents as sorted, non-overlapping ``(offset, bytes)`` extents plus a size.

    Anything outside the extents reads as zero, so a 5 GiB file with three bytes of data
    costs three bytes.  Extents hold immutable ``bytes``: copying a file copies a list.
    Only :meth:`write` and :meth:`truncate` change the contents; the content digest is kept
    until then.
    """

    __slots__ = ("_digest", "extents", "size")

    def __init__(self, size: int = 0, extents: list[tuple[int, bytes]] | None = None) -> None:
        self.size = size
        self.extents: list[tuple[int, bytes]] = extents if extents is not None else []
        self._digest: str | None = None

    def copy(self) -> SparseData:
        new = SparseData(self.size, list(self.extents))
        new._digest = self._digest
        return new

    def digest(self) -> str:
        """:func:`model.content.content_digest` of the contents."""
        d = self._digest
        if d is None:
            d = self._digest = content_digest(self.size, self.extents)
        return d

    def read(self, offset: int, count: int) -> bytes:
        """Up to ``count`` bytes at ``offset`` (short at end of file)."""
        end = min(self.size, offset + count)
        if end <= offset:
            return b""
        out = bytearray(end - offset)
        for off, data in self.extents:
            if off >= end:
                break
            dend = off + len(data)
            if dend <= offset:
                continue
            lo, hi = max(off, offset), min(dend, end)
            out[lo - offset : hi - offset] = data[lo - off : hi - off]
        return bytes(out)

    def write(self, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``, growing the file if needed."""
        if not data:
            return
        self._digest = None
        end = offset + len(data)
        exts = self.extents
        # Extents touching [offset, end] merge with the new data into one extent.
        i = bisect.bisect_left(exts, (offset,))
        if i > 0 and exts[i - 1][0] + len(exts[i - 1][1]) >= offset:
            i -= 1
        j = i
        while j < len(exts) and exts[j][0] <= end:
            j += 1
        if j == i:
            exts.insert(i, (offset, bytes(data)))
        else:
            start = min(offset, exts[i][0])
            last_off, last = exts[j - 1]
            stop = max(end, last_off + len(last))
            buf = bytearray(stop - start)
            for off, old in exts[i:j]:
                buf[off - start : off - start + len(old)] = old
            buf[offset - start : end - start] = data
            exts[i:j] = [(start, bytes(buf))]
        if end > self.size:
            self.size = end

    def truncate(self, size: int) -> None:
        """Cut or extend (with a hole) to ``size`` bytes."""
        self._digest = None
        if size < self.size:
            kept = []
            for off, data in self.extents:
                if off >= size:
                    break
                kept.append((off, data[: size - off]) if off + len(data) > size else (off, data))
            self.extents = kept
        self.size = size


class Node:
    """One real inode of a layer.  ``mode`` holds the permission bits only (``S_IMODE``).

    ``origin`` is the model's decoded ``trusted.overlay.origin``: the lower ``(layer, node)``
    the xattr's file handle names (the on-disk value is only compared for presence).
    ``pos`` numbers a directory's entries in creation order, like tmpfs's stable directory
    offsets, so a real (non-merged) directory handle can tell new entries from old ones.
    """

    __slots__ = (
        "children",
        "data",
        "gid",
        "ino",
        "kind",
        "listing",
        "mode",
        "mtime",
        "nlink",
        "origin",
        "rdev",
        "target",
        "uid",
        "ver",
        "xattrs",
    )

    def __init__(self, kind: str, mode: int, uid: int, gid: int, ino: int, mtime: int) -> None:
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.ino = ino
        self.mtime = mtime
        self.nlink = 1
        self.xattrs: dict[bytes, bytes] = {}
        self.data: SparseData | None = SparseData() if kind == REG else None
        self.target = b""
        self.rdev = 0
        self.children: dict[bytes, Node] | None = {} if kind == DIR else None
        self.origin: tuple[Layer, Node] | None = None
        self.ver = 0  # bumped whenever a directory's entries change (dentry cache)
        self.listing: object = None  # a lower dir's precomputed records (readdir)

    def __repr__(self) -> str:  # pragma: no cover - a debugging aid
        return f"<Node {self.kind} ino={self.ino} mode={self.mode:o}>"

    @property
    def is_dir(self) -> bool:
        return self.kind == DIR

    @property
    def st_mode(self) -> int:
        return IFMT[self.kind] | self.mode

    @property
    def size(self) -> int:
        """st_size as tmpfs reports it (directories: not compared, reported as 0)."""
        if self.kind == REG:
            assert self.data is not None
            return self.data.size
        if self.kind == LNK:
            return len(self.target)
        return 0

    def real_nlink(self) -> int:
        """tmpfs's st_nlink of a directory: 2 plus one per subdirectory, 0 once removed
        (``nlink`` is 0 then; seen through a handle still open on it).  A non-directory's
        is its ``nlink``, which callers read themselves."""
        assert self.children is not None
        if self.nlink == 0:
            return 0
        return 2 + sum(1 for c in self.children.values() if c.kind == DIR)

    def dir_children(self) -> dict[bytes, Node]:
        assert self.children is not None, "not a directory"
        return self.children

    def changed(self) -> None:
        """This directory's entries changed: cached lookups in it are stale."""
        self.ver += 1


def is_whiteout(node: Node) -> bool:
    """A whiteout: a char device 0:0, or a zero-size regular file carrying
    ``trusted.overlay.whiteout`` (xwhiteout) — catalogue §1 step 2, ``ovl_path_is_whiteout``."""
    if node.kind == CHR:
        return node.rdev == 0
    if node.kind == REG and XWHITEOUT in node.xattrs:
        assert node.data is not None
        return node.data.size == 0
    return False


class LookupHole(Node):
    """A name a lower directory lists that no lookup in it finds: an overlay as a lower layer
    lists the whiteouts of a directory it does not merge and looks none of them up
    (:mod:`model.nested`).  A lookup treats it as the whiteout it looks like; a merged
    directory's readdir lists it, since its whiteout check is a lookup in the lower directory
    (``ovl_check_whiteouts``), which finds nothing there."""

    __slots__ = ()


def listed_as_whiteout(node: Node) -> bool:
    """What a merged readdir hides as a whiteout (:func:`is_chr_whiteout`, but for holes)."""
    return is_chr_whiteout(node) and not isinstance(node, LookupHole)


def is_chr_whiteout(node: Node) -> bool:
    """Only the char-device form (``ovl_is_whiteout``), which readdir and
    ``ovl_lower_positive`` test."""
    return node.kind == CHR and node.rdev == 0


def xattr_flag(node: Node, name: bytes) -> bytes | None:
    """The one-byte value of a flag xattr (``ovl_get_opaquedir_val``): a longer value does
    not fit the one-byte buffer the kernel reads it into and counts as absent."""
    v = node.xattrs.get(name)
    return v if v is not None and len(v) == 1 else None


# No rule calls it: lookup reads the flag with xattr_flag (a gap: dead code in model/)
def is_opaque(node: Node) -> bool:  # pragma: no cover - dead code
    """``trusted.overlay.opaque`` equal to ``y`` exactly (catalogue §1; ``n``/``yes``/``x``
    are not opaque)."""
    return node.kind == DIR and xattr_flag(node, OPAQUE) == b"y"


def is_impure(node: Node) -> bool:
    return node.xattrs.get(IMPURE) == b"y"


def has_origin(node: Node) -> bool:
    return ORIGIN in node.xattrs


def is_metacopy(node: Node) -> bool:
    """A regular file carrying ``trusted.overlay.metacopy`` (``ovl_check_metacopy_xattr``):
    its metadata only; the data is the lower data file's (catalogue §4, §5)."""
    return node.kind == REG and METACOPY in node.xattrs


def data_node(upper: Node | None, lowers: tuple[tuple[Layer, Node], ...]) -> Node:
    """The node whose data an object shows (``ovl_inode_realdata``): the upper unless it is
    a metacopy, else the bottom of the lower stack (the lower data file)."""
    if upper is not None and (not lowers or not is_metacopy(upper)):
        return upper
    return lowers[-1][1]


def redirect_of(node: Node) -> bytes | None:
    return node.xattrs.get(REDIRECT)


class Layer:
    """One layer.  ``idx`` follows the kernel: 0 is the upper layer, lowers are 1..n from the
    top (``lowers[0]`` of the spec is ``idx`` 1)."""

    __slots__ = ("has_xwhiteouts", "idx", "root")

    def __init__(self, idx: int, root: Node) -> None:
        self.idx = idx
        self.root = root
        self.has_xwhiteouts = False

    @property
    def is_upper(self) -> bool:
        return self.idx == 0

    def __repr__(self) -> str:  # pragma: no cover - a debugging aid
        return "<Layer upper>" if self.idx == 0 else f"<Layer lower{self.idx - 1}>"


class Clock:
    """The logical clock (mtimes) and the inode number allocator of one test filesystem.

    All layers live on one filesystem in the tests, so inode numbers are unique across
    layers; ``st_ino`` equality then means "same real inode" exactly as on the kernel."""

    __slots__ = ("_ino", "_now")

    def __init__(self) -> None:
        self._now = CLOCK_BASE
        self._ino = 1

    def tick(self) -> int:
        """A new "now": every call returns a value never returned before."""
        self._now += 1
        return self._now

    def new_ino(self) -> int:
        self._ino += 1
        return self._ino

    def new_node(self, kind: str, mode: int, uid: int, gid: int) -> Node:
        return Node(kind, mode, uid, gid, self.new_ino(), self.tick())


_ROOT_PATHS = (b"", b".", b"/")


def build_layer(clock: Clock, idx: int, entries: tuple[Entry, ...], built: int) -> Layer:
    """A layer holding ``entries`` (parents first), like ``difftest.layers.populate``: the
    root is a 0755 root-owned dir; a ``hardlink`` shares its target's node.

    Every node gets the same mtime ``built``: the layers are written within one tick of the
    kernel's coarse clock, so two initial files show equal mtimes (renaming one over the
    other changes no mtime)."""
    root = clock.new_node(DIR, 0o755, 0, 0)
    layer = Layer(idx, root)
    by_path: dict[bytes, Node] = {b"": root}
    for e in entries:
        rel = e.path.strip(b"/")
        if rel in _ROOT_PATHS:  # the uuid=* presets describe the upper root
            _apply_meta(root, e)
            continue
        parent_path, _, name = rel.rpartition(b"/")
        parent = by_path[parent_path]
        node = _make_node(clock, e, by_path)
        parent.dir_children()[name] = node
        by_path[rel] = node
    layer.has_xwhiteouts = idx > 0 and any(
        n.kind == DIR and xattr_flag(n, OPAQUE) == b"x" for n in by_path.values()
    )
    for node in by_path.values():
        node.mtime = built
    return layer


def _apply_meta(node: Node, e: Entry) -> None:
    node.mode = _stat.S_IMODE(e.mode)
    node.uid, node.gid = e.uid, e.gid
    node.xattrs.update(e.xattrs)


def _make_node(clock: Clock, e: Entry, by_path: dict[bytes, Node]) -> Node:
    if e.kind == "hardlink":
        node = by_path[e.target.strip(b"/")]
        node.nlink += 1
        return node
    if e.kind == "whiteout":
        return clock.new_node(CHR, 0, e.uid, e.gid)
    node = clock.new_node(e.kind, _stat.S_IMODE(e.mode), e.uid, e.gid)
    if e.kind == LNK:
        node.mode = 0o777  # a symlink's mode is always 0777 on Linux
        node.target = e.target
    elif e.kind == REG:
        assert node.data is not None
        node.data.write(0, e.data)
        node.data.truncate(e.file_size)
    elif e.kind in (CHR, BLK):  # pragma: no cover - difftest's layers hold no devices
        node.rdev = e.rdev
    node.xattrs.update(e.xattrs)
    return node


def walk_tree(root: Node, prefix: bytes = b"") -> Iterator[tuple[bytes, Node]]:
    """``(path, node)`` for ``root`` (as ``b"/"``) and everything beneath it."""
    yield (prefix or b"/"), root
    stack = [(prefix, root)]
    while stack:
        path, node = stack.pop()
        assert node.children is not None
        for name, child in node.children.items():
            p = path + b"/" + name
            yield p, child
            if child.children is not None:
                stack.append((p, child))
