"""Option ``index=on`` against the default ``index=off`` (catalogue §2.10, §2.9 hardlink
pitfall, §2.6; copy_up.c ``ovl_need_index``, namei.c ``ovl_lookup_index``)."""

from __future__ import annotations

import os

from difftest import ops
from difftest.docs.schema import Example, dir_, hardlink, layers, reg

ON = "index=on"
LINKED = layers([reg(b"a", b"old"), hardlink(b"b", b"a"), hardlink(b"c", b"a")])

EXAMPLES: list[Example] = [
    Example(
        id="index-copy-up-keeps-hardlink-identity",
        title="Copying up one name of a lower hard link: broken link, or one inode",
        rule="catalogue §2.10 [D index][V t7]; copy_up.c `ovl_need_index`",
        versus=ON,
        spec=LINKED,
        program=[ops.Chmod(b"/a", 0o600), ops.Lstat(b"/a"), ops.Lstat(b"/b")],
        expect={
            "results": ["ok", "mode=0600 nlink=1 ino=#3", "mode=0644 nlink=3 ino=#2"],
            "upper": {b"/a": "file -origin"},
        },
        expect_versus={
            "results": ["ok", "mode=0600 nlink=3 ino=#2", "mode=0600 nlink=3 ino=#2"],
            "upper": {b"/a": "file origin", b"/b": "absent"},
        },
        notes="With the index, the copy goes to `w/index/` first and is linked into the "
        "upper layer; `b` and `c`, still lower, find it there and show the same inode, mode "
        "and data.",
        features=("hardlinks-index-on", "hardlinks-index-off", "origin"),
        show_inodes=True,
    ),
    Example(
        id="index-writes-reach-every-alias",
        title="Writing through one name of a lower hard link",
        rule="catalogue §2.10 [V t7]",
        versus=ON,
        spec=LINKED,
        program=[ops.Open(b"/a", os.O_WRONLY | os.O_TRUNC), ops.Write(0, b"new"), ops.Close(0)],
        expect={"results": ["fd0", "3", "ok"], "merged": {b"/b": "file data=old"}},
        expect_versus={
            "results": ["fd0", "3", "ok"],
            "merged": {b"/b": "file data=new", b"/c": "file data=new"},
        },
        features=("hardlinks-index-on", "hardlinks-index-off"),
    ),
    Example(
        id="index-exact-nlink-after-unlink",
        title="Link counts after removing one name of a lower hard link",
        rule="catalogue §2.10 [V t7] (index: `trusted.overlay.nlink` bookkeeping)",
        versus=ON,
        spec=LINKED,
        program=[ops.Unlink(b"/b"), ops.Lstat(b"/a"), ops.Link(b"/a", b"/d"), ops.Lstat(b"/c")],
        expect={"results": ["ok", "nlink=3", "ok", "nlink=3"]},
        expect_versus={"results": ["ok", "nlink=2", "ok", "nlink=3"]},
        notes="Without the index the lower names keep the lower file's count (3) whatever "
        "happens. With it the count is exact: 3, 2 after `rm`, 3 after `ln`.",
        features=("hardlinks-index-on", "hardlinks-index-off"),
    ),
    Example(
        id="index-rename-between-aliases-is-noop",
        title="Renaming one lower hard link onto another",
        rule="catalogue §2.9 hardlink pitfall [V t24]",
        versus=ON,
        spec=layers([reg(b"h1", b"x"), hardlink(b"h2", b"h1")]),
        program=[ops.Rename(b"/h1", b"/h2")],
        expect={"results": ["ok"], "merged": {b"/h1": "absent"}, "upper": {b"/h1": "whiteout"}},
        expect_versus={
            "results": ["ok"],
            "merged": {b"/h1": "file", b"/h2": "file"},
            "upper": {b"/h1": "absent", b"/h2": "absent"},
        },
        notes="With the index both names are one overlay inode, and renaming a name onto "
        "another name of the same inode does nothing, as on any filesystem.",
        features=("rename-hardlink-aliases", "hardlinks-index-on"),
    ),
    Example(
        id="mkdir-in-merged-parent-opaque-with-index",
        title="index=on makes a new directory in a merged parent opaque",
        rule="catalogue §2.6 [V t31]; dir.c `ovl_create_upper` (`!ovl_allow_offline_changes`)",
        versus=ON,
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[dir_(b"d")]),
        program=[ops.Mkdir(b"/d/n")],
        expect={"results": ["ok"], "upper": {b"/d/n": "dir -opaque"}},
        expect_versus={"results": ["ok"], "upper": {b"/d/n": "dir opaque=y"}},
        features=("mkdir-merged-parent",),
    ),
    Example(
        id="index-link-after-copy-up",
        title="Linking a copied-up name of a lower hard link",
        rule="catalogue §2.10 [V t7]",
        versus=ON,
        spec=layers([reg(b"a", b"x"), hardlink(b"b", b"a")]),
        program=[ops.Link(b"/a", b"/n"), ops.Lstat(b"/n"), ops.Lstat(b"/b")],
        expect={"results": ["ok", "nlink=2 ino=#3", "nlink=2 ino=#2"]},
        expect_versus={"results": ["ok", "nlink=3 ino=#2", "nlink=3 ino=#2"]},
        notes="Without the index `a` and `n` are a new pair; `b` is left on its own with a "
        "stale count. With it all three names are one inode with three links.",
        features=("hardlinks-index-on", "hardlinks-index-off"),
        show_inodes=True,
    ),
    Example(
        id="index-upper-root-origin",
        title="index=on records the lower root in the upper root at mount",
        rule="catalogue §0 (side effects of mounting) [V t7]; super.c `ovl_verify_origin`",
        versus=ON,
        spec=layers([reg(b"a", b"x")]),
        program=[ops.Lstat(b"/a")],
        expect={"results": ["file"], "upper": {b"/": "dir -origin"}},
        expect_versus={"results": ["file"], "upper": {b"/": "dir origin"}},
        notes="A later mount of the same upper layer over other lower layers fails with "
        "ESTALE (not shown: a failing mount is not an example).",
        features=("origin",),
    ),
    # difftest promote: new examples go above this line
]
