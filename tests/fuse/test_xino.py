"""Inode numbers on layers that span several filesystems: a FUSE mount has one st_dev, so
ovlfuse maps each real inode number into a range of its filesystem's own, as the kernel's
xino does (fuse_impl/xino.py): ``ino | fsid << (65 - xinobits)``."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest
from ovlfuse_testlib import make_layers, ovlfuse

from fuse_impl.xino import XinoMap

IMPURE = "trusted.overlay.impure"
FUSE_ONLY = pytest.mark.skipif(os.environ.get("OVLFUSE_TEST_TARGET") == "kernel",
                               reason="the kernel gives each layer a pseudo st_dev instead")


def _st(dev: int, ino: int) -> os.stat_result:
    return os.stat_result((0o100644, ino, dev, 1, 0, 0, 0, 0, 0, 0))


def _xattr(path: Path, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name)
    except OSError:
        return None


def _identities(m: Path) -> dict[tuple[int, int], set[str]]:
    """(st_dev, st_ino) → the paths that show it; d_ino must be the same as st_ino."""
    seen: dict[tuple[int, int], set[str]] = defaultdict(set)
    st = os.lstat(m)
    seen[(st.st_dev, st.st_ino)].add(".")
    for dirpath, _dirs, _files in os.walk(m):
        for entry in os.scandir(dirpath):
            rel = os.path.relpath(entry.path, m)
            try:
                st = os.lstat(entry.path)
            except FileNotFoundError:  # a whiteout listed by a raw (one-layer) directory
                seen[(os.lstat(m).st_dev, entry.inode())].add(rel)
                continue
            assert entry.inode() == st.st_ino, rel
            seen[(st.st_dev, st.st_ino)].add(rel)
    return seen


@pytest.mark.privileged
@FUSE_ONLY
@pytest.mark.parametrize("xino", ["off", "on", "auto"])
def test_layers_on_separate_filesystems_never_share_an_inode_number(
        tmpfs: Path, xino: str) -> None:
    layers = make_layers(
        tmpfs,
        {"d": "x", "fifo": ("fifo",), "both": {"x0": "0"}, "c": "copied"},
        {"a": {"x": "1"}, "g": "y", "both": {"x1": "1"}, "solo": {"k": "1", "w": ("whiteout",)}},
        upper={"u": "z", "both": {}},
        own_fs=(0, 1),
    )
    assert layers.upper is not None
    os.link(layers.upper / "u", layers.upper / "u2")
    with ovlfuse(layers, f"exact,xino={xino}") as m:
        os.chmod(m / "c", 0o600)  # copied up with an origin on the lower's filesystem
        shared = [paths for paths in _identities(m).values() if len(paths) > 1]
    assert shared == [{"u", "u2"}]


@pytest.mark.privileged
@FUSE_ONLY
def test_inode_numbers_on_separate_filesystems_carry_the_fsid_of_their_layer(
        tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f0": "0", "h": "hard"}, {"f1": "1", "dir": {"x": "1"}},
                         {"f2": "2"}, upper={"dir": {}, "p": "pure"}, own_fs=(0, 1))
    assert layers.upper is not None
    up = layers.upper
    l0, l1, l2 = layers.lowers  # fsid 1, 2, and 0 (the upper's tmpfs): xinobits 3
    os.link(l0 / "h", l0 / "h2")

    def mapped(path: Path, fsid: int) -> int:
        return os.lstat(path).st_ino | fsid << 62

    with ovlfuse(layers) as m:
        assert os.stat(m).st_ino == os.stat(up).st_ino
        assert os.stat(m / "p").st_ino == os.stat(up / "p").st_ino
        assert os.stat(m / "f0").st_ino == mapped(l0 / "f0", 1)
        assert os.stat(m / "f1").st_ino == mapped(l1 / "f1", 2)
        assert os.stat(m / "f2").st_ino == os.stat(l2 / "f2").st_ino
        assert os.stat(m / "dir").st_ino == mapped(l1 / "dir", 2)  # merged: its lower dir's
        assert {e.name: e.inode() for e in os.scandir(m)}["f0"] == mapped(l0 / "f0", 1)
        os.chmod(m / "f1", 0o600)  # copy-up with an origin: the origin's number, its fsid
        assert os.stat(m / "f1").st_ino == mapped(l1 / "f1", 2)
        os.chmod(m / "h", 0o600)  # a lower hard link: no origin, the upper's number
        assert os.stat(m / "h").st_ino == os.stat(up / "h").st_ino
    with ovlfuse(layers) as m:  # persistent: the origin is decoded again
        assert os.stat(m / "f1").st_ino == mapped(l1 / "f1", 2)


@pytest.mark.privileged
@FUSE_ONLY
def test_without_an_upper_layer_fsid_zero_stays_reserved_for_it(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"a": "0"}, {"b": "1"}, with_upper=False, own_fs=(0, 1))
    l0, l1 = layers.lowers  # fsid 1 and 2: xinobits 3
    with ovlfuse(layers) as m:
        assert os.stat(m).st_ino == os.stat(l0).st_ino | 1 << 62
        assert os.stat(m / "a").st_ino == os.stat(l0 / "a").st_ino | 1 << 62
        assert os.stat(m / "b").st_ino == os.stat(l1 / "b").st_ino | 2 << 62


def test_xinobits_hold_the_largest_fsid_and_one_reserved_bit() -> None:
    assert XinoMap(5, [5, 5]).xinobits == 0
    assert XinoMap(None, [6, 6]).xinobits == 0
    assert XinoMap(5, [6]).xinobits == 2
    assert XinoMap(5, [6, 5, 7]).xinobits == 3
    assert XinoMap(5, [6, 7, 8]).xinobits == 3
    assert XinoMap(5, [6, 7, 8, 9]).xinobits == 4
    assert XinoMap(None, [6, 7]).fsids == {6: 1, 7: 2}
    assert XinoMap(5, [5, 5]).ino(_st(5, 1 << 63 | 9)) == 1 << 63 | 9  # one fs: as it is


def test_an_inode_number_that_uses_the_xino_bits_gets_a_stable_number_of_its_own() -> None:
    xino = XinoMap(5, [6])  # xinobits 2: fsid in bit 63, bit 62 reserved
    assert xino.ino(_st(6, 7)) == 1 << 63 | 7
    big = 1 << 62 | 7
    own = xino.ino(_st(6, big))
    assert own >> 62 == 1  # the reserved range: bit 62 set, fsid bit clear
    assert xino.ino(_st(6, big)) == own
    other = xino.ino(_st(5, big))
    stranger = xino.ino(_st(99, 7))  # no layer's filesystem (a mount inside a layer)
    assert len({own, other, stranger, xino.ino(_st(5, 7)), xino.ino(_st(6, 7))}) == 5
    assert other >> 62 == 1 and stranger >> 62 == 1


@pytest.mark.privileged
@pytest.mark.parametrize("xino,kept", [("off", b"y"), ("on", None)])
def test_listing_an_impure_upper_dir_keeps_the_mark_on_several_filesystems_without_xino(
        tmpfs: Path, xino: str, kept: bytes | None) -> None:
    layers = make_layers(tmpfs, {"f": "lower"}, {"g": "other"}, upper={"n": {}}, own_fs=(0, 1))
    assert layers.upper is not None
    with ovlfuse(layers, f"exact,xino={xino}") as m:
        os.chmod(m / "f", 0o600)  # copied up with an origin
        os.rename(m / "f", m / "n" / "f")  # n, a pure upper dir, becomes impure
        os.unlink(m / "n" / "f")
        assert os.getxattr(layers.upper / "n", IMPURE) == b"y"
        os.listdir(m / "n")  # same_dev: no entry shows another number, so the mark goes
    assert _xattr(layers.upper / "n", IMPURE) == kept


@pytest.mark.privileged
@pytest.mark.parametrize("mode", ["exact", "timeout=60"])
def test_find_and_du_see_every_file_of_layers_on_two_filesystems(
        tmpfs: Path, mode: str) -> None:
    """find and du skip what shares (st_dev, st_ino) with something seen already ("File
    system loop detected" for a directory): every file of every layer must be counted."""
    import subprocess

    # tmpfs numbers its inodes from 1 on each mount: the top lower's "a" is 4 (after its
    # root and two files), the other lower's "a/b" is 4 too, so with the real numbers find
    # sees a directory that is its own ancestor and skips it ("File system loop detected")
    layers = make_layers(
        tmpfs,
        {"f1": "1", "f2": "22", "a": {}},
        {"a": {"q": "333", "b": {"c": "4444"}}},
        upper={"u": {"h": "55555"}},
        own_fs=(0, 1),
    )
    want = {"./f1", "./f2", "./a", "./a/q", "./a/b", "./a/b/c", "./u", "./u/h"}
    with ovlfuse(layers, mode) as m:
        found = subprocess.run(["find", ".", "-mindepth", "1"], cwd=m, capture_output=True,
                               text=True, check=False)  # fmt: skip
        du = subprocess.run(["du", "-ab", "."], cwd=m, capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert found.returncode == 0 and found.stderr == "", found.stderr
    assert set(found.stdout.split()) == want
    assert du.returncode == 0 and du.stderr == "", du.stderr
    sizes = {line.split("\t")[1]: int(line.split("\t")[0]) for line in du.stdout.splitlines()}
    assert want <= set(sizes)
    assert [sizes[p] for p in ("./f1", "./f2", "./a/q", "./a/b/c", "./u/h")] == [1, 2, 3, 4, 5]
