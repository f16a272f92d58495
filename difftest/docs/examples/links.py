"""Hard links and inode numbers (catalogue §2.10, §3; dir.c ``ovl_link``, inode.c
``ovl_getattr``, ``ovl_map_ino``)."""

from __future__ import annotations

import os

from difftest import ops
from difftest.docs.schema import Example, dir_, hardlink, layers, reg

EXAMPLES: list[Example] = [
    Example(
        id="st-ino-kept-across-copy-up",
        title="A file keeps its inode number when it is copied up",
        rule="catalogue §3 [V t1b]; inode.c `ovl_getattr` (origin's st_ino)",
        spec=layers([reg(b"a", b"x")]),
        program=[ops.Lstat(b"/a"), ops.Chmod(b"/a", 0o600), ops.Lstat(b"/a")],
        expect={
            "results": ["ino=#2", "ok", "ino=#2"],
            "upper": {b"/a": "file origin"},
            "merged": {b"/a": "ino=#2"},
        },
        notes="The copy has its own inode in the upper filesystem, but stat reports the "
        "lower file's number, found through the origin.",
        features=("st-ino-copy-up", "origin"),
        show_inodes=True,
    ),
    Example(
        id="pure-upper-and-recreated-files-have-new-inodes",
        title="A file created over a whiteout gets a new inode number",
        rule="catalogue §3 (an object created over a whiteout: the upper ino)",
        spec=layers([reg(b"a", b"old")]),
        program=[
            ops.Lstat(b"/a"),
            ops.Unlink(b"/a"),
            ops.Open(b"/a", os.O_WRONLY | os.O_CREAT),
            ops.Lstat(b"/a"),
        ],
        expect={"results": ["ino=#2", "ok", "fd0", "ino=#3"], "upper": {b"/a": "file -origin"}},
        show_inodes=True,
        features=("st-ino-copy-up",),
    ),
    Example(
        id="hardlinked-lower-copy-up-breaks-link",
        title="Without the index, copying up one name of a lower hard link breaks the link",
        rule="catalogue §2.10 [D index][V t7]; copy_up.c (no origin for nlink > 1)",
        spec=layers([reg(b"a", b"same"), hardlink(b"b", b"a")]),
        program=[ops.Lstat(b"/a"), ops.Chmod(b"/a", 0o600), ops.Lstat(b"/a"), ops.Lstat(b"/b")],
        expect={
            "results": ["nlink=2 ino=#2", "ok", "nlink=1 ino=#3", "nlink=2 ino=#2"],
            "upper": {b"/a": "file -origin"},
        },
        notes="`a` and `b` are one inode in `l0`. The copy of `a` gets no origin (the lower "
        "file has two links), so it reports the upper inode and one link. `b` still "
        "reports the lower inode and its stale link count of 2.",
        features=("hardlinks-index-off", "st-ino-copy-up", "origin"),
        show_inodes=True,
    ),
    Example(
        id="hardlinked-lower-writes-do-not-propagate",
        title="Without the index, writes through one name of a lower hard link stay there",
        rule="catalogue §2.10 [D index][V t7]",
        spec=layers([reg(b"a", b"old"), hardlink(b"b", b"a")]),
        program=[ops.Open(b"/a", os.O_WRONLY | os.O_TRUNC), ops.Write(0, b"new"), ops.Close(0)],
        expect={
            "results": ["fd0", "3", "ok"],
            "merged": {b"/a": "file data=new", b"/b": "file data=old"},
        },
        features=("hardlinks-index-off",),
    ),
    Example(
        id="rename-between-lower-hardlink-aliases-removes-source",
        title="Renaming one lower hard link onto another removes the source",
        rule="catalogue §2.9 hardlink pitfall [V t23, t24]",
        spec=layers([reg(b"h1", b"x"), hardlink(b"h2", b"h1")]),
        program=[ops.Rename(b"/h1", b"/h2")],
        expect={
            "results": ["ok"],
            "merged": {b"/h1": "absent", b"/h2": "file data=x"},
            "upper": {b"/h1": "whiteout", b"/h2": "file"},
        },
        notes="On a plain filesystem renaming a name onto another name of the same inode "
        "does nothing. Without the index the two lower names are separate overlay inodes, "
        "so the rename goes ahead: `h2` becomes an upper copy and `h1` a whiteout. (GNU "
        "`mv` refuses this itself, so the example calls rename(2).)",
        features=("rename-hardlink-aliases", "hardlinks-index-off"),
    ),
    Example(
        id="link-lower-file",
        title="Linking a lower file copies it up and links the copy",
        rule="catalogue §2.10 [V t6, t7]; dir.c `ovl_link`",
        spec=layers([reg(b"a", b"x")]),
        program=[ops.Link(b"/a", b"/b"), ops.Lstat(b"/a"), ops.Lstat(b"/b")],
        expect={
            "results": ["ok", "nlink=2 ino=#2", "nlink=2 ino=#2"],
            "upper": {b"/a": "file origin", b"/b": "file origin", b"/": "dir impure"},
        },
        notes="Both names are one upper inode, which still reports the lower file's number "
        "through its origin.",
        features=("copy-up-triggers", "st-ino-copy-up"),
        show_inodes=True,
    ),
    Example(
        id="link-over-whiteout",
        title="A link may take a whited-out name",
        rule="catalogue §2.10 (a whiteout at the target name is replaced)",
        spec=layers([reg(b"a", b"x"), reg(b"b", b"old")], upper=[dir_(b"d")]),
        program=[ops.Unlink(b"/b"), ops.Link(b"/a", b"/b")],
        expect={
            "results": ["ok", "ok"],
            "upper": {b"/b": "file data=x"},
            "merged": {b"/b": "file data=x nlink=2"},
        },
    ),
    Example(
        id="link-errors",
        title="link refuses directories, existing names and missing sources",
        rule="catalogue §2.10 [V t19] (VFS checks)",
        spec=layers([reg(b"a", b"x"), dir_(b"d")]),
        program=[ops.Link(b"/d", b"/d2"), ops.Link(b"/a", b"/d"), ops.Link(b"/nope", b"/n")],
        expect={"results": ["EPERM", "EEXIST", "ENOENT"], "upper": {b"/a": "absent"}},
        features=("no-copy-up",),
    ),
    Example(
        id="dir-inode-persistent-across-remount",
        title="Inode numbers survive a remount",
        rule="catalogue §3 [V t1b]; the number comes from the layers, not from memory",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[dir_(b"d")]),
        program=[
            ops.Lstat(b"/d"),
            ops.Chmod(b"/d/f", 0o600),
            ops.Lstat(b"/d/f"),
            ops.Remount(),
            ops.Lstat(b"/d"),
            ops.Lstat(b"/d/f"),
        ],
        expect={"results": ["ino=#2", "ok", "ino=#3", "*", "ino=#2", "ino=#3"]},
        notes="The merged directory reports its origin's (the lower directory's) number, "
        "the copied-up file its lower file's number, before and after the remount.",
        features=("dir-st-ino", "st-ino-copy-up", "remount"),
        show_inodes=True,
    ),
    # difftest promote: new examples go above this line
]
