"""Options ``xino`` and ``volatile`` (catalogue §0, §2.6, §2.15, §3, §4; super.c
``ovl_get_layers``, inode.c ``ovl_map_dev_ino``, util.c ``ovl_allow_offline_changes``)."""

from __future__ import annotations

import os

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, reg

EXAMPLES: list[Example] = [
    Example(
        id="mkdir-in-merged-parent-opaque-with-xino-on",
        title="xino=on makes a new directory in a merged parent opaque, even on one filesystem",
        rule="catalogue §2.6, §4 [V t31]; util.c `ovl_allow_offline_changes` (`xino == ON`)",
        versus="xino=on",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[dir_(b"d")]),
        program=[ops.Mkdir(b"/d/n")],
        expect={"results": ["ok"], "upper": {b"/d/n": "dir -opaque"}},
        expect_versus={"results": ["ok"], "upper": {b"/d/n": "dir opaque=y"}},
        notes="With all layers on one filesystem the kernel ignores `xino=on` for inode "
        "numbers (dmesg: 'xino=on' is useless with all layers on same fs, ignore) and "
        "does not show it in /proc/mounts, but the option still forbids offline changes to "
        "the lower layers, as `redirect_dir=on` and `index=on` do.",
        features=("xino", "mkdir-merged-parent"),
    ),
    Example(
        id="mkdir-in-merged-parent-not-opaque-with-xino-auto",
        title="xino=auto does not make a new directory in a merged parent opaque",
        rule="catalogue §2.6 [V t31]; util.c `ovl_allow_offline_changes` counts xino=on only",
        config="xino=auto",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[dir_(b"d")]),
        program=[ops.Mkdir(b"/d/n"), ops.Readdir(b"/d")],
        expect={"results": ["ok", ". .. f n/"], "upper": {b"/d/n": "dir -opaque"}},
        notes="`auto` only asks for inode-number mapping where the layers span several "
        "filesystems; it does not promise that the lower layers stay unchanged.",
        features=("xino", "mkdir-merged-parent"),
    ),
    Example(
        id="volatile-leaves-incompat-marker",
        title="A volatile mount leaves work/incompat/volatile, which refuses the next mount",
        rule="catalogue §0, §2.15 [V t13d, t32]; overlayfs.rst, Volatile mount",
        config="volatile",
        spec=layers([reg(b"f", b"lower")]),
        program=[ops.Chmod(b"/f", 0o600), ops.Remount(), ops.Stat(b"/f")],
        expect={"results": ["ok", "ok, left incompat/volatile", "file size=5 mode=0600"],
                "upper": {b"/f": "file"}},
        notes="`volatile` drops every sync, so after a crash the upper layer may be "
        "inconsistent; the marker makes every later mount of the workdir fail with EINVAL "
        "(dmesg: overlay with incompat feature 'volatile' cannot be mounted). After a clean "
        "umount, as here, removing `workdir/work/incompat/volatile/` is allowed, and that "
        "is what the remount of this example does before it mounts again.",
        features=("volatile", "remount"),
    ),
    Example(
        id="mkdir-in-upper-parent-not-opaque-with-xino-on",
        title="xino=on marks new directories opaque only in merged parents",
        rule="catalogue §2.6 [V t31]; dir.c `ovl_create_upper` (only merged parents)",
        config="xino=on",
        spec=layers([reg(b"f", b"x")], upper=[dir_(b"u")]),
        program=[ops.Mkdir(b"/u/n"), ops.Mkdir(b"/n")],
        expect={"results": ["ok", "ok"],
                "upper": {b"/u/n": "dir -opaque", b"/n": "dir opaque=y"}},
        notes="Only a parent that merges lower directories could later show a lower "
        "directory of the same name through the new one: `u/` exists in the upper layer "
        "only, so `u/n` stays as it is; the root merges the lower root, so `n` is made "
        "opaque although no lower layer holds an `n` now.",
        features=("xino", "mkdir-merged-parent"),
    ),
    Example(
        id="volatile-marker-made-at-mount",
        title="The volatile marker is made at mount, before anything is written",
        rule="catalogue §0 (side effects of mounting) [V t13d]; super.c `ovl_make_workdir`",
        config="volatile",
        spec=layers([reg(b"f", b"lower")]),
        program=[ops.Remount(), ops.Remount()],
        expect={"results": ["ok, left incompat/volatile", "ok, left incompat/volatile"],
                "upper": {b"/f": "absent"}},
        notes="Each volatile mount makes the marker again, so every remount of a volatile "
        "overlay finds it, whether or not the overlay was changed.",
        features=("volatile", "remount"),
    ),
    Example(
        id="volatile-fsync-returns-0",
        title="fsync on a volatile overlay succeeds and does nothing",
        rule="catalogue §2.15 (`fsync=volatile` drops every sync call)",
        versus="volatile",
        spec=layers([reg(b"f", b"lower")]),
        program=[ops.Open(b"/f", os.O_WRONLY | os.O_APPEND), ops.Write(0, b"+"), ops.Fsync(0),
                 ops.Close(0), ops.Stat(b"/f")],
        expect={"results": ["fd0", "1", "ok", "ok", "file size=6"], "upper": {b"/f": "file"}},
        expect_versus={"results": ["fd0", "1", "ok", "ok", "file size=6"],
                       "upper": {b"/f": "file"}},
        notes="What a sync would have made durable is not observable without a crash; the "
        "calls return 0 under both options, and the copy-up is the same.",
        features=("volatile", "copy-up-triggers"),
    ),
    # difftest promote: new examples go above this line
]
