"""Mount options as the kernel parses and checks them (``fs/overlayfs/params.c``:
``ovl_parse_param``, ``ovl_fs_params_verify``, ``ovl_show_options``; catalogue §0, §4).

:func:`parse_options` takes the option words of a mount (``-o``, without the layers) and
gives the :class:`~model.config.Config` the overlay runs with, or the refusal: EINVAL for an
unknown option or value, and for options that conflict.  Whether an option was *given*
matters, not only its value: ``metacopy=on`` turns the default ``redirect_dir`` into ``on``
but conflicts with an explicit one; ``nfs_export=on`` turns on ``index`` unless
``index=off`` is given.  Measured on 6.18 for every combination of ``redirect_dir``,
``metacopy``, ``index``, ``nfs_export`` and ``userxattr``
(``tests/difftest/test_mount_options.py``), module parameters at their defaults.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import replace

from model.config import Config
from model.errors import OvlError

# option -> its values (None: a flag without a value)
VALUES: dict[str, tuple[str, ...] | None] = {
    "redirect_dir": ("on", "follow", "nofollow", "off"),
    "index": ("on", "off"),
    "metacopy": ("on", "off"),
    "nfs_export": ("on", "off"),
    "xino": ("on", "off", "auto"),
    "userxattr": None,
    "volatile": None,
    "uuid": ("null", "off", "auto", "on"),
    "verity": ("off", "on", "require"),
}


def _refuse(why: str) -> OvlError:
    return OvlError(errno.EINVAL, why=why)


def parse_options(words: Sequence[str]) -> Config:
    """The config of a mount with these option words (a later word overrides an earlier
    one), or :class:`OvlError` EINVAL with the kernel's reason."""
    config, given = _named(words)
    return verify(config, given)


def named_config(words: Sequence[str]) -> Config:
    """The config these option words name, before their dependencies are resolved (what
    :func:`parse_options` verifies); :class:`OvlError` EINVAL for a word the kernel does
    not know or a bad value."""
    return _named(words)[0]


def _named(words: Sequence[str]) -> tuple[Config, frozenset[str]]:
    given: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if key not in VALUES:
            raise _refuse(f"Unknown parameter '{key}'")
        allowed = VALUES[key]
        if allowed is None and eq:
            raise _refuse(f"Unexpected value for '{key}'")
        if allowed is not None and value not in allowed:
            raise _refuse(f"Bad value for '{key}'")
        given[key] = value
    config = Config(
        redirect_dir=given.get("redirect_dir", "follow"),  # type: ignore[arg-type]
        index=given.get("index") == "on",
        metacopy=given.get("metacopy") == "on",
        nfs_export=given.get("nfs_export") == "on",
        xino=given.get("xino", "off"),  # type: ignore[arg-type]
        userxattr="userxattr" in given,
        volatile="volatile" in given,
        uuid=given.get("uuid", "auto"),  # type: ignore[arg-type]
        verity=given.get("verity", "off"),  # type: ignore[arg-type]
    )
    return config, frozenset(given)


def verify(config: Config, given: frozenset[str]) -> Config:
    """``ovl_fs_params_verify``: resolve the options' dependencies, refuse conflicts.
    ``given``: the options the mount named (the others hold their defaults)."""
    if config.metacopy and config.redirect_dir != "on":
        if "metacopy" in given and "redirect_dir" in given:
            raise _refuse(f"conflicting options: metacopy=on,redirect_dir={_mode(config)}")
        # metacopy=on given, redirect_dir not: the default mode becomes on
        config = replace(config, redirect_dir="on")
    if config.nfs_export and not config.index:
        if "index" in given:
            raise _refuse("conflicting options: nfs_export=on,index=off")
        config = replace(config, index=True)
    if config.nfs_export and config.metacopy:
        raise _refuse("conflicting options: nfs_export=on,metacopy=on")
    if config.userxattr:
        if "redirect_dir" in given and config.redirect_dir != "nofollow":
            raise _refuse(f"conflicting options: userxattr,redirect_dir={_mode(config)}")
        if config.metacopy:
            raise _refuse("conflicting options: userxattr,metacopy=on")
        config = replace(config, redirect_dir="nofollow")
    return config


def given_by(config: Config) -> frozenset[str]:
    """The options a :class:`Config` names, for one built directly (not parsed): those
    that differ from their defaults (an explicit default cannot be told from none)."""
    defaults = Config()
    return frozenset(k for k in VALUES if getattr(config, k) != getattr(defaults, k))


def _mode(config: Config) -> str:
    """The redirect mode as the kernel names it: ``off`` is ``follow`` while
    ``redirect_always_follow`` is Y."""
    return "follow" if config.redirect_dir == "off" else config.redirect_dir


def shown_options(config: Config) -> frozenset[str]:
    """The words ``ovl_show_options`` writes to /proc/mounts for these options (the ones
    that differ from the defaults; ``xino`` is left out: on one filesystem it is not
    shown, and ``volatile`` shows as ``fsync=volatile``)."""
    out = set()
    if _mode(config) != "follow":
        out.add(f"redirect_dir={config.redirect_dir}")
    for key in ("index", "nfs_export", "metacopy"):
        if getattr(config, key):
            out.add(f"{key}=on")
    if config.userxattr:
        out.add("userxattr")
    if config.volatile:
        out.add("fsync=volatile")
    return frozenset(out)
