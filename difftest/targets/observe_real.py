"""A fast observation of a real mount: the same :class:`~difftest.observe.Observation` as the
generic walker, with ``os.scandir``/``os.lstat`` and a cache of file digests and xattrs.

The cache key is (st_ino, st_ctime_ns, st_mtime_ns, st_size, st_mode): every change of data or
xattrs changes ctime, and since the walk stats every object after every step, the upper
filesystem's multigrain timestamps (tmpfs, 6.13+) make the next change visible in ctime.
Only the kernel target uses the cache; FUSE targets are walked uncached, because a FUSE
program's attributes are what is under test.
"""

from __future__ import annotations

import os
import stat as _stat

from difftest import realfs
from difftest.observe import KIND_NAMES, MAX_WALK, MergedEntry, Observation, _join
from difftest.tolerances import normalise_upper_entry

CacheKey = tuple[int, int, int, int, int]


class RealObserver:
    """Observes one mount; keeps its cache between steps (call :meth:`reset` on remount)."""

    def __init__(self, mountpoint: bytes, cache: bool) -> None:
        self.mp = mountpoint
        self.use_cache = cache
        self.cache: dict[bytes, tuple[CacheKey, str, tuple[tuple[bytes, bytes], ...]]] = {}

    def reset(self) -> None:
        self.cache.clear()

    def _details(
        self, full: bytes, kind: str, st: os.stat_result
    ) -> tuple[str, tuple[tuple[bytes, bytes], ...]]:
        content = ""
        if kind == "reg":
            content = realfs.file_digest(full, st.st_size)
        elif kind == "lnk":
            content = os.readlink(full).hex()
        xattrs: tuple[tuple[bytes, bytes], ...] = ()
        if kind in ("reg", "dir"):
            names = sorted(n for n in os.listxattr(full) if n.startswith("user."))
            xattrs = tuple((os.fsencode(n), os.getxattr(full, n)) for n in names)
        return content, xattrs

    def merged(self) -> tuple[dict[bytes, MergedEntry], dict[bytes, int], dict[bytes, int]]:
        merged: dict[bytes, MergedEntry] = {}
        ino: dict[bytes, int] = {}
        mtime: dict[bytes, int] = {}
        seen: set[bytes] = set()
        todo = [b"/"]
        while todo and len(merged) < MAX_WALK:
            path = todo.pop()
            full = self.mp + path if path != b"/" else self.mp
            try:
                st = os.lstat(full)
            except OSError as exc:
                merged[path] = MergedEntry(f"unresolvable:{exc.errno}", 0, 0, 0, 0, 0, 0, "", ())
                continue
            kind = KIND_NAMES[_stat.S_IFMT(st.st_mode)]
            key = (st.st_ino, st.st_ctime_ns, st.st_mtime_ns, st.st_size, st.st_mode)
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
            if kind != "dir":  # tolerance "dir-mtime"
                mtime[path] = st.st_mtime_ns
            if kind == "dir":
                names = sorted(os.listdir(full), reverse=True)
                todo.extend(_join(path, n) for n in names)
        if self.use_cache and len(self.cache) > len(seen) * 2 + 64:
            self.cache = {p: v for p, v in self.cache.items() if p in seen}
        return merged, ino, mtime


def observe_real(target: object, observer: RealObserver) -> Observation:
    merged, ino, mtime = observer.merged()
    dump = target.upper_dump()  # type: ignore[attr-defined]
    upper = {p: normalise_upper_entry(e) for p, e in dump.items()}
    return Observation(merged, ino, mtime, upper)
