"""Directory listings (readdir.c, catalogue §2.2).

A directory that is not merged and has no origin (the kernel's ovl_dir_is_real) lists its
one real directory as it is: a whiteout there is listed, though looking it up gives ENOENT
(not with ``aufs_whiteouts``, where no whiteout of either form is ever listed: aufs.py).
Any other lists the union of its layers: the first layer holding a name decides (a whiteout
there hides it and is not listed), ``.`` and ``..`` come once.  The order imitates the
kernel's: names of the lowest layer first, in its order, then the others in the order first
seen, upper first.

Each open directory handle keeps a snapshot of the listing, built at the first read and
rebuilt when reading restarts at offset 0 (``rewinddir``), as the kernel caches the merged
list per open file; offsets are positions in the snapshot, so they stay valid while the
directory changes.  Entries are sent as readdirplus replies; each one sent (except ``.``
and ``..``) counts as a lookup.
"""

from __future__ import annotations

import errno
import os
import stat

import pyfuse3

from . import aufs, layers
from .errors import fail
from .inode import Node, NodeTable, entry_attributes, listed_entry, listed_only
from .lookup import lookup
from .super import OverlayFs


class DirHandle:
    """An open directory: its node, the listing snapshot, and the real dir if listed raw."""

    __slots__ = ("entries", "node", "real_dir")

    def __init__(self, node: Node):
        self.node = node
        self.entries: list[bytes] | None = None
        self.real_dir: bytes | None = None


def _layer_dirs(ofs: OverlayFs, node: Node) -> list[tuple[bytes, bool]]:
    """(real path, is upper) of every layer directory of *node*, top first."""
    dirs = []
    if node.upper:
        assert ofs.upper is not None
        dirs.append((ofs.upper.real(node.path()) if node.orphan_fd is None
                     else b"/proc/self/fd/%d" % node.orphan_fd, True))
    dirs.extend((ref.real(), False) for ref in node.lowers)
    return dirs


def _hidden(ofs: OverlayFs, path: bytes, name: bytes, dtype: int, xwhiteouts: bool) -> bool:
    """Whether a listed entry is a whiteout (char device 0:0, or an honoured xwhiteout)."""
    if dtype == 0:
        st = layers.lstat(path + b"/" + name)
        return st is not None and layers.is_whiteout(st)
    if xwhiteouts and dtype == stat.S_IFREG:
        st = layers.lstat(path + b"/" + name)
        return st is not None and layers.is_xwhiteout(path + b"/" + name, st, ofs.prefix)
    return False


def _read_layer(ofs: OverlayFs, path: bytes, is_upper: bool) -> list[tuple[bytes, bool]]:
    """(name, is whiteout) for every entry of one real directory, in its own order (with AUFS
    whiteouts: the names their entries hide, aufs.layer_entries)."""
    xwhiteouts = not is_upper and layers.getxattr(path, ofs.private(b"opaque")) == b"x"
    entries = [
        (name, _hidden(ofs, path, name, dtype, xwhiteouts))
        for name, dtype, _ino in layers.listdir(path)
    ]
    return aufs.layer_entries(entries) if aufs.active(ofs) else entries


def merged_listing(ofs: OverlayFs, node: Node) -> list[tuple[bytes, bool]]:
    """(name, hidden) for the whole merged directory, in the kernel's order."""
    dirs = _layer_dirs(ofs, node)
    if len(dirs) == 1:
        return _read_layer(ofs, *dirs[0])
    seen: dict[bytes, bool] = {}
    rest: list[bytes] = []
    front: list[bytes] = []
    for i, (path, is_upper) in enumerate(dirs):
        lowest = i == len(dirs) - 1
        for name, hidden in _read_layer(ofs, path, is_upper):
            if name not in seen:
                seen[name] = hidden
                if not lowest:
                    rest.append(name)
            if lowest:
                front.append(name)
    in_front = set(front)
    return [(n, seen[n]) for n in front + [n for n in rest if n not in in_front]]


def real_dir(ofs: OverlayFs, node: Node) -> bytes | None:
    """The one real directory listed as is, or None for a merged (or origin-marked) dir.
    With AUFS whiteouts no directory is listed as is: whiteouts are never listed there."""
    if aufs.active(ofs):
        return None
    dirs = _layer_dirs(ofs, node)
    if len(dirs) != 1:
        return None
    path, is_upper = dirs[0]
    if is_upper and layers.getxattr(path, ofs.private(b"origin")) is not None:
        return None  # may hold whiteouts of a lower that is gone: filtered as merged
    return path


def visible_names(ofs: OverlayFs, node: Node) -> list[bytes]:
    """The names a listing of *node* shows (without ``.`` and ``..``)."""
    return [name for name, hidden in merged_listing(ofs, node) if not hidden]


