"""Error helpers: one way to raise an errno, and the two user-facing failure kinds.

Filesystem code raises ``OSError`` (through :func:`fail`); only ``operations.py`` turns it
into ``pyfuse3.FUSEError``.  Command-line code raises :class:`UsageError` (exit status 2)
or :class:`MountError` (exit status 1); both carry a one-line message for stderr.
"""

from __future__ import annotations

import errno
import os
from typing import NoReturn


def fail(err: int, what: bytes | str | None = None) -> NoReturn:
    """Raise ``OSError(err)`` with the standard message, naming *what* if given."""
    raise OSError(err, os.strerror(err), what)


def errno_name(err: int | None) -> str:
    """``ENOENT`` for 2, for log lines."""
    if err is None:
        return "?"
    return errno.errorcode.get(err, str(err))


class UsageError(Exception):
    """Bad command line or mount options: exit status 2."""


class MountError(Exception):
    """The layers cannot be mounted (missing, overlapping, ...) or mounting failed: status 1."""
