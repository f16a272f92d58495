"""ovlfuse with index=on: hard links of a lower file stay one file across copy-up, in the
kernel's on-disk format (catalogue §2.10; fuse_impl/index.py).  Each test also passes on
the kernel overlay (``OVLFUSE_TEST_TARGET=kernel``), the reference."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from ovlfuse_testlib import Layers, kernel_overlay, make_layers, ovlfuse

pytestmark = pytest.mark.privileged

NLINK = "trusted.overlay.nlink"
ORIGIN = "trusted.overlay.origin"
UPPER = "trusted.overlay.upper"


def hard_linked_lower(tmpfs: Path, names: tuple[str, ...] = ("f", "g", "h")) -> Layers:
    layers = make_layers(tmpfs, {names[0]: "hi"})
    for name in names[1:]:
        os.link(layers.lowers[0] / names[0], layers.lowers[0] / name)
    return layers


def entries(index: Path) -> list[str]:
    """The index's entries, without the kernel's cached whiteout (``#<hex>``)."""
    return sorted(n for n in os.listdir(index) if not n.startswith("#"))


def test_names_of_a_lower_hard_link_stay_one_file_across_copy_up(tmpfs: Path) -> None:
    layers = hard_linked_lower(tmpfs)
    assert layers.upper is not None and layers.work is not None
    with ovlfuse(layers, "exact,index=on") as m:
        ino = os.stat(m / "f").st_ino
        os.chmod(m / "f", 0o600)
        with open(m / "f", "a") as f:
            f.write(" there")
        for name in ("f", "g", "h"):  # the same data, inode, mode and link count everywhere
            st = os.stat(m / name)
            assert (st.st_ino, st.st_nlink, st.st_mode & 0o777) == (ino, 3, 0o600), name
            assert (m / name).read_text() == "hi there"
        assert sorted(os.listdir(layers.upper)) == ["f"]  # only the changed name is up
    (entry,) = entries(layers.work / "index")
    assert entry == os.getxattr(layers.upper / "f", ORIGIN).hex()
    assert os.stat(layers.work / "index" / entry).st_ino == os.stat(layers.upper / "f").st_ino
    assert os.getxattr(layers.upper / "f", NLINK) == b"U+1"  # 3 names, 2 real links
    assert os.getxattr(layers.upper, ORIGIN)  # the upper root records the lower root
    assert os.getxattr(layers.work / "index", UPPER)  # the index records the upper root


def test_link_unlink_and_rename_between_names_keep_the_count_exact(tmpfs: Path) -> None:
    layers = hard_linked_lower(tmpfs)
    assert layers.upper is not None and layers.work is not None
    with ovlfuse(layers, "exact,index=on") as m:
        os.chmod(m / "f", 0o600)
        os.rename(m / "g", m / "h")  # one inode: nothing happens, nothing is linked up
        assert sorted(os.listdir(m)) == ["f", "g", "h"]
        assert sorted(os.listdir(layers.upper)) == ["f"]
        os.unlink(m / "h")  # copied up first (a link-up), then whited out
        assert [os.stat(m / n).st_nlink for n in ("f", "g")] == [2, 2]
        os.link(m / "g", m / "k")
        assert [os.stat(m / n).st_nlink for n in ("f", "g", "k")] == [3, 3, 3]
        assert (m / "k").read_text() == "hi"
    # 3 names; 4 real links: the index's, f, g (linked up to be linked) and k
    assert os.getxattr(layers.upper / "k", NLINK) == b"U-1"


def test_the_entry_goes_with_the_last_name_and_the_layers_mount_again(tmpfs: Path) -> None:
    layers = hard_linked_lower(tmpfs, ("f", "g"))
    assert layers.work is not None
    with ovlfuse(layers, "exact,index=on") as m:
        os.chmod(m / "f", 0o600)
        assert len(entries(layers.work / "index")) == 1
        os.unlink(m / "f")
        os.unlink(m / "g")
        assert os.listdir(m) == []
        assert entries(layers.work / "index") == []
    with ovlfuse(layers, "exact,index=on") as m:
        assert os.listdir(m) == []


def test_layers_written_by_one_implementation_read_the_same_by_the_other(tmpfs: Path) -> None:
    """Interchange: the index ovlfuse writes serves the kernel's lookups, and back."""
    layers = hard_linked_lower(tmpfs)
    with ovlfuse(layers, "exact,index=on") as m:
        os.chmod(m / "g", 0o640)
        (m / "g").write_text("new")
    with kernel_overlay(layers, "index=on") as m:
        assert [os.stat(m / n).st_nlink for n in ("f", "g", "h")] == [3, 3, 3]
        assert (m / "h").read_text() == "new"
        os.unlink(m / "f")
    with ovlfuse(layers, "exact,index=on") as m:
        assert sorted(os.listdir(m)) == ["g", "h"]
        assert os.stat(m / "h").st_nlink == 2 and (m / "h").read_text() == "new"


def test_other_lower_layers_than_the_index_was_made_for_refuse_to_mount(tmpfs: Path) -> None:
    layers = hard_linked_lower(tmpfs)
    with ovlfuse(layers, "exact,index=on") as m:
        os.chmod(m / "f", 0o600)
    other = tmpfs / "other"
    other.mkdir()
    layers.lowers[0] = other
    if os.environ.get("OVLFUSE_TEST_TARGET") == "kernel":
        with pytest.raises(subprocess.CalledProcessError), kernel_overlay(layers, "index=on"):
            pass
        return
    with pytest.raises(RuntimeError, match="failed to verify upper root origin"), ovlfuse(
            layers, "exact,index=on"):
        pass
