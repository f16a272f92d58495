"""verity=off|on|require in the model (model.copy_up.verify_lowerdata); checked on the
kernel by difftest's verity presets and reports/semantics/option-verity.md.  The reference
kernel has no fs-verity, so a recorded digest never matches."""

from __future__ import annotations

import errno
import os

import pytest

from difftest.strategies import METACOPY_DIGEST
from model.config import Config
from model.errors import OvlError
from model.overlay import Overlay
from model.spec import METACOPY, REDIRECT, Entry, LayersSpec


def _overlay(verity: str, digest: bytes) -> Overlay:
    meta = Entry(b"f", "reg", size=5, xattrs=((METACOPY, digest), (REDIRECT, b"/objs/1")))
    data = (Entry(b"objs", "dir", 0o755), Entry(b"objs/1", "reg", data=b"hello"))
    spec = LayersSpec(lowers=((meta,),), upper=(), data=(data,))
    return Overlay.from_spec(spec, Config(verity=verity))  # type: ignore[arg-type]


@pytest.mark.parametrize(("verity", "digest", "opens"), [
    ("off", METACOPY_DIGEST, True), ("on", b"", True), ("on", METACOPY_DIGEST, False),
    ("require", b"", False), ("require", METACOPY_DIGEST, False),
])  # fmt: skip
def test_an_open_checks_the_digest_as_the_mode_says(verity: str, digest: bytes,
                                                     opens: bool) -> None:
    o = _overlay(verity, digest)
    if opens:
        o.close(o.open(b"/f", os.O_RDONLY))
        return
    with pytest.raises(OvlError) as info:
        o.open(b"/f", os.O_RDONLY)
    assert info.value.errno == errno.EIO


def test_a_copy_up_that_fails_verity_leaves_the_upper_layer_alone() -> None:
    o = _overlay("require", b"")
    with pytest.raises(OvlError):
        o.chmod(b"/f", 0o600)
    assert o.fs.upper is not None and not o.fs.upper.root.dir_children()
    assert o.lstat(b"/f").size == 5


def test_verity_require_copies_the_data_of_a_file_without_fs_verity() -> None:
    spec = LayersSpec(lowers=((Entry(b"f", "reg", data=b"x"),),), upper=())
    o = Overlay.from_spec(spec, Config(redirect_dir="on", metacopy=True, verity="require"))
    o.chmod(b"/f", 0o600)
    assert o.fs.upper is not None
    assert METACOPY not in o.fs.upper.root.dir_children()[b"f"].xattrs
