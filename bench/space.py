"""A private tmpfs for one benchmark run, and the processes and mounts made inside it.

:class:`Space` makes ``$TMPDIR/ovlbench-XXXXXXXX`` (``tempfile.mkdtemp``), mounts a tmpfs
there (``--make-private``: nothing mounted beneath propagates elsewhere) and hands out fresh
directories.  On exit — normal, exception, Ctrl-C, or SIGTERM (turned into ``SystemExit``
while the space is open) — it stops every daemon it started (waiting for each to exit, so
no process still holds files in the layers), unmounts everything at or beneath its
directory, deepest first, and removes the directory.  It never touches anything outside it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from types import FrameType, TracebackType
from typing import Any


class SpaceError(RuntimeError):
    pass


def _unescape_mountinfo(field: str) -> str:
    """Mount points in /proc/self/mountinfo escape space, tab, newline and backslash."""
    for code, ch in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, ch)
    return field


def mounts() -> list[tuple[str, str]]:
    """(mount point, fstype) of every mount in this namespace, in mount order."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            out.append((_unescape_mountinfo(fields[4]), fields[sep + 1]))
    return out


def mounts_under(base: str) -> list[tuple[str, str]]:
    """Mounts at or beneath ``base`` (in mount order)."""
    return [(mp, fs) for mp, fs in mounts() if mp == base or mp.startswith(base + "/")]


def fstype_at(path: str) -> str | None:
    """The fstype of the topmost mount exactly at ``path``, or None."""
    found = None
    for mp, fs in mounts():
        if mp == path:
            found = fs
    return found


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a command, raise with its stderr when it fails."""
    p = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    if p.returncode != 0:
        raise SpaceError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def _sigterm_raises(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait for ``proc`` to exit (after its unmount); SIGTERM, then SIGKILL if it lingers."""
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout if sig is None else 10.0)
            return
        except subprocess.TimeoutExpired:
            continue


class Space:
    """The run's private tmpfs.  Use as a context manager."""

    def __init__(self, size: str = "10g", prefix: str = "ovlbench-") -> None:
        self.size = size
        self.prefix = prefix
        self.path = ""
        self._count = 0
        self._procs: list[subprocess.Popen[bytes]] = []
        self._prev_sigterm: Any = None
        self._open = False

    def __enter__(self) -> Space:
        if threading.current_thread() is threading.main_thread():
            self._prev_sigterm = signal.signal(signal.SIGTERM, _sigterm_raises)
        self._open = True
        try:
            self.path = tempfile.mkdtemp(prefix=self.prefix)
            run(["mount", "-t", "tmpfs", "-o", f"size={self.size},mode=0755", "ovlbench",
                 self.path])
            run(["mount", "--make-private", self.path])
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def new_dir(self, name: str) -> str:
        """A fresh empty directory in the space."""
        self._count += 1
        d = os.path.join(self.path, f"{name}.{self._count}")
        os.mkdir(d, 0o755)
        return d

    def track(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop ``proc`` at close if it is still running."""
        self._procs.append(proc)

    def untrack(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ValueError):
            self._procs.remove(proc)

    def unmount_beneath(self, base: str) -> None:
        """Unmount everything at or beneath ``base`` (inside the space), deepest first."""
        for _ in range(5):
            mine = [mp for mp, _fs in mounts_under(base) if mp != self.path]
            if not mine:
                return
            for mp in reversed(mine):
                if subprocess.run(["umount", mp], capture_output=True, check=False).returncode:
                    subprocess.run(["umount", "-l", mp], capture_output=True, check=False)
        left = [mp for mp, _fs in mounts_under(base) if mp != self.path]
        if left:
            raise SpaceError(f"could not unmount {left}")

    def remove(self, path: str) -> None:
        """Remove a directory tree inside the space (nothing may be mounted beneath)."""
        if not path.startswith(self.path + "/"):
            raise SpaceError(f"refusing to remove {path}: outside {self.path}")
        if mounts_under(path):
            raise SpaceError(f"refusing to remove {path}: something is mounted beneath")
        subprocess.run(["rm", "-rf", "--one-file-system", path], check=False)

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        old = _block_signals()
        try:
            if self.path:
                # Unmount first: a FUSE daemon exits when its mount goes away.
                with contextlib.suppress(SpaceError):
                    self.unmount_beneath(self.path + "/")
                for proc in self._procs:
                    stop_process(proc, timeout=15.0)
                self._procs.clear()
                self.unmount_beneath(self.path + "/")
                if fstype_at(self.path) is not None:
                    run(["umount", self.path])
                if mounts_under(self.path):
                    raise SpaceError(f"refusing to remove {self.path}: still mounted")
                shutil.rmtree(self.path, ignore_errors=True)
        finally:
            if self._prev_sigterm is not None:
                signal.signal(signal.SIGTERM, self._prev_sigterm)
                self._prev_sigterm = None
            _unblock_signals(old)


def _block_signals() -> set[int | signal.Signals] | None:
    """Hold SIGINT/SIGTERM while cleaning up, so a second Ctrl-C cannot leave a mount."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


def _unblock_signals(old: set[int | signal.Signals] | None) -> None:
    if old is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def wait_until(pred: Any, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Poll ``pred()`` until true; False on timeout or when ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while time.monotonic() < deadline:
        if pred():
            return True
        if proc is not None and proc.poll() is not None:
            return bool(pred())
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
    return bool(pred())
