"""Small builders for model tests: layers as lists of entries, a mount, and views of it."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from model.config import Config
from model.errors import OvlError
from model.overlay import Overlay
from model.spec import OPAQUE, REDIRECT, Entry, LayersSpec
from model.types import Cred, UpperEntry

USER = Cred(1000, 1000)
OTHER = Cred(1001, 1001)


def D(path: bytes, mode: int = 0o755, **kw: object) -> Entry:
    return Entry(path, "dir", mode, **kw)  # type: ignore[arg-type]


def F(path: bytes, data: bytes = b"", mode: int = 0o644, **kw: object) -> Entry:
    return Entry(path, "reg", mode, data=data, **kw)  # type: ignore[arg-type]


def L(path: bytes, target: bytes) -> Entry:
    return Entry(path, "lnk", 0o777, target=target)


def W(path: bytes) -> Entry:
    return Entry(path, "whiteout", 0)


def H(path: bytes, target: bytes) -> Entry:
    return Entry(path, "hardlink", target=target)


def OPQ(path: bytes, value: bytes = b"y") -> Entry:
    return Entry(path, "dir", 0o755, xattrs=((OPAQUE, value),))


def RDIR(path: bytes, redirect: bytes) -> Entry:
    return Entry(path, "dir", 0o755, xattrs=((REDIRECT, redirect),))


def mount(
    *lowers: Iterable[Entry],
    upper: Iterable[Entry] | None = (),
    config: Config | None = None,
) -> Overlay:
    """An overlay of ``lowers`` (top first) and ``upper`` (``None``: no upper layer)."""
    spec = LayersSpec(
        lowers=tuple(tuple(layer) for layer in lowers),
        upper=None if upper is None else tuple(upper),
    )
    return Overlay.from_spec(spec, config or Config())


def names(o: Overlay, path: bytes) -> set[bytes]:
    """The merged listing of ``path`` without ``.`` and ``..``."""
    return {e.name for e in o.readdir(path)} - {b".", b".."}


def up(o: Overlay, path: bytes) -> UpperEntry | None:
    """The upper layer's entry at ``path`` (None when absent)."""
    return o.upper_dump().get(path)


def errno_of(fn: object, *args: object, **kw: object) -> int:
    """The errno ``fn(*args)`` fails with (the test fails when it succeeds)."""
    with pytest.raises(OvlError) as info:
        fn(*args, **kw)  # type: ignore[operator]
    return info.value.errno
