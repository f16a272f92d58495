"""A fast observation of a real mount: the same :class:`~difftest.observe.Observation` as the
generic walker, with ``os.lstat``/``os.listdir`` (or file descriptors, for FUSE) and a cache of
file digests and xattrs.

The cache key is :func:`difftest.realfs.stat_key` (inode, ctime, mtime, size, mode, nlink,
owner, rdev): every change of data or xattrs changes ctime, and since the walk stats every
object after every step, the upper filesystem's multigrain timestamps (tmpfs, 6.13+) make the
next change visible in ctime.

The kernel target and ovlfuse use the cache.  For ovlfuse the key is ovlfuse's own answer,
and only regular files are cached by it.  So the cache can hide
only a change of content or xattrs that ovlfuse makes without changing any of the file's
attributes; a change the model makes to a file moves its mtime, which is compared
(changed/unchanged) on its own.

Against the kernel, which judges the model rather than being judged, the whole walk is
reused when three things hold: the upper layer is unchanged (every object's key in the upper
dump, and the set of paths, as at the dump taken after the last walk), no remount came in
between, and the model's own view did not change at this step.  The upper layer alone is not
enough: the kernel's view also depends on what it has looked up before (a redirect to a lower
dir that is visible under its own name gives ESTALE, and once that lookup has failed the
merged readdir drops the name), and the model, which models those inode caches, says when to
expect such a change.  A walk in which a lookup failed is never reused.  The model is observed
and compared after every step.  About four steps in five leave the upper layer as it was
(failed calls, reads, handles); a remount is always walked, since that is where the overlay's
in-memory state meets what it wrote.

A merged directory's attributes need not move when its names change (tolerance
``dir-mtime``; a cache keyed on them alone gave a stale listing within 30 examples).  So a
directory's names and xattrs are reused only while the upper layer on disk is exactly what
the previous walk left (its dump, taken straight from the upper filesystem, compares equal):
the lower layers never change, so a correct overlay cannot list anything else.  What this
could hide is a FUSE program whose listing changes while nothing on disk does; the step's
own Readdir operations still list through the mount, and the next change to the upper layer
or remount lists every directory again.  Other FUSE programs are walked uncached: their
timestamps may be coarse, and a missed re-read would show as a false divergence.

A FUSE mount in exact mode costs a request for every permission check and every path
component, so FUSE targets are walked by file descriptor (:meth:`RealObserver.merged_by_fd`):
each name is looked up once, relative to its parent's open directory, as an ``O_PATH``
descriptor (one LOOKUP); for ovlfuse, whose timeouts are 0 so that every lookup reaches it,
the attributes are the ones that LOOKUP brought (``statx`` with ``AT_STATX_DONT_SYNC``);
the object is then opened through ``/proc/self/fd/N``, which does not look the name up
again, and directories are listed with getdents64 on that descriptor.  What is read is the
same and so is the order; an observation through ovlfuse takes 2-4x fewer requests.
"""

from __future__ import annotations

import os
import stat as _stat
from typing import Any

from difftest import realfs
from difftest.observe import (
    KIND_NAMES,
    MAX_WALK,
    UNRESOLVABLE_TOO_LONG,
    MergedEntry,
    Observation,
    _join,
    unreadable,
    unresolvable,
)
from difftest.realfs import StatKey
from difftest.statx import fstatx_cached
from difftest.tolerances import normalise_upper_entry
from model.namei import too_long
from model.types import PATH_MAX, UpperEntry

Xattrs = tuple[tuple[bytes, bytes], ...]
Details = tuple[object, str, Xattrs]  # key, digest (or link target), user xattrs
DirDetails = tuple[StatKey, Xattrs, tuple[bytes, ...]]  # key, user xattrs, names
Fields = tuple[int, int, int, int, int, int]  # mode, uid, gid, size, nlink, rdev
Attributes = tuple[Fields, int, int, StatKey, int]  # fields, ino, mtime, cache key, dev
# merged, ino, mtime, dev
Maps = tuple[dict[bytes, MergedEntry], dict[bytes, int], dict[bytes, int], dict[bytes, int]]


def _user_xattrs(file: bytes | int) -> Xattrs:
    """The ``user.*`` xattrs of a path or an open descriptor, sorted by name."""
    names = sorted(n for n in os.listxattr(file) if n.startswith("user."))
    return tuple((os.fsencode(n), os.getxattr(file, n)) for n in names)


