"""Which option combinations the kernel mounts, refuses, and shows: the model's
``parse_options`` against real mounts, every combination of the options whose rules depend
on each other (``redirect_dir``, ``metacopy``, ``index``, ``nfs_export``, ``userxattr``)."""

from __future__ import annotations

import errno
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from difftest import realfs
from difftest.scratch import Scratch
from model.errors import OvlError
from model.options import parse_options, shown_options

pytestmark = pytest.mark.privileged

SETTINGS = [
    ("redirect_dir", [None, "on", "follow", "nofollow", "off"]),
    ("metacopy", [None, "on", "off"]),
    ("index", [None, "on", "off"]),
    ("nfs_export", [None, "on", "off"]),
    ("userxattr", [None, ""]),
]
SHOWN_KEYS = ("redirect_dir", "index", "nfs_export", "metacopy", "userxattr", "fsync")


def _combinations() -> Iterator[list[str]]:
    names = [n for n, _ in SETTINGS]
    for values in itertools.product(*(v for _, v in SETTINGS)):
        yield [n if v == "" else f"{n}={v}" for n, v in zip(names, values, strict=True)
               if v is not None]  # fmt: skip


@pytest.fixture
def dirs() -> Iterator[Path]:
    with Scratch() as scratch:
        top = Path(os.fsdecode(scratch.new_dir()))
        for d in ("l1", "l2", "m"):
            (top / d).mkdir()
        yield top
        assert not realfs.mounts_under(str(top))


def _fresh_upper(top: Path) -> None:
    """A new upper and workdir for each mount (index=on records the lowers in the upper)."""
    for d in ("u", "w"):
        shutil.rmtree(top / d, ignore_errors=True)
        (top / d).mkdir()


def _shown(mnt: Path) -> frozenset[str]:
    with open("/proc/self/mounts") as f:
        line = next(ln for ln in f if ln.split()[1] == str(mnt))
    words = line.split()[3].split(",")
    return frozenset(w for w in words if w.partition("=")[0] in SHOWN_KEYS)


def _mount(top: Path, words: list[str]) -> int:
    _fresh_upper(top)
    data = ",".join([f"lowerdir={top}/l1:{top}/l2", f"upperdir={top}/u", f"workdir={top}/w",
                     *words]).encode()  # fmt: skip
    try:
        realfs.mount(b"overlay", os.fsencode(top / "m"), b"overlay", 0, data)
    except OSError as e:
        assert e.errno is not None
        return e.errno
    return 0


def test_every_combination_is_mounted_or_refused_as_the_model_says(dirs: Path) -> None:
    """270 mounts: the kernel's errno (0 or EINVAL) is the model's; what a mount shows in
    /proc/mounts for these options is what the model resolved them to (metacopy=on turns on
    redirect_dir=on, nfs_export=on index=on, userxattr redirect_dir=nofollow)."""
    refused = accepted = 0
    for words in _combinations():
        try:
            expected, shown = 0, shown_options(parse_options(words))
        except OvlError as e:
            expected, shown = e.errno, frozenset()
        got = _mount(dirs, words)
        assert got == expected, (words, os.strerror(got), os.strerror(expected))
        if got == 0:
            accepted += 1
            try:
                assert _shown(dirs / "m") == shown, words
            finally:
                realfs.umount2(os.fsencode(dirs / "m"))
        else:
            refused += 1
    assert (accepted, refused) == (124, 146)


@pytest.mark.parametrize("words", [
    ["nfs_export=on", "index=off"], ["nfs_export=on", "metacopy=on"],
    ["metacopy=on", "redirect_dir=off"], ["userxattr", "redirect_dir=on"],
    ["userxattr", "metacopy=on"], ["redirect_dir=bogus"], ["bogus=1"], ["userxattr=1"],
    ["index"],
])  # fmt: skip
def test_a_refusal_gives_the_kernels_reason(dirs: Path, words: list[str]) -> None:
    """The model's reason for a refusal is the kernel's log line, word for word (less the
    ``overlayfs:``/``overlay:`` prefix): a wrong option and a conflict are told apart."""
    with pytest.raises(OvlError) as info:
        parse_options(words)
    assert info.value.errno == errno.EINVAL
    _fresh_upper(dirs)
    data = ",".join([f"lowerdir={dirs}/l1:{dirs}/l2", f"upperdir={dirs}/u",
                     f"workdir={dirs}/w", *words]).encode()  # fmt: skip
    said = realfs.mount_diagnosis(b"overlay", os.fsencode(dirs / "m"), b"overlay", 0, data)
    assert any(line.endswith(info.value.why) for line in said), (said, info.value.why)
