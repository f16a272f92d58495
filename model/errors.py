"""The model's one error type."""

from __future__ import annotations

import errno as _errno
from collections.abc import Iterable


class OvlError(Exception):
    """A failed syscall: ``errno`` is the kernel's choice, ``allowed`` every errno it may pick.

    Most rules name exactly one errno.  Where the kernel may legitimately return one of
    several (SibylFS's "allowed set"), ``allowed`` holds them all and ``errno`` the one
    the model reports.
    """

    def __init__(self, err: int, *also: int, why: str = "") -> None:
        self.errno = err
        self.allowed: frozenset[int] = frozenset((err, *also)) if also else _single(err)
        self.why = why
        super().__init__(err, why)

    def __str__(self) -> str:  # pragma: no cover - a debugging aid
        # Formatted on demand: failing calls are common and mostly never printed.
        names = "|".join(sorted(_errno.errorcode.get(e, str(e)) for e in self.allowed))
        return f"{names}: {self.why}" if self.why else names

    def permits(self, err: int) -> bool:  # pragma: no cover - library API
        return err in self.allowed


_SINGLES: dict[int, frozenset[int]] = {}


def _single(err: int) -> frozenset[int]:
    s = _SINGLES.get(err)
    if s is None:
        s = _SINGLES[err] = frozenset((err,))
    return s


def fail(err: int, why: str = "", also: Iterable[int] = ()) -> OvlError:
    """Build an :class:`OvlError` (``raise fail(ENOENT, "no such name")``)."""
    return OvlError(err, *also, why=why)