def _pruned(cache: dict[bytes, Details], seen: dict[bytes, MergedEntry] | set[bytes]
            ) -> dict[bytes, Details]:  # fmt: skip
    """``cache`` less the paths this walk did not see, once they are the larger part."""
    if len(cache) > len(seen) * 2 + 64:
        return {p: v for p, v in cache.items() if p in seen}
    return cache


class RealObserver:
    """Observes one mount; keeps its cache between steps (call :meth:`reset` on remount)."""

    def __init__(
        self, mountpoint: bytes, *, cache: bool, by_fd: bool = False, lookup_attrs: bool = False,
        reuse_view: bool = False,
    ) -> None:  # fmt: skip
        self.mp = mountpoint
        self.use_cache = cache
        # the kernel only: keep the last walk's maps while the upper layer is unchanged
        self.reuse_view = reuse_view and cache
        self.view: tuple[int, Maps] | None = None  # (upper generation, maps) of the last walk
        # set before each observation by whoever compares (Example.check_state): whether
        # the model's view is the same as at the previous step; no reuse unless it is
        self.expected_unchanged = False
        self.by_fd = by_fd  # walk by file descriptor (merged_by_fd)
        # with by_fd: take the attributes a lookup brought (only where every lookup asks the
        # filesystem: timeouts 0); otherwise fstat, which asks again when they expired
        self.lookup_attrs = lookup_attrs
        self.cache: dict[bytes, Details] = {}
        self.dir_cache: dict[bytes, DirDetails] = {}
        self.upper_seen: dict[bytes, UpperEntry] | None = None  # the dump after the last walk
        self._upper_now: dict[bytes, UpperEntry] = {}  # the dump the current walk keys on

    def reset(self) -> None:
        self.cache.clear()
        self.dir_cache.clear()
        self.upper_seen = None
        self.view = None

    def forget_view(self) -> None:
        """The next observation walks the mount (called on remount)."""
        self.view = None

    def _details(self, full: bytes, kind: str, st: os.stat_result) -> tuple[str, Xattrs]:
        content = ""
        if kind == "reg":
            try:
                content = realfs.file_digest(full, st.st_size)
            except OSError as exc:
                content = unreadable(exc.errno or 0)
        elif kind == "lnk":
            content = os.readlink(full).hex()
        return content, _user_xattrs(full) if kind in ("reg", "dir") else ()

    def merged(self, upper: dict[bytes, UpperEntry] | None = None) -> Maps:
        """The maps of a path walk.  ``upper``: the upper layer on disk now, whose entry for
        a path joins that path's cache key: a copy-up within the coarse clock tick of the
        lower file's last change keeps every attribute the overlay shows (the origin's
        inode number, the copied times, ctime equal at that granularity: met 107 times in
        2,000 examples of uuid=off, where the whole example ran within a tick), while the
        upper layer gains the file."""
        self._upper_now = upper or {}
        merged: dict[bytes, MergedEntry] = {}
        ino: dict[bytes, int] = {}
        dev: dict[bytes, int] = {}
        mtime: dict[bytes, int] = {}
        seen: set[bytes] = set()
        todo = [b"/"]
        while todo and len(merged) < MAX_WALK:
            path = todo.pop()
            if too_long(path):
                merged[path] = UNRESOLVABLE_TOO_LONG
                continue
            maps = (merged, ino, mtime, dev, seen)
            if len(self.mp) + len(path) < PATH_MAX:
                names = self._visit(path, self.mp + path if path != b"/" else self.mp, maps)
            else:
                with realfs.beside(self.mp, path[1:]) as full:
                    names = self._visit(path, full, maps)
            todo.extend(_join(path, n) for n in names)
        if self.use_cache:
            self.cache = _pruned(self.cache, seen)
        return merged, ino, mtime, dev

    def _visit(self, path: bytes, full: bytes, maps: tuple[dict[bytes, MergedEntry],
               dict[bytes, int], dict[bytes, int], dict[bytes, int], set[bytes]],
               ) -> list[bytes]:  # fmt: skip
        """Record the object at *path* (reached as *full*) in *maps* (merged, ino, mtime,
        dev, seen); its names if it is a directory."""
        merged, ino, mtime, dev, seen = maps
        try:
            st = os.lstat(full)
        except OSError as exc:
            merged[path] = unresolvable(exc.errno or 0)
            return []
        kind = KIND_NAMES[_stat.S_IFMT(st.st_mode)]
        key = (realfs.stat_key(st), self._upper_now.get(path))
        hit = self.cache.get(path) if self.use_cache else None
        if hit is not None and hit[0] == key:
            content, xattrs = hit[1], hit[2]
        else:
            content, xattrs = self._details(full, kind, st)
            if self.use_cache:
                self.cache[path] = (key, content, xattrs)
        seen.add(path)
        size = 0 if kind == "dir" else st.st_size
        merged[path] = MergedEntry(
            kind, _stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, size, st.st_nlink,
            st.st_rdev, content, xattrs,
        )  # fmt: skip
        ino[path] = st.st_ino
        dev[path] = st.st_dev
        mtime[path] = st.st_mtime_ns
        return sorted(os.listdir(full), reverse=True) if kind == "dir" else []

    # -- by file descriptor (FUSE targets) ------------------------------------------------------

    def merged_by_fd(self, upper_now: dict[bytes, UpperEntry] | None) -> Maps:
        """The same three maps as :meth:`merged`, walked by file descriptor.  ``upper_now``:
        the upper layer as it is now (with the cache); when it is what the last walk left,
        directory listings may come from the cache (see the module docstring)."""
        walk = _FdWalk(self.lookup_attrs)
        if self.use_cache:
            if upper_now != self.upper_seen:
                self.dir_cache.clear()
            walk.cache, walk.dir_cache = self.cache, self.dir_cache
        root = os.open(self.mp, os.O_PATH | os.O_DIRECTORY)
        try:
            walk.visit(b"/", root, walk.attributes(root, lookup=False))
        finally:
            os.close(root)
        if self.use_cache:
            self.cache = _pruned(self.cache, walk.merged)
        return walk.merged, walk.ino, walk.mtime, walk.dev


