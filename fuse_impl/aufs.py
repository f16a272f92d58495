"""AUFS-style whiteouts: honoured with the ``aufs_whiteouts`` option (the mount_program role).

containers-storage unpacks image layers for a mount program in the format of the OCI image
spec (AUFS's): in any layer, upper included,

* ``.wh.NAME`` hides NAME in every layer below that one; NAME in the same layer stays, and a
  directory NAME there is merged with nothing below (as if opaque);
* ``.wh..wh..opq`` in a directory makes that directory opaque: nothing below is merged;
* any other ``.wh..wh.*`` entry is AUFS bookkeeping and means nothing;
* no ``.wh.*`` entry is ever listed, and looking one up finds nothing (ENOENT);
* a ``.wh.*`` name cannot be created or renamed to through the overlay (EINVAL): it would
  become a whiteout as soon as the layer is committed.

Kernel whiteouts (char device 0:0) and ``overlay.opaque`` keep their meaning in that role, and
a kernel whiteout is never listed either (the kernel lists one in a directory it does not
merge; in this role both forms are whiteouts wherever they are).  What ovlfuse writes is the
kernel's format in either role: a removed lower name becomes a char 0:0 whiteout and a
directory made over a whiteout gets ``overlay.opaque`` (fuse-overlayfs too writes char 0:0
whiteouts when it may mknod).  containers-storage never commits a mount program's upper
directory as it is: it diffs the mounted views (its "naive diff") and stores the layer as a
tar with ``.wh.`` entries, so the image is the same whichever form the upper holds.
"""

from __future__ import annotations

import errno

from . import layers
from .errors import fail
from .layers import Layer, join
from .super import OverlayFs

PREFIX = b".wh."
OPAQUE = b".wh..wh..opq"
META = b".wh..wh."


def active(ofs: OverlayFs) -> bool:
    return ofs.cfg.aufs_whiteouts


def is_special(name: bytes) -> bool:
    """A name with the whiteout prefix: never shown in the role."""
    return name.startswith(PREFIX)


def hidden_name(name: bytes) -> bytes | None:
    """The name a ``.wh.NAME`` entry hides (None for other names and AUFS bookkeeping)."""
    if not name.startswith(PREFIX) or name.startswith(META):
        return None
    return name[len(PREFIX):] or None


def hidden_below(layer: Layer, rel: bytes) -> bool:
    """Whether *layer* holds ``.wh.NAME`` beside the entry *rel* (``dir/NAME``)."""
    head, _sep, name = rel.rpartition(b"/")
    return layers.lstat(layer.real(join(head, PREFIX + name))) is not None


def marked_opaque(path: bytes) -> bool:
    """Whether the real directory *path* holds the opaque marker ``.wh..wh..opq``."""
    return layers.lstat(path + b"/" + OPAQUE) is not None


def check_new_name(ofs: OverlayFs, name: bytes) -> None:
    """EINVAL for a new name with the whiteout prefix, in the role."""
    if active(ofs) and is_special(name):
        fail(errno.EINVAL, name)


def layer_entries(entries: list[tuple[bytes, bool]]) -> list[tuple[bytes, bool]]:
    """(name, hidden) of one real directory, as the role lists it: a ``.wh.NAME`` entry becomes
    a hidden NAME (unless NAME is there too), other ``.wh.*`` entries vanish."""
    names = {name for name, _hidden in entries}
    out: list[tuple[bytes, bool]] = []
    for name, hidden in entries:
        if not is_special(name):
            out.append((name, hidden))
            continue
        target = hidden_name(name)
        if target is not None and target not in names:
            out.append((target, True))
    return out
