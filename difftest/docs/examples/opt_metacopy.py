"""Option ``metacopy=on`` (catalogue §2.9 rule 6, §2.10, §2.12, §4, §5; copy_up.c
``ovl_need_meta_copy_up``, ``ovl_copy_up_meta_inode_data``; dir.c ``ovl_set_redirect``,
``ovl_need_absolute_redirect``; namei.c ``ovl_lookup``)."""

from __future__ import annotations

import os

from difftest import ops
from difftest.docs.schema import Example, dir_, hardlink, layers, metacopy, reg

ON = "metacopy=on"

EXAMPLES: list[Example] = [
    Example(
        id="chmod-copies-metadata-only",
        title="chmod of a lower file copies up its metadata only",
        rule="catalogue §2.12, §4 [V t8]; copy_up.c `ovl_need_meta_copy_up`",
        versus=ON,
        spec=layers([reg(b"f", b"hello")]),
        program=[ops.Chmod(b"/f", 0o600), ops.Stat(b"/f")],
        expect={"results": ["ok", "file mode=0600 size=5"],
                "upper": {b"/f": "file origin -metacopy data=hello"}},
        expect_versus={"results": ["ok", "file mode=0600 size=5"],
                       "upper": {b"/f": "file origin metacopy"},
                       "merged": {b"/f": "file data=hello"}},
        notes="The upper file has the lower file's size but no data (a hole), and "
        "`trusted.overlay.metacopy`; reads take the data from the lower file. Images "
        "whose files change owner or mode but not content cost no data copy.",
        features=("metacopy", "copy-up-triggers", "origin"),
    ),
    Example(
        id="write-open-copies-data",
        title="Opening a metacopy file for writing copies its data",
        rule="catalogue §4 [V t8]; copy_up.c `ovl_copy_up_meta_inode_data`",
        config=ON,
        spec=layers([reg(b"f", b"hello")]),
        program=[ops.Chmod(b"/f", 0o600), ops.Open(b"/f", os.O_WRONLY | os.O_APPEND),
                 ops.Write(0, b"!"), ops.Close(0)],
        expect={"results": ["ok", "fd0", "1", "ok"],
                "upper": {b"/f": "file origin -metacopy data=hello!"}},
        notes="The data is copied into the same upper file (not through the workdir) and the "
        "metacopy xattr removed. That write moves the file's mtime, which a full copy-up "
        "keeps: measured, an open for writing without any write changes the mtime of a "
        "metacopy file with data (an empty or all-hole file keeps it).",
        features=("metacopy", "copy-up-triggers"),
    ),
    Example(
        id="truncate-copies-data",
        title="truncate always copies the data of a metacopy file",
        rule="catalogue §2.4 [V t8]: truncate copies the data up",
        config=ON,
        spec=layers([reg(b"f", b"hello"), reg(b"g", b"world")]),
        program=[ops.Chmod(b"/f", 0o600), ops.Truncate(b"/f", 3), ops.Truncate(b"/g", 5)],
        expect={"results": ["ok", "ok", "ok"],
                "upper": {b"/f": "file -metacopy data=hel", b"/g": "file -metacopy data=world"}},
        features=("metacopy", "copy-up-triggers"),
    ),
    Example(
        id="rename-metacopy-sets-redirect",
        title="A renamed lower file keeps its data in the lower layer through a redirect",
        rule="catalogue §2.9 rule 6 [V t8]; dir.c `ovl_set_redirect`",
        versus=ON,
        spec=layers([dir_(b"d"), reg(b"d/f", b"x"), dir_(b"e")]),
        program=[ops.Rename(b"/d/f", b"/d/g"), ops.Rename(b"/d/g", b"/e/h")],
        expect={"results": ["ok", "ok"],
                "upper": {b"/e/h": "file origin -metacopy -redirect", b"/d/f": "whiteout"}},
        expect_versus={"results": ["ok", "ok"],
                       "upper": {b"/e/h": "file origin metacopy redirect=/d/f",
                                 b"/d/f": "whiteout"},
                       "merged": {b"/e/h": "file data=x"}},
        notes="The first rename copies the metadata up and records the old name, `f`; the "
        "move to another directory needs an absolute redirect, built from the relative "
        "one: `/d/f`. Without metacopy the data is copied and no redirect is needed.",
        features=("metacopy", "copy-up-triggers"),
    ),
    Example(
        id="link-metacopy-absolute-redirect",
        title="A linked metacopy file gets an absolute redirect, shared by its links",
        rule="catalogue §2.10 [V t8]; dir.c `ovl_link` (`ovl_set_link_redirect`)",
        config=ON,
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")]),
        program=[ops.Link(b"/d/f", b"/g"), ops.Stat(b"/g")],
        expect={"results": ["ok", "file size=1 nlink=2"],
                "upper": {b"/d/f": "file metacopy redirect=/d/f",
                          b"/g": "file metacopy redirect=/d/f"}},
        notes="The two upper names are one upper inode, so both carry the redirect; it must "
        "be absolute because the links may sit in different directories.",
        features=("metacopy", "hardlinks-index-off"),
    ),
    Example(
        id="rename-lower-hardlink-absolute-redirect",
        title="A lower hard link renamed in its own directory gets an absolute redirect",
        rule="catalogue §2.9 rule 6 [V t8]; dir.c `ovl_need_absolute_redirect`",
        config=ON,
        spec=layers([reg(b"a", b"x"), hardlink(b"b", b"a")]),
        program=[ops.Rename(b"/b", b"/c"), ops.Stat(b"/c")],
        expect={"results": ["ok", "file size=1"],
                "upper": {b"/c": "file metacopy -origin redirect=/b", b"/b": "whiteout"}},
        notes="For a non-directory whose lower file is a hard link the kernel always writes "
        "absolute redirects, since other links copied up later may land elsewhere. With "
        "index=off the copy of a lower hard link gets no origin.",
        features=("metacopy", "hardlinks-index-off"),
    ),
    Example(
        id="data-only-layer-supplies-data",
        title="A lower metacopy file takes its data from a data-only layer",
        rule="catalogue §4 (data-only lower `L0::D1`) [V t13, t20]; namei.c "
        "`ovl_lookup_data_layers`",
        spec=layers([metacopy(b"f", 5, b"/objs/1")],
                    data=[[dir_(b"objs"), reg(b"objs/1", b"hello")]]),
        program=[ops.Readdir(b"/"), ops.Open(b"/f", os.O_RDONLY), ops.Read(0, 100),
                 ops.Stat(b"/objs")],
        expect={"results": [". .. f", "fd0", "hello", "ENOENT"],
                "merged": {b"/f": "file data=hello"}},
        notes="This is how composefs builds images: `l0` holds the tree with metadata only, "
        "each file pointing with an absolute redirect into a data-only layer, whose own "
        "names never show in the merged view. No `metacopy=on` is needed to read it.",
        features=("data-only-layers", "metacopy"),
    ),
    Example(
        id="data-only-copy-up",
        title="Copying up a file of a data-only image copies the data (or only the metadata)",
        rule="catalogue §4 [V t20]; copy_up.c (the data comes from the lower data file)",
        versus=ON,
        spec=layers([metacopy(b"f", 5, b"/objs/1")],
                    data=[[dir_(b"objs"), reg(b"objs/1", b"hello")]]),
        program=[ops.Chmod(b"/f", 0o600)],
        expect={"results": ["ok"], "upper": {b"/f": "file -metacopy data=hello"}},
        expect_versus={"results": ["ok"], "upper": {b"/f": "file metacopy"},
                       "merged": {b"/f": "file data=hello"}},
        notes="Without metacopy=on the copy-up reads the data through the redirect; with it "
        "the upper copy is again metadata only, and its lookup goes through the lower "
        "metacopy file to the data-only layer.",
        features=("data-only-layers", "metacopy", "copy-up-triggers"),
    ),
    # difftest promote: new examples go above this line
]
