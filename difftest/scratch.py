"""Scratch space for real targets: one private tmpfs per run, one directory per example.

``Scratch`` creates ``$TMPDIR/difftest-XXXXXXXX``, mounts a private tmpfs on it (mount(2),
no ``mount`` program) and hands out fresh directories for the examples' layers and mount
points.  On exit it kills the credential helpers, unmounts everything mounted at or beneath
its directory (lazily when busy) and removes the directory: on a normal exit, on an
exception, on Ctrl-C, on SIGTERM (turned into ``Terminated``, a ``KeyboardInterrupt``, while
the scratch is open) and, as a last resort, at interpreter exit.  It never unmounts or removes
anything outside its own directory.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from difftest import realfs
from difftest.credhelper import HelperPool


class ScratchError(RuntimeError):
    pass


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop as Ctrl-C does.  A ``KeyboardInterrupt`` because Hypothesis lets
    only that through at once; a ``SystemExit`` would count as a failing example, be
    shrunk, and end as a "flaky" pass."""


def _sigterm_raises(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"signal {signum}")


class Scratch:
    """A private tmpfs with per-example directories.  Use as a context manager."""

    def __init__(
        self, *, prefix: str = "difftest-", dir: str | None = None, tmpfs: bool = True
    ) -> None:
        self.prefix = prefix
        self.parent_dir = dir
        self.use_tmpfs = tmpfs
        self.path = ""
        self._pid = os.getpid()
        self._count = 0
        self._prev_sigterm: Any = None
        self._sigterm_installed = False
        self._helpers: HelperPool | None = None
        self._on_close: list[Callable[[], None]] = []
        self._open = False

    # -- lifetime ---------------------------------------------------------------------------

    def __enter__(self) -> Scratch:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        if self._open:
            raise ScratchError("scratch already open")
        _check_reachable(self.parent_dir or tempfile.gettempdir())
        self._install_sigterm()
        atexit.register(self.close)
        self._open = True
        try:
            self.path = tempfile.mkdtemp(prefix=self.prefix, dir=self.parent_dir)
            if self.use_tmpfs:
                p = os.fsencode(self.path)
                realfs.mount(b"difftest", p, b"tmpfs", 0, b"mode=0755")
                # Private: nothing mounted beneath propagates to other mount namespaces.
                realfs.mount(b"none", p, None, realfs.MS_PRIVATE, None)
            else:
                os.chmod(self.path, 0o755)  # helpers acting as other users must get in
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Kill helpers, unmount everything beneath, remove the directory.  Idempotent; does
        nothing in a forked child."""
        if not self._open or os.getpid() != self._pid:
            return
        self._open = False
        blocked = _block_signals()
        try:
            for callback in reversed(self._on_close):
                with contextlib.suppress(Exception):
                    callback()
            self._on_close.clear()
            if self._helpers is not None:
                self._helpers.close()
                self._helpers = None
            if self.path:
                self._unmount_all()
                self._remove_dir()
        finally:
            with contextlib.suppress(Exception):
                atexit.unregister(self.close)
            self._restore_sigterm()
            _unblock_signals(blocked)

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` first thing when the scratch closes (e.g. stop a mount server)."""
        self._on_close.append(callback)

    # -- what it hands out ------------------------------------------------------------------

    @property
    def helpers(self) -> HelperPool:
        """The credential helpers of this run (one process per distinct cred)."""
        if not self._open:
            raise ScratchError("scratch is not open")
        if self._helpers is None:
            self._helpers = HelperPool()
        return self._helpers

    def new_dir(self, name: str = "ex") -> str:
        """A fresh empty directory (mode 0755) inside the scratch."""
        if not self._open:
            raise ScratchError("scratch is not open")
        self._count += 1
        d = os.path.join(self.path, f"{name}{self._count}")
        os.mkdir(d, 0o755)
        os.chmod(d, 0o755)
        return d

    # -- internals --------------------------------------------------------------------------

    def _unmount_all(self) -> None:
        for _ in range(8):
            mine = realfs.mounts_under(self.path)
            if not mine:
                return
            for mp, _fs in reversed(mine):
                with contextlib.suppress(OSError):  # gone already, or detached with a parent
                    realfs.umount_or_detach(os.fsencode(mp))
        left = realfs.mounts_under(self.path)
        if left:
            raise ScratchError(f"could not unmount {left}")

    def _remove_dir(self) -> None:
        if realfs.mounts_under(self.path):
            raise ScratchError(f"refusing to remove {self.path}: something is still mounted")
        shutil.rmtree(self.path, ignore_errors=True)
        if os.path.exists(self.path):
            raise ScratchError(f"could not remove {self.path}")

    def _install_sigterm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._prev_sigterm = signal.signal(signal.SIGTERM, _sigterm_raises)
        self._sigterm_installed = True

    def _restore_sigterm(self) -> None:
        if not self._sigterm_installed:
            return
        self._sigterm_installed = False
        prev = self._prev_sigterm
        signal.signal(signal.SIGTERM, signal.SIG_DFL if prev is None else prev)


def _check_reachable(base: str) -> None:
    """Operations run as other users must reach the mount: a directory on the way that
    others cannot search would turn their results into EACCES (seen with pytest's 0700
    ``tmp_path``).  Refuse such a place rather than report false divergences."""
    path = os.path.abspath(base)
    while True:
        st = os.stat(path)
        if not st.st_mode & 0o001:
            raise ScratchError(
                f"{path} (mode {st.st_mode & 0o7777:04o}) cannot be searched by other users, "
                f"so operations run as them could not reach the overlay; set TMPDIR to a "
                f"directory whose parents are all world-searchable (o+x)"
            )
        if path == "/":
            return
        path = os.path.dirname(path)


_BLOCK = {signal.SIGINT, signal.SIGTERM}


def _block_signals() -> set[int | signal.Signals] | None:
    """Hold SIGINT/SIGTERM while cleaning up, so a second Ctrl-C cannot leave a mount."""
    try:
        return signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCK)
    except (OSError, ValueError):
        return None


def _unblock_signals(old: set[int | signal.Signals] | None) -> None:
    if old is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
