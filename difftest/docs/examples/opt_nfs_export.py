"""Option ``nfs_export=on`` (overlayfs.rst "NFS export"; export.c ``ovl_encode_fh``,
``ovl_check_encode_origin``, ``ovl_connect_layer``, ``ovl_fh_to_dentry``; util.c
``ovl_need_index``, ``ovl_nlink_start``; :mod:`model.export`)."""

from __future__ import annotations

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, reg

EXAMPLES: list[Example] = [
    Example(
        id="nfs-export-needed-for-handles",
        title="Without nfs_export the overlay gives out no file handles",
        rule="export.c `ovl_encode_fh` (only a non-decodable fid for fanotify)",
        versus="nfs_export=on",
        spec=layers([reg(b"f", b"x")]),
        program=[ops.NameToHandle(b"/f"), ops.OpenByHandle(b"/f")],
        expect={"results": ["ENOTSUP", "EBADF"]},
        expect_versus={"results": ["ok", "file size=1 nlink=1"]},
        notes="`name_to_handle_at` is EOPNOTSUPP (ENOTSUP, the same number) on a default "
        "mount (the EBADF is the "
        "example's: no handle was taken). With `nfs_export=on` (which turns on "
        "`index=on`) a handle opens the object again as long as it exists.",
        features=("nfs-export",),
    ),
    Example(
        id="nfs-export-handle-survives-copy-up-and-rename",
        title="A handle still opens its file after the file is copied up and renamed",
        rule="export.c `ovl_fh_to_dentry` (lower handle → index → the copy)",
        config="nfs_export=on",
        spec=layers([reg(b"f", b"x")]),
        program=[ops.NameToHandle(b"/f"), ops.Rename(b"/f", b"/g"), ops.Chmod(b"/g", 0o600),
                 ops.OpenByHandle(b"/f")],
        expect={"results": ["ok", "ok", "ok", "file mode=0600 size=1"],
                "upper": {b"/g": "file origin", b"/f": "whiteout"}},
        notes="The handle names the lower file. The rename copied it up through "
        "`workdir/index/`, where the lower file's handle finds the copy, whatever its name is "
        "now.",
        features=("nfs-export",),
    ),
    Example(
        id="nfs-export-removed-is-stale",
        title="A removed object's handle is stale, even with a new file under the old name",
        rule="util.c `ovl_cleanup_index` (\"whiteout orphan index to block future open by "
        "handle\"); export.c `ovl_lower_fh_to_d`",
        config="nfs_export=on",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")]),
        program=[ops.NameToHandle(b"/d/f"), ops.Unlink(b"/d/f"),
                 ops.Mknod(b"/d/f", 0o100644), ops.OpenByHandle(b"/d/f")],
        expect={"results": ["ok", "ok", "ok", "ESTALE"]},
        notes="A handle names an object, not a path: the new `d/f` is another object.",
        features=("nfs-export",),
    ),
    Example(
        id="nfs-export-removal-copies-up-first",
        title="Removing a lower file copies it up first, so its parent becomes impure",
        rule="util.c `ovl_need_index` (\"index all files for NFS export\"), "
        "`ovl_nlink_start`",
        config="nfs_export=on",
        versus="index=on",
        spec=layers([reg(b"f", b"x")]),
        program=[ops.Unlink(b"/f")],
        expect={"results": ["ok"], "upper": {b"/": "dir impure", b"/f": "whiteout"}},
        expect_versus={"results": ["ok"], "upper": {b"/": "dir -impure", b"/f": "whiteout"}},
        notes="With `nfs_export=on` every copy-up goes through the index, and an object "
        "about to be removed is copied up first, so that its index entry can become the "
        "whiteout that blocks opening it by handle. The copy marks the parent impure. With "
        "`index=on` alone only lower hard links get that treatment.",
        features=("nfs-export",),
    ),
    Example(
        id="nfs-export-encoding-copies-up-a-dir",
        title="Taking the handle of a lower directory below an upper one copies it up",
        rule="export.c `ovl_connect_layer`, `ovl_connectable_layer`",
        config="nfs_export=on",
        spec=layers([dir_(b"a"), dir_(b"a/y")], upper=[dir_(b"a")]),
        program=[ops.NameToHandle(b"/a/y"), ops.OpenByHandle(b"/a/y")],
        expect={"results": ["ok", "dir"], "upper": {b"/a": "dir impure", b"/a/y": "dir origin"}},
        notes="A lower directory's handle is decoded by walking its lower path again from "
        "an ancestor that can be reached from its layer; an upper directory the layers "
        "brought (not indexed) cannot, so the directory below it is copied up (and "
        "indexed) before its handle is taken.",
        features=("nfs-export",),
    ),
]
