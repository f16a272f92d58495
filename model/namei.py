"""Path walk (``fs/namei.c`` as it runs on an overlay mount): components, ``.``/``..``,
symlinks, search permission, trailing slashes and the length limits.

:func:`walk_parent` is ``filename_parentat``: it resolves every component but the last and
reports the last one with its type (LAST_NORM, LAST_DOT, LAST_DOTDOT, LAST_ROOT).
:func:`resolve` is ``filename_lookup``: the whole path to a positive dentry, following a
final symlink when asked (or when a trailing slash demands a directory).

Paths are absolute inside the mount.  Two places leave the mount on a real system and the
model cannot see there: an absolute symlink target (resolved from the process root, not the
overlay root) and ``..`` at the overlay root.  Both are reported as ENOENT, which is what the
tests' hosts give for the targets the tests use.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from model.errors import fail
from model.fs import OvlFs
from model.layer import DIR, LNK
from model.lookup import Dentry, lookup_child, root_dentry
from model.perm import may_lookup
from model.types import PATH_MAX, Cred

LAST_NORM, LAST_ROOT, LAST_DOT, LAST_DOTDOT = range(4)
MAXSYMLINKS = 40


class Nameidata:
    """The state of one path walk: who walks, from which root, how many links so far."""

    __slots__ = ("cred", "fs", "links", "root")

    def __init__(self, fs: OvlFs, cred: Cred, root: Dentry | None = None) -> None:
        self.fs = fs
        self.cred = cred
        self.root = root if root is not None else fs_root(fs)
        self.links = 0


@dataclass(slots=True)
class Parent:
    """Result of :func:`walk_parent`: the directory that holds the last component."""

    dir: Dentry
    last: bytes
    type: int
    trailing: bool

    def lookup(self, nd: Nameidata) -> Dentry:
        """The last component itself (``lookup_one_qstr_excl``), possibly negative."""
        assert self.type == LAST_NORM
        return lookup_child(nd.fs, self.dir, self.last)


def fs_root(fs: OvlFs) -> Dentry:
    """The root dentry, made once per mount: its layers never change (the upper root is
    always there, copy-up never touches it)."""
    root = fs.root
    if root is None:
        root = fs.root = root_dentry(fs)
    return root


def syscall_length(path: bytes) -> int:
    """The length ``getname`` counts for *path*.  A path here names an object from the
    overlay's root, and a caller gives it relative to a descriptor of that root (``/a/b`` as
    ``a/b``: how difftest reaches paths whose mountpoint's own path leaves no room), so the
    leading slash is not part of the string the kernel sees."""
    return len(path) - 1 if path[:1] == b"/" else len(path)


def too_long(path: bytes) -> bool:
    """A path no call can give: PATH_MAX bytes or more (``getname``)."""
    return syscall_length(path) >= PATH_MAX


def check_path(path: bytes) -> None:
    """``getname`` of a path: an empty path is ENOENT, one of PATH_MAX bytes or more (as
    :func:`syscall_length` counts) ENAMETOOLONG."""
    if not path:  # pragma: no cover - difftest gives every path from the root
        raise fail(errno.ENOENT, "empty path")
    if too_long(path):
        raise fail(errno.ENAMETOOLONG, "path of PATH_MAX bytes or more")


def check_string(s: bytes) -> None:
    """``getname`` of a string given as it is (a symlink's target): empty is ENOENT,
    PATH_MAX bytes or more ENAMETOOLONG."""
    if not s:
        raise fail(errno.ENOENT, "empty string")
    if len(s) >= PATH_MAX:
        raise fail(errno.ENAMETOOLONG, "string of PATH_MAX bytes or more")


def walk_parent(nd: Nameidata, path: bytes, start: Dentry | None = None) -> Parent:
    """Resolve all but the last component of ``path`` (``link_path_walk``)."""
    comps = [c for c in path.split(b"/") if c]
    cur = nd.root if start is None or path[:1] == b"/" else start
    if not comps:
        return Parent(cur, b"", LAST_ROOT, False)
    check = nd.cred.uid != 0  # root may search every directory (CAP_DAC_READ_SEARCH)
    for name in comps[:-1]:
        if check:
            may_lookup(nd.cred, cur.real)
        cur = _step(nd, cur, name)
    # link_path_walk checks search permission on the directory of the last component too.
    if check:
        may_lookup(nd.cred, cur.real)
    last = comps[-1]
    kind = LAST_DOT if last == b"." else LAST_DOTDOT if last == b".." else LAST_NORM
    return Parent(cur, last, kind, path[-1:] == b"/")


def resolve(nd: Nameidata, path: bytes, follow: bool) -> Dentry:
    """The positive dentry ``path`` names; a final symlink is followed when ``follow`` or
    when the path ends in ``/`` (which also demands a directory: ENOTDIR)."""
    return last_component(nd, walk_parent(nd, path), follow)


def last_component(nd: Nameidata, p: Parent, follow: bool) -> Dentry:
    """``lookup_last``: the last component of a walk, which must exist."""
    kind = p.type
    if kind != LAST_NORM:
        return dotdot(p.dir) if kind == LAST_DOTDOT else p.dir
    child = lookup_child(nd.fs, p.dir, p.last)
    real = child.upper
    if real is None:
        if not child.lowers:
            raise fail(errno.ENOENT, "no such name")
        real = child.lowers[0][1]
    if real.kind == LNK and (follow or p.trailing):
        child = follow_link(nd, p.dir, child)
        real = child.real
    if p.trailing and real.kind != DIR:
        raise fail(errno.ENOTDIR, "trailing slash on a non-directory")
    return child


def _step(nd: Nameidata, cur: Dentry, name: bytes) -> Dentry:
    """One component in the middle of a path: it must exist and be (or lead to) a dir."""
    if name == b".":
        return cur
    if name == b"..":
        return dotdot(cur)
    child = lookup_child(nd.fs, cur, name)
    real = child.upper
    if real is None:
        if not child.lowers:
            raise fail(errno.ENOENT, "no such directory")
        real = child.lowers[0][1]
    if real.kind == LNK:
        child = follow_link(nd, cur, child)
        real = child.real
    if real.kind != DIR:
        raise fail(errno.ENOTDIR, "a path component is not a directory")
    return child


def dotdot(d: Dentry) -> Dentry:
    if d.parent is None:  # pragma: no cover - difftest never walks out of the mount
        raise fail(errno.ENOENT, "'..' at the overlay root leaves the mount (not modelled)")
    return d.parent


def follow_link(nd: Nameidata, parent: Dentry, link: Dentry) -> Dentry:
    """Follow the symlink ``link`` found in ``parent``: at most 40 links per walk (ELOOP),
    a relative target resolves from ``parent``."""
    nd.links += 1
    if nd.links > MAXSYMLINKS:
        raise fail(errno.ELOOP, "too many levels of symbolic links")
    target = link.real.target
    # difftest makes no absolute symlink: following one would touch the host
    if target.startswith(b"/"):  # pragma: no cover - no absolute symlink in difftest
        raise fail(errno.ENOENT, "absolute symlink target resolves outside the mount")
    return last_component(nd, walk_parent(nd, target, parent), True)


def follow_parent(nd: Nameidata, parent: Dentry, link: Dentry) -> Parent:
    """The walk of a symlink's target up to its last component (for ``open(O_CREAT)``
    through a dangling symlink, which creates the target)."""
    nd.links += 1
    if nd.links > MAXSYMLINKS:
        raise fail(errno.ELOOP, "too many levels of symbolic links")
    target = link.real.target
    # difftest makes no absolute symlink: following one would touch the host
    if target.startswith(b"/"):  # pragma: no cover - no absolute symlink in difftest
        raise fail(errno.ENOENT, "absolute symlink target resolves outside the mount")
    return walk_parent(nd, target, parent)