def check_empty(ofs: OverlayFs, node: Node, covers_lower: bool = False) -> bool:
    """ENOTEMPTY unless the directory shows no entry; True if its upper holds any.

    Whiteouts in any layer do not count (ovl_check_empty_dir) and the caller clears the
    upper ones, unless the dir is pure upper (no lower, no origin) and its removal is the
    upper fs's own rmdir(2), where they are entries like any other.  A lower-only dir is
    never pure upper, though its listing is raw; nor is one whose name *covers_lower* (a
    lower layer has something there, so the removal leaves a whiteout: ovl_do_remove).
    """
    raw = real_dir(ofs, node)
    if raw is not None and not node.lowers and not covers_lower and layers.listdir(raw):
        fail(errno.ENOTEMPTY, node.name)  # never with AUFS whiteouts: real_dir is None
    listing = merged_listing(ofs, node)
    if any(not hidden for _name, hidden in listing):
        fail(errno.ENOTEMPTY, node.name)
    if not node.upper:
        return False
    assert ofs.upper is not None
    return bool(layers.listdir(ofs.upper.real(node.path())))


def fill(ofs: OverlayFs, table: NodeTable, dh: DirHandle, offset: int,
         token: pyfuse3.ReaddirToken) -> None:
    """Send entries from position *offset* of the snapshot until the reply buffer is full."""
    if dh.entries is None or offset == 0:
        dh.real_dir = real_dir(ofs, dh.node)
        _drop_needless_impure(ofs, table, dh.node)
        names = ([entry[0] for entry in layers.listdir(dh.real_dir)] if dh.real_dir is not None
                 else visible_names(ofs, dh.node))
        dh.entries = [b".", b"..", *names]
    entries = dh.entries
    for pos in range(offset, len(entries)):
        name = entries[pos]
        child, st = _entry_node(table, dh.node, name)
        if child is None:
            attrs = _unresolvable(ofs, dh, name)
            if attrs is None:
                continue  # gone since the snapshot was taken
            if not pyfuse3.readdir_reply(token, name, attrs, pos + 1):
                return
            continue
        try:
            attrs = entry_attributes(ofs, child, st)
        except OSError:
            table.drop_if_unused(child)
            continue
        if not pyfuse3.readdir_reply(token, name, attrs, pos + 1):
            table.drop_if_unused(child)
            return
        if name not in (b".", b".."):
            child.lookups += 1


def _drop_needless_impure(ofs: OverlayFs, table: NodeTable, node: Node) -> None:
    """Listing an upper dir marked impure that it lists as is (not merged, no origin), the
    kernel looks every entry up to report its d_ino (ovl_cache_get_impure); when no entry's
    st_ino differs from its real one it removes the needless mark (not on a read-only
    mount).  It does so only with ovl_same_dev: on several filesystems without xino it lists
    the real dir as it is.  The lookups go through the dentry cache: a name that remembers
    an origin the layer does not carry keeps the mark (found by difftest in the userxattr
    preset, reports/ovlfuse-userxattr-20261205/)."""
    impure = ofs.private(b"impure")
    if (not ofs.writable or not ofs.same_dev or not node.upper or node.orphan_fd is not None
            or node.lowers):
        return
    assert ofs.upper is not None
    path = ofs.upper.real(node.path())
    if layers.getxattr(path, impure) != b"y" or layers.getxattr(
            path, ofs.private(b"origin")) is not None:
        return
    for name, _dtype, _ino in layers.listdir(path):
        try:
            res = lookup(ofs, node.path(), True, node.lowers, name)
        except OSError:
            continue
        if res.upper is not None and table.shown_ino(node, name, res) != res.upper.st.st_ino:
            return
    layers.removexattr(path, impure)


def _unresolvable(ofs: OverlayFs, dh: DirHandle, name: bytes) -> pyfuse3.EntryAttributes | None:
    """A raw listing's entry that lookup does not resolve (a whiteout): listed, no node.
    Listed also where not even lstat finds it: a layer that is itself an overlay lists the
    whiteouts of a directory it does not merge and finds none of them, and the kernel lists
    such a name as its layer did (found by difftest, preset ``nested``)."""
    if dh.real_dir is None:
        return _listed_by_a_layer(ofs, dh.node, name)
    path = real_dir(ofs, dh.node)  # again: a long path's descriptors last one request
    if path is None:
        return None
    st = layers.lstat(path + b"/" + name)
    if st is not None:
        return listed_only(ofs, st)
    return _listed_by_a_layer(ofs, dh.node, name)


def _listed_by_a_layer(ofs: OverlayFs, node: Node, name: bytes) -> pyfuse3.EntryAttributes | None:
    """A name that a layer of *node* lists and no lookup finds there: a layer that is itself
    an overlay lists the whiteouts of a directory it does not merge and finds none of them;
    the kernel lists such a name, in a merged directory too, where its whiteout check is a
    lookup that finds nothing (``ovl_check_whiteouts``; found by difftest, preset
    ``nested``).  None when no layer lists it now (gone since the snapshot was taken)."""
    for path, _is_upper in _layer_dirs(ofs, node):
        for entry, dtype, ino in layers.listdir(path):
            if entry == name:
                # (Python shows no d_type but for dirs, files and symlinks: the names an
                # overlay lists and does not find are its whiteouts, character devices)
                return listed_entry(ino, dtype or stat.S_IFCHR)
    return None


def _entry_node(
    table: NodeTable, node: Node, name: bytes
) -> tuple[Node | None, os.stat_result | None]:
    """The node an entry names, and its lstat when the lookup just made one."""
    if name == b".":
        return node, None
    if name == b"..":
        return node.parent or node, None
    try:
        res, child = table.lookup(node, name)
    except OSError:
        return None, None
    return child, res.shown_st if child is not None else None
