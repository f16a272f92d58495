"""Helpers for the ovlfuse tests: scratch tmpfs, layer trees, mounting and comparing views.

Every mount made here is undone by the context manager that made it, also on failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
OVLFUSE = [PYTHON, "-m", "fuse_impl.main"]


def mounted(path: str | Path) -> bool:
    """Whether *path* is a mount point (from /proc/self/mountinfo, without touching it)."""
    target = os.fsencode(os.path.realpath(path))
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            mp = line.split()[4].replace(b"\\040", b" ")
            if mp == target:
                return True
    return False


def umount(path: str | Path, lazy: bool = False) -> None:
    """Unmount *path* if mounted (lazily when busy)."""
    if not mounted(path):
        return
    res = subprocess.run(["umount", str(path)], capture_output=True, text=True, check=False)
    if res.returncode != 0 and mounted(path):
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def mounts_under(root: str | Path) -> list[str]:
    prefix = os.path.realpath(root) + "/"
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp.startswith(prefix):
                out.append(mp)
    return out


@contextlib.contextmanager
def scratch(size: str = "1g", public: bool = False) -> Iterator[Path]:
    """A fresh tmpfs under a mkdtemp() dir; everything mounted below it is undone at exit.

    *public* puts it under /tmp instead of the session's private TMPDIR, so that other
    users can reach it (permission tests).
    """
    base = Path(tempfile.mkdtemp(prefix="ovlfuse-test-", dir="/tmp" if public else None))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(base)],
                   check=True)
    try:
        yield base
    finally:
        for mp in sorted(mounts_under(base), key=len, reverse=True):
            umount(mp)
        umount(base)
        with contextlib.suppress(OSError):
            base.rmdir()


def build(root: Path, tree: dict[str, object]) -> None:
    """Create files from a spec: "name": bytes | str (file), dict (dir), ("symlink", target),
    ("whiteout",), ("opaque", dict), ("fifo",)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, spec in tree.items():
        path = root / name
        if isinstance(spec, dict):
            build(path, spec)
        elif isinstance(spec, bytes | str):
            path.write_bytes(spec.encode() if isinstance(spec, str) else spec)
        elif spec[0] == "symlink":
            os.symlink(spec[1], path)
        elif spec[0] == "whiteout":
            os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))
        elif spec[0] == "opaque":
            build(path, spec[1])
            os.setxattr(path, "trusted.overlay.opaque", b"y")
        elif spec[0] == "fifo":
            os.mkfifo(path)
        else:
            raise ValueError(spec)


@dataclass
class Layers:
    """Directories of one overlay: lowers (top first), upper, work, mountpoint."""

    base: Path
    lowers: list[Path]
    upper: Path | None
    work: Path | None
    mnt: Path

    def options(self, extra: str = "") -> str:
        parts = ["lowerdir=" + ":".join(str(p) for p in self.lowers)]
        if self.upper is not None and self.work is not None:
            parts += [f"upperdir={self.upper}", f"workdir={self.work}"]
        if extra:
            parts.append(extra)
        return ",".join(parts)


def make_layers(base: Path, *lowers: dict[str, object], upper: dict[str, object] | None = None,
                with_upper: bool = True, name: str = "o",
                own_fs: tuple[int, ...] = ()) -> Layers:
    """Lower trees (top first) and an optional upper tree under base/name.  The lowers whose
    indexes are in *own_fs* sit on a tmpfs of their own (unmounted with *base*'s scratch)."""
    root = base / name
    paths = []
    for i, tree in enumerate(lowers):
        p = root / f"l{i}"
        if i in own_fs:
            p.mkdir(parents=True)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(p)],
                           check=True)
        build(p, tree)
        paths.append(p)
    up = work = None
    if with_upper:
        up, work = root / "u", root / "w"
        build(up, upper or {})
        work.mkdir()
    mnt = root / "m"
    mnt.mkdir()
    return Layers(root, paths, up, work, mnt)


