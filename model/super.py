"""What a mount does before the first lookup (``fs/overlayfs/super.c``, ``params.c`` and
``ovl_init_uuid_xattr`` in ``util.c``): the overlay's uuid, and the fsid statfs reports.

The ``uuid=`` option decides three things userspace can see (catalogue §0 and §2.14, each
checked on 6.18 with a probe and by difftest's ``uuid=*`` presets):

* the **persistent uuid** ``trusted.overlay.uuid`` (16 bytes) on the upper root: ``on`` loads
  it or writes a new one; ``auto`` (the default) does the same, except that an upper root
  already marked impure and holding no uuid is an overlay used before uuids existed and the
  mount falls back to ``null``; a value that is not 16 bytes long is an error that makes any
  mode ``null`` (the xattr is left as it is);
* **statfs's f_fsid**: from the uuid where the mode is ``on`` or ``auto`` (``ovl_has_fsid``),
  which without an upper layer is the null uuid (fsid 0, nothing is generated); under
  ``null`` and ``off`` the fsid of the filesystem statfs asks (the upper's, else the top
  lower's);
* **the uuid in a file handle** (``trusted.overlay.origin``): null with ``off``, which
  needs every layer on one filesystem and falls back to ``null`` otherwise; ``on`` and
  ``off`` without an upper layer are ``null`` as well.

The mode after these fallbacks is what /proc/mounts shows (``uuid=...``, but not ``auto``).
"""

from __future__ import annotations

from typing import Literal

from model.layer import Node
from model.spec import IMPURE, UUID

FsidClass = Literal["uuid", "zero", "layer"]
UUID_SIZE = 16
# What the model writes where the kernel writes a random uuid: its value is never compared
# (difftest compares whether the root holds a well-formed uuid and whether statfs shows it).
MODEL_UUID = bytes(range(UUID_SIZE))


def init_uuid(mode: str, upper_root: Node | None, samefs: bool) -> str:
    """The uuid= mode a mount runs with after its fallbacks, writing the persistent uuid on
    ``upper_root`` where the mode asks for one (``ovl_init_uuid_xattr``); every mount of
    the same layers asks again."""
    if upper_root is None:
        return "auto" if mode == "auto" else "null"
    if mode == "off":
        return "off" if samefs else "null"  # "uuid=off requires a single fs"
    if mode == "null":
        return "null"
    root = upper_root.xattrs
    stored = root.get(UUID)
    if stored is not None:
        return mode if len(stored) == UUID_SIZE else "null"
    if mode == "auto" and IMPURE in root:
        return "null"  # any mount of an old overlay
    root[UUID] = MODEL_UUID
    return "on"  # auto: the first mount of a new overlay is upgraded to on


def fsid_class(uuid_mode: str, has_upper: bool) -> FsidClass:
    """Where statfs's f_fsid comes from (``ovl_statfs``): the overlay's uuid when
    ``ovl_has_fsid`` (the null uuid, fsid 0, without an upper layer), else the fsid of the
    layer's filesystem that answered the statfs."""
    if uuid_mode in ("on", "auto"):
        return "uuid" if has_upper else "zero"
    return "layer"


def shown_uuid(uuid_mode: str) -> str | None:
    """The ``uuid=`` word ``ovl_show_options`` writes for this mount (None for ``auto``)."""
    return None if uuid_mode == "auto" else f"uuid={uuid_mode}"
