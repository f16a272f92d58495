"""Lookup and merging (catalogue §1, §2.1, §2.14; namei.c ``ovl_lookup``)."""

from __future__ import annotations

import os

from difftest import ops
from difftest.docs.schema import (
    Example,
    chrdev,
    dir_,
    layers,
    opaque,
    reg,
    symlink,
    whiteout,
)

EXAMPLES: list[Example] = [
    Example(
        id="upper-file-hides-lower-file",
        title="The upper layer's file hides the lower file of the same name",
        rule="catalogue §1 step 3; namei.c `ovl_lookup`",
        spec=layers([reg(b"a", b"lower", mode=0o600)], upper=[reg(b"a", b"upper")]),
        program=[ops.Lstat(b"/a")],
        expect={"results": ["file mode=0644 size=5"], "merged": {b"/a": "file data=upper"}},
        notes="Mode, owner, size and data all come from the layer that provides the name.",
        features=("multiple-lowers",),
    ),
    Example(
        id="top-lower-file-hides-lower-dir",
        title="A file in a higher layer hides a directory below it",
        rule="catalogue §1 step 3",
        spec=layers([reg(b"d", b"file")], [dir_(b"d"), reg(b"d/f", b"x")]),
        program=[ops.Lstat(b"/d"), ops.Lstat(b"/d/f")],
        expect={"results": ["file", "ENOTDIR"], "merged": {b"/d": "file data=file"}},
        features=("multiple-lowers",),
    ),
    Example(
        id="file-in-middle-layer-ends-merge",
        title="A file in a middle layer ends the merge of a directory",
        rule="catalogue §1 step 5 [V t14 `b`]",
        config="lowers=3",
        spec=layers(
            [dir_(b"b"), reg(b"b/top", b"0")],
            [reg(b"b", b"middle")],
            [dir_(b"b"), reg(b"b/bottom", b"2")],
        ),
        program=[ops.Readdir(b"/b")],
        expect={"results": [". .. top"], "merged": {b"/b/bottom": "absent"}},
        notes="Lookup keeps `l0`'s `b/`, meets a file in `l1` and stops: `l2`'s `b/` is not "
        "reached.",
        features=("multiple-lowers",),
    ),
    Example(
        id="whiteout-in-middle-layer-hides-below",
        title="A whiteout in a middle layer hides the name in the layers below",
        rule="catalogue §1 step 2 [V t14 `d`]",
        config="lowers=3",
        spec=layers(
            [reg(b"other", b"0")],
            [whiteout(b"d")],
            [dir_(b"d"), reg(b"d/f", b"2")],
        ),
        program=[ops.Lstat(b"/d")],
        expect={"results": ["ENOENT"], "merged": {b"/d": "absent", b"/d/f": "absent"}},
        notes="Layer builders leave whiteouts in lower layers too: each image layer of a "
        "container records the deletions of the layers below it.",
        features=("multiple-lowers",),
    ),
    Example(
        id="opaque-middle-layer-stops-merge",
        title="An opaque directory in a middle layer stops the merge below it",
        rule="catalogue §1 steps 4 and 6 [V t14 `c`]",
        config="lowers=3",
        spec=layers(
            [dir_(b"c"), reg(b"c/from0", b"0")],
            [opaque(b"c"), reg(b"c/from1", b"1")],
            [dir_(b"c"), reg(b"c/from2", b"2")],
        ),
        program=[ops.Readdir(b"/c")],
        expect={"results": [". .. from0 from1"]},
        notes="`l0` and `l1` merge; the opaque `c/` in `l1` hides `l2`'s.",
        features=("multiple-lowers", "readdir-merge"),
    ),
    Example(
        id="whiteout-inside-middle-dir",
        title="A whiteout inside a middle layer's directory hides an entry below",
        rule="catalogue §1 [V t14 `g`]",
        config="lowers=3",
        spec=layers(
            [dir_(b"g")],
            [dir_(b"g"), whiteout(b"g/x")],
            [dir_(b"g"), reg(b"g/x", b"2"), reg(b"g/y", b"2")],
        ),
        program=[ops.Readdir(b"/g"), ops.Lstat(b"/g/x")],
        expect={"results": [". .. y", "ENOENT"]},
        features=("multiple-lowers", "readdir-merge"),
    ),
    Example(
        id="upper-dir-over-lower-symlink-is-pure",
        title="An upper directory over a lower symlink is not merged",
        rule="catalogue §1 [V t14 `h`]",
        spec=layers(
            [symlink(b"h", b"elsewhere"), dir_(b"elsewhere"), reg(b"elsewhere/e", b"e")],
            upper=[dir_(b"h"), reg(b"h/f", b"f")],
        ),
        program=[ops.Readdir(b"/h"), ops.Lstat(b"/h")],
        expect={"results": [". .. f", "dir nlink=2"]},
        notes="The lower symlink is not a directory, so the upper `h/` stands alone and "
        "reports its real link count.",
        features=("multiple-lowers",),
    ),
    Example(
        id="upper-device-hides-lower-file",
        title="A character device other than 0:0 in the upper layer is an ordinary object",
        rule="catalogue §1 [V t21]",
        spec=layers([reg(b"a", b"lower")], upper=[chrdev(b"a", 0, 1)]),
        program=[ops.Lstat(b"/a")],
        expect={"results": ["chr rdev=0:1"], "merged": {b"/a": "chr"}},
        notes="Only 0:0 is a whiteout; device 0:1 hides the lower file like any other "
        "upper object.",
    ),
    Example(
        id="merged-dir-nlink-is-1",
        title="A merged directory reports one link",
        rule="catalogue §2.1 [V t1, t10, t14]; inode.c `ovl_getattr`",
        spec=layers(
            [dir_(b"d"), dir_(b"d/sub"), dir_(b"e"), dir_(b"e/sub")],
            upper=[dir_(b"d")],
        ),
        program=[ops.Lstat(b"/"), ops.Lstat(b"/d"), ops.Lstat(b"/e")],
        expect={"results": ["dir nlink=1", "dir nlink=1", "dir nlink=3"]},
        notes="`/` and `d` are merged (upper and lower); `e` exists only in `l0` and shows "
        "its real count: 2 plus one per subdirectory.",
        features=("merged-dir-nlink",),
    ),
    Example(
        id="merged-dir-metadata-from-upper",
        title="A merged directory's mode, owner and xattrs come from the upper directory",
        rule="catalogue §2.1, §2.13 [V t9]",
        spec=layers(
            [
                dir_(b"d", mode=0o700, uid=1000, gid=1000, xattrs={b"user.low": b"1"}),
                reg(b"d/f", b"x"),
            ],
            upper=[dir_(b"d", xattrs={b"user.up": b"2"})],
        ),
        program=[ops.Lstat(b"/d"), ops.Listxattr(b"/d")],
        expect={
            "results": ["dir mode=0755 uid=0", "user.up"],
            "merged": {b"/d": "dir user.up=2 -user.low"},
        },
        features=("merged-dir-metadata",),
    ),
    Example(
        id="lookup-sets-origin-on-merged-upper-dir",
        title="Looking up a merged directory writes its origin",
        rule="catalogue §1 (side effect of lookup); namei.c `ovl_fix_origin`",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[dir_(b"d")]),
        program=[ops.Lstat(b"/d")],
        expect={"results": ["dir"], "upper": {b"/": "dir impure", b"/d": "dir origin"}},
        notes="The upper `d/` was made offline without `trusted.overlay.origin`. The first "
        "lookup on a read-write mount adds it (and marks the parent impure): a purely "
        "read-only traversal changes the upper layer.",
        features=("origin", "impure"),
    ),
    Example(
        id="lower-only-dirs-merge-without-upper",
        title="Directories of several lower layers merge without an upper layer",
        rule="catalogue §1, §2.1 [V t10, t27]",
        config="no-upper",
        spec=layers(
            [dir_(b"d"), reg(b"d/a", b"0")],
            [dir_(b"d"), reg(b"d/b", b"1")],
            upper=None,
        ),
        program=[ops.Readdir(b"/d"), ops.Lstat(b"/d")],
        expect={"results": [". .. a b", "dir nlink=1"]},
        features=("multiple-lowers", "merged-dir-nlink", "ro-overlay"),
    ),
    Example(
        id="path-errors",
        title="Path walk errors come first",
        rule="catalogue §2.3, §2.5, §7",
        spec=layers([reg(b"a", b"x"), dir_(b"d")]),
        program=[
            ops.Lstat(b"/a/"),
            ops.Lstat(b"/a/b"),
            ops.Lstat(b"/d/missing/x"),
            ops.Lstat(b"/" + b"n" * 256),
            ops.Open(b"/a", os.O_RDONLY | os.O_DIRECTORY),
            ops.Open(b"/d", os.O_WRONLY),
        ],
        expect={"results": ["ENOTDIR", "ENOTDIR", "ENOENT", "ENAMETOOLONG", "ENOTDIR", "EISDIR"]},
        notes="A trailing slash or a path through a file gives ENOTDIR; a 256-byte name "
        "gives ENAMETOOLONG; opening a directory for writing gives EISDIR. None of them "
        "copies anything up.",
        features=("no-copy-up",),
    ),
    Example(
        id="statfs-overlay-magic",
        title="statfs reports overlayfs's magic number",
        rule="catalogue §2.14 [V t11]; super.c `ovl_statfs`",
        spec=layers([dir_(b"d")]),
        program=[ops.Statfs(b"/"), ops.Statfs(b"/d")],
        expect={"results": ["f_type=0x794c7630 namelen=255 rw", "f_type=0x794c7630"]},
        notes="`OVERLAYFS_SUPER_MAGIC` is 0x794c7630; the name length limit comes from the "
        "upper filesystem.",
        features=("statfs",),
    ),
    # difftest promote: new examples go above this line
]
