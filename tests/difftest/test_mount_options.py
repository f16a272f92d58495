"""Which option combinations the kernel mounts, refuses, and shows: the model's
``parse_options`` against real mounts, every combination of the options whose rules depend
on each other (``redirect_dir``, ``metacopy``, ``index``, ``nfs_export``, ``userxattr``),
and how ``uuid=`` resolves against what an upper root holds."""

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
from difftest.strategies import UPPER_ROOT_HISTORIES
from difftest.targets.real import fsid_class
from model.dump import dump_upper, uuid_shape
from model.errors import OvlError
from model.options import named_config, parse_options, shown_options
from model.overlay import Overlay
from model.spec import UUID, Entry, LayersSpec
from model.super import fsid_class as fsid_class_of
from model.super import shown_uuid

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


def _uuid_words(mode: str | None) -> list[str]:
    return [] if mode is None else [f"uuid={mode}"]


def _shown_uuid(mnt: Path) -> str | None:
    with open("/proc/self/mounts") as f:
        line = next(ln for ln in f if ln.split()[1] == str(mnt))
    return next((w for w in line.split()[3].split(",") if w.startswith("uuid=")), None)


def _model_mount(mode: str | None, history: tuple[tuple[bytes, bytes], ...], upper: bool,
                 samefs: bool) -> Overlay:
    root = (Entry(b"", "dir", 0o755, xattrs=history),) if history else ()
    spec = LayersSpec(lowers=((), ()), upper=root if upper else None)
    config = named_config(_uuid_words(mode))
    return Overlay.from_spec(spec, config, samefs=samefs)


@pytest.mark.parametrize("layout", ["upper", "split-fs", "no-upper"])
def test_the_uuid_option_resolves_as_the_model_says(dirs: Path, layout: str) -> None:
    """For every uuid= word and every upper root an earlier mount may have left (none, a
    uuid, a malformed one, an impure mark, both), on one filesystem, with each lower on its
    own and without an upper: the mode /proc/mounts shows, where statfs's fsid comes from
    and the uuid left on the upper root are the model's, at the first mount and the next."""
    histories = UPPER_ROOT_HISTORIES if layout != "no-upper" else {"new": ()}
    mounted = []
    if layout == "split-fs":
        for d in ("l1", "l2"):
            realfs.mount(b"tmpfs", os.fsencode(dirs / d), b"tmpfs", 0, b"")
            mounted.append(os.fsencode(dirs / d))
    try:
        for mode in (None, "on", "auto", "null", "off"):
            for name, history in histories.items():
                _check_uuid_mounts(dirs, mode, history, layout, f"{mode} {name} {layout}")
    finally:
        for m in mounted:
            realfs.umount2(m)


def _check_uuid_mounts(dirs: Path, mode: str | None, history: tuple[tuple[bytes, bytes], ...],
                       layout: str, what: str) -> None:
    _fresh_upper(dirs)
    for name, value in history:
        os.setxattr(dirs / "u", name, value)
    model = _model_mount(mode, history, layout != "no-upper", layout != "split-fs")
    if layout == "no-upper":
        layers = [f"lowerdir={dirs}/l1:{dirs}/l2"]
    else:
        layers = [f"lowerdir={dirs}/l1:{dirs}/l2", f"upperdir={dirs}/u", f"workdir={dirs}/w"]
    data = ",".join([*layers, *_uuid_words(mode)]).encode()
    mnt = os.fsencode(dirs / "m")
    upper = None if layout == "no-upper" else os.fsencode(dirs / "u")
    for mount in ("first", "second"):
        if mount == "second":
            model.remount()
        realfs.mount(b"overlay", mnt, b"overlay", 0, data)
        try:
            raw = realfs.statfs(mnt).fsid
            got = (_shown_uuid(dirs / "m"),
                   fsid_class(raw, upper, upper or os.fsencode(dirs / "l1"), b"trusted.overlay."),
                   uuid_shape(_getxattr(dirs / "u", UUID)) if upper else "")
        finally:
            realfs.umount2(mnt)
        root = dump_upper(model.fs).get(b"/")
        fs = model.fs
        expected = (shown_uuid(fs.uuid_mode), fsid_class_of(fs.uuid_mode, fs.upper is not None),
                    root.uuid if root else "")
        assert got == expected, (what, mount)


def _getxattr(path: Path, name: bytes) -> bytes | None:
    try:
        return os.getxattr(path, name)
    except OSError:
        return None
