"""The rows of the catalogue's feature table (``overlayfs-semantics.md`` §9), and how the
examples cover them.

Every row has a ``key`` that examples name in ``Example.features``.  A row is either shown by
examples (``covered``), or it is out of reach for a stated reason:

* ``tolerated``: reached, but what it describes is deliberately not compared (a named
  tolerance in :mod:`difftest.tolerances`);
* ``unobservable``: reached by the supported configs, but not visible through the syscalls
  the model and the tester offer (no mmap, exec, st_dev or fsid);
* ``not-reached``: the supported configs (default, redirect_dir=on, index=on, 1-3 lowers,
  no upper, ro, all layers on one tmpfs) never get there.

The test suite checks that every ``covered`` row has at least one example and that every
feature an example names exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["covered", "tolerated", "unobservable", "not-reached"]


@dataclass(frozen=True)
class Feature:
    key: str
    feature: str
    status: Status = "covered"
    why: str = ""


def _out(key: str, feature: str, why: str) -> Feature:
    return Feature(key, feature, "not-reached", why)


def _unseen(key: str, feature: str, why: str) -> Feature:
    return Feature(key, feature, "unobservable", why)


OUT_OF_SCOPE = "option outside the supported configs"

FEATURES: tuple[Feature, ...] = (
    Feature("whiteout-on-remove", "whiteout on unlink/rmdir of a lower-backed name"),
    Feature("no-whiteout-pure-upper", "no whiteout for pure upper"),
    Feature("mkdir-over-whiteout", "mkdir over a whiteout"),
    Feature("mkdir-merged-parent", "mkdir in a merged parent"),
    Feature("opaque-values", "opaque values"),
    Feature("multiple-lowers", "multiple lowers"),
    Feature("merged-dir-metadata", "merged dir metadata and xattrs"),
    Feature("merged-dir-nlink", "merged dir nlink"),
    Feature("readdir-merge", "readdir merge"),
    Feature(
        "readdir-order",
        "readdir order",
        "tolerated",
        "tolerances readdir-order and readdir-offsets: listings are compared as sets",
    ),
    Feature("readdir-cache", "readdir cache"),
    Feature("merged-seek-end", "merged dir SEEK_END"),
    Feature("readdir-open-dir-copy-up", "readdir after copy-up of an open dir"),
    Feature("d-ino", "d_ino == st_ino (same fs)"),
    _unseen(
        "st-dev-same-fs",
        "st_dev, same fs",
        "stat results carry no st_dev in the model's syscall surface",
    ),
    _out(
        "st-dev-other-fs",
        "st_dev, different fs, xino=off",
        "every layer is on one tmpfs in the supported configs",
    ),
    Feature("xino", "xino=on/auto (one filesystem; several: difftest's split-fs presets)"),
    Feature("st-ino-copy-up", "st_ino across copy-up"),
    Feature("dir-st-ino", "dir st_ino (persistent across remount)"),
    Feature("copy-up-triggers", "copy-up triggers"),
    Feature("no-copy-up", "no copy-up"),
    Feature("copy-up-keeps", "copy-up keeps"),
    Feature("origin", "origin xattr"),
    Feature("impure", "impure xattr"),
    Feature("ro-fd-after-copy-up", "ro fd after copy-up"),
    _unseen("map-shared", "MAP_SHARED of a lower file", "difftest has no mmap operation"),
    Feature(
        "atime-lower-reads",
        "atime of lower reads",
        "tolerated",
        "tolerance times: atime is not compared",
    ),
    _unseen("etxtbsy", "ETXTBSY", "difftest has no exec operation; see the deviations table"),
    _unseen("o-tmpfile", "O_TMPFILE", "the model and difftest have no O_TMPFILE open"),
    Feature("mknod-whiteout", "mknod 0:0 through the overlay"),
    Feature("rmdir-not-empty", "rmdir of a non-empty merged dir"),
    Feature("rmdir-only-whiteouts", "rmdir of a merged dir that is only whiteouts"),
    Feature("dir-rename-default", "dir rename, default"),
    Feature("dir-rename-redirect", "dir rename, redirect_dir=on"),
    Feature("redirect-max", "redirect longer than redirect_max"),
    _out("redirect-nofollow", "redirect_dir=nofollow over a redirected U", OUT_OF_SCOPE),
    Feature("rename-noreplace", "RENAME_NOREPLACE"),
    Feature("rename-exchange", "RENAME_EXCHANGE"),
    Feature("rename-whiteout", "RENAME_WHITEOUT"),
    Feature("rename-hardlink-aliases", "rename between hardlink aliases"),
    Feature("hardlinks-index-off", "hard links, index=off"),
    Feature("hardlinks-index-on", "hard links, index=on"),
    Feature("xattr-privacy", "xattr privacy and escaping"),
    Feature("statfs", "statfs (f_type, namelen, read-only, where the fsid comes from)"),
    Feature("ro-overlay", "ro overlay (no upper)"),
    Feature("remount", "remount (the same layers mounted again; ro via the ro config)"),
    Feature("live-remount", "live remount,ro / remount,rw (open files kept)"),
    Feature("nested", "nested overlays (an overlay as the lower layer)"),
    _unseen(
        "upper-ro-underneath",
        "upper fs remounted ro underneath",
        "difftest does not remount the upper filesystem",
    ),
    Feature("metacopy", "metacopy"),
    Feature("data-only-layers", "data-only layers `::`"),
    _out("metacopy-lower", "metacopy lower without metacopy", OUT_OF_SCOPE),
    Feature("userxattr",
            "userxattr (user.overlay.*); in a user namespace: difftest's userns preset"),
    Feature("xwhiteout", "xwhiteout"),
    Feature("volatile", "volatile"),
    Feature("uuid", "uuid=on|auto|null|off (persistent uuid, fsid)"),
    _out(
        "index-other-lowers",
        "index=on with other lowers",
        "examples mount their own layers once; a mount failure is not an example",
    ),
    _out("shared-upper", "shared upper/workdir", "each example has its own upper and workdir"),
    _out("bad-layer-configs", "bad layer configs", "the supported configs mount valid layers"),
    _out("nested-overlay", "nested overlay as lower", "layers are plain tmpfs directories"),
    Feature("nfs-export", "nfs_export (file handles: name_to_handle_at, open_by_handle_at)"),
    Feature("verity", "verity=on|require (on a kernel without fs-verity: the refusals)"),
    _out(
        "copy-up-killable",
        "copy-up is killable; dir fsync after copy-up",
        "implementation detail, not observable",
    ),
    _out(
        "sanity-checks",
        "parent/child and whiteout sanity checks giving ESTALE",
        "needs changes to the layers while mounted (undefined)",
    ),
    _out("offline-lower-changes", "offline lower changes with features on", "undefined"),
)

BY_KEY = {f.key: f for f in FEATURES}
