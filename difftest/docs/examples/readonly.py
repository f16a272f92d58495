"""Read-only overlays and remount (catalogue §2.7, §4, §7 precedence; fs/namei.c
``mnt_want_write`` ordering)."""

from __future__ import annotations

import os

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, reg, symlink

RO_LAYERS = layers(
    [dir_(b"d"), reg(b"d/a", b"top"), symlink(b"l", b"d/a")],
    [dir_(b"d"), reg(b"d/b", b"bottom")],
    upper=None,
)

EXAMPLES: list[Example] = [
    Example(
        id="no-upper-reads-work",
        title="Without an upper layer the overlay is read-only, and reading works",
        rule="catalogue §4 (no upperdir: mounted ro) [V t10]",
        config="no-upper",
        spec=RO_LAYERS,
        program=[ops.Readdir(b"/d"), ops.Readlink(b"/l"), ops.Stat(b"/l"), ops.Statfs(b"/")],
        expect={"results": [". .. a b", "d/a", "file size=3", "f_type=0x794c7630 ro"]},
        notes="At least two lower layers are needed without an upper layer. statfs reports "
        "ST_RDONLY.",
        features=("ro-overlay", "statfs", "multiple-lowers"),
    ),
    Example(
        id="no-upper-changes-erofs",
        title="Every change fails with EROFS",
        rule="catalogue §4, §7 [V t10]",
        config="no-upper",
        spec=RO_LAYERS,
        program=[
            ops.Open(b"/d/a", os.O_WRONLY),
            ops.Chmod(b"/d/a", 0o600),
            ops.Mkdir(b"/new"),
            ops.Unlink(b"/d/a"),
            ops.Setxattr(b"/d", b"user.x", b"1"),
            ops.Rename(b"/d/a", b"/d/c"),
        ],
        expect={"results": ["EROFS"] * 6},
        features=("ro-overlay",),
    ),
    Example(
        id="no-upper-unlink-missing-erofs",
        title="Removing a missing name gives EROFS, not ENOENT",
        rule="catalogue §2.7, §7 [V t10]: removals take the write lock before the lookup",
        config="no-upper",
        spec=RO_LAYERS,
        program=[ops.Unlink(b"/missing"), ops.Rmdir(b"/missing"), ops.Rename(b"/missing", b"/x")],
        expect={"results": ["EROFS", "EROFS", "EROFS"]},
        notes="`rm` would say ENOENT here without calling unlink(2), so the example calls "
        "it from Python.",
        features=("ro-overlay",),
    ),
    Example(
        id="no-upper-create-existing-eexist",
        title="Creating an existing name gives EEXIST, not EROFS",
        rule="catalogue §2.6, §7 [V t10]: creations look the name up first",
        config="no-upper",
        spec=RO_LAYERS,
        program=[
            ops.Mkdir(b"/d"),
            ops.Symlink(b"x", b"/l"),
            ops.Open(b"/d/a", os.O_WRONLY | os.O_CREAT | os.O_EXCL),
            ops.Link(b"/d/a", b"/d/b"),
            ops.Mkdir(b"/new"),
        ],
        expect={"results": ["EEXIST", "EEXIST", "EEXIST", "EEXIST", "EROFS"]},
        features=("ro-overlay",),
    ),
    Example(
        id="ro-mount-with-upper",
        title="An overlay mounted ro leaves its upper layer untouched",
        rule="catalogue §4 [V t10, t11]",
        config="ro",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[dir_(b"d"), reg(b"u", b"y")]),
        program=[
            ops.Lstat(b"/d"),
            ops.Unlink(b"/u"),
            ops.Open(b"/d/f", os.O_RDWR),
            ops.Statfs(b"/"),
        ],
        expect={
            "results": ["dir nlink=1", "EROFS", "EROFS", "ro"],
            "upper": {b"/u": "file data=y", b"/d": "dir origin", b"/d/f": "absent"},
        },
        notes="Changes through the overlay fail, but the lookup of the merged `d` still "
        "writes its origin (and marks the root impure): the overlay is read-only, the upper "
        "filesystem is not, and the lookup fixes the origin through the upper mount.",
        features=("ro-overlay", "statfs"),
    ),
    Example(
        id="unlink-under-default-and-ro",
        title="The same removal on a read-write and a read-only mount",
        rule="catalogue §2.7, §4",
        config="default",
        versus="ro",
        spec=layers([reg(b"a", b"lower")], upper=[reg(b"b", b"upper")]),
        program=[ops.Unlink(b"/a"), ops.Unlink(b"/b"), ops.Unlink(b"/c")],
        expect={
            "results": ["ok", "ok", "ENOENT"],
            "upper": {b"/a": "whiteout", b"/b": "absent"},
        },
        expect_versus={
            "results": ["EROFS", "EROFS", "EROFS"],
            "upper": {b"/a": "absent", b"/b": "file"},
        },
        features=("ro-overlay", "whiteout-on-remove"),
    ),
    Example(
        id="remount-keeps-changes",
        title="Changes live in the upper layer and survive a remount",
        rule="catalogue §4 (remount) [V t11]",
        spec=layers([reg(b"a", b"lower"), dir_(b"d"), reg(b"d/f", b"x")]),
        program=[
            ops.Unlink(b"/a"),
            ops.Open(b"/d/f", os.O_WRONLY | os.O_TRUNC),
            ops.Write(0, b"changed"),
            ops.Remount(),
            ops.Lstat(b"/a"),
            ops.Open(b"/d/f", os.O_RDONLY),
            ops.Read(1, 100),
        ],
        expect={
            "results": ["ok", "fd0", "7", "ok", "ENOENT", "fd1", "changed"],
            "upper": {b"/a": "whiteout", b"/d/f": "file data=changed"},
        },
        notes="Open files are closed before the unmount (a busy overlay cannot be unmounted).",
        features=("remount",),
    ),
    Example(
        id="remount-follows-whiteouts-and-opaque",
        title="A new mount reads the whiteouts and opaque directories it finds",
        rule="catalogue §1, §4 (offline changes to the upper layer are allowed)",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")]),
        program=[
            ops.Unlink(b"/d/f"),
            ops.Rmdir(b"/d"),
            ops.Mkdir(b"/d"),
            ops.Remount(),
            ops.Readdir(b"/d"),
        ],
        expect={"results": ["ok", "ok", "ok", "ok", ". .."], "upper": {b"/d": "opaque=y"}},
        features=("remount", "mkdir-over-whiteout"),
    ),
    # difftest promote: new examples go above this line
]
