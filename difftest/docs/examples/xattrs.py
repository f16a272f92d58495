"""Extended attributes (catalogue §2.13; xattrs.c ``ovl_xattr_get``, ``ovl_listxattr``,
escaping in ``ovl_xattr_escape``)."""

from __future__ import annotations

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, opaque, reg

OPAQUE = b"trusted.overlay.opaque"

EXAMPLES: list[Example] = [
    Example(
        id="private-xattrs-hidden",
        title="The overlay's own xattrs are hidden",
        rule="catalogue §2.13 [H v2][V t1, t9]; xattrs.c `ovl_is_private_xattr`",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[opaque(b"d")]),
        program=[ops.Listxattr(b"/d"), ops.Getxattr(b"/d", OPAQUE)],
        expect={"results": ["(none)", "ENODATA"], "upper": {b"/d": "dir opaque=y"}},
        notes="The upper `d` carries `trusted.overlay.opaque=y` on disk, but through the "
        "overlay it has no xattrs at all.",
        features=("xattr-privacy",),
    ),
    Example(
        id="setting-overlay-xattr-is-escaped",
        title="Setting a trusted.overlay.* xattr through the overlay stores it escaped",
        rule="catalogue §2.13 (6.7+) [V t9]; xattrs.c `ovl_xattr_escape`",
        spec=layers([reg(b"f", b"x")]),
        program=[
            ops.Setxattr(b"/f", b"trusted.overlay.opaque", b"y"),
            ops.Listxattr(b"/f"),
            ops.Getxattr(b"/f", b"trusted.overlay.opaque"),
        ],
        expect={
            "results": ["ok", "trusted.overlay.opaque", "y"],
            "upper": {b"/f": "file trusted.overlay.overlay.opaque=y origin"},
        },
        notes="The upper layer gets `trusted.overlay.overlay.opaque`, which means nothing to "
        "this overlay; an overlay that uses this one as a lower layer would read it as "
        "`trusted.overlay.opaque`. This is how overlays nest.",
        features=("xattr-privacy",),
    ),
    Example(
        id="escaped-lower-xattr-shown-unescaped",
        title="An escaped xattr in a lower layer is shown with one prefix removed",
        rule="catalogue §2.13 [V t9]",
        spec=layers([reg(b"f", b"x", xattrs={b"trusted.overlay.overlay.foo": b"1"})]),
        program=[ops.Listxattr(b"/f"), ops.Getxattr(b"/f", b"trusted.overlay.foo")],
        expect={"results": ["trusted.overlay.foo", "1"], "upper": {b"/f": "absent"}},
        features=("xattr-privacy",),
    ),
    Example(
        id="setxattr-copies-up",
        title="Setting an xattr copies the file up",
        rule="catalogue §2.13 [V t9]",
        spec=layers([reg(b"f", b"x", xattrs={b"user.old": b"1"})]),
        program=[ops.Setxattr(b"/f", b"user.new", b"2")],
        expect={"results": ["ok"], "upper": {b"/f": "file user.old=1 user.new=2 origin"}},
        notes="The copy keeps the xattrs it had and then gets the new one.",
        features=("copy-up-triggers", "copy-up-keeps"),
    ),
    Example(
        id="setxattr-on-dir-copies-only-the-dir",
        title="Setting an xattr on a lower directory copies only the directory up",
        rule="catalogue §2.12, §2.13 [V t19]",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")]),
        program=[ops.Setxattr(b"/d", b"user.tag", b"1"), ops.Lstat(b"/d")],
        expect={
            "results": ["ok", "dir nlink=1"],
            "upper": {b"/d": "dir origin user.tag=1", b"/d/f": "absent"},
        },
        notes="The lower-only `d` reported its real link count (2) before; with an upper "
        "directory it is merged and reports 1.",
        features=("copy-up-triggers", "merged-dir-nlink"),
    ),
    Example(
        id="removexattr-missing-does-not-copy-up",
        title="Removing an xattr that does not exist fails without copying up",
        rule="catalogue §2.13 [V t9]; xattrs.c `ovl_xattr_set` (checks before copy-up)",
        spec=layers([reg(b"f", b"x", xattrs={b"user.a": b"1"})]),
        program=[ops.Removexattr(b"/f", b"user.none"), ops.Removexattr(b"/f", b"user.a")],
        expect={
            "results": ["ENODATA", "ok"],
            "upper": {b"/f": "file origin -user.a"},
            "merged": {b"/f": "file -user.a"},
        },
        notes="Removing `user.a`, which exists, copies `f` up and removes it from the copy.",
        features=("no-copy-up", "copy-up-triggers"),
    ),
    Example(
        id="xattr-create-and-replace-flags",
        title="XATTR_CREATE and XATTR_REPLACE behave as on any filesystem",
        rule="catalogue §2.13 [V t9]",
        spec=layers([reg(b"f", b"x", xattrs={b"user.a": b"1"})]),
        program=[
            ops.Setxattr(b"/f", b"user.a", b"2", ops.XATTR_CREATE),
            ops.Setxattr(b"/f", b"user.b", b"2", ops.XATTR_REPLACE),
            ops.Getxattr(b"/f", b"user.b"),
        ],
        expect={"results": ["EEXIST", "ENODATA", "ENODATA"]},
    ),
    Example(
        id="merged-dir-shows-upper-xattrs-only",
        title="A merged directory shows only the upper directory's xattrs",
        rule="catalogue §2.13 [V t9]",
        spec=layers(
            [
                dir_(b"m", xattrs={b"user.low": b"1"}),
                reg(b"m/f", b"x"),
                dir_(b"lo", xattrs={b"user.low": b"2"}),
            ],
            upper=[dir_(b"m", xattrs={b"user.up": b"3"})],
        ),
        program=[ops.Listxattr(b"/m"), ops.Listxattr(b"/lo"), ops.Getxattr(b"/m", b"user.low")],
        expect={"results": ["user.up", "user.low", "ENODATA"]},
        notes="`lo` exists only in `l0` and shows its own xattrs.",
        features=("merged-dir-metadata",),
    ),
    # difftest promote: new examples go above this line
]
