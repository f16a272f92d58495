"""Owners and permission bits as shown and as stored: the ID options a container engine passes
to its mount program (fuse-overlayfs's ``uidmapping``, ``squash_to_*``, ``xattr_permissions``).

What a real object shows is computed from its lstat in three steps:

1. stat override (only with ``xattr_permissions=1|2``): on a layer whose objects keep their
   owner and mode in an xattr, a value ``UID:GID:MODE`` (decimal, decimal, octal permission
   bits) replaces the real owner and permission bits; an object without the xattr shows its
   real ones; a malformed value makes its stat fail with EINVAL.  The upper layer keeps them
   in ``security.fuseoverlayfs.override_stat`` (1) or ``user.fuseoverlayfs.override_stat``
   (2); a lower layer in the first of ``security.fuseoverlayfs.override_stat``,
   ``user.containers.override_stat`` (containers-storage's ``force_mask``),
   ``user.fuseoverlayfs.override_stat`` that its root directory carries, if any.  Those names
   are hidden from listings and cannot be set or removed through the overlay (EPERM).
2. ID mapping: a uid stored in [STORED, STORED+COUNT) of a ``uidmapping`` range is shown as
   SHOWN + (uid - STORED), the first range holding it wins, and a uid no range holds is shown
   as the overflow uid (``/proc/sys/kernel/overflowuid``); gids alike with ``gidmapping``.
3. squash: ``squash_to_uid`` / ``squash_to_gid`` show every object with that uid / gid;
   ``squash_to_root`` shows 0 for whichever of the two is not given.

A lower layer reached through an idmapped mount (containers-storage of podman 4.3 idmaps the
lower layers with the container's mapping and passes the same mapping as ``uidmapping``) shows
its IDs already mapped: with a mapping given, ovlfuse maps them back to find what is stored.

IDs that callers hand in (the owner of a new object, chown) are stored the other way round:
a shown ID in [SHOWN, SHOWN+COUNT) is stored as STORED + (id - SHOWN), one no range holds as
the overflow ID; squashing changes nothing that is stored.  With a stat override on the upper
layer the real owner of upper objects stays the daemon's and their real permission bits are
the shown ones plus 0755; the override value is written instead (a copy-up writes the owner
and mode the lower object showed).  Without any of these options every step is the identity.
"""

from __future__ import annotations

import errno
import os
import stat

from . import layers
from .errors import fail
from .layers import Layer
from .options import Config, IdRange

OVERRIDE_PRIVILEGED = b"security.fuseoverlayfs.override_stat"
OVERRIDE_USER = b"user.fuseoverlayfs.override_stat"
OVERRIDE_CONTAINERS = b"user.containers.override_stat"
OVERRIDE_NAMES = (OVERRIDE_PRIVILEGED, OVERRIDE_CONTAINERS, OVERRIDE_USER)  # lower-root order
UPPER_OVERRIDE = {1: OVERRIDE_PRIVILEGED, 2: OVERRIDE_USER}
UPPER_ROOT_DEFAULT = b"0:0:555"  # an upper root without a value gets this one (fuse-overlayfs)
BACKING_BITS = 0o755  # added to the real permission bits of objects with an override


def _overflow(kind: str) -> int:
    try:
        with open(f"/proc/sys/kernel/overflow{kind}") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 65534


def _shift(ident: int, ranges: tuple[IdRange, ...], to_shown: bool, overflow: int) -> int:
    """*ident* moved through the first range holding it (stored → shown or back)."""
    if not ranges or ident == -1:
        return ident
    for r in ranges:
        start, other = (r.stored, r.shown) if to_shown else (r.shown, r.stored)
        if start <= ident < start + r.count:
            return other + ident - start
    return overflow


def parse_override(value: bytes, st_mode: int) -> tuple[int, int, int]:
    """(mode, uid, gid) from an override value ``UID:GID:MODE``; EINVAL when malformed."""
    parts = value.split(b":")
    try:
        if len(parts) != 3:
            raise ValueError
        uid, gid, perm = int(parts[0]), int(parts[1]), int(parts[2], 8)
    except ValueError:
        fail(errno.EINVAL, value)
    return stat.S_IFMT(st_mode) | (perm & 0o7777), uid, gid


def override_value(uid: int, gid: int, mode: int) -> bytes:
    return b"%d:%d:%o" % (uid, gid, stat.S_IMODE(mode))


def on_idmapped_mount(fd: int) -> bool:
    """Whether the open directory *fd* lies on an idmapped mount (mountinfo says "idmapped")."""
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            mnt_id = next(line.split()[1] for line in f if line.startswith("mnt_id:"))
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if fields[0] == mnt_id:
                    return "idmapped" in fields[5].split(",")
    except (OSError, StopIteration, IndexError):
        pass
    return False


def layer_override(layer: Layer) -> bytes | None:
    """The override xattr a lower layer's objects use: the first one its root carries."""
    root = layer.real(b"")
    return next((n for n in OVERRIDE_NAMES if layers.getxattr(root, n) is not None), None)


