"""Build a :class:`model.spec.LayersSpec` as real directories.

An example directory gets ``lower0`` .. ``lowerN-1``, ``upper`` and ``work`` (when the spec
has an upper layer) and ``merged``.  With ``split_fs`` each lower directory is a tmpfs of its
own (mounted by :func:`build_layers`, taken down by :func:`unmount_layers`), so the upper
layer and every lower layer sit on different filesystems.

Every entry is created with umask 0; owners are set before modes (chown clears suid/sgid)
and modes after creation (so suid, sgid and sticky stick); xattrs last, never following
symlinks.  An entry whose path is empty (or ``.``/``/``) describes the layer root itself.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from difftest import realfs
from model.spec import Entry, LayersSpec

_ROOT_PATHS = (b"", b".", b"/")


@dataclass(frozen=True)
class LayerDirs:
    """The real directories of one example (absolute ``bytes`` paths)."""

    root: bytes
    lowers: tuple[bytes, ...]
    upper: bytes | None
    work: bytes | None
    merged: bytes
    mounted: tuple[bytes, ...] = ()  # layer directories that are tmpfs mounts of their own
    data: tuple[bytes, ...] = ()  # data-only lower layers


def _apply_meta(p: bytes, e: Entry, *, chmod: bool = True) -> None:
    os.chown(p, e.uid, e.gid, follow_symlinks=False)
    if chmod:
        os.chmod(p, stat.S_IMODE(e.mode))


def _make(layer: bytes, e: Entry) -> None:
    rel = e.path.strip(b"/")
    if rel in _ROOT_PATHS:
        if e.kind != "dir":
            raise ValueError(f"layer root must be a dir, got {e!r}")
        _apply_meta(layer, e)
        for name, value in e.xattrs:
            os.setxattr(layer, name, value, follow_symlinks=False)
        return
    with realfs.beside(layer, rel) as p:
        _make_at(layer, p, e)


def _make_at(layer: bytes, p: bytes, e: Entry) -> None:
    """Create entry *e* at *p* (a path of ``layer/e.path`` usable as it is)."""
    kind = e.kind
    if kind == "dir":
        os.mkdir(p, 0o700)
        _apply_meta(p, e)
    elif kind == "reg":
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            if e.data:
                os.write(fd, e.data)
            if e.file_size != len(e.data):
                os.ftruncate(fd, e.file_size)  # the rest is a hole
            os.fchown(fd, e.uid, e.gid)
            os.fchmod(fd, stat.S_IMODE(e.mode))
        finally:
            os.close(fd)
    elif kind == "lnk":
        os.symlink(e.target, p)
        _apply_meta(p, e, chmod=False)  # a symlink's mode is always 0777 on Linux
    elif kind in ("chr", "blk", "fifo", "sock"):
        fmt = {"chr": stat.S_IFCHR, "blk": stat.S_IFBLK, "fifo": stat.S_IFIFO,
               "sock": stat.S_IFSOCK}[kind]  # fmt: skip
        os.mknod(p, fmt | 0o600, e.rdev if kind in ("chr", "blk") else 0)
        _apply_meta(p, e)
    elif kind == "whiteout":
        os.mknod(p, stat.S_IFCHR, 0)  # char device 0:0, mode 0, as the kernel makes them
        _apply_meta(p, e, chmod=False)
    elif kind == "hardlink":
        # Shares the target's inode: its mode, owner and xattrs are the target's.
        parent, _, name = e.target.strip(b"/").rpartition(b"/")
        fd = realfs.open_dir(layer, parent)
        try:
            os.link(name, p, src_dir_fd=fd, follow_symlinks=False)
        finally:
            os.close(fd)
        return
    else:
        raise ValueError(f"unknown entry kind {kind!r} in {e!r}")
    for name, value in e.xattrs:
        os.setxattr(p, name, value, follow_symlinks=False)


# Every object of the starting layers gets this mtime, as in the model: created a few
# microseconds apart, real files would otherwise differ, and renaming one starting file over
# another would show an mtime change the model does not have.
INITIAL_MTIME_NS = 1_600_000_000 * 10**9


def populate(layer: bytes, entries: Iterable[Entry]) -> None:
    """Create ``entries`` (parents first) inside the existing directory ``layer``, then give
    all of them (and the layer root) the same times, children before parents."""
    old = os.umask(0)
    made = []
    try:
        for e in entries:
            _make(layer, e)
            made.append(e.path.strip(b"/"))
    finally:
        os.umask(old)
    times = (INITIAL_MTIME_NS, INITIAL_MTIME_NS)
    for rel in reversed([b"", *made]):
        with realfs.beside(layer, rel) as p:
            os.utime(p, ns=times, follow_symlinks=False)


# What layer directories are called with ``odd_names``: every character a mount option
# string must escape or that ends a word in one (space, ``,`` ``:`` ``=`` and ``\``).
ODD_SUFFIX = b" a,b:c=d\\e"


def build_layers(root: str | bytes, spec: LayersSpec, split_fs: bool = False,
                 odd_names: bool = False) -> LayerDirs:
    """Create the layers of ``spec`` and an empty ``merged`` in the existing dir ``root``;
    with ``split_fs``, each lower layer on a tmpfs of its own; with ``odd_names``, the
    layer directories' names end in :data:`ODD_SUFFIX`."""
    r = os.fsencode(root)
    odd = ODD_SUFFIX if odd_names else b""
    lowers = tuple(b"%s/lower%d%s" % (r, i, odd) for i in range(len(spec.lowers)))
    upper = work = None
    if spec.upper is not None:
        upper, work = r + b"/upper" + odd, r + b"/work" + odd
    datas = tuple(b"%s/data%d%s" % (r, i, odd) for i in range(len(spec.data)))
    merged = r + b"/merged"
    old = os.umask(0)
    try:
        for d in (*lowers, *datas, upper, work, merged):
            if d is not None:
                os.mkdir(d, 0o755)
        mounted = []
        if split_fs:
            for d in lowers:
                realfs.mount(b"difftest-layer", d, b"tmpfs", 0, b"mode=0755")
                mounted.append(d)
        for d, entries in zip((*lowers, *datas), (*spec.lowers, *spec.data), strict=True):
            populate(d, entries)
        if upper is not None and spec.upper is not None:
            populate(upper, spec.upper)
    except BaseException:
        unmount_layers(LayerDirs(r, lowers, upper, work, merged, tuple(mounted)))
        raise
    finally:
        os.umask(old)
    return LayerDirs(r, lowers, upper, work, merged, tuple(mounted), datas)


def escape_layer_path(p: bytes) -> bytes:
    """Escape ``\\``, ``,`` and ``:`` the way overlayfs's option parser expects."""
    return p.replace(b"\\", b"\\\\").replace(b",", b"\\,").replace(b":", b"\\:")


def unmount_layers(dirs: LayerDirs) -> None:
    """Take down the layers' own tmpfs mounts (lazily where busy)."""
    for d in dirs.mounted:
        realfs.umount_or_detach(d)
