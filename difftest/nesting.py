"""Nested overlays for the ``nested`` presets: the example's lower layers are mounted as a
read-only overlay of their own (the *inner* overlay), and the target's overlay uses that
mount as its only lower layer (``model.nested`` is the model of it).

The inner overlay is the kernel's (preset ``nested``) or ovlfuse (``nested-on-ovlfuse``),
mounted with default options under the example's directory, so the scratch space takes it
down with everything else; it never changes while the outer overlay is mounted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

from difftest import realfs
from difftest.layers import LayerDirs, escape_layer_path
from difftest.scratch import Scratch
from difftest.targets.ovlfuse_server import FuseMountError, server_for

INNER_KINDS = ("kernel", "ovlfuse")


@dataclass
class Inner:
    """The inner overlay of one example: where it is mounted, and the FUSE daemon serving
    it (None for the kernel's)."""

    mountpoint: bytes
    server: Any = None  # the ovlfuse mount server that mounted it

    def stop(self) -> None:
        """Unmount (an ovlfuse daemon exits and is waited for)."""
        if self.server is not None:
            self.server.request({"op": "umount", "mountpoint": os.fsdecode(self.mountpoint)})
            self.server = None
        elif realfs.mounts_under(os.fsdecode(self.mountpoint)):
            realfs.umount_or_detach(self.mountpoint)


def mount_inner(example_dir: bytes, dirs: LayerDirs, kind: str,
                scratch: Scratch) -> tuple[LayerDirs, Inner]:  # fmt: skip
    """Mount ``dirs.lowers`` as a read-only overlay of ``kind`` under ``example_dir`` (an
    ovlfuse through the scratch's mount server); returns the layer dirs whose only lower is
    that mount, and the inner overlay."""
    if kind not in INNER_KINDS:
        raise ValueError(f"unknown inner overlay {kind!r} (known: {', '.join(INNER_KINDS)})")
    where = os.path.join(example_dir, b"inner")
    os.mkdir(where)
    lowerdir = b"lowerdir=" + b":".join(escape_layer_path(d) for d in dirs.lowers)
    inner = Inner(where)
    if kind == "kernel":
        realfs.mount(b"overlay", where, b"overlay", realfs.MS_RDONLY, lowerdir)
    else:
        server = server_for(scratch)
        reply = server.request({"op": "mount", "options": os.fsdecode(lowerdir),
                                "mountpoint": os.fsdecode(where)})  # fmt: skip
        if not reply.get("ok"):
            raise FuseMountError(5, f"inner ovlfuse did not mount: {reply.get('error')}")
        inner.server = server
    return replace(dirs, lowers=(where,)), inner