class Daemon:
    """A foreground ovlfuse process serving one mount."""

    def __init__(self, proc: subprocess.Popen[bytes], mnt: Path, log: BinaryIO):
        self.proc = proc
        self.mnt = mnt
        self.log = log

    def stop(self, timeout: float = 20) -> int:
        """Unmount and wait for the daemon; returns its exit status."""
        umount(self.mnt)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def stderr(self) -> str:
        """Everything the daemon wrote to stderr so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def start_ovlfuse(mnt: Path, options: str, *args: str, timeout: float = 20) -> Daemon:
    """Start ``ovlfuse -f`` (stderr to a temporary file) and wait until the mount exists."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 (owned by the Daemon)
    proc = subprocess.Popen([*OVLFUSE, "-f", *args, "-o", options, str(mnt)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=log)
    daemon = Daemon(proc, mnt, log)
    deadline = time.monotonic() + timeout
    while not mounted(mnt):
        if proc.poll() is not None:
            raise RuntimeError(f"ovlfuse exited with {proc.returncode}: {daemon.stderr()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("ovlfuse did not mount in time")
        time.sleep(0.005)
    return daemon


KERNEL_ONLY_OPTIONS = ("exact", "timeout=")


@contextlib.contextmanager
def ovlfuse(layers: Layers, extra: str = "exact", *args: str) -> Iterator[Path]:
    """Mount *layers* with ovlfuse for the duration of the block.

    With ``OVLFUSE_TEST_TARGET=kernel`` the kernel overlay is mounted instead: the tests'
    expectations are then checked against the reference implementation.
    """
    if os.environ.get("OVLFUSE_TEST_TARGET") == "kernel":
        kept = [o for o in extra.split(",") if o and not o.startswith(KERNEL_ONLY_OPTIONS)]
        with kernel_overlay(layers, ",".join(kept)) as mnt:
            yield mnt
        return
    if os.environ.get("OVLFUSE_TEST_MODE") == "cached":
        extra = ",".join(o for o in extra.split(",") if o and o != "exact") or "timeout=60"
    daemon = start_ovlfuse(layers.mnt, layers.options(extra), *args)
    try:
        yield layers.mnt
    finally:
        status = daemon.stop()
        assert status == 0, f"ovlfuse exited with {status}: {daemon.stderr()}"


@contextlib.contextmanager
def kernel_overlay(layers: Layers, extra: str = "") -> Iterator[Path]:
    """Mount *layers* with the kernel's overlayfs for the duration of the block."""
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", layers.options(extra),
                    str(layers.mnt)], check=True)
    try:
        yield layers.mnt
    finally:
        umount(layers.mnt)


def _xattrs(path: str) -> dict[str, bytes]:
    out = {}
    for name in sorted(os.listxattr(path, follow_symlinks=False)):
        with contextlib.suppress(OSError):
            out[name] = os.getxattr(path, name, follow_symlinks=False)
    return out


def view(root: Path, with_ino: bool = True) -> dict[str, tuple[object, ...]]:
    """What a process sees under *root*: per path, type, mode, owner, size, content, xattrs,
    nlink (non-dirs, and dirs) and st_ino."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    content: object = hashlib.sha256(f.read()).hexdigest()[:16]
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(path)
            else:
                content = st.st_rdev
            key = os.path.relpath(path, root)
            out[key] = (stat.filemode(st.st_mode), st.st_uid, st.st_gid,
                        st.st_size if not stat.S_ISDIR(st.st_mode) else None,
                        content, st.st_nlink, _xattrs(path),
                        st.st_ino if with_ino else None)
    return out


def dump_upper(root: Path) -> dict[str, tuple[object, ...]]:
    """The raw upper layer: type, mode, rdev, and overlay xattrs (origin by presence only)."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            xs = {}
            for k, v in _xattrs(path).items():
                xs[k] = "present" if k.endswith(".origin") else v
            out[os.path.relpath(path, root)] = (stat.filemode(st.st_mode), st.st_rdev, xs)
    return out


def run_as(uid: int, gid: int, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python *code* as another user (for permission tests)."""
    def demote() -> None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    return subprocess.run(["/usr/bin/python3", "-c", code, *args], preexec_fn=demote,
                          capture_output=True, text=True, check=False, cwd="/")


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)


_libc = None


def getdents(fd: int, bufsize: int = 512) -> list[tuple[int, int, bytes]]:
    """One getdents64(2) call: [(d_ino, d_off, name)]; an empty list at the end."""
    import ctypes
    import struct

    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(bufsize)
    n = _libc.syscall(217, fd, buf, bufsize)  # SYS_getdents64 on x86_64
    if n < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    out, pos, raw = [], 0, buf.raw[:n]
    while pos < n:
        ino, off, reclen, _dtype = struct.unpack_from("<QqHB", raw, pos)
        name = raw[pos + 19 : pos + reclen].split(b"\0", 1)[0]
        out.append((ino, off, name))
        pos += reclen
    return out


def renameat2(old: Path, new: Path, flags: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(-100, os.fsencode(old), -100, os.fsencode(new), flags) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4


class Client:
    """An ``ovlfuse --serve`` mount server, spoken to as ``client(op=..., ...)``."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([*OVLFUSE, "--serve"], cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)

    def __call__(self, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "server closed its output"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(60)
