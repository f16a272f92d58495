"""Nested overlays: the lower layers mounted as a read-only overlay of their own, which is
the outer overlay's only lower layer (model.nested; fs/overlayfs xattrs.c escaping,
``ovl_can_decode_fh``, readdir.c ``ovl_check_whiteouts``)."""

from __future__ import annotations

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, reg, whiteout

EXAMPLES: list[Example] = [
    Example(
        id="nested-escaped-xattr-is-the-outers",
        title="An escaped xattr of an inner layer is a private xattr of the outer overlay",
        rule="xattrs.c: the inner overlay removes one `overlay.` prefix; the outer then "
        "hides the name as its own",
        config="nested",
        versus="default",
        spec=layers([reg(b"f", b"x", xattrs={b"trusted.overlay.overlay.foo": b"1",
                                            b"user.k": b"v"})], [dir_(b"d")]),
        program=[ops.Listxattr(b"/f"), ops.Getxattr(b"/f", b"trusted.overlay.foo")],
        expect={"results": ["user.k", "ENODATA"]},
        expect_versus={"results": ["trusted.overlay.foo user.k", "1"]},
        notes="Escaping is how the layers of a nested overlay carry the outer overlay's "
        "marks: the inner shows `trusted.overlay.overlay.foo` as `trusted.overlay.foo`.",
        features=("nested", "xattr-privacy"),
    ),
    Example(
        id="nested-merged-dir-one-link",
        title="A directory the inner overlay merges has one link in the outer overlay",
        rule="catalogue §2.1 (a merged directory reports one link), seen through getattr",
        config="nested",
        spec=layers([dir_(b"d"), dir_(b"d/s"), dir_(b"e"), dir_(b"e/s")], [dir_(b"d")]),
        program=[ops.Lstat(b"/d"), ops.Lstat(b"/e")],
        expect={"results": ["dir nlink=1", "dir nlink=3"]},
        features=("nested",),
    ),
    Example(
        id="nested-listed-whiteout",
        title="A whiteout the inner overlay lists is listed by the outer one, and never found",
        rule="catalogue §5 (a directory that is not merged is read as it is); readdir.c: "
        "the whiteout check of a merged directory is a lookup, which finds nothing",
        config="nested",
        spec=layers([dir_(b"e"), reg(b"e/f", b"x"), whiteout(b"e/w")], [dir_(b"d")]),
        program=[
            ops.Readdir(b"/e"),
            ops.Lstat(b"/e/w"),
            ops.Mkdir(b"/e/new"),
            ops.Readdir(b"/e"),
        ],
        expect={"results": [". .. f w", "ENOENT", "ok", ". .. f new/ w"]},
        notes="In the inner overlay `e` comes from one layer only, so its listing is the "
        "layer's own, whiteout included; the outer overlay lists what its lower lists.",
        features=("nested", "whiteout-on-remove"),
    ),
    Example(
        id="nested-copy-up-empty-origin",
        title="A copy-up from an inner overlay records an empty origin",
        rule="ovl_can_decode_fh: an overlay without nfs_export=on decodes no file handle, "
        "so the outer one mounts with no file handles (index=off) and writes a null handle",
        config="nested",
        spec=layers([dir_(b"d"), reg(b"d/a", b"x")], [dir_(b"d")]),
        program=[ops.Chmod(b"/d/a", 0o600), ops.Remount(), ops.Lstat(b"/d/a")],
        expect={"results": ["ok", "ok", "file size=1"],
                "upper": {b"/d/a": "file origin"}},
        notes="Until the next mount the copy keeps the lower file's inode number; after it, "
        "with nothing to follow, it has the upper file's.",
        features=("nested", "copy-up-triggers"),
    ),
    Example(
        id="nested-unlink-whites-out-the-inner-name",
        title="Removing a name the inner overlay provides leaves a whiteout in the outer upper",
        rule="catalogue §2.7: the inner overlay is a lower layer like any other",
        config="nested",
        spec=layers([dir_(b"d"), reg(b"d/a", b"x")], [dir_(b"d"), reg(b"d/b", b"y")]),
        program=[ops.Unlink(b"/d/b"), ops.Readdir(b"/d"), ops.Lstat(b"/d/b")],
        expect={"results": ["ok", ". .. a", "ENOENT"], "upper": {b"/d/b": "whiteout"}},
        features=("nested", "whiteout-on-remove"),
    ),
    # difftest promote: new examples go above this line
]
