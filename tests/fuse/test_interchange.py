"""Layers are interchangeable with the kernel overlay: the same operations through ovlfuse and
through mount(2) -t overlay leave the same upper layer, and a layer written by one mounts
with the other showing the same view (st_ino included)."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from ovlfuse_testlib import (
    Layers,
    dump_upper,
    kernel_overlay,
    make_layers,
    ovlfuse,
    view,
)

pytestmark = pytest.mark.privileged

LOWER0 = {
    "etc": {"conf": "setting=1\n", "keep": "k", "gone": "g"},
    "data": {"big": "x" * 10000, "small": "s", "sub": {"deep": {"file": "d"}}},
    "tree": {"a": "1", "b": {"c": "2"}},
    "link": ("symlink", "etc/conf"),
    "h1": "hard",
    "plain": "p",
}
LOWER1 = {
    "etc": {"from1": "1", "gone": "shadowed"},
    "data": {"only1": "o"},
    "l1dir": {"x": "y"},
}
UPPER = {"etc": {"local": "u"}}


def script(m: Path) -> None:
    """Operations covering copy-up, whiteouts, opaque dirs, renames, links and xattrs."""
    (m / "new").write_text("created")
    with open(m / "etc" / "conf", "a") as f:
        f.write("setting=2\n")
    os.chmod(m / "plain", 0o600)
    os.chown(m / "etc" / "keep", 1000, 1000)
    os.unlink(m / "etc" / "gone")
    shutil.rmtree(m / "tree")
    os.mkdir(m / "tree")
    (m / "tree" / "fresh").write_text("f")
    os.rename(m / "data" / "small", m / "etc" / "small-moved")
    os.mkdir(m / "pure")
    (m / "pure" / "inside").write_text("i")
    os.rename(m / "pure", m / "data" / "pure")
    os.symlink("../new", m / "data" / "sym")
    os.link(m / "h1", m / "data" / "h1-link")
    os.setxattr(m / "etc" / "from1", "user.note", b"hello")
    os.truncate(m / "data" / "big", 100)
    os.mkfifo(m / "fifo")
    (m / "data" / "sub" / "deep" / "added").write_text("nested copy-up")
    os.utime(m / "l1dir" / "x", ns=(1_500_000_000_000_000_000, 1_600_000_000_000_000_000))
    os.unlink(m / "link")
    os.symlink("data/big", m / "link")


def redirect_script(m: Path) -> None:
    """Directory renames that need redirect_dir=on."""
    script(m)
    os.rename(m / "l1dir", m / "l1dir-renamed")
    os.rename(m / "data" / "sub", m / "etc" / "sub-moved")
    os.rename(m / "etc", m / "etc2")


Mounter = Callable[[Layers, str], object]


def _normalised(dump: dict[str, tuple[object, ...]]) -> dict[str, tuple[object, ...]]:
    """Upper dump without the random uuid value."""
    out = {}
    for key, (mode, rdev, xattrs) in dump.items():
        xs = dict(xattrs)  # type: ignore[call-overload]
        out[key] = (mode, rdev, xs)
    return out


def _upper_root_xattrs(layers: Layers) -> set[str]:
    assert layers.upper is not None
    return set(os.listxattr(layers.upper))


def _fresh(base: Path, name: str) -> Layers:
    layers = make_layers(base, LOWER0, LOWER1, upper=UPPER, name=name)
    os.link(layers.lowers[0] / "h1", layers.lowers[0] / "h2")
    return layers


@pytest.mark.parametrize("extra,ops", [("", script), ("redirect_dir=on", redirect_script)],
                         ids=["default", "redirect_dir"])
def test_same_operations_leave_the_same_upper_layer(tmpfs: Path, extra: str,
                                                    ops: Callable[[Path], None]) -> None:
    by_kernel = _fresh(tmpfs, "k")
    by_fuse = _fresh(tmpfs, "f")
    with kernel_overlay(by_kernel, extra) as m:
        ops(m)
        kernel_view = view(m, with_ino=False)
    with ovlfuse(by_fuse, ",".join(filter(None, ["exact", extra]))) as m:
        ops(m)
        fuse_view = view(m, with_ino=False)
    assert fuse_view == kernel_view
    assert by_kernel.upper is not None and by_fuse.upper is not None
    assert _normalised(dump_upper(by_fuse.upper)) == _normalised(dump_upper(by_kernel.upper))
    assert _upper_root_xattrs(by_fuse) == _upper_root_xattrs(by_kernel)


@pytest.mark.parametrize("extra,ops", [("", script), ("redirect_dir=on", redirect_script)],
                         ids=["default", "redirect_dir"])
def test_layer_written_by_ovlfuse_mounts_identically_with_the_kernel(
        tmpfs: Path, extra: str, ops: Callable[[Path], None]) -> None:
    layers = _fresh(tmpfs, "o")
    with ovlfuse(layers, ",".join(filter(None, ["exact", extra]))) as m:
        ops(m)
        written = view(m)
    with kernel_overlay(layers) as m:
        assert view(m) == written
    with ovlfuse(layers) as m:  # and again with ovlfuse after the kernel mounted it
        assert view(m) == written


@pytest.mark.parametrize("extra,ops", [("", script), ("redirect_dir=on", redirect_script)],
                         ids=["default", "redirect_dir"])
def test_layer_written_by_the_kernel_mounts_identically_with_ovlfuse(
        tmpfs: Path, extra: str, ops: Callable[[Path], None]) -> None:
    layers = _fresh(tmpfs, "k")
    with kernel_overlay(layers, extra) as m:
        ops(m)
        written = view(m)
    with ovlfuse(layers) as m:
        assert view(m) == written
    with ovlfuse(layers, "timeout=30") as m:  # the caching mode shows the same
        assert view(m) == written


def test_xwhiteouts_and_opaque_values_written_by_userspace(tmpfs: Path) -> None:
    """Lower layers built by other tools: xattr whiteouts, opaque=x, opaque values not 'y'."""
    layers = make_layers(tmpfs, {"d": {}, "n": {}, "x": {}},
                         {"d": {"hidden": "h", "shown": "s"}, "n": {"below": "b"},
                          "x": {"below": "b"}})
    top = layers.lowers[0]
    (top / "d" / "hidden").write_bytes(b"")
    os.setxattr(top / "d" / "hidden", "trusted.overlay.whiteout", b"")
    os.setxattr(top / "d", "trusted.overlay.opaque", b"x")
    os.setxattr(top / "n", "trusted.overlay.opaque", b"n")
    os.setxattr(top / "x", "trusted.overlay.opaque", b"yes")
    with kernel_overlay(layers) as m:
        expected = view(m)
    with ovlfuse(layers) as m:
        assert view(m) == expected
        assert sorted(os.listdir(m / "d")) == ["shown"]
        assert os.listdir(m / "n") == ["below"]


def test_whiteouts_in_the_upper_are_char_devices_with_mode_zero(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x", "d": {"y": "z"}})
    with ovlfuse(layers) as m:
        os.unlink(m / "f")
        shutil.rmtree(m / "d")
    assert layers.upper is not None
    for name in ("f", "d"):
        st = os.lstat(layers.upper / name)
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0 and stat.S_IMODE(st.st_mode) == 0
