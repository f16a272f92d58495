"""Every difference the tester deliberately does not report, named, with its reason.

This table is the only place where results are loosened.  Each entry names what is ignored,
why, and which targets it applies to (``*`` for all).  The normalisers below cite entries by
name, and ``difftest docs`` lists the table.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from model.types import UpperEntry


@dataclass(frozen=True)
class Tolerance:
    name: str
    reason: str
    targets: str = "*"


TOLERANCES: tuple[Tolerance, ...] = (
    Tolerance(
        "readdir-order",
        "merged readdir order follows each layer's hash order and cannot be predicted; "
        "listings are compared as sets (catalogue §2.2)",
    ),
    Tolerance(
        "readdir-offsets",
        "d_off values are synthetic on merged dirs and fs cookies elsewhere; not compared",
    ),
    Tolerance(
        "dir-size",
        "a directory's st_size is the upper filesystem's bookkeeping (tmpfs counts entries)",
    ),
    Tolerance(
        "times",
        "atime and ctime are not compared; mtime only as changed/unchanged since the previous "
        "step, because the model has a logical clock: for every path of the merged view, "
        "directories included, in the state after each step (a stat result itself carries "
        "no mtime, so an object reached only through an open handle is not compared)",
    ),
    Tolerance(
        "mtime-same-tick",
        "an mtime the model changes may stay put on a real target when its previous value is "
        "within two ticks of the coarse clock (one, and one of margin) before the step began: "
        "the kernel stamps a "
        "change with the coarse time unless the inode's times were queried since, and two "
        "changes within one tick then show one time (measured 2026-12-04 on 6.18: unlink of "
        "two names of a tmpfs upper dir in consecutive steps left its mtime unchanged; with "
        "directory mtimes compared this was the only disagreement in 2,000 examples); the "
        "other way round (a change where the model has none) is always reported",
    ),
    Tolerance(
        "mtime-of-replaced",
        "mtime changed/unchanged is compared only where a path still names the object it named "
        "at the previous step (same st_ino): a new object's mtime comes from the coarse clock, "
        "so it can equal the replaced object's (found 2026-12-03: Mknod, Mknod, Rename over it "
        "within one tick); the identity change itself is compared",
    ),
    Tolerance(
        "inode-numbers",
        "st_ino values are compared as identity classes and stability, never as numbers",
    ),
    Tolerance(
        "whiteout-attrs",
        "a whiteout's mode, owner and nlink depend on how it was made (shared whiteout inode "
        "vs RENAME_WHITEOUT); only 'chr 0:0' is meaningful (catalogue §2.7)",
    ),
    Tolerance(
        "origin-value",
        "trusted.overlay.origin holds an encoded file handle; only its presence is compared",
    ),
    Tolerance(
        "upper-root-uuid",
        "a FUSE overlay other than ovlfuse need not keep the kernel's persistent uuid "
        "(trusted.overlay.uuid on the upper root, written by a mount with uuid=on or auto): "
        "its statfs cannot show an fsid of its own, which is what the uuid is for",
        "fuse-overlayfs, cmd",
    ),
    Tolerance(
        "large-file-windows",
        "files over 64 MiB are compared by size and by fixed windows (first 1088 KiB, 64 KiB "
        "around 4 GiB, last 64 KiB): a FUSE program without SEEK_DATA would need 5 GiB of reads "
        "per sparse file per step; every write the generator makes falls inside the windows",
    ),
    Tolerance(
        "st_dev",
        "a FUSE mount has its own device number",
        "fuse",
    ),
    Tolerance(
        "fuse-dir-seek-end",
        "the kernel's FUSE layer answers lseek(dir, 0, SEEK_END) itself (it returns the size), "
        "so no FUSE program can give overlayfs's EINVAL; a FUSE target reports EINVAL for it; "
        "so does a kernel overlay over an ovlfuse lower (nested-on-ovlfuse), whose directories "
        "it does not merge seek in the FUSE lower's own directory",
        "fuse",
    ),
    Tolerance(
        "fuse-chown-keeps-setgid",
        "chown by a user outside a file's group (and not its owner) of a setgid file without "
        "group-exec: the VFS turns the setgid kill into a mode change that needs ownership "
        "(EPERM, nothing copied up); FUSE's setattr re-derives the kill from the mode alone "
        "(setgid only with group-exec), so no FUSE program sees a reason to refuse; a FUSE "
        "target gives that EPERM itself (found 2026-12-05 by chown(-1, -1) as a user)",
        "fuse",
    ),
    Tolerance(
        "statfs-f_type",
        "a FUSE mount reports FUSE's magic, not OVERLAYFS_SUPER_MAGIC",
        "fuse",
    ),
    Tolerance(
        "statfs-fsid",
        "a FUSE mount's f_fsid is FUSE's (no FUSE program can set it), so the fsid the uuid= "
        "option decides is compared on the kernel only; the upper root's uuid xattr is "
        "compared on every target",
        "fuse",
    ),
)

BY_NAME = {t.name: t for t in TOLERANCES}


def tolerated(name: str) -> Tolerance:
    """Look up a tolerance by name (a typo is an error, not a silent skip)."""
    return BY_NAME[name]


UUID_UNOBSERVED = "unobserved"  # UpperEntry.uuid of a target that need not keep one


def untracked_uuid(expected: UpperEntry, actual: UpperEntry) -> UpperEntry:
    """``expected`` (the upper root) as a target that does not keep the uuid would have it
    (tolerance ``upper-root-uuid``)."""
    if actual.uuid != UUID_UNOBSERVED:
        return expected
    tolerated("upper-root-uuid")
    return dataclasses.replace(expected, uuid=UUID_UNOBSERVED)


def normalise_upper_entry(e: UpperEntry) -> UpperEntry:
    """Apply ``whiteout-attrs`` and ``dir-size`` to one upper-layer entry."""
    if e.kind == "whiteout":
        tolerated("whiteout-attrs")
        return dataclasses.replace(e, mode=0, uid=0, gid=0)
    if e.kind == "dir" and e.size:
        tolerated("dir-size")
        return dataclasses.replace(e, size=0)
    return e
