"""Documented kernel deviations: where the kernel's own documentation
(``Documentation/filesystems/overlayfs.rst``) is wrong, stale or too vague for the kernel
that runs here, each named and dated.

The model follows the kernel, not the prose; these entries say where the two part, so that a
reader who compares a page with the kernel documentation knows which one to believe.
``difftest docs`` lists the table on the index page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["doc-stale", "doc-wrong", "doc-vague", "kernel-vs-doc"]


@dataclass(frozen=True)
class Deviation:
    """One place where the kernel documentation and the kernel disagree.

    ``doc`` quotes or paraphrases the documentation; ``kernel`` says what the kernel does;
    ``source`` names the documentation section; ``evidence`` where the behaviour was
    observed; ``kernel_version`` and ``date`` when it was last checked; ``example`` names
    the documentation example that shows it, where there is one (it is then re-verified
    on every ``difftest docs`` run).
    """

    name: str
    kind: Kind
    doc: str
    kernel: str
    source: str
    evidence: str
    kernel_version: str
    date: str
    example: str = ""


DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        "etxtbsy-lower-exec",
        "doc-stale",
        'Non-standard behavior (c): "If a file residing on a lower layer is being executed, '
        "then opening that file for write or truncating the file will not be denied with "
        'ETXTBSY."',
        "Opening for write a lower file that is being executed gives ETXTBSY, as on any "
        "filesystem.",
        "overlayfs.rst, Non-standard behavior, item (c)",
        "catalogue §2.3 and §6 [V t16]: exec a copy of sleep from a lower layer, open O_WRONLY",
        "6.18",
        "2026-11-25",
    ),
    Deviation(
        "data-only-layers-need-metacopy",
        "doc-stale",
        "Data-only lower layers: the section opens \"With 'metacopy' feature enabled, an "
        "overlayfs regular file may be a composition of information from up to three "
        'different layers", and older versions require metacopy=on for `::` layers.',
        "A mount with data-only layers (`lowerdir=L0::D1`) succeeds without metacopy=on, "
        "and a redirected metacopy file in L0 reads its data from D1.",
        "overlayfs.rst, Data-only lower layers",
        "catalogue §4 [V t13, t20]",
        "6.18",
        "2026-11-25",
    ),
    Deviation(
        "metacopy-xattr-name",
        "doc-wrong",
        "Metadata only copy up: the upper file \"is marked with 'trusted.overlayfs.metacopy' "
        'xattr".',
        "The xattr is `trusted.overlay.metacopy` (`overlay`, not `overlayfs`), like every "
        "other private overlay xattr.",
        "overlayfs.rst, Metadata only copy up",
        "catalogue §5 [V t8]: getfattr on a chmod-ed file with metacopy=on",
        "6.18",
        "2026-11-25",
    ),
    Deviation(
        "d-ino-copied-up-file",
        "doc-wrong",
        "Inode properties table: with xino off and layers on different filesystems, d_ino "
        'of a non-directory is listed as equal to st_ino ("Y").',
        "A non-directory copied up with an origin reports the lower st_ino but its d_ino is "
        "the upper inode number, so they differ.",
        "overlayfs.rst, Inode properties",
        "catalogue §2.2 [V t12]: lower on tmpfs, upper on ext4, getdents vs lstat",
        "6.18",
        "2026-11-25",
    ),
    Deviation(
        "dotdot-d-ino-lower-only-dir",
        "kernel-vs-doc",
        "Inode properties table: with all layers on the same filesystem, st_ino == d_ino "
        'holds for directories ("Y").',
        "In a merged directory that has no upper directory and sits directly under the "
        "overlay root, the `..` entry carries the top lower root's inode number, while "
        "stat of the root reports the upper root's: d_ino != st_ino.",
        "overlayfs.rst, Inode properties",
        "readdir.c `ovl_cache_update` recomputes `..` only when the parent has an origin; "
        "found by this project's examples on 6.18.44",
        "6.18",
        "2026-11-25",
        "d-ino-of-dotdot-in-lower-only-dir",
    ),
    Deviation(
        "upper-xwhiteout-listed",
        "kernel-vs-doc",
        "whiteouts and opaque directories: a whiteout may be a zero-size file with "
        '"trusted.overlay.whiteout"; "When a whiteout is found in the upper level of a '
        "merged directory, any matching name in the lower level is ignored, and the whiteout "
        'itself is also hidden."',
        "An xwhiteout in the upper layer hides the lower name from lookup (ENOENT), but "
        "readdir of the merged directory lists it, even when the upper directory carries "
        "`opaque=x`.",
        "overlayfs.rst, whiteouts and opaque directories",
        "catalogue §5 [V t17]; this project's examples on 6.18.44",
        "6.18",
        "2026-11-25",
        "xwhiteout-in-upper-listed-but-enoent",
    ),
    Deviation(
        "readdir-merge-order",
        "doc-vague",
        'readdir: the name lists are "merged in the obvious way (upper is read first, then '
        'lower - entries that already exist are not re-added)".',
        "The merged list puts the entries of the lowest contributing layer first, in that "
        "layer's order, then the other names, upper first; positions count hidden whiteouts.",
        "overlayfs.rst, readdir",
        "catalogue §2.2 [V t1]; readdir.c `ovl_fill_lowest` (not compared by difftest: "
        "tolerance readdir-order)",
        "6.18",
        "2026-11-25",
    ),
    Deviation(
        "shared-upper-ebusy",
        "doc-vague",
        "Sharing and copying layers: using an upper or work directory that another mount "
        'uses "is not allowed and may fail with EBUSY".',
        "The second mount fails with EBUSY only with index=on; with index=off it succeeds "
        "and the kernel logs a warning.",
        "overlayfs.rst, Sharing and copying layers",
        "catalogue §4 and §6 [V t18, t32]",
        "6.18",
        "2026-11-25",
    ),
)

BY_NAME = {d.name: d for d in DEVIATIONS}
