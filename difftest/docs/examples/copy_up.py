"""Copy-up (catalogue §2.3, §2.4, §2.12, §2.15; copy_up.c ``ovl_copy_up_one``)."""

from __future__ import annotations

import os

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, reg, symlink

GIB = 1 << 30

EXAMPLES: list[Example] = [
    Example(
        id="write-open-copies-up-without-writing",
        title="Opening a lower file for writing copies it up, even if nothing is written",
        rule="catalogue §2.3 [V t6]; file.c `ovl_open` → `ovl_maybe_copy_up`",
        spec=layers([reg(b"a", b"lower")]),
        program=[ops.Open(b"/a", os.O_WRONLY), ops.Close(0)],
        expect={"results": ["fd0", "ok"], "upper": {b"/a": "file data=lower origin"}},
        notes="The copy happens at open time: the kernel cannot know whether a write will follow.",
        features=("copy-up-triggers", "origin"),
    ),
    Example(
        id="read-only-access-does-not-copy-up",
        title="Reading never copies up",
        rule="catalogue §2.3 [V t6, t29]",
        spec=layers([reg(b"a", b"lower"), symlink(b"l", b"a")]),
        program=[
            ops.Open(b"/a", os.O_RDONLY),
            ops.Read(0, 100),
            ops.Fsync(0),
            ops.Close(0),
            ops.Stat(b"/l"),
            ops.Readlink(b"/l"),
            ops.Getxattr(b"/a", b"user.none"),
        ],
        expect={
            "results": ["fd0", "lower", "ok", "ok", "file", "a", "ENODATA"],
            "upper": {b"/a": "absent", b"/l": "absent"},
        },
        notes="open O_RDONLY, read, fsync, stat, readlink and getxattr all leave the upper "
        "layer alone.",
        features=("no-copy-up",),
    ),
    Example(
        id="o-trunc-read-only-copies-up",
        title="O_TRUNC copies up and truncates even with O_RDONLY",
        rule="catalogue §2.3 [V t6]; file.c `ovl_open` (O_TRUNC counts as a write)",
        spec=layers([reg(b"a", b"lower")]),
        program=[ops.Open(b"/a", os.O_RDONLY | os.O_TRUNC), ops.Close(0)],
        expect={"results": ["fd0", "ok"], "upper": {b"/a": "file size=0 origin"}},
        features=("copy-up-triggers",),
    ),
    Example(
        id="truncate-to-same-size-copies-up",
        title="truncate copies up even when the size does not change",
        rule="catalogue §2.4 [V t6, t29]; inode.c `ovl_setattr`",
        spec=layers([reg(b"a", b"lower")]),
        program=[ops.Truncate(b"/a", 5)],
        expect={"results": ["ok"], "upper": {b"/a": "file data=lower origin"}},
        features=("copy-up-triggers",),
    ),
    Example(
        id="chmod-copies-up",
        title="chmod copies the whole file up, then changes the copy",
        rule="catalogue §2.12 [V t6]; inode.c `ovl_setattr`",
        spec=layers([reg(b"a", b"data", uid=1000, gid=1000)]),
        program=[ops.Chmod(b"/a", 0o600)],
        expect={
            "results": ["ok"],
            "upper": {b"/a": "file mode=0600 uid=1000 gid=1000 data=data origin"},
        },
        notes="Without `metacopy=on` the data is copied too, although only the mode changes.",
        features=("copy-up-triggers", "copy-up-keeps"),
    ),
    Example(
        id="chmod-same-mode-and-chown-noop-copy-up",
        title="chmod to the same mode and chown to -1:-1 still copy up",
        rule="catalogue §2.12 [V t26, t29]",
        spec=layers([reg(b"a", b"x"), reg(b"b", b"y")]),
        program=[ops.Chmod(b"/a", 0o644), ops.Chown(b"/b", -1, -1)],
        expect={"results": ["ok", "ok"], "upper": {b"/a": "file origin", b"/b": "file origin"}},
        features=("copy-up-triggers",),
    ),
    Example(
        id="utimens-omit-omit-does-not-copy-up",
        title="utimensat with both times UTIME_OMIT does not copy up",
        rule="catalogue §2.12 [V t29]; fs/utimes.c returns before calling the filesystem",
        spec=layers([reg(b"a", b"x"), reg(b"b", b"y")]),
        program=[ops.Utimens(b"/a", None, None), ops.Utimens(b"/b", None, 1_700_000_000 * 10**9)],
        expect={"results": ["ok", "ok"], "upper": {b"/a": "absent", b"/b": "file origin"}},
        notes="Setting only the mtime of `b` is a change and copies it up.",
        features=("no-copy-up", "copy-up-triggers"),
    ),
    Example(
        id="copy-up-keeps-mode-owner-xattrs",
        title="A copy keeps set-uid mode, owner and xattrs",
        rule="catalogue §2.3 [V t16]; copy_up.c `ovl_copy_xattr`, `ovl_set_attr`",
        spec=layers(
            [reg(b"prog", b"#!", mode=0o4755, uid=1000, gid=100, xattrs={b"user.tag": b"v1"})]
        ),
        program=[ops.Utimens(b"/prog", None, 1_700_000_000 * 10**9)],
        expect={
            "results": ["ok"],
            "upper": {b"/prog": "file mode=4755 uid=1000 gid=100 user.tag=v1 origin"},
        },
        features=("copy-up-keeps",),
    ),
    Example(
        id="copy-up-keeps-sparse-holes",
        title="Copy-up of a 5 GiB sparse file keeps it sparse",
        rule="catalogue §2.3 [V t27; H v3]; copy_up.c `ovl_copy_up_data` (SEEK_DATA/SEEK_HOLE)",
        spec=layers([reg(b"big", b"head", size=5 * GIB)]),
        program=[ops.Chmod(b"/big", 0o600), ops.Lstat(b"/big")],
        expect={
            "results": ["ok", f"file mode=0600 size={5 * GIB}"],
            "upper": {b"/big": f"file size={5 * GIB} origin"},
        },
        notes="Only the four bytes at the start hold data; the copy-up takes no time and no "
        "space for the hole.",
        features=("copy-up-keeps",),
    ),
    Example(
        id="copy-up-symlink-keeps-target",
        title="A symlink is copied up with its target",
        rule="catalogue §2.11 [V t6, t19]",
        spec=layers([symlink(b"l", b"target")]),
        program=[ops.Link(b"/l", b"/l2"), ops.Readlink(b"/l2")],
        expect={
            "results": ["ok", "target"],
            "upper": {b"/l": "symlink target=target origin", b"/l2": "symlink target=target"},
        },
        notes="`ln` (link(2)) does not follow the symlink: it links the symlink itself, which "
        "needs an upper copy first.",
        features=("copy-up-keeps", "copy-up-triggers"),
    ),
    Example(
        id="copy-up-parents-without-contents",
        title="Copy-up copies the parent directories, not their contents",
        rule="catalogue §2.3; copy_up.c `ovl_copy_up_flags` (parents first)",
        spec=layers([dir_(b"d"), dir_(b"d/e"), reg(b"d/e/f", b"x"), reg(b"d/g", b"y")]),
        program=[ops.Chmod(b"/d/e/f", 0o600)],
        expect={
            "results": ["ok"],
            "upper": {
                b"/": "dir impure",
                b"/d": "dir origin impure -opaque",
                b"/d/e": "dir origin impure -opaque",
                b"/d/e/f": "file origin",
                b"/d/g": "absent",
            },
        },
        notes="Each directory on the way gets an origin, and `impure` because it now holds "
        "an entry with an origin.",
        features=("origin", "impure", "copy-up-triggers"),
    ),
    Example(
        id="ro-fd-reads-data-written-after-copy-up",
        title="A read-only descriptor opened before a copy-up reads the new data",
        rule="catalogue §2.3 [V t6]; file.c stacked file operations (4.19+)",
        spec=layers([reg(b"a", b"old")]),
        program=[
            ops.Open(b"/a", os.O_RDONLY),
            ops.Open(b"/a", os.O_WRONLY),
            ops.Write(1, b"new"),
            ops.Pread(0, 10, 0),
        ],
        expect={"results": ["fd0", "fd1", "3", "new"], "upper": {b"/a": "file data=new"}},
        notes="`fd0` was opened on the lower file; once `fd1` copies it up, reads through "
        "`fd0` go to the upper copy.",
        features=("ro-fd-after-copy-up",),
    ),
    Example(
        id="fstat-after-unlinking-open-lower-file",
        title="An open lower file unlinked through the overlay still shows one link",
        rule="catalogue §2.1 [V t21]",
        spec=layers([reg(b"a", b"x")]),
        program=[ops.Open(b"/a", os.O_RDONLY), ops.Unlink(b"/a"), ops.Fstat(0), ops.Read(0, 9)],
        expect={"results": ["fd0", "ok", "file nlink=1", "x"], "upper": {b"/a": "whiteout"}},
        notes="On a normal filesystem fstat would show 0 links. Here the lower file itself is "
        "untouched; only a whiteout was added.",
    ),
    Example(
        id="ftruncate-read-only-fd-einval",
        title="ftruncate on a read-only descriptor fails without copying up",
        rule="catalogue §2.4",
        spec=layers([reg(b"a", b"x")]),
        program=[ops.Open(b"/a", os.O_RDONLY), ops.Ftruncate(0, 0), ops.Write(0, b"y")],
        expect={"results": ["fd0", "EINVAL", "EBADF"], "upper": {b"/a": "absent"}},
        features=("no-copy-up",),
    ),
    Example(
        id="denied-chmod-does-not-copy-up",
        title="A change the caller may not make does not copy up",
        rule="catalogue §2.12 [V t21]; inode.c `ovl_setattr` (permission before copy-up)",
        spec=layers([reg(b"a", b"x")]),
        program=[
            ops.Chmod(b"/a", 0o666, uid=1000, gid=1000),
            ops.Open(b"/a", os.O_WRONLY, uid=1000, gid=1000),
        ],
        expect={"results": ["EPERM", "EACCES"], "upper": {b"/a": "absent"}},
        notes="User 1000 does not own root's `a`: chmod gives EPERM and open for writing "
        "EACCES, both checked on the overlay inode before any copy-up.",
        features=("no-copy-up",),
    ),
    Example(
        id="non-root-creates-in-own-lower-dir",
        title="A user can create in a lower directory they own",
        rule="catalogue §2.12 [V t21; H v2]: copy-up runs with the mounter's credentials",
        spec=layers([dir_(b"home", uid=1000, gid=1000)]),
        program=[ops.Open(b"/home/new", os.O_WRONLY | os.O_CREAT, 0o600, uid=1000, gid=1000)],
        expect={
            "results": ["fd0"],
            "upper": {b"/home": "dir uid=1000 origin", b"/home/new": "file uid=1000 mode=0600"},
        },
        notes="Copying `home/` up needs root's rights in the upper layer, which the mount "
        "lends; the new file belongs to the caller.",
        features=("copy-up-triggers",),
    ),
    Example(
        id="o-creat-on-existing-lower-file",
        title="O_CREAT on an existing lower file opens it; O_EXCL refuses it",
        rule="catalogue §2.3",
        spec=layers([reg(b"a", b"lower")]),
        program=[
            ops.Open(b"/a", os.O_RDONLY | os.O_CREAT),
            ops.Read(0, 10),
            ops.Open(b"/a", os.O_WRONLY | os.O_CREAT | os.O_EXCL),
        ],
        expect={"results": ["fd0", "lower", "EEXIST"], "upper": {b"/a": "absent"}},
        notes="Opened read-only, the existing file is not copied up although O_CREAT was given.",
        features=("no-copy-up",),
    ),
    Example(
        id="symlink-creation-copies-parents-only",
        title="Creating a symlink in a lower directory copies up only the directories",
        rule="catalogue §2.5, §2.11 [D]; dir.c `ovl_create_object`",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")]),
        program=[ops.Symlink(b"f", b"/d/l"), ops.Stat(b"/d/l")],
        expect={
            "results": ["ok", "file size=1"],
            "upper": {b"/d": "dir origin", b"/d/l": "symlink target=f -origin", b"/d/f": "absent"},
        },
        notes="The new symlink is an upper object with no overlay xattrs; its target `f` "
        "stays in the lower layer.",
        features=("copy-up-triggers",),
    ),
    Example(
        id="truncate-directory-eisdir",
        title="Truncating a directory fails before any copy-up",
        rule="catalogue §2.4 [V t19]",
        spec=layers([dir_(b"d")]),
        program=[ops.Truncate(b"/d", 0), ops.Open(b"/d", os.O_RDONLY | os.O_TRUNC)],
        expect={"results": ["EISDIR", "EISDIR"], "upper": {b"/d": "absent"}},
        features=("no-copy-up",),
    ),
    # difftest promote: new examples go above this line
]