class Owners:
    """The ID options of one mount (rules in the module doc)."""

    def __init__(self, cfg: Config) -> None:
        self.uid_map = cfg.uid_map
        self.gid_map = cfg.gid_map
        root = 0 if cfg.squash_root else None
        self.squash_uid = cfg.squash_uid if cfg.squash_uid is not None else root
        self.squash_gid = cfg.squash_gid if cfg.squash_gid is not None else root
        self.overrides = cfg.xattr_permissions != 0
        self.upper_override: bytes | None = None  # set by setup() when the upper has one
        self.overflow_uid = _overflow("uid")
        self.overflow_gid = _overflow("gid")
        self.identity = not (self.uid_map or self.gid_map or self.overrides
                             or self.squash_uid is not None or self.squash_gid is not None)

    def setup(self, cfg: Config, upper: Layer | None, lowers: list[Layer]) -> None:
        """Find the idmapped lower layers (with a mapping given) and each layer's override
        xattr; give a writable upper root a value if it has none (the first lower root's,
        else 0:0:555)."""
        if self.uid_map or self.gid_map:
            for layer in lowers:
                layer.idmapped = on_idmapped_mount(layer.fd)
        if not self.overrides:
            return
        for layer in lowers:
            layer.override = layer_override(layer)
        if upper is None:
            return
        upper.override = self.upper_override = UPPER_OVERRIDE[cfg.xattr_permissions]
        root = upper.real(b"")
        if cfg.readonly or layers.getxattr(root, upper.override) is not None:
            return
        inherited = (layers.getxattr(lower.real(b""), lower.override)
                     for lower in lowers if lower.override is not None)
        layers.setxattr(root, upper.override, next(inherited, None) or UPPER_ROOT_DEFAULT)

    # -- reading --------------------------------------------------------------------------------

    def stored(self, layer: Layer | None, path: bytes, st: os.stat_result) -> tuple[int, int, int]:
        """(mode, uid, gid) as the layer stores them: its override, else the real ones (mapped
        back on an idmapped lower)."""
        name = layer.override if layer is not None else None
        value = layers.getxattr(path, name) if name is not None else None
        if value is not None:
            return parse_override(value, st.st_mode)
        if layer is not None and layer.idmapped:
            return (st.st_mode, *self.store_ids(st.st_uid, st.st_gid))
        return st.st_mode, st.st_uid, st.st_gid

    def shown(self, layer: Layer | None, path: bytes, st: os.stat_result) -> tuple[int, int, int]:
        """(mode, uid, gid) as the overlay shows the real object at *path* of *layer*."""
        if self.identity:
            return st.st_mode, st.st_uid, st.st_gid
        mode, uid, gid = self.stored(layer, path, st)
        uid = _shift(uid, self.uid_map, True, self.overflow_uid)
        gid = _shift(gid, self.gid_map, True, self.overflow_gid)
        if self.squash_uid is not None:
            uid = self.squash_uid
        if self.squash_gid is not None:
            gid = self.squash_gid
        return mode, uid, gid

    def store_ids(self, uid: int, gid: int) -> tuple[int, int]:
        """A caller's (uid, gid) as stored; -1 (no change) stays -1."""
        return (_shift(uid, self.uid_map, False, self.overflow_uid),
                _shift(gid, self.gid_map, False, self.overflow_gid))

    def is_override_name(self, name: bytes) -> bool:
        """An override xattr name, hidden and protected while overrides are on."""
        return self.overrides and name in OVERRIDE_NAMES

    # -- writing upper objects (IDs already stored-form) ----------------------------------------

    def chown_new(self, path: bytes, uid: int, gid: int) -> None:
        """The real owner of a new upper object (left to the daemon with an override)."""
        if self.upper_override is None:
            layers.chown(path, uid, gid)

    def set_new(self, path: bytes, uid: int, gid: int, mode: int) -> None:
        """The mode of a new upper object, and its override value when the upper has one."""
        if self.upper_override is None:
            if not stat.S_ISLNK(mode):
                layers.chmod(path, stat.S_IMODE(mode))
            return
        if not stat.S_ISLNK(mode):
            layers.chmod(path, stat.S_IMODE(mode) | BACKING_BITS)
        self._write(path, override_value(uid, gid, mode))

    def chown(self, path: bytes, uid: int, gid: int) -> None:
        """chown of an upper object to stored IDs (-1 keeps one)."""
        if self.upper_override is None:
            layers.chown(path, uid, gid)
            return
        mode, old_uid, old_gid = self._current(path)
        self._write(path, override_value(old_uid if uid == -1 else uid,
                                         old_gid if gid == -1 else gid, mode))

    def chmod(self, path: bytes, mode: int) -> None:
        """chmod of an upper object (never a symlink)."""
        if self.upper_override is None:
            layers.chmod(path, stat.S_IMODE(mode))
            return
        _mode, uid, gid = self._current(path)
        self._write(path, override_value(uid, gid, mode))

    def _current(self, path: bytes) -> tuple[int, int, int]:
        st = layers.lstat(path)
        if st is None:
            fail(errno.ENOENT, path)
        value = layers.getxattr(path, self.upper_override or b"")
        return (st.st_mode, st.st_uid, st.st_gid) if value is None else parse_override(
            value, st.st_mode)

    def _write(self, path: bytes, value: bytes) -> None:
        """Write the upper's override value; a symlink that refuses user xattrs keeps its real
        owner (as fuse-overlayfs with xattr_permissions=2)."""
        assert self.upper_override is not None
        try:
            layers.setxattr(path, self.upper_override, value)
        except OSError as e:
            if e.errno != errno.EPERM or self.upper_override != OVERRIDE_USER:
                raise
