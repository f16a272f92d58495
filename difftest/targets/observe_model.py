"""A fast observation of the model: the same :class:`~difftest.observe.Observation` as the
generic :func:`~difftest.observe.walk`, in one pass over the tree with each parent's dentry
at hand.

The generic walk resolves every path from the root, once per syscall (lstat, listxattr,
getxattr, content digest, readlink, readdir): with the model's dentry cache every one of
those lookups finds the dentry the previous one found, so the walk's only effects on the
model are those of the first lookup of each name (``ovl_fix_origin``, the inode table of
``ovl_verify_inode``) and of each readdir (an impure real dir may lose its flag, an impure
merged dir looks up its upper entries).  Here each name is looked up once, from its parent's
dentry, through the same :func:`model.lookup.lookup_child`, and each directory is listed
through the same :func:`model.file.readdir_names`, in the walk's order, so the model ends in
the same state as after :func:`~difftest.observe.walk` (``tests/difftest/test_observe_model.py``
checks both the observation and that state, step by step).

What the walk reads through the syscalls is read here from the real node behind the dentry:
lstat is ``ovl_getattr`` (:func:`model.inode.st_ino`, :func:`model.inode.st_nlink`), the
content digest and readlink read that node, listxattr/getxattr of ``user.*`` names read its
xattrs as stored (a ``user.`` name is never private or escaped, but with ``userxattr``, where
:func:`model.xattrs.listed_names` decides; a name over 255 bytes is ERANGE to getxattr,
``<unreadable>`` as in the walk).
"""

from __future__ import annotations

import errno

from difftest.observe import (
    MAX_WALK,
    UNRESOLVABLE_TOO_LONG,
    MergedEntry,
    Observation,
    unreadable,
    unresolvable,
)
from difftest.tolerances import normalise_upper_entry
from model.copy_up import verify_lowerdata
from model.dump import UpperFields, upper_fields
from model.errors import OvlError
from model.file import readdir_names
from model.fs import OvlFs
from model.inode import st_dev, st_ino, st_nlink
from model.layer import DIR, LNK, REG, Node, SparseData, data_node, walk_tree
from model.lookup import Dentry, lookup_child
from model.namei import fs_root, too_long
from model.overlay import Overlay
from model.types import ROOT, UpperEntry
from model.xattrs import XATTR_NAME_MAX, listed_names, stored_name

_USER = b"user."
_INTERN_MAX = 1 << 14

# Entries are immutable values: equal fields give one shared object (building a frozen
# dataclass costs more than the rest of an entry's observation).  Cleared when large.
MergedFields = tuple[str, int, int, int, int, int, int, str, tuple[tuple[bytes, bytes], ...]]
_merged_entries: dict[MergedFields, MergedEntry] = {}
_upper_entries: dict[UpperFields, UpperEntry] = {}


def _merged_entry(fields: MergedFields) -> MergedEntry:
    e = _merged_entries.get(fields)
    if e is None:
        if len(_merged_entries) >= _INTERN_MAX:
            _merged_entries.clear()
        e = _merged_entries[fields] = MergedEntry(*fields)
    return e


def _upper_entry(fields: UpperFields) -> UpperEntry:
    """``normalise_upper_entry(model.dump.upper_entry(node))`` for the node's fields."""
    e = _upper_entries.get(fields)
    if e is None:
        if len(_upper_entries) >= _INTERN_MAX:
            _upper_entries.clear()
        e = _upper_entries[fields] = normalise_upper_entry(UpperEntry(*fields))
    return e


def _user_xattrs(node: Node, userxattr: bool = False) -> tuple[tuple[bytes, bytes], ...]:
    """``listxattr`` then ``getxattr`` of each ``user.*`` name, sorted (as the walk)."""
    x = node.xattrs
    if not x:
        return ()
    if userxattr:
        shown = sorted(n for n in listed_names(node, ROOT, True) if n.startswith(_USER))
        return tuple((n, x[stored_name(n, True)]) for n in shown)
    names = sorted(n for n in x if n.startswith(_USER))
    return tuple((n, x[n] if len(n) <= XATTR_NAME_MAX else b"<unreadable>") for n in names)


def observe_model(ov: Overlay) -> Observation:
    """``walk(ov)``, computed from the model's dentries (see the module docstring)."""
    fs = ov.fs
    ux = fs.config.userxattr
    merged: dict[bytes, MergedEntry] = {}
    ino: dict[bytes, int] = {}
    mtime: dict[bytes, int] = {}
    dev: dict[bytes, int] = {}
    # (path, parent dentry, name); the root has no parent.
    todo: list[tuple[bytes, Dentry | None, bytes]] = [(b"/", None, b"")]
    while todo and len(merged) < MAX_WALK:
        path, parent, name = todo.pop()
        if parent is None:
            d = fs_root(fs)
        elif too_long(path):  # getname: a path of PATH_MAX bytes or more
            merged[path] = UNRESOLVABLE_TOO_LONG
            continue
        else:
            try:
                d = lookup_child(fs, parent, name)
            except OvlError as exc:
                merged[path] = unresolvable(exc.errno)
                continue
        upper, lowers = d.upper, d.lowers
        if upper is not None:
            node = upper
        elif lowers:
            node = lowers[0][1]
        else:
            merged[path] = unresolvable(errno.ENOENT)
            continue
        kind = node.kind
        nlink = st_nlink(fs, upper, lowers)
        if kind == REG:
            data = data_node(upper, lowers).data
            assert data is not None
            fields: MergedFields = (
                kind, node.mode & 0o7777, node.uid, node.gid, data.size, nlink, node.rdev,
                _content(fs, d, data), _user_xattrs(node, ux),
            )  # fmt: skip
        elif kind == DIR:
            fields = (
                kind, node.mode & 0o7777, node.uid, node.gid, 0, nlink, node.rdev, "",
                _user_xattrs(node, ux),
            )  # fmt: skip
        else:
            fields = (
                kind, node.mode & 0o7777, node.uid, node.gid, node.size, nlink, node.rdev,
                node.target.hex() if kind == LNK else "", (),
            )  # fmt: skip
        merged[path] = _merged_entry(fields)
        ino[path] = st_ino(fs, upper, lowers, parent is None)
        dev[path] = st_dev(fs, upper, lowers, parent is None)
        mtime[path] = node.mtime
        if kind == DIR:
            prefix = b"/" if parent is None else path + b"/"
            names = sorted(readdir_names(fs, d), reverse=True)
            todo.extend((prefix + n, d, n) for n in names)
    up = fs.upper
    upper_view = (
        {} if up is None else {p: _upper_entry(upper_fields(n, ux)) for p, n in walk_tree(up.root)}
    )
    # on layers that span filesystems without xino a directory's st_ino is the overlay's
    # own counter, handed out in lookup order and again after a remount or an eviction (§3)
    either = frozenset() if fs.same_dev else frozenset(p for p, e in merged.items()
                                                    if e.kind == "dir")  # fmt: skip
    return Observation(merged, ino, mtime, upper_view, dev, either)


def _content(fs: OvlFs, d: Dentry, data: SparseData) -> str:
    """A regular file's digest as the tester reads it: opened O_RDONLY unless empty, which
    a metacopy file whose data fails verity refuses (EIO)."""
    if data.size:
        try:
            verify_lowerdata(fs, d)
        except OvlError as exc:
            return unreadable(exc.errno)
    return data.digest()
