"""The uuid= option's rules in the model (model.super); checked on the kernel by
tests/difftest/test_mount_options.py and the uuid=* presets."""

from __future__ import annotations

from model.config import Config
from model.dump import dump_upper
from model.overlay import Overlay
from model.spec import IMPURE, UUID, Entry, LayersSpec
from model.super import fsid_class, shown_uuid


def _mount(config: Config, *root_xattrs: tuple[bytes, bytes], upper: bool = True) -> Overlay:
    root = (Entry(b"", "dir", 0o755, xattrs=root_xattrs),) if root_xattrs else ()
    return Overlay.from_spec(LayersSpec(lowers=((), ()), upper=root if upper else None), config)


def _fsid(o: Overlay) -> str:
    return fsid_class(o.fs.uuid_mode, o.fs.upper is not None)


def test_the_first_mount_of_a_new_upper_is_upgraded_to_uuid_on() -> None:
    o = _mount(Config())
    assert (shown_uuid(o.fs.uuid_mode), _fsid(o), dump_upper(o.fs)[b"/"].uuid) == (
        "uuid=on", "uuid", "uuid")
    o.remount()
    assert (shown_uuid(o.fs.uuid_mode), _fsid(o)) == (None, "uuid")


def test_an_impure_upper_root_without_a_uuid_is_an_old_overlay_mounted_uuid_null() -> None:
    o = _mount(Config(), (IMPURE, b"y"))
    assert (shown_uuid(o.fs.uuid_mode), _fsid(o), dump_upper(o.fs)[b"/"].uuid) == (
        "uuid=null", "layer", "")


def test_a_malformed_uuid_is_left_alone_and_the_mount_runs_uuid_null() -> None:
    o = _mount(Config(uuid="on"), (UUID, b"short"))
    assert (shown_uuid(o.fs.uuid_mode), _fsid(o), dump_upper(o.fs)[b"/"].uuid) == (
        "uuid=null", "layer", "bad")


def test_uuid_off_needs_one_filesystem_and_an_upper() -> None:
    spec = LayersSpec(lowers=((), ()), upper=())
    assert Overlay.from_spec(spec, Config(uuid="off")).fs.uuid_mode == "off"
    assert Overlay.from_spec(spec, Config(uuid="off"), samefs=False).fs.uuid_mode == "null"
    assert _mount(Config(uuid="off"), upper=False).fs.uuid_mode == "null"


def test_without_an_upper_the_default_fsid_is_the_null_uuids() -> None:
    assert _fsid(_mount(Config(), upper=False)) == "zero"
    assert _fsid(_mount(Config(uuid="on"), upper=False)) == "layer"
