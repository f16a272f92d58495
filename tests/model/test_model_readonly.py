"""Read-only overlays: no upper layer, or ``ro`` (catalogue §4, §7)."""

from __future__ import annotations

import errno
import os

import pytest
from ovl_helpers import D, F, errno_of, mount

from model.config import Config
from model.errors import OvlError
from model.spec import LayersSpec


def no_upper() -> object:
    return mount([D(b"d"), F(b"d/f", b"x")], [D(b"e")], upper=None)


def test_no_upper_and_single_lower_is_einval() -> None:
    from model.overlay import Overlay

    with pytest.raises(OvlError) as info:
        Overlay.from_spec(LayersSpec(lowers=((),), upper=None), Config())
    assert info.value.errno == errno.EINVAL


@pytest.mark.parametrize("config", [None, Config(ro=True)])
def test_every_write_is_erofs(config: Config | None) -> None:
    o = mount([D(b"d"), F(b"d/f", b"x")], [D(b"e")], upper=None if config is None else [])
    if config is not None:
        o = mount([D(b"d"), F(b"d/f", b"x")], [D(b"e")], config=config)
    assert errno_of(o.open, b"/d/f", os.O_WRONLY) == errno.EROFS
    assert errno_of(o.mkdir, b"/new", 0o755) == errno.EROFS
    assert errno_of(o.chmod, b"/d/f", 0o600) == errno.EROFS
    assert errno_of(o.truncate, b"/d/f", 0) == errno.EROFS
    assert errno_of(o.setxattr, b"/d/f", b"user.a", b"1") == errno.EROFS
    assert errno_of(o.rename, b"/d/f", b"/d/g") == errno.EROFS
    assert o.statfs(b"/").readonly


def test_removal_of_a_missing_name_is_erofs_but_creating_an_existing_one_eexist() -> None:
    o = no_upper()
    assert errno_of(o.unlink, b"/missing") == errno.EROFS  # type: ignore[attr-defined]
    assert errno_of(o.rmdir, b"/missing") == errno.EROFS  # type: ignore[attr-defined]
    assert errno_of(o.mkdir, b"/d", 0o755) == errno.EEXIST  # type: ignore[attr-defined]
    assert errno_of(o.symlink, b"t", b"/d") == errno.EEXIST  # type: ignore[attr-defined]
    assert errno_of(o.open, b"/d/f", os.O_CREAT | os.O_EXCL) == errno.EEXIST  # type: ignore[attr-defined]
    assert errno_of(o.open, b"/new", os.O_CREAT | os.O_RDONLY) == errno.EROFS  # type: ignore[attr-defined]


def test_reads_work_without_an_upper() -> None:
    o = no_upper()
    fd = o.open(b"/d/f", os.O_RDONLY)  # type: ignore[attr-defined]
    assert o.read(fd, 10) == b"x"  # type: ignore[attr-defined]
    assert o.upper_dump() == {}  # type: ignore[attr-defined]


def test_statfs_reports_the_overlay_magic() -> None:
    o = mount([D(b"d")])
    st = o.statfs(b"/d")
    assert (st.f_type, st.namelen, st.readonly) == (0x794C7630, 255, False)
