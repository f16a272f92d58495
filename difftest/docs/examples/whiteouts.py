"""Whiteouts and opaque directories (catalogue §1, §2.5-§2.8, §5; dir.c ``ovl_do_remove``,
``ovl_create_over_whiteout``)."""

from __future__ import annotations

import os
import stat

from difftest import ops
from difftest.docs.schema import (
    Example,
    dir_,
    layers,
    opaque,
    reg,
    whiteout,
    xwhiteout,
)

EXAMPLES: list[Example] = [
    Example(
        id="unlink-lower-file-leaves-whiteout",
        title="Removing a lower file leaves a whiteout",
        rule="catalogue §2.7; dir.c `ovl_do_remove`",
        spec=layers([reg(b"a", b"lower")]),
        program=[ops.Unlink(b"/a"), ops.Lstat(b"/a")],
        expect={
            "results": ["ok", "ENOENT"],
            "merged": {b"/a": "absent"},
            "upper": {b"/a": "whiteout"},
        },
        notes="The lower layer keeps `a`; the whiteout in the upper layer hides it.",
        features=("whiteout-on-remove",),
    ),
    Example(
        id="unlink-pure-upper-file-leaves-nothing",
        title="Removing a file only the upper layer has leaves no trace",
        rule="catalogue §2.7; dir.c `ovl_do_remove` (no lower entry: plain unlink)",
        spec=layers([reg(b"b", b"lower")], upper=[reg(b"a", b"upper")]),
        program=[ops.Unlink(b"/a")],
        expect={"results": ["ok"], "upper": {b"/a": "absent"}},
        notes="No lower layer has `a`, so there is nothing to hide and no whiteout is made.",
        features=("no-whiteout-pure-upper",),
    ),
    Example(
        id="unlink-copied-up-file-leaves-whiteout",
        title="Removing a copied-up file replaces the copy with a whiteout",
        rule="catalogue §2.7 (`lower_positive`); dir.c `ovl_do_remove`",
        spec=layers([reg(b"a", b"lower")], upper=[reg(b"a", b"changed")]),
        program=[ops.Unlink(b"/a")],
        expect={"results": ["ok"], "upper": {b"/a": "whiteout"}},
        notes="The upper copy goes, and a whiteout takes its place because `l0` still has `a`.",
        features=("whiteout-on-remove",),
    ),
    Example(
        id="unlink-in-lower-dir-copies-parent-up",
        title="Removing a name inside a lower directory copies the directory up first",
        rule="catalogue §2.7 (parent chain copied up); copy_up.c `ovl_copy_up`",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x"), reg(b"d/g", b"y")]),
        program=[ops.Unlink(b"/d/f")],
        expect={
            "results": ["ok"],
            "upper": {b"/d": "dir origin -opaque", b"/d/f": "whiteout", b"/d/g": "absent"},
            "merged": {b"/d/g": "file data=y"},
        },
        notes="Only the directory itself is copied up, with an origin and without its "
        "contents; `d/g` still comes from the lower layer.",
        features=("whiteout-on-remove", "origin"),
    ),
    Example(
        id="rmdir-lower-dir-leaves-whiteout",
        title="Removing a lower directory leaves a whiteout",
        rule="catalogue §2.8; dir.c `ovl_do_remove`",
        spec=layers([dir_(b"d")]),
        program=[ops.Rmdir(b"/d")],
        expect={"results": ["ok"], "upper": {b"/d": "whiteout"}, "merged": {b"/d": "absent"}},
        features=("whiteout-on-remove",),
    ),
    Example(
        id="rmdir-merged-dir-not-empty",
        title="A merged directory is not empty while any layer shows an entry",
        rule="catalogue §2.8; readdir.c `ovl_check_empty_dir`",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[dir_(b"d")]),
        program=[ops.Rmdir(b"/d")],
        expect={"results": ["ENOTEMPTY"], "upper": {b"/d": "dir -opaque", b"/d/f": "absent"}},
        notes="The upper `d` is empty on disk, but the merged view of `d` holds `f` from "
        "`l0`. The check runs before anything is copied up or removed.",
        features=("rmdir-not-empty",),
    ),
    Example(
        id="rmdir-dir-holding-only-whiteouts",
        title="A merged directory whose entries are all whited out can be removed",
        rule="catalogue §2.8; dir.c `ovl_remove_and_whiteout`, `ovl_clear_empty`",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")]),
        program=[ops.Unlink(b"/d/f"), ops.Rmdir(b"/d")],
        expect={
            "results": ["ok", "ok"],
            "upper": {b"/d": "whiteout", b"/d/f": "absent"},
            "merged": {b"/d": "absent"},
        },
        notes="After `rm`, the upper `d` holds only the whiteout of `f`, which does not "
        "count. `rmdir` replaces the whole directory with one whiteout; the inner whiteout "
        "goes with it.",
        features=("rmdir-only-whiteouts", "whiteout-on-remove"),
    ),
    Example(
        id="mkdir-over-whiteout-is-opaque",
        title="A directory created over a whiteout is opaque",
        rule="catalogue §2.6; dir.c `ovl_create_over_whiteout`, `ovl_set_opaque`",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")]),
        program=[ops.Unlink(b"/d/f"), ops.Rmdir(b"/d"), ops.Mkdir(b"/d"), ops.Readdir(b"/d")],
        expect={
            "results": ["ok", "ok", "ok", ". .."],
            "upper": {b"/d": "dir opaque=y -origin"},
        },
        notes="Without `opaque=y` the new `d` would merge with `l0`'s `d` and `f` would come back.",
        features=("mkdir-over-whiteout",),
    ),
    Example(
        id="mkdir-over-file-whiteout-is-opaque",
        title="A directory created where a file was whited out is opaque too",
        rule="catalogue §2.6 (whatever the whiteout used to hide)",
        spec=layers([reg(b"a", b"file")]),
        program=[ops.Unlink(b"/a"), ops.Mkdir(b"/a")],
        expect={"results": ["ok", "ok"], "upper": {b"/a": "dir opaque=y"}},
        features=("mkdir-over-whiteout",),
    ),
    Example(
        id="create-over-whiteout-replaces-it",
        title="A file created over a whiteout replaces it and has no origin",
        rule="catalogue §2.5; dir.c `ovl_create_over_whiteout`",
        spec=layers([reg(b"a", b"old")]),
        program=[
            ops.Unlink(b"/a"),
            ops.Open(b"/a", os.O_WRONLY | os.O_CREAT | os.O_EXCL),
            ops.Write(0, b"new"),
            ops.Close(0),
        ],
        expect={
            "results": ["ok", "fd0", "3", "ok"],
            "upper": {b"/a": "file data=new -origin"},
            "merged": {b"/a": "file data=new"},
        },
        notes="The new file is built in the workdir and renamed over the whiteout. It is a "
        "new object: nothing links it to the lower `a`.",
    ),
    Example(
        id="mkdir-in-merged-parent-not-opaque",
        title="A new directory in a merged directory is not opaque by default",
        rule="catalogue §2.6; dir.c `ovl_create_upper` (`ovl_allow_offline_changes`)",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[dir_(b"d")]),
        program=[ops.Mkdir(b"/d/n")],
        expect={"results": ["ok"], "upper": {b"/d/n": "dir -opaque"}},
        notes="No lower layer has `d/n`, so there is nothing to hide. With `redirect_dir=on` "
        "or `index=on` the new directory is made opaque anyway (see the option pages).",
        features=("mkdir-merged-parent",),
    ),
    Example(
        id="rmdir-opaque-dir-becomes-whiteout-again",
        title="Removing a directory created over a whiteout leaves a whiteout again",
        rule="catalogue §2.8 [V t28]; dir.c `ovl_do_remove`",
        spec=layers([dir_(b"d")]),
        program=[ops.Rmdir(b"/d"), ops.Mkdir(b"/d"), ops.Rmdir(b"/d")],
        expect={"results": ["ok", "ok", "ok"], "upper": {b"/d": "whiteout"}},
        notes="The lower `d` is still there to be hidden.",
        features=("whiteout-on-remove", "mkdir-over-whiteout"),
    ),
    Example(
        id="opaque-only-value-y",
        title="Only the value y makes a directory opaque",
        rule="catalogue §1 [V t21]; namei.c `ovl_is_opaquedir`",
        spec=layers(
            [
                dir_(b"y"),
                reg(b"y/low", b"1"),
                dir_(b"n"),
                reg(b"n/low", b"2"),
                dir_(b"yes"),
                reg(b"yes/low", b"3"),
            ],
            upper=[opaque(b"y"), opaque(b"n", b"n"), opaque(b"yes", b"yes")],
        ),
        program=[ops.Readdir(b"/y"), ops.Readdir(b"/n"), ops.Readdir(b"/yes")],
        expect={"results": [". ..", ". .. low", ". .. low"]},
        notes="The upper directories carry `trusted.overlay.opaque` set offline to `y`, `n` "
        "and `yes`; only `y` hides the lower directory.",
        features=("opaque-values",),
    ),
    Example(
        id="xwhiteout-in-lower-hides-name",
        title="An xwhiteout in a lower layer hides the name below it",
        rule="catalogue §1, §5 [V t17]; namei.c `ovl_path_is_whiteout`, readdir.c xwhiteouts",
        spec=layers(
            [opaque(b"d", b"x"), xwhiteout(b"d/f")],
            [dir_(b"d"), reg(b"d/f", b"hidden"), reg(b"d/g", b"seen")],
        ),
        program=[ops.Lstat(b"/d/f"), ops.Readdir(b"/d")],
        expect={"results": ["ENOENT", ". .. g"], "merged": {b"/d/f": "absent"}},
        notes="An xwhiteout is a zero-size file carrying `trusted.overlay.whiteout`; layer "
        "builders make them, overlayfs never does. `opaque=x` on its directory is not "
        "opaque: it says the directory holds xwhiteouts, which readdir needs to know.",
        features=("xwhiteout", "opaque-values"),
    ),
    Example(
        id="mknod-whiteout-through-overlay-eperm",
        title="Creating a whiteout through the overlay is refused",
        rule="catalogue §2.5 [V t3]; dir.c `ovl_create_object`",
        spec=layers([reg(b"a", b"x")]),
        program=[
            ops.Mknod(b"/w", stat.S_IFCHR | 0o644, 0),
            ops.Mknod(b"/null", stat.S_IFCHR | 0o644, os.makedev(1, 3)),
        ],
        expect={
            "results": ["EPERM", "ok"],
            "upper": {b"/w": "absent", b"/null": "chr"},
            "merged": {b"/null": "chr rdev=1:3"},
        },
        notes="A character device 0:0 would be a whiteout; any other device is an ordinary object.",
        features=("mknod-whiteout",),
    ),
    Example(
        id="remove-whited-out-name-enoent",
        title="A whited-out name is gone for every operation",
        rule="catalogue §1 step 2, §2.7",
        spec=layers([reg(b"a", b"x"), dir_(b"d")], upper=[whiteout(b"a"), whiteout(b"d")]),
        program=[ops.Unlink(b"/a"), ops.Rmdir(b"/d"), ops.Chmod(b"/a", 0o600)],
        expect={"results": ["ENOENT", "ENOENT", "ENOENT"], "upper": {b"/a": "whiteout"}},
    ),
    Example(
        id="xwhiteout-in-upper-listed-but-enoent",
        title="An xwhiteout in the upper layer hides the name but is still listed",
        rule="catalogue §5 [V t17]",
        spec=layers(
            [dir_(b"d"), reg(b"d/f", b"lower"), reg(b"d/g", b"g")],
            upper=[opaque(b"d", b"x"), xwhiteout(b"d/f")],
        ),
        program=[ops.Lstat(b"/d/f"), ops.Readdir(b"/d")],
        expect={"results": ["ENOENT", ". .. f g"], "merged": {b"/d/f": "unresolvable"}},
        notes="Lookup honours an xwhiteout in any layer. A merged readdir recognises "
        "xwhiteouts only in lower layers, so the upper one is listed as an ordinary "
        "file that cannot be looked up.",
        features=("xwhiteout",),
    ),
    # difftest promote: new examples go above this line
]
