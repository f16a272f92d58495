"""What one documentation example is: layers, a program, and the facts it must show.

An :class:`Example` is data.  Its *rendered* results (return values, merged view, upper
layer) are computed from the model when the pages are generated; its :class:`Expect` is
written by hand and names only the key facts of the rule, so that a model change that breaks
the rule fails a test instead of silently re-rendering the page.

The layer helpers (:func:`reg`, :func:`dir_`, :func:`whiteout`, ...) build
:class:`model.spec.Entry` values with the kernel's on-disk vocabulary; :func:`layers` builds the
:class:`model.spec.LayersSpec` (``lowers[0]`` is the top lower layer).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from difftest import ops
from difftest.session import PRESETS
from model.spec import METACOPY, OPAQUE, REDIRECT, XWHITEOUT, Entry, LayersSpec


class Expect(TypedDict, total=False):
    """Hand-written expectations of one example under one config.

    * ``results``: one string per operation.  It matches when it equals the rendered result
      (``"ok"``, ``"ENOENT"``, ``"fd0"``, ``". .. a d/"``...), or, for every operation except
      readdir and getdents, when each of its words is one of the result's facts
      (``"nlink=1"`` matches a stat result with nlink 1).  ``"*"`` matches anything.
    * ``merged``: facts each path must show in the merged view after the program, as words:
      ``"file data=new"``, ``"dir nlink=1"``, ``"absent"``; ``-word`` says the fact must be
      missing (``-origin``, or ``-opaque`` for any opaque value).
    * ``upper``: the same for the upper layer on disk: ``"whiteout"``,
      ``"dir opaque=y origin"``, ``"file data=x -origin"``, ``"absent"``.
    """

    results: list[str]
    merged: dict[bytes, str]
    upper: dict[bytes, str]


@dataclass(frozen=True)
class Example:
    """One minimal example of one rule.

    ``config`` names a :data:`difftest.session.PRESETS` entry; ``versus`` optionally names a
    second config under which the same example is shown side by side (config-option pages),
    with its own expectations in ``expect_versus``.  ``rule`` cites the catalogue section
    and the kernel function; ``features`` names rows of the catalogue's feature table
    (:mod:`difftest.docs.features`) that this example demonstrates.
    """

    id: str
    title: str
    rule: str
    spec: LayersSpec
    program: Sequence[ops.Op]
    expect: Expect
    config: str = "default"
    versus: str | None = None
    expect_versus: Expect | None = None
    notes: str = ""
    features: tuple[str, ...] = ()
    show_inodes: bool = False
    area: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "program", tuple(self.program))
        for name in self.configs:
            if name not in PRESETS:
                raise ValueError(f"{self.id}: unknown config {name!r} (known: {list(PRESETS)})")
        if (self.versus is None) != (self.expect_versus is None):
            raise ValueError(f"{self.id}: versus and expect_versus go together")
        problem = config_fits(self.config, self.spec) or (
            config_fits(self.versus, self.spec) if self.versus else None
        )
        if problem:
            raise ValueError(f"{self.id}: {problem}")

    @property
    def configs(self) -> tuple[str, ...]:
        return (self.config,) if self.versus is None else (self.config, self.versus)

    def expect_for(self, config: str) -> Expect:
        if config == self.config:
            return self.expect
        assert config == self.versus and self.expect_versus is not None
        return self.expect_versus

    def key(self, config: str) -> str:
        """The name of one (example, config) run, as ``verified.json`` stores it."""
        return f"{self.id}@{config}"

    def digest(self, config: str) -> str:
        """A digest of what defines one run: layers, program, config.  A stored kernel
        verification applies only while this is unchanged."""
        text = repr((self.spec.lowers, self.spec.upper, self.program, config))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_fits(config: str, spec: LayersSpec) -> str | None:
    """Why ``spec`` cannot be shown under ``config`` (the presets also fix the layer shape:
    ``no-upper`` has no upper layer, ``lowers=N`` has N lowers), or None."""
    rc = PRESETS[config]
    if (spec.upper is not None) != rc.has_upper:
        return f"config {config} needs {'an' if rc.has_upper else 'no'} upper layer"
    if config.startswith("lowers=") and len(spec.lowers) != rc.lowers:
        return f"config {config} needs {rc.lowers} lower layer(s)"
    return None


# ---- layer helpers ---------------------------------------------------------------------------


def reg(
    path: bytes,
    data: bytes = b"",
    *,
    mode: int = 0o644,
    uid: int = 0,
    gid: int = 0,
    size: int | None = None,
    xattrs: dict[bytes, bytes] | None = None,
) -> Entry:
    """A regular file holding ``data`` (``size`` past the data is a hole)."""
    return Entry(path, "reg", mode, uid, gid, data, size, xattrs=_x(xattrs))


def dir_(
    path: bytes,
    *,
    mode: int = 0o755,
    uid: int = 0,
    gid: int = 0,
    xattrs: dict[bytes, bytes] | None = None,
) -> Entry:
    """A directory."""
    return Entry(path, "dir", mode, uid, gid, xattrs=_x(xattrs))


def opaque(path: bytes, value: bytes = b"y") -> Entry:
    """A directory carrying ``trusted.overlay.opaque`` (only ``y`` makes it opaque)."""
    return dir_(path, xattrs={OPAQUE: value})


def redirected(path: bytes, redirect: bytes, *, opaque_value: bytes | None = None) -> Entry:
    """An upper directory carrying ``trusted.overlay.redirect``."""
    x = {REDIRECT: redirect}
    if opaque_value is not None:
        x[OPAQUE] = opaque_value
    return dir_(path, xattrs=x)


def metacopy(path: bytes, size: int, data_path: bytes) -> Entry:
    """A metacopy file of ``size`` bytes (a hole) whose data is the file at the absolute
    ``data_path`` of a data-only layer, as composefs writes them."""
    return reg(path, size=size, xattrs={METACOPY: b"", REDIRECT: data_path})


def whiteout(path: bytes) -> Entry:
    """A whiteout: a character device 0:0."""
    return Entry(path, "whiteout", 0)


def xwhiteout(path: bytes) -> Entry:
    """An "xwhiteout": a zero-size file carrying ``trusted.overlay.whiteout``."""
    return reg(path, xattrs={XWHITEOUT: b""})


def symlink(path: bytes, target: bytes) -> Entry:
    """A symbolic link to ``target``."""
    return Entry(path, "lnk", 0o777, target=target)


def hardlink(path: bytes, target: bytes) -> Entry:
    """Another name for the regular file at ``target`` in the same layer."""
    return Entry(path, "hardlink", target=target)


def chrdev(path: bytes, major: int, minor: int, *, mode: int = 0o644) -> Entry:
    """A character device (0:0 would be a whiteout; use :func:`whiteout`)."""
    return Entry(path, "chr", mode, rdev=os.makedev(major, minor))


def fifo(path: bytes, *, mode: int = 0o644) -> Entry:
    return Entry(path, "fifo", mode)


def layers(*lowers: Sequence[Entry], upper: Sequence[Entry] | None = (),
           data: Sequence[Sequence[Entry]] = ()) -> LayersSpec:
    """The layers of an example: ``lowers[0]`` is the top lower layer; ``upper=None`` for an
    overlay without an upper layer; ``data``: data-only lower layers (``l0::d0``)."""
    return LayersSpec(
        tuple(tuple(layer) for layer in lowers), None if upper is None else tuple(upper),
        data=tuple(tuple(layer) for layer in data),
    )


def _x(xattrs: dict[bytes, bytes] | None) -> tuple[tuple[bytes, bytes], ...]:
    return tuple(sorted((xattrs or {}).items()))


S_IFCHR = stat.S_IFCHR
S_IFIFO = stat.S_IFIFO
S_IFBLK = stat.S_IFBLK
