"""Rename and redirects under the default options (catalogue §2.9; dir.c ``ovl_rename``)."""

from __future__ import annotations

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, reg, whiteout

NOREPLACE, EXCHANGE, WHITEOUT = ops.RENAME_NOREPLACE, ops.RENAME_EXCHANGE, ops.RENAME_WHITEOUT

EXAMPLES: list[Example] = [
    Example(
        id="rename-pure-upper-file",
        title="Renaming a file only the upper layer has leaves no whiteout",
        rule="catalogue §2.9 table (pure-upper file)",
        spec=layers([reg(b"other", b"l")], upper=[reg(b"a", b"u")]),
        program=[ops.Rename(b"/a", b"/b")],
        expect={"results": ["ok"], "upper": {b"/a": "absent", b"/b": "file data=u -origin"}},
    ),
    Example(
        id="rename-lower-file",
        title="Renaming a lower file copies it up and whites out the old name",
        rule="catalogue §2.9 rules 4-5; dir.c `ovl_rename`",
        spec=layers([reg(b"a", b"lower")]),
        program=[ops.Rename(b"/a", b"/b")],
        expect={
            "results": ["ok"],
            "upper": {b"/a": "whiteout", b"/b": "file data=lower origin", b"/": "dir impure"},
        },
        notes="The copy keeps its origin, so `b` still reports the lower file's inode number.",
        features=("whiteout-on-remove", "copy-up-triggers"),
    ),
    Example(
        id="rename-lower-file-across-dirs",
        title="Moving a lower file to another directory copies up both parents",
        rule="catalogue §2.9 rules 4, 5 and 9",
        spec=layers([dir_(b"src"), reg(b"src/f", b"x"), dir_(b"dst"), reg(b"dst/g", b"y")]),
        program=[ops.Rename(b"/src/f", b"/dst/f")],
        expect={
            "results": ["ok"],
            "upper": {
                b"/src": "dir origin",
                b"/src/f": "whiteout",
                b"/dst": "dir origin impure",
                b"/dst/f": "file origin",
                b"/dst/g": "absent",
            },
        },
        features=("impure", "origin"),
    ),
    Example(
        id="rename-lower-dir-exdev",
        title="Renaming a lower directory fails with EXDEV and changes nothing",
        rule="catalogue §2.9 rule 2 [V t4]; dir.c `ovl_rename` (`ovl_can_move`)",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")]),
        program=[ops.Rename(b"/d", b"/e")],
        expect={"results": ["EXDEV"], "upper": {b"/d": "absent", b"/e": "absent"}},
        notes="The default `redirect_dir=follow` never writes redirects, and without one the "
        "renamed directory could not find its lower contents. The check runs before any "
        "copy-up. `mv` falls back to copying the tree when it sees EXDEV.",
        features=("dir-rename-default",),
    ),
    Example(
        id="rename-merged-dir-exdev",
        title="Renaming a merged directory fails with EXDEV too",
        rule="catalogue §2.9 rule 2 [V t4, t23]",
        spec=layers(
            [dir_(b"d"), reg(b"d/f", b"x")],
            upper=[dir_(b"d"), reg(b"d/g", b"y"), dir_(b"full"), reg(b"full/h", b"z")],
        ),
        program=[ops.Rename(b"/d", b"/e"), ops.Rename(b"/d", b"/full")],
        expect={"results": ["EXDEV", "EXDEV"], "upper": {b"/e": "absent", b"/full/h": "file"}},
        notes="The second rename would fail with ENOTEMPTY on a plain filesystem (`full` is "
        "not empty), but overlayfs answers EXDEV first.",
        features=("dir-rename-default",),
    ),
    Example(
        id="rename-pure-upper-dir-into-merged-parent-gets-opaque",
        title="A pure upper directory moved into a merged directory becomes opaque",
        rule="catalogue §2.9 rule 7 [V t4]; dir.c `ovl_rename` (`ovl_set_opaque_xerr`)",
        spec=layers(
            [dir_(b"m"), reg(b"m/f", b"x")], upper=[dir_(b"m"), dir_(b"new"), reg(b"new/g", b"y")]
        ),
        program=[ops.Rename(b"/new", b"/m/new"), ops.Readdir(b"/m/new")],
        expect={"results": ["ok", ". .. g"], "upper": {b"/m/new": "dir opaque=y"}},
        notes="A directory that only the upper layer has can always be moved. In a merged "
        "parent it is marked opaque so that a lower `m/new` (if one appears offline) is not "
        "merged into it.",
        features=("dir-rename-default",),
    ),
    Example(
        id="rename-pure-upper-dir-over-lower-dirs",
        title="A pure upper directory may replace an empty lower directory, not a full one",
        rule="catalogue §2.9 rule 3 and table [V t4 #8]",
        spec=layers(
            [dir_(b"empty"), dir_(b"full"), reg(b"full/f", b"x")],
            upper=[dir_(b"a"), dir_(b"b")],
        ),
        program=[ops.Rename(b"/a", b"/empty"), ops.Rename(b"/b", b"/full")],
        expect={
            "results": ["ok", "ENOTEMPTY"],
            "upper": {b"/empty": "dir opaque=y", b"/b": "dir", b"/full": "absent"},
        },
        notes="Emptiness is judged on the merged view, as for rmdir. The replacement is "
        "opaque, so the old lower directory stays hidden.",
        features=("dir-rename-default", "rmdir-not-empty"),
    ),
    Example(
        id="rename-noreplace",
        title="RENAME_NOREPLACE refuses an existing name but not a whited-out one",
        rule="catalogue §2.9 [V t4, t23]",
        spec=layers(
            [reg(b"a", b"a"), reg(b"b", b"b"), reg(b"gone", b"g")], upper=[whiteout(b"gone")]
        ),
        program=[ops.Rename(b"/a", b"/b", NOREPLACE), ops.Rename(b"/a", b"/gone", NOREPLACE)],
        expect={
            "results": ["EEXIST", "ok"],
            "upper": {b"/a": "whiteout", b"/gone": "file data=a origin", b"/b": "absent"},
        },
        features=("rename-noreplace",),
    ),
    Example(
        id="rename-exchange-lower-files",
        title="RENAME_EXCHANGE swaps two lower files through their copies",
        rule="catalogue §2.9 rule 8 [V t4 #14]",
        spec=layers([reg(b"a", b"A"), reg(b"b", b"B")]),
        program=[ops.Rename(b"/a", b"/b", EXCHANGE)],
        expect={
            "results": ["ok"],
            "merged": {b"/a": "file data=B", b"/b": "file data=A"},
            "upper": {b"/a": "file data=B origin", b"/b": "file data=A origin"},
        },
        notes="Both names stay in use, so no whiteout is needed.",
        features=("rename-exchange",),
    ),
    Example(
        id="rename-exchange-with-lower-dir-exdev",
        title="RENAME_EXCHANGE with a lower directory is EXDEV",
        rule="catalogue §2.9 rule 2 (applies to the target when exchanging) [V t23]",
        spec=layers([reg(b"f", b"x"), dir_(b"d")]),
        program=[ops.Rename(b"/f", b"/d", EXCHANGE), ops.Rename(b"/f", b"/missing", EXCHANGE)],
        expect={"results": ["EXDEV", "ENOENT"], "upper": {b"/f": "absent"}},
        features=("rename-exchange", "dir-rename-default"),
    ),
    Example(
        id="rename-whiteout-flag-einval",
        title="RENAME_WHITEOUT is refused",
        rule="catalogue §2.9 rule 1 [V t4]; dir.c `ovl_rename` (flags check)",
        spec=layers([reg(b"a", b"x")]),
        program=[ops.Rename(b"/a", b"/b", WHITEOUT)],
        expect={"results": ["EINVAL"], "upper": {b"/a": "absent"}},
        notes="Overlayfs uses RENAME_WHITEOUT on the upper filesystem itself, but does not "
        "offer it to its callers.",
        features=("rename-whiteout",),
    ),
    Example(
        id="rename-vfs-errors",
        title="The VFS checks come first",
        rule="catalogue §2.9 table [V t4]",
        spec=layers([], upper=[dir_(b"d"), dir_(b"d/sub"), reg(b"f", b"x"), dir_(b"e")]),
        program=[
            ops.Rename(b"/d", b"/d/sub/x"),
            ops.Rename(b"/f", b"/e"),
            ops.Rename(b"/e", b"/f"),
            ops.Rename(b"/f", b"/f"),
        ],
        expect={"results": ["EINVAL", "EISDIR", "ENOTDIR", "ok"]},
        notes="A directory into its own subdirectory, a file over a directory, a directory "
        "over a file, and a rename onto itself (a no-op).",
    ),
    # difftest promote: new examples go above this line
]
