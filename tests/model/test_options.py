"""Mount options: what ``parse_options`` resolves and refuses (the full combination matrix
is checked against the kernel in tests/difftest/test_mount_options.py)."""

from __future__ import annotations

import errno

import pytest

from model.config import Config
from model.errors import OvlError
from model.options import parse_options, shown_options
from model.overlay import Overlay
from model.spec import LayersSpec


def test_metacopy_turns_the_default_redirect_dir_on() -> None:
    c = parse_options(["metacopy=on"])
    assert (c.metacopy, c.redirect_dir) == (True, "on")
    assert shown_options(c) == {"redirect_dir=on", "metacopy=on"}


def test_an_explicit_redirect_dir_conflicts_with_metacopy() -> None:
    with pytest.raises(OvlError) as info:
        parse_options(["redirect_dir=off", "metacopy=on"])
    assert info.value.errno == errno.EINVAL
    assert info.value.why == "conflicting options: metacopy=on,redirect_dir=follow"


def test_a_later_word_overrides_an_earlier_one() -> None:
    assert parse_options(["index=on", "index=off"]).index is False


def test_nfs_export_turns_index_on_unless_index_off_is_given() -> None:
    assert parse_options(["nfs_export=on"]).index is True
    with pytest.raises(OvlError):
        parse_options(["nfs_export=on", "index=off"])


def test_userxattr_forces_nofollow() -> None:
    assert parse_options(["userxattr"]).redirect_dir == "nofollow"
    assert parse_options(["userxattr", "redirect_dir=nofollow"]).redirect_dir == "nofollow"


def test_a_model_mount_resolves_and_checks_its_config() -> None:
    """A config built directly counts the options that differ from their defaults as given."""
    spec = LayersSpec(lowers=((),), upper=())
    assert Overlay.from_spec(spec, Config(metacopy=True)).fs.config.redirect_dir == "on"
    with pytest.raises(OvlError):
        Overlay.from_spec(spec, Config(metacopy=True, redirect_dir="nofollow"))
