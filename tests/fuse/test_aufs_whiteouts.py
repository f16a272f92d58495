"""The mount_program role (``-o aufs_whiteouts``): AUFS-style whiteouts in the layers, as
containers-storage unpacks image layers for a mount program.  Each test is named after the
rule it pins down; plain ovlfuse (the kernel's semantics) is the control where it differs."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path

import pytest
from ovlfuse_testlib import make_layers, ovlfuse

pytestmark = pytest.mark.privileged

ROLE = "exact,aufs_whiteouts"
OPAQUE = "trusted.overlay.opaque"


def errno_of(fn, *args) -> int:  # type: ignore[no-untyped-def]
    try:
        fn(*args)
    except OSError as e:
        return e.errno or 0
    return 0


def is_whiteout(path: Path) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def test_wh_entry_hides_the_lower_name_in_the_role(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {".wh.gone": "", "d": {".wh.inner": ""}},
                         {"gone": "lower", "kept": "k", "d": {"inner": "i", "x": "x"}})
    with ovlfuse(layers, ROLE) as m:
        assert not (m / "gone").exists()
        assert sorted(os.listdir(m)) == ["d", "kept"]
        assert sorted(os.listdir(m / "d")) == ["x"]
        assert errno_of(os.stat, m / "d" / "inner") == errno.ENOENT


def test_wh_entry_is_an_ordinary_file_without_the_role(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {".wh.gone": ""}, {"gone": "lower"})
    with ovlfuse(layers) as m:
        assert sorted(os.listdir(m)) == [".wh.gone", "gone"]
        assert (m / "gone").read_text() == "lower"


def test_wh_entry_in_the_upper_hides_the_lower_name(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "lower", "g": "lower"}, upper={".wh.f": ""})
    with ovlfuse(layers, ROLE) as m:
        assert sorted(os.listdir(m)) == ["g"]


def test_wh_entry_hides_only_below_its_own_layer(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {".wh.f": "", "f": "same layer", ".wh.d": "", "d": {"top": "t"}},
                         {"f": "below", "d": {"low": "l"}})
    with ovlfuse(layers, ROLE) as m:
        assert (m / "f").read_text() == "same layer"
        assert os.listdir(m / "d") == ["top"]  # the directory below is not merged


def test_wh_opq_makes_its_directory_opaque(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": {".wh..wh..opq": "", "new": "n"}},
                         {"d": {"old": "o", "sub": {"deep": "x"}}})
    with ovlfuse(layers, ROLE) as m:
        assert os.listdir(m / "d") == ["new"]
        assert errno_of(os.stat, m / "d" / "sub") == errno.ENOENT


def test_wh_opq_means_nothing_without_the_role(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": {".wh..wh..opq": "", "new": "n"}}, {"d": {"old": "o"}})
    with ovlfuse(layers) as m:
        assert sorted(os.listdir(m / "d")) == [".wh..wh..opq", "new", "old"]


def test_wh_names_are_never_found_and_cannot_be_made(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {".wh.gone": "", "f": "x", "d": {}}, {"gone": "g"})
    with ovlfuse(layers, ROLE) as m:
        assert errno_of(os.stat, m / ".wh.gone") == errno.ENOENT
        assert errno_of(os.open, m / ".wh.new", os.O_CREAT | os.O_WRONLY) == errno.EINVAL
        assert errno_of(os.mkdir, m / ".wh.dir") == errno.EINVAL
        assert errno_of(os.symlink, "f", m / ".wh.link") == errno.EINVAL
        assert errno_of(os.link, m / "f", m / ".wh.hard") == errno.EINVAL
        assert errno_of(os.rename, m / "f", m / ".wh.f") == errno.EINVAL
        assert errno_of(os.rename, m / "d", m / ".wh..wh..opq") == errno.EINVAL
    assert sorted(os.listdir(layers.upper)) == []  # nothing was copied up or made


def test_removing_a_lower_name_writes_a_kernel_whiteout(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x", "d": {"inner": "i"}})
    with ovlfuse(layers, ROLE) as m:
        os.unlink(m / "f")
        shutil.rmtree(m / "d")
        assert os.listdir(m) == []
    assert layers.upper is not None
    assert is_whiteout(layers.upper / "f") and is_whiteout(layers.upper / "d")


def test_kernel_whiteouts_are_honoured_and_never_listed_in_the_role(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "hidden", "d": {"kept": "k", "gone": "g"}},
                         upper={"f": ("whiteout",), "pure": {"w": ("whiteout",)},
                                "d": {"gone": ("whiteout",)}})
    with ovlfuse(layers, ROLE) as m:
        assert sorted(os.listdir(m)) == ["d", "pure"]
        assert os.listdir(m / "pure") == []  # the kernel lists it (a dir it does not merge)
        assert os.listdir(m / "d") == ["kept"]


def test_copying_a_directory_carries_no_wh_entries(tmpfs: Path) -> None:
    """A container's `mv` of a lower directory gets EXDEV and copies the tree: the copy
    must hold what the directory shows, never its whiteouts as regular files."""
    layers = make_layers(tmpfs, {"d": {".wh.m": "", "sub": {".wh..wh..opq": "", "s": "1"}}},
                         {"d": {"m": "deleted earlier", "i": "kept", "sub": {"old": "o"}}})
    with ovlfuse(layers, ROLE) as m:
        assert errno_of(os.rename, m / "d", m / "moved") == errno.EXDEV
        shutil.copytree(m / "d", m / "moved", symlinks=True)
        shutil.rmtree(m / "d")
        assert sorted(os.listdir(m / "moved")) == ["i", "sub"]
        assert os.listdir(m / "moved" / "sub") == ["s"]
    assert layers.upper is not None
    found = [p.name for p in (layers.upper / "moved").rglob("*")]
    assert not any(name.startswith(".wh.") for name in found), found


def test_mkdir_over_an_upper_wh_entry_gives_an_opaque_dir(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": {"old": "o"}, "f": "lower"},
                         upper={".wh.d": "", ".wh.f": ""})
    with ovlfuse(layers, ROLE) as m:
        os.mkdir(m / "d")
        (m / "f").write_text("new")
        assert os.listdir(m / "d") == []
        assert (m / "f").read_text() == "new"
    assert layers.upper is not None
    assert os.getxattr(layers.upper / "d", OPAQUE) == b"y"


def test_rmdir_of_a_dir_whose_lower_content_is_all_whited_out(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"d": {".wh.a": "", ".wh.b": ""}}, {"d": {"a": "1", "b": "2"}})
    with ovlfuse(layers, ROLE) as m:
        assert os.listdir(m / "d") == []
        os.rmdir(m / "d")
        assert not (m / "d").exists()
