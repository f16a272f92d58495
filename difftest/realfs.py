"""Thin wrappers around the Linux syscalls Python's ``os`` lacks, and the on-disk readers
shared by every real target: content digests and the upper-layer dump.

Everything here works on real paths (absolute ``bytes``) and real fds, and reports failures
as ``OSError`` with the kernel's errno, exactly as ``os`` does.  The syscalls go through
``ctypes`` on libc; the only architecture-specific numbers are those of ``syscall(2)``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno as _errno
import os
import platform
import stat as _stat
import struct
from collections.abc import Iterator

from model.content import LARGE, content_digest, windows
from model.dump import uuid_shape
from model.spec import IMPURE, METACOPY, OPAQUE, ORIGIN, REDIRECT, UUID
from model.types import PATH_MAX, DirEntry, Stat, StatFs, UpperEntry

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

# syscall(2) numbers for the calls glibc has no usable wrapper for.
_SYSCALLS = {
    "x86_64": {"getdents64": 217, "renameat2": 316},
    "aarch64": {"getdents64": 61, "renameat2": 276},
}
try:
    _NR = _SYSCALLS[platform.machine()]
except KeyError:  # pragma: no cover - other architectures are not supported
    raise ImportError(f"difftest.realfs: unsupported architecture {platform.machine()}") from None
SYS_getdents64 = _NR["getdents64"]
SYS_renameat2 = _NR["renameat2"]

AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
RENAME_WHITEOUT = 4
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
ST_RDONLY = 1

MS_RDONLY = 1
MS_REMOUNT = 32
MS_NOSUID = 2
MS_NODEV = 4
MS_PRIVATE = 1 << 18
MS_REC = 1 << 14
MNT_FORCE = 1
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1

_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_c_long = ctypes.c_long


def raw_syscall(*args: object) -> int:
    """syscall(2) with ``args`` as given: its return value, or minus the errno."""
    ret = int(_syscall(*args))
    return ret if ret >= 0 else -ctypes.get_errno()

_libc.mount.argtypes = [
    ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p,
]  # fmt: skip
_libc.mount.restype = ctypes.c_int
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.umount2.restype = ctypes.c_int
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]  # fmt: skip
_libc.prctl.restype = ctypes.c_int


class _Timespec2(ctypes.Structure):
    _fields_ = (("a_sec", ctypes.c_long), ("a_nsec", ctypes.c_long),
                ("m_sec", ctypes.c_long), ("m_nsec", ctypes.c_long))  # fmt: skip


_libc.utimensat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_Timespec2),
                            ctypes.c_int]  # fmt: skip
_libc.utimensat.restype = ctypes.c_int


class _StatfsBuf(ctypes.Structure):
    """``struct statfs`` of the 64-bit Linux ABI (x86_64 and aarch64 agree)."""

    _fields_ = (
        ("f_type", ctypes.c_long),
        ("f_bsize", ctypes.c_long),
        ("f_blocks", ctypes.c_ulong),
        ("f_bfree", ctypes.c_ulong),
        ("f_bavail", ctypes.c_ulong),
        ("f_files", ctypes.c_ulong),
        ("f_ffree", ctypes.c_ulong),
        ("f_fsid", ctypes.c_int * 2),
        ("f_namelen", ctypes.c_long),
        ("f_frsize", ctypes.c_long),
        ("f_flags", ctypes.c_long),
        ("f_spare", ctypes.c_long * 4),
    )


_libc.statfs.argtypes = [ctypes.c_char_p, ctypes.POINTER(_StatfsBuf)]
_libc.statfs.restype = ctypes.c_int


def _raise(path: bytes | None = None, path2: bytes | None = None) -> None:
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err), path, None, path2)


# --- mounting ------------------------------------------------------------------------------


def mount(
    source: bytes | None, target: bytes, fstype: bytes | None, flags: int, data: bytes | None
) -> None:
    """mount(2)."""
    if _libc.mount(source, target, fstype, flags, data) != 0:
        _raise(target)


def umount2(target: bytes, flags: int = 0) -> None:
    """umount2(2)."""
    if _libc.umount2(target, flags) != 0:
        _raise(target)


def umount_or_detach(target: bytes) -> bool:
    """Unmount ``target``; when it is busy, detach it lazily.  True when it went cleanly."""
    try:
        umount2(target, 0)
        return True
    except OSError as e:
        if e.errno != _errno.EBUSY:
            raise
    umount2(target, MNT_DETACH)
    return False


def mount_diagnosis(
    source: bytes, target: bytes, fstype: bytes, flags: int, data: bytes
) -> list[str]:
    """The kernel's log lines about a failing mount: replays the mount(2) (which fails
    again, attaching nothing) while reading /dev/kmsg from its end, and keeps the lines
    that name ``fstype`` (overlayfs explains most refusals only there: "conflicting
    options", "failed to resolve", "at least 2 lowerdir are needed ...").  Best effort:
    [] when the log cannot be read.  Another process's lines may slip in."""
    try:
        kmsg = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return []
    try:
        os.lseek(kmsg, 0, os.SEEK_END)
        if _libc.mount(source, target, fstype, flags, data) == 0:  # it worked this time
            _libc.umount2(target, MNT_DETACH)
            return []
        out = []
        name = fstype.decode(errors="replace")
        while True:
            try:
                rec = os.read(kmsg, 8192)
            except OSError:  # EAGAIN: no more records (EPIPE: some were overwritten)
                break
            if not rec:
                break
            msg = rec.decode(errors="replace").split(";", 1)[-1].split("\n", 1)[0]
            if name in msg:
                out.append(msg.strip())
        return out
    finally:
        os.close(kmsg)


def unshare(flags: int) -> None:
    """unshare(2); OSError with the errno."""
    if _libc.unshare(flags) != 0:
        _raise()


def set_pdeathsig(sig: int) -> None:
    """prctl(PR_SET_PDEATHSIG): get ``sig`` when the parent (thread) dies."""
    if _libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        _raise()


def _unescape_mountinfo(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _mountinfo() -> list[tuple[str, str, int]]:
    """(mount point, fs type, device number) of every mount, in mountinfo order."""
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            major, minor = fields[2].split(":")
            dev = os.makedev(int(major), int(minor))
            out.append((_unescape_mountinfo(fields[4]), fields[sep + 1], dev))
    return out


def mounts() -> list[tuple[str, str]]:
    """Every mount of this mount namespace as (mount point, fs type), in mountinfo order."""
    return [(mp, fs) for mp, fs, _dev in _mountinfo()]


def mount_device(path: str) -> int | None:
    """The device number of the (last) mount at ``path``, read from mountinfo: no stat, which
    a hung FUSE daemon would never answer."""
    path = os.path.normpath(path)
    devs = [dev for mp, _fs, dev in _mountinfo() if mp == path]
    return devs[-1] if devs else None


def mounts_under(path: str) -> list[tuple[str, str]]:
    """The mounts at ``path`` or beneath it, in mountinfo order."""
    path = os.path.normpath(path)
    prefix = path.rstrip("/") + "/"
    return [(mp, fs) for mp, fs in mounts() if mp == path or mp.startswith(prefix)]


# --- the syscalls os lacks -----------------------------------------------------------------


def renameat2(old: bytes, new: bytes, flags: int) -> None:
    """renameat2(AT_FDCWD, old, AT_FDCWD, new, flags)."""
    if _syscall(SYS_renameat2, _c_long(AT_FDCWD), old, _c_long(AT_FDCWD), new, _c_long(flags)) < 0:
        _raise(old, new)


_DIRENT = struct.Struct("=QqHB")  # d_ino, d_off, d_reclen, d_type; d_name follows at 19
_GETDENTS_SIZE = 32768
_getdents_buf = ctypes.create_string_buffer(_GETDENTS_SIZE)
_new = tuple.__new__  # builds NamedTuples without their Python-level __new__ (hot path)


def getdents(fd: int) -> list[DirEntry]:
    """Every remaining record of the open directory ``fd`` (getdents64 until it returns 0).

    Works on the fd itself: no dup, no rewind, so the filesystem's per-open state (overlay's
    merged-dir cache, the position) is exactly what the caller's earlier calls left.
    """
    out: list[DirEntry] = []
    buf = _getdents_buf
    unpack = _DIRENT.unpack_from
    while True:
        n = _syscall(SYS_getdents64, _c_long(fd), buf, _c_long(_GETDENTS_SIZE))
        if n <= 0:
            if n < 0:
                _raise()
            return out
        data = ctypes.string_at(buf, n)
        pos = 0
        while pos < n:
            ino, _off, reclen, dtype = unpack(data, pos)
            # d_name ends at its first NUL; the padding up to d_reclen may hold stale bytes.
            name = data[pos + 19 : data.index(b"\0", pos + 19)]
            out.append(_new(DirEntry, (name, dtype, ino)))
            pos += reclen


def _ts(ns: int | None) -> tuple[int, int]:
    if ns is None:
        return 0, UTIME_OMIT
    if ns == -1:
        return 0, UTIME_NOW
    return divmod(ns, 1_000_000_000)


def utimensat(path: bytes, atime_ns: int | None, mtime_ns: int | None) -> None:
    """utimensat(AT_FDCWD, path, times, 0): follows symlinks; None = UTIME_OMIT,
    -1 = UTIME_NOW."""
    if atime_ns is not None and mtime_ns is not None and atime_ns >= 0 and mtime_ns >= 0:
        os.utime(path, ns=(atime_ns, mtime_ns))
        return
    a, m = _ts(atime_ns), _ts(mtime_ns)
    times = _Timespec2(a[0], a[1], m[0], m[1])
    if _libc.utimensat(AT_FDCWD, path, ctypes.byref(times), 0) != 0:
        _raise(path)


def statfs(path: bytes) -> StatFs:
    buf = _StatfsBuf()
    if _libc.statfs(path, ctypes.byref(buf)) != 0:
        _raise(path)
    fsid = f"{buf.f_fsid[0] & 0xFFFFFFFF:08x}:{buf.f_fsid[1] & 0xFFFFFFFF:08x}"
    return StatFs(buf.f_type & 0xFFFFFFFF, buf.f_namelen, bool(buf.f_flags & ST_RDONLY), fsid)


def uuid_fsid(uuid: bytes) -> str:
    """The f_fsid a filesystem with this 16-byte uuid reports (``uuid_to_fsid``: the two
    little-endian halves xored, low word first), spelled as :func:`statfs` spells it."""
    a, b = struct.unpack("<QQ", uuid)
    v = a ^ b
    return f"{v & 0xFFFFFFFF:08x}:{v >> 32:08x}"


def stat_of(st: os.stat_result) -> Stat:
    return _new(Stat, (
        st.st_mode, st.st_ino, st.st_nlink, st.st_uid, st.st_gid, st.st_size, st.st_rdev,
        st.st_mtime_ns, st.st_dev,
    ))  # fmt: skip


# --- content digests -----------------------------------------------------------------------

_SMALL = 1 << 20  # files up to this size are read whole; larger ones by data extents
_CHUNK = 1 << 20
_EMPTY_DIGEST = content_digest(0, ())


def _data_extents(fd: int, size: int, start_at: int = 0) -> Iterator[tuple[int, bytes]]:
    """The data regions of ``fd`` between ``start_at`` and ``size`` (SEEK_DATA/SEEK_HOLE; a
    filesystem without them reports all data), read in chunks and cut only at zero bytes, so
    a non-zero run is never split in two (the digest counts runs)."""
    pending = bytearray()
    p_off = 0
    pos = start_at
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as e:
            if e.errno == _errno.ENXIO:  # no data after pos
                break
            raise
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        off = start
        while off < end:
            chunk = os.pread(fd, min(_CHUNK, end - off), off)
            if not chunk:
                end = off
                break
            if pending and p_off + len(pending) != off:
                yield p_off, bytes(pending)
                pending.clear()
            if not pending:
                p_off = off
            cut = chunk.rfind(b"\0")
            pending += chunk
            if cut >= 0:
                cut += len(pending) - len(chunk) + 1
                yield p_off, bytes(pending[:cut])
                del pending[:cut]
                p_off += cut
            off += len(chunk)
        pos = max(end, start + 1)
    if pending:
        yield p_off, bytes(pending)


_PROBE = 1 << 16  # without a known size, one read this long tells the size of small files


def fd_digest(fd: int, size: int | None = None) -> str:
    """``model.content.content_digest`` of the open regular file ``fd``."""
    if size is None:
        # A short pread of a regular file ends at EOF (holes read as zeros), which saves
        # an fstat for the common small file.
        data = os.pread(fd, _PROBE, 0)
        if len(data) < _PROBE:
            return content_digest(len(data), ((0, data),)) if data else _EMPTY_DIGEST
        size = os.fstat(fd).st_size
    if size == 0:
        return _EMPTY_DIGEST
    if size <= _SMALL:
        data = os.pread(fd, size, 0)
        while len(data) < size:
            more = os.pread(fd, size - len(data), len(data))
            if not more:
                break
            data += more
        return content_digest(size, ((0, data),))
    if size > LARGE:  # only the windows are compared (model.content.windows)
        return content_digest(size, _window_extents(fd, windows(size)))
    return content_digest(size, _data_extents(fd, size))


def _window_extents(fd: int, wins: list[tuple[int, int]]) -> Iterator[tuple[int, bytes]]:
    """The data inside each window, holes skipped."""
    for lo, hi in wins:
        yield from _data_extents(fd, hi, lo)


def _pread_all(fd: int, length: int, offset: int) -> bytes:
    out = bytearray()
    while len(out) < length:
        chunk = os.pread(fd, length - len(out), offset + len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def file_digest(path: bytes, size: int | None = None) -> str:
    """Digest of the file at ``path``, opened O_RDONLY|O_NOFOLLOW (no copy-up on overlay);
    O_NONBLOCK too, so that a FIFO found there cannot hang the tester."""
    if size == 0:
        return _EMPTY_DIGEST
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        return fd_digest(fd, size)
    finally:
        os.close(fd)


# --- the upper-layer dump ------------------------------------------------------------------

KINDS = {
    _stat.S_IFDIR: "dir",
    _stat.S_IFREG: "reg",
    _stat.S_IFLNK: "lnk",
    _stat.S_IFCHR: "chr",
    _stat.S_IFBLK: "blk",
    _stat.S_IFIFO: "fifo",
    _stat.S_IFSOCK: "sock",
}

_PRIVATE = "trusted.overlay."
# the private names UpperEntry shows, without the prefix
_OPAQUE, _REDIRECT, _ORIGIN, _IMPURE, _METACOPY, _UUID = (
    os.fsdecode(n)[len(_PRIVATE):] for n in (OPAQUE, REDIRECT, ORIGIN, IMPURE, METACOPY, UUID)
)


def upper_entry(path: bytes, st: os.stat_result, private: str = _PRIVATE) -> UpperEntry:
    """One object of a layer directory as :class:`model.types.UpperEntry`; ``private``: the
    overlay's xattr namespace (``model.xattrs.own_prefix``)."""
    escaped = private + "overlay."
    mode = st.st_mode
    kind = KINDS[_stat.S_IFMT(mode)]
    if kind == "chr" and st.st_rdev == 0:
        kind = "whiteout"
    opaque = redirect = None
    origin = impure = metacopy = False
    uuid = ""
    xattrs = []
    for name in os.listxattr(path, follow_symlinks=False):
        if name.startswith(private) and not name.startswith(escaped):
            # The overlay's own bookkeeping.  origin is reported by presence wherever it
            # is, the upper root included (the kernel writes a root origin only with
            # index=on), metacopy by presence, uuid by its shape; nlink etc. are not part
            # of UpperEntry.
            own = name[len(private):]
            if own == _ORIGIN:
                origin = True
            elif own == _OPAQUE:
                opaque = os.getxattr(path, name, follow_symlinks=False)
            elif own == _REDIRECT:
                redirect = os.getxattr(path, name, follow_symlinks=False)
            elif own == _IMPURE:
                impure = os.getxattr(path, name, follow_symlinks=False) == b"y"
            elif own == _METACOPY:
                metacopy = True
            elif own == _UUID:
                uuid = uuid_shape(os.getxattr(path, name, follow_symlinks=False))
            continue
        xattrs.append((os.fsencode(name), os.getxattr(path, name, follow_symlinks=False)))
    if kind == "reg":
        digest = file_digest(path, st.st_size)
    elif kind == "lnk":
        digest = os.readlink(path).hex()
    else:
        digest = ""
    return UpperEntry(
        kind, _stat.S_IMODE(mode), st.st_uid, st.st_gid, 0 if kind == "dir" else st.st_size,
        digest, opaque, redirect, origin, impure, tuple(sorted(xattrs)), metacopy, uuid,
    )  # fmt: skip


StatKey = tuple[int, int, int, int, int, int, int, int, int]


def stat_key(st: os.stat_result) -> StatKey:
    """What changes whenever an object changes (ctime moves with data, xattrs, mode, owner,
    links and names; multigrain timestamps make each change visible): the cache key of the
    upper-layer dump and of the observation caches."""
    return (
        st.st_ino, st.st_ctime_ns, st.st_mtime_ns, st.st_size, st.st_mode, st.st_nlink,
        st.st_uid, st.st_gid, st.st_rdev,
    )  # fmt: skip


class TreeDumper:
    """Dumps the real directory tree at ``root`` as ``{b"/": UpperEntry, b"/a": ...}``.

    With ``cache`` (the default), an object whose lstat is unchanged since the previous dump
    (inode, ctime, mtime, size, mode, nlink, owner, rdev) keeps its entry, and a directory
    whose lstat is unchanged keeps its list of names, so a dump costs one lstat per object.
    This is exact because every change to an inode (data, xattrs, mode, owner, links, names
    in a directory) sets its ctime, and tmpfs and ext4 have multigrain timestamps (6.13+):
    once a ctime has been read, the next change gets a fine-grained, strictly newer one.
    ``DIFFTEST_UPPER_CACHE=0`` in the environment turns the cache off.

    ``generation`` counts the dumps that found the tree changed (any object's key, or the
    set of paths): while it stays the same, nothing under ``root`` has changed.  Without
    the cache every dump counts as a change.
    """

    def __init__(self, root: bytes, *, cache: bool | None = None,
                 private: str = _PRIVATE) -> None:
        self.root = root
        self.private = private
        if cache is None:
            cache = os.environ.get("DIFFTEST_UPPER_CACHE", "1") != "0"
        self.cache = cache
        self._entries: dict[bytes, tuple[StatKey, UpperEntry]] = {}
        self._names: dict[bytes, tuple[StatKey, list[bytes]]] = {}
        self.generation = 0

    def reset(self) -> None:
        self._entries = {}
        self._names = {}
        self.generation += 1

    def dump(self) -> dict[bytes, UpperEntry]:
        root = self.root
        old_entries = self._entries
        entries: dict[bytes, tuple[StatKey, UpperEntry]] = {}
        names: dict[bytes, tuple[StatKey, list[bytes]]] = {}
        out: dict[bytes, UpperEntry] = {}
        same = 0  # objects whose key is the previous dump's
        todo = [b""]
        while todo:
            rel = todo.pop()
            k = rel or b"/"
            if len(root) + len(rel) < PATH_MAX:
                hit, children = self._dump_one(k, root + rel, entries, names)
            else:
                with beside(root, rel[1:]) as real:  # a path of any length
                    hit, children = self._dump_one(k, real, entries, names)
            out[k] = entries[k][1]
            same += hit
            todo.extend([rel + b"/" + n for n in children])
        if not (self.cache and same == len(entries) == len(old_entries)):
            self.generation += 1
        if self.cache:
            self._entries, self._names = entries, names
        return out

    def _dump_one(self, k: bytes, real: bytes, entries: dict[bytes, tuple[StatKey, UpperEntry]],
                  names: dict[bytes, tuple[StatKey, list[bytes]]]) -> tuple[bool, list[bytes]]:
        """Record the object at *k* (reached as *real*): whether its key is the previous
        dump's, and its children's names if it is a directory."""
        st = os.lstat(real)
        key = stat_key(st)
        hit = self._entries.get(k)
        same = hit is not None and hit[0] == key
        fresh = hit[1] if same and hit is not None else upper_entry(real, st, self.private)
        entries[k] = (key, fresh)
        if not _stat.S_ISDIR(st.st_mode):
            return same, []
        seen = self._names.get(k)
        children = seen[1] if seen is not None and seen[0] == key else os.listdir(real)
        names[k] = (key, children)
        return same, children


def dump_tree(root: bytes, private: str = _PRIVATE) -> dict[bytes, UpperEntry]:
    """Every object under the real directory ``root``: ``{b"/": ..., b"/a": ..., ...}``
    (no cache)."""
    return TreeDumper(root, cache=False, private=private).dump()


def remove_tree(path: bytes) -> None:
    """Remove the directory tree at ``path`` (faster than shutil.rmtree for the small trees
    of an example, and by descriptor, so that paths of any depth go too; the caller makes
    sure nothing is mounted beneath)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        _remove_contents(fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def _remove_contents(fd: int) -> None:
    with os.scandir(fd) as it:
        entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
    for name, is_dir in entries:
        if not is_dir:
            os.unlink(name, dir_fd=fd)
            continue
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                      dir_fd=fd)  # fmt: skip
        try:
            _remove_contents(sub)
        finally:
            os.close(sub)
        os.rmdir(name, dir_fd=fd)


# --- process-wide umask 0 ------------------------------------------------------------------

_umask_users = 0
_umask_saved = 0


def umask_zero_acquire() -> None:
    """Set the process umask to 0 while at least one real target lives (the Syscalls contract
    says modes are exactly what the caller passes)."""
    global _umask_users, _umask_saved
    if _umask_users == 0:
        _umask_saved = os.umask(0)
    _umask_users += 1


def umask_zero_release() -> None:
    global _umask_users
    if _umask_users == 0:
        return
    _umask_users -= 1
    if _umask_users == 0:
        os.umask(_umask_saved)


# --- paths longer than a directory's own path leaves room for ---------------------------------
#
# A path may be PATH_MAX - 1 bytes long relative to the directory a call starts from.  The
# tester's directories (a mountpoint, a layer) have paths of their own, so a path below them
# that is close to the limit must be given relative to them: the block of :func:`inside` runs
# with the directory as the working directory.  :func:`beside` reaches an object whose path
# is too long even for that through its parent, opened a few components at a time.

_CHUNK = 3072  # the longest relative string handed to one openat while walking


def fits(base: bytes, rel: bytes) -> bool:
    """Whether ``base/rel`` can be given to a syscall as it is."""
    return len(base) + 1 + len(rel) < PATH_MAX


class CannotEnter(OSError):
    """The caller may not make *directory* its working directory (no search permission).
    A path walked from there would fail the same way, but only after the checks a syscall
    makes before it walks (flags, the length of its strings): the call must still be made,
    from a process that was given the directory as root (:mod:`difftest.credhelper`)."""


@contextlib.contextmanager
def inside(directory: bytes | int) -> Iterator[None]:
    """Run the block with *directory* (a path or a directory fd) as the working directory;
    the previous one is restored after it, or ``/`` where the caller may not search it (a
    credential helper started in a directory private to root).  :class:`CannotEnter` where
    the caller may not enter *directory*."""
    try:
        back: int | None = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except PermissionError:
        back = None
    try:
        try:
            if isinstance(directory, int):
                os.fchdir(directory)
            else:
                os.chdir(directory)
        except PermissionError as e:
            raise CannotEnter(e.errno, e.strerror, directory) from None
        yield
    finally:
        if back is None:
            os.chdir("/")
        else:
            os.fchdir(back)
            os.close(back)


def open_dir(base: bytes, rel: bytes) -> int:
    """An ``O_PATH`` descriptor of the directory ``base/rel``, whatever the length of *rel*,
    opened from *base* a few components at a time without following symlinks."""
    fd = os.open(base, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    parts = [c for c in rel.split(b"/") if c]
    while parts:
        chunk = [parts.pop(0)]
        while parts and sum(map(len, chunk)) + len(chunk) + len(parts[0]) < _CHUNK:
            chunk.append(parts.pop(0))
        try:
            new = os.open(b"/".join(chunk), os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW
                          | os.O_CLOEXEC, dir_fd=fd)  # fmt: skip
        finally:
            os.close(fd)
        fd = new
    return fd


@contextlib.contextmanager
def beside(base: bytes, rel: bytes) -> Iterator[bytes]:
    """A path for ``base/rel`` usable in any syscall during the block: the path itself when
    it fits, else its last component with the working directory set to its parent."""
    if fits(base, rel):
        yield base + b"/" + rel if rel else base
        return
    parent, _, name = rel.rpartition(b"/")
    fd = open_dir(base, parent)
    try:
        with inside(fd):
            yield name
    finally:
        os.close(fd)


# ---- file handles ----------------------------------------------------------------------------

MAX_HANDLE_SZ = 128
AT_SYMLINK_FOLLOW = 0x400


class _FileHandle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * MAX_HANDLE_SZ)]  # fmt: skip


def name_to_handle_at(path: bytes, follow: bool = False) -> bytes:
    """The file handle of ``path`` as bytes (handle type, then the handle)."""
    fh = _FileHandle()
    fh.handle_bytes = MAX_HANDLE_SZ
    mount_id = ctypes.c_int()
    flags = AT_SYMLINK_FOLLOW if follow else 0
    if _libc.name_to_handle_at(AT_FDCWD, path, ctypes.byref(fh), ctypes.byref(mount_id),
                               flags) != 0:  # fmt: skip
        _raise(path)
    return struct.pack("i", fh.handle_type) + bytes(fh.f_handle[: fh.handle_bytes])


def open_by_handle_at(mount: bytes, handle: bytes) -> os.stat_result:
    """fstat of what ``open_by_handle_at(O_PATH)`` opens for ``handle`` on ``mount``."""
    fh = _FileHandle()
    (fh.handle_type,) = struct.unpack("i", handle[:4])
    data = handle[4:]
    fh.handle_bytes = len(data)
    ctypes.memmove(fh.f_handle, data, len(data))
    mfd = os.open(mount, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = _libc.open_by_handle_at(mfd, ctypes.byref(fh), os.O_PATH)
        if fd < 0:
            _raise(mount)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)
    finally:
        os.close(mfd)