def _names(fd: int) -> tuple[bytes, ...]:
    """The sorted names in directory ``fd`` (getdents64 on the fd itself: os.listdir(fd)
    would fstat it first, one more request)."""
    return tuple(sorted(e.name for e in realfs.getdents(fd) if e.name not in (b".", b"..")))


def _reopen(path_fd: int, flags: int) -> int:
    """Open the object behind an ``O_PATH`` descriptor, without looking its name up again."""
    return os.open(b"/proc/self/fd/%d" % path_fd, flags)


class _FdWalk:
    """One walk of :meth:`RealObserver.merged_by_fd`: pre-order, names in sorted order, cut
    at :data:`MAX_WALK` objects, exactly as the path walk.  With the caches, a regular file
    whose attributes (the key) are those of the previous walk keeps its digest and xattrs,
    and a directory its xattrs and names (``dir_cache`` holds only what is still valid, see
    the module docstring); neither is opened."""

    def __init__(self, lookup_attrs: bool) -> None:
        self.lookup_attrs = lookup_attrs
        self.cache: dict[bytes, Details] | None = None
        self.dir_cache: dict[bytes, DirDetails] | None = None
        self.merged: dict[bytes, MergedEntry] = {}
        self.ino: dict[bytes, int] = {}
        self.mtime: dict[bytes, int] = {}
        self.dev: dict[bytes, int] = {}

    def attributes(self, pfd: int, *, lookup: bool = True) -> Attributes:
        """(fields, ino, mtime, cache key) of the object behind ``pfd``; ``lookup``: its
        lookup has just brought them (so ask again only without ``lookup_attrs``)."""
        if lookup and self.lookup_attrs:
            x = fstatx_cached(pfd)
            fields = (x.mode, x.uid, x.gid, x.size, x.nlink, x.rdev)
            key = (x.ino, x.ctime_ns, x.mtime_ns, x.size, x.mode, x.nlink, x.uid, x.gid, x.rdev)
            return fields, x.ino, x.mtime_ns, key, os.makedev(x.dev_major, x.dev_minor)
        st = os.fstat(pfd)
        fields = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_nlink, st.st_rdev)
        return fields, st.st_ino, st.st_mtime_ns, realfs.stat_key(st), st.st_dev

    def child(self, path: bytes, name: bytes, dfd: int) -> None:
        if too_long(path):  # as the path walk and the model: no call can name it
            self.merged[path] = UNRESOLVABLE_TOO_LONG
            return
        try:
            pfd = os.open(name, os.O_PATH | os.O_NOFOLLOW, dir_fd=dfd)
        except OSError as exc:
            self.merged[path] = unresolvable(exc.errno or 0)
            return
        try:
            self.visit(path, pfd, self.attributes(pfd))
        finally:
            os.close(pfd)

    def visit(self, path: bytes, pfd: int, attrs: Attributes) -> None:
        fields, ino, mtime, key, dev = attrs
        self.dev[path] = dev
        kind = KIND_NAMES[_stat.S_IFMT(fields[0])]
        if kind not in ("reg", "dir"):
            content = os.readlink(b"", dir_fd=pfd).hex() if kind == "lnk" else ""
            self._add(path, kind, fields, ino, mtime, content, ())
            return
        if kind == "dir":
            content, xattrs, names = "", *self._directory(path, pfd, key)
        else:
            content, xattrs = self._file(path, pfd, key, fields[3])
            names = ()
        self._add(path, kind, fields, ino, mtime, content, xattrs)
        for name in names:
            if len(self.merged) >= MAX_WALK:
                return
            self.child(_join(path, name), name, pfd)

    def _file(self, path: bytes, pfd: int, key: StatKey, size: int) -> tuple[str, Xattrs]:
        """Digest and user xattrs of the regular file behind ``pfd``."""
        hit = self.cache.get(path) if self.cache is not None else None
        if hit is not None and hit[0] == key:
            return hit[1], hit[2]
        fd = _reopen(pfd, os.O_RDONLY | os.O_NONBLOCK)
        try:
            content, xattrs = realfs.fd_digest(fd, size), _user_xattrs(fd)
        finally:
            os.close(fd)
        if self.cache is not None:
            self.cache[path] = (key, content, xattrs)
        return content, xattrs

    def _directory(self, path: bytes, pfd: int, key: StatKey) -> tuple[Xattrs, tuple[bytes, ...]]:
        """User xattrs and names of the directory behind ``pfd``."""
        hit = self.dir_cache.get(path) if self.dir_cache is not None else None
        if hit is not None and hit[0] == key:
            return hit[1], hit[2]
        fd = _reopen(pfd, os.O_RDONLY | os.O_DIRECTORY)
        try:
            xattrs, names = _user_xattrs(fd), _names(fd)
        finally:
            os.close(fd)
        if self.dir_cache is not None:
            self.dir_cache[path] = (key, xattrs, names)
        return xattrs, names

    def _add(
        self, path: bytes, kind: str, f: Fields, ino: int, mtime: int, content: str,
        xattrs: Xattrs,
    ) -> None:  # fmt: skip
        size = 0 if kind == "dir" else f[3]
        self.merged[path] = MergedEntry(
            kind, _stat.S_IMODE(f[0]), f[1], f[2], size, f[4], f[5], content, xattrs
        )
        self.ino[path] = ino
        self.mtime[path] = mtime


