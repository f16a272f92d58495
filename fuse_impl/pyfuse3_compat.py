"""What pyfuse3 3.5 does not pass on, recovered in one documented place.

setxattr flags: pyfuse3 checks XATTR_CREATE / XATTR_REPLACE itself, by calling the
``getxattr`` handler before ``setxattr``, and does not pass the flags on.  The kernel overlay
copies up *before* that check (ovl_xattr_set), so a flagged setxattr that fails with EEXIST
or ENODATA still leaves a copied-up file.  :func:`install` wraps pyfuse3's setxattr request
coroutine (looked up by name at call time) so that the ``getxattr`` handler can tell it is
running as that check (:func:`setxattr_in_progress`) and copy up first.

The name is a context variable: a request that waits for a copy-up's data (the only place a
handler awaits) lets others run, and each runs in a context of its own (fuse_impl/loop.py).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Coroutine
from typing import Any

import pyfuse3

_in_progress: contextvars.ContextVar[bytes | None] = contextvars.ContextVar(
    "ovlfuse_setxattr_in_progress", default=None)


def setxattr_in_progress() -> bytes | None:
    """The xattr name of the setxattr request being handled, if any."""
    return _in_progress.get()


def install() -> None:
    """Wrap pyfuse3's setxattr request coroutine (idempotent; no-op if pyfuse3 changed)."""
    original: Callable[..., Coroutine[Any, Any, None]] | None = getattr(
        pyfuse3, "fuse_setxattr_async", None
    )
    if original is None or getattr(original, "_ovlfuse_wrapped", False):
        return

    async def wrapped(container: Any, name: bytes, value: bytes) -> None:
        token = _in_progress.set(name)
        try:
            await original(container, name, value)
        finally:
            _in_progress.reset(token)

    wrapped._ovlfuse_wrapped = True  # type: ignore[attr-defined]
    setattr(pyfuse3, "fuse_setxattr_async", wrapped)  # noqa: B010 (not in the stubs)
