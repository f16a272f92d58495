"""Live remount between read-only and read-write (catalogue §4; fs/super.c
``reconfigure_super`` and ``sb_prepare_remount_readonly``; fs/overlayfs/params.c
``ovl_reconfigure``)."""

from __future__ import annotations

import os

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, reg

LAYERS = layers([dir_(b"d"), reg(b"d/f", b"lower")], upper=[reg(b"u", b"upper")])

EXAMPLES: list[Example] = [
    Example(
        id="remount-ro-stops-every-change",
        title="After remount,ro every change fails with EROFS and nothing is copied up",
        rule="catalogue §4 (remount,ro); mnt_want_write gives EROFS on a read-only sb",
        spec=LAYERS,
        program=[
            ops.RemountRo(),
            ops.Chmod(b"/d/f", 0o600),
            ops.Open(b"/d/f", os.O_WRONLY),
            ops.Mkdir(b"/n"),
            ops.Unlink(b"/u"),
            ops.Open(b"/d/f", os.O_RDONLY),
            ops.Read(0, 100),
            ops.Statfs(b"/"),
        ],
        expect={
            "results": ["ok", "EROFS", "EROFS", "EROFS", "EROFS", "fd0", "lower", "ro"],
            "upper": {b"/d/f": "absent", b"/u": "file data=upper"},
        },
        features=("live-remount", "statfs"),
    ),
    Example(
        id="remount-rw-restores-writes",
        title="remount,rw makes the same mount writable again",
        rule="catalogue §4 (remount,rw)",
        spec=LAYERS,
        program=[ops.RemountRo(), ops.Chmod(b"/d/f", 0o600), ops.RemountRw(),
                 ops.Chmod(b"/d/f", 0o600), ops.Statfs(b"/")],
        expect={
            "results": ["ok", "EROFS", "ok", "ok", "f_type=0x794c7630"],
            "upper": {b"/d/f": "file data=lower"},
        },
        features=("live-remount", "copy-up-triggers"),
    ),
    Example(
        id="remount-ro-busy-while-open-for-writing",
        title="remount,ro is refused with EBUSY while a file is open for writing",
        rule="fs/super.c sb_prepare_remount_readonly: a writer holds the mount's write access",
        spec=LAYERS,
        program=[
            ops.Open(b"/u", os.O_WRONLY),
            ops.RemountRo(),
            ops.Write(0, b"written"),
            ops.Close(0),
            ops.RemountRo(),
        ],
        expect={"results": ["fd0", "EBUSY", "7", "ok", "ok"],
                "upper": {b"/u": "file data=written"}},
        features=("live-remount",),
    ),
    Example(
        id="remount-ro-keeps-read-handles",
        title="Files open for reading stay open across remount,ro",
        rule="catalogue §4 (remount,ro keeps open files)",
        spec=LAYERS,
        program=[ops.Open(b"/d/f", os.O_RDONLY), ops.RemountRo(), ops.Read(0, 100),
                 ops.Close(0)],
        expect={"results": ["fd0", "ok", "lower", "ok"]},
        features=("live-remount",),
    ),
    Example(
        id="remount-ro-busy-while-an-unlinked-file-is-open",
        title="An open file whose last name is gone keeps remount,ro refused",
        rule="fs/super.c: s_remove_count counts inodes to be freed at their last close",
        spec=LAYERS,
        program=[
            ops.Open(b"/u", os.O_RDONLY),
            ops.Unlink(b"/u"),
            ops.RemountRo(),
            ops.Close(0),
            ops.RemountRo(),
        ],
        expect={"results": ["fd0", "ok", "EBUSY", "ok", "ok"], "upper": {b"/u": "absent"}},
        notes="Only a read handle is open, yet the remount waits: the unlinked inode is "
        "freed, and its upper file removed for good, at its last close.",
        features=("live-remount",),
    ),
    Example(
        id="remount-rw-without-upper-erofs",
        title="An overlay without an upper layer cannot be remounted read-write",
        rule="fs/overlayfs/params.c ovl_reconfigure: EROFS without an upper layer",
        config="no-upper",
        spec=layers([dir_(b"d"), reg(b"d/a", b"top")], [dir_(b"d"), reg(b"d/b", b"bottom")],
                    upper=None),
        program=[ops.RemountRw(), ops.Statfs(b"/"), ops.RemountRo()],
        expect={"results": ["EROFS", "f_type=0x794c7630 ro", "ok"]},
        features=("live-remount", "ro-overlay"),
    ),
    # difftest promote: new examples go above this line
]
