"""Readdir (catalogue §2.2; readdir.c ``ovl_dir_read_merged``, ``ovl_iterate``,
``ovl_dir_llseek``)."""

from __future__ import annotations

import os

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, opaque, reg, whiteout

DIR = os.O_RDONLY | os.O_DIRECTORY

EXAMPLES: list[Example] = [
    Example(
        id="merged-listing-is-union-minus-whiteouts",
        title="A merged directory lists every layer's names, minus whiteouts",
        rule="catalogue §2.2 [V t1]; readdir.c `ovl_dir_read_merged`",
        spec=layers(
            [dir_(b"d"), reg(b"d/a", b"l0"), reg(b"d/b", b"l0"), reg(b"d/both", b"l0")],
            upper=[dir_(b"d"), reg(b"d/c", b"u"), whiteout(b"d/b"), reg(b"d/both", b"u")],
        ),
        program=[ops.Readdir(b"/d")],
        expect={"results": [". .. a both c"], "merged": {b"/d/both": "file data=u"}},
        notes="Each name appears once (`both` from the upper layer, which wins), `.` and "
        "`..` once, and `b` not at all.",
        features=("readdir-merge",),
    ),
    Example(
        id="listing-three-lowers",
        title="Three lower layers merge into one listing",
        rule="catalogue §1, §2.2 [V t14]",
        config="lowers=3",
        spec=layers(
            [dir_(b"d"), reg(b"d/x", b"0")],
            [dir_(b"d"), reg(b"d/x", b"1"), reg(b"d/y", b"1")],
            [dir_(b"d"), reg(b"d/y", b"2"), reg(b"d/z", b"2")],
        ),
        program=[ops.Readdir(b"/d")],
        expect={
            "results": [". .. x y z"],
            "merged": {b"/d/x": "file data=0", b"/d/y": "file data=1", b"/d/z": "file data=2"},
        },
        features=("readdir-merge", "multiple-lowers"),
    ),
    Example(
        id="d-type-from-winning-layer",
        title="The entry type is the winning layer's",
        rule="catalogue §2.2 [V t1]",
        spec=layers(
            [dir_(b"d"), dir_(b"d/x"), reg(b"d/y", b"f")],
            upper=[dir_(b"d"), reg(b"d/x", b"now a file")],
        ),
        program=[ops.Readdir(b"/d")],
        expect={"results": [". .. x y"], "merged": {b"/d/x": "file"}},
        notes="`x` is listed as a file (no `/`): the upper file hides the lower directory.",
        features=("readdir-merge",),
    ),
    Example(
        id="readdir-cache-needs-rewind",
        title="An open directory sees new names only after seeking back to 0",
        rule="catalogue §2.2 [V t15]; readdir.c `ovl_dir_llseek` (cache per open file)",
        spec=layers([dir_(b"d"), reg(b"d/b", b"l")], upper=[dir_(b"d"), reg(b"d/a", b"u")]),
        program=[
            ops.Open(b"/d", DIR),
            ops.Getdents(0),
            ops.Open(b"/d/c", os.O_WRONLY | os.O_CREAT),
            ops.Getdents(0),
            ops.Lseek(0, 0),
            ops.Getdents(0),
        ],
        expect={"results": ["fd0", ". .. a b", "fd1", "(nothing)", "0", ". .. a b c"]},
        notes="The first getdents64 builds the merged list and caches it on `fd0`; `c` is "
        "created after that. Seeking to 0 drops the cache because the directory changed.",
        features=("readdir-cache",),
    ),
    Example(
        id="merged-dir-seek-end-einval",
        title="SEEK_END on a merged directory is EINVAL",
        rule="catalogue §2.2 [V t15]; readdir.c `ovl_dir_llseek`",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[dir_(b"d")]),
        program=[
            ops.Open(b"/d", DIR),
            ops.Lseek(0, 0, os.SEEK_END),
            ops.Lseek(0, -1, os.SEEK_SET),
            ops.Lseek(0, 100, os.SEEK_SET),
            ops.Getdents(0),
        ],
        expect={"results": ["fd0", "EINVAL", "EINVAL", "100", "(nothing)"]},
        notes="Positions in a merged directory count cached entries; any offset from 0 up is "
        "accepted, and past the end getdents64 returns nothing.",
        features=("merged-seek-end",),
    ),
    Example(
        id="open-dir-lists-merged-view-after-copy-up",
        title="A directory opened before its copy-up lists the merged view",
        rule="catalogue §2.2 [V t15; H v2 rm -rf race]; readdir.c `ovl_dir_real_file`",
        spec=layers([dir_(b"d"), reg(b"d/a", b"1"), reg(b"d/b", b"2")]),
        program=[
            ops.Open(b"/d", DIR),
            ops.Unlink(b"/d/a"),
            ops.Open(b"/d/c", os.O_WRONLY | os.O_CREAT),
            ops.Getdents(0),
        ],
        expect={"results": ["fd0", "ok", "fd1", ". .. b c"], "upper": {b"/d": "dir origin"}},
        notes="`fd0` was opened on the lower-only `d`. Removing `a` copies `d` up; the "
        "first getdents64 on `fd0` then shows the merged directory, without `a` and with "
        "`c`.",
        features=("readdir-open-dir-copy-up",),
    ),
    Example(
        id="d-ino-equals-st-ino",
        title="d_ino equals st_ino, also after copy-up",
        rule="catalogue §2.2 [V t1b]; readdir.c `ovl_cache_update`",
        spec=layers([dir_(b"d"), reg(b"d/a", b"1"), dir_(b"d/sub")], upper=[dir_(b"d")]),
        program=[ops.Readdir(b"/d"), ops.Chmod(b"/d/a", 0o600), ops.Readdir(b"/d")],
        expect={
            "results": [". .. a sub/ d_ino=st_ino", "ok", ". .. a sub/ d_ino=st_ino"],
            "upper": {b"/d/a": "file origin", b"/d": "dir impure"},
        },
        notes="With every layer on one filesystem, the inode number in each directory entry "
        "is the one stat reports, for `.` and `..` too. After `a` is copied up its directory "
        "is impure, and readdir looks up the origin's inode number for it.",
        features=("d-ino",),
        show_inodes=True,
    ),
    Example(
        id="d-ino-of-dotdot-in-lower-only-dir",
        title="d_ino of .. in a lower-only directory under the root",
        rule="catalogue §2.2 (d_ino == st_ino for `..` too); readdir.c `ovl_cache_update`",
        spec=layers(
            [dir_(b"d"), reg(b"d/a", b"0")],
            [dir_(b"d"), reg(b"d/b", b"1")],
            upper=[reg(b"u", b"upper")],
        ),
        program=[ops.Readdir(b"/d")],
        expect={"results": [". .. a b d_ino!=st_ino:.."]},
        notes="`d` is merged from two lower layers and has no upper directory; its parent is "
        "the overlay root, whose st_ino is the upper root's. The catalogue says d_ino equals "
        "st_ino for every entry on one filesystem; readdir.c recomputes `..` only when the "
        "parent has an origin, which the root never has.",
        features=("d-ino",),
        show_inodes=True,
    ),
    Example(
        id="opaque-upper-dir-lists-stale-whiteouts",
        title="An opaque upper directory lists its whiteouts, which lookup cannot find",
        rule="catalogue §2.2, §5; readdir.c (a non-merged directory is read directly)",
        spec=layers(
            [dir_(b"d"), reg(b"d/w", b"lower")],
            upper=[opaque(b"d"), whiteout(b"d/w"), reg(b"d/f", b"u")],
        ),
        program=[ops.Readdir(b"/d"), ops.Lstat(b"/d/w")],
        expect={"results": [". .. f w", "ENOENT"], "merged": {b"/d/w": "unresolvable"}},
        notes="An opaque directory is not merged, so readdir reads the upper directory as "
        "it is, whiteout included, while lookup of `w` sees a whiteout and answers ENOENT. "
        "Layers made by overlayfs itself do not have this: removing everything from an "
        "opaque directory leaves no whiteouts in it.",
    ),
    Example(
        id="readdir-errors",
        title="Listing a file or reading a directory fails",
        rule="catalogue §2.2 [V t3, t19]",
        spec=layers([reg(b"a", b"x"), dir_(b"d")]),
        program=[ops.Readdir(b"/a"), ops.Open(b"/d", DIR), ops.Read(0, 10)],
        expect={"results": ["ENOTDIR", "fd0", "EISDIR"]},
    ),
    # difftest promote: new examples go above this line
]