def observe_real(target: Any, observer: RealObserver) -> Observation:
    if observer.by_fd:
        before = target.upper_dump() if observer.use_cache else None
        merged, ino, mtime, dev = observer.merged_by_fd(before)
        dump = target.upper_dump()
    elif observer.reuse_view:
        # The dump is taken after the walk, whose lookups may write (the kernel records the
        # origin of a merged dir it meets); a walk is reused only from that dump on.
        dump = target.upper_dump()
        view, observer.view = observer.view, None
        if (
            view is not None
            and view[0] == target.upper_generation()
            and observer.expected_unchanged
        ):
            merged, ino, mtime, dev = view[1]
        else:
            merged, ino, mtime, dev = observer.merged(dump)
            dump = target.upper_dump()
            view = (target.upper_generation(), (merged, ino, mtime, dev))
        if not any(e.kind.startswith("unresolvable") for e in merged.values()):
            observer.view = view  # a view with a failed lookup is never reused
    else:
        merged, ino, mtime, dev = observer.merged(target.upper_dump() if observer.use_cache
                                                  else None)  # fmt: skip
        dump = target.upper_dump()
    observer.upper_seen = dump
    upper = {p: normalise_upper_entry(e) for p, e in dump.items()}
    return Observation(merged, ino, mtime, upper, dev)
