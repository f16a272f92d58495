"""Option ``verity=off|on|require`` (overlayfs.rst "fs-verity support"; util.c
``ovl_validate_verity``, ``ovl_maybe_validate_verity``; copy_up.c
``ovl_need_meta_copy_up``; :func:`model.copy_up.verify_lowerdata`).  The reference kernel is
built without ``CONFIG_FS_VERITY``: no data file can match a digest, which is what these
examples show; matching digests need a kernel with fs-verity and an ext4 image with the
verity feature, which these machines cannot provide."""

from __future__ import annotations

import os

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, reg
from difftest.strategies import METACOPY_DIGEST
from model.spec import METACOPY, REDIRECT, Entry

DATA = [[dir_(b"objs"), reg(b"objs/1", b"hello")]]


def _meta(path: bytes, digest: bytes) -> Entry:
    return reg(path, size=5, xattrs={METACOPY: digest, REDIRECT: b"/objs/1"})


EXAMPLES: list[Example] = [
    Example(
        id="verity-on-checks-a-digest",
        title="With verity=on a metacopy file's digest must match its data file, or EIO",
        rule="util.c `ovl_maybe_validate_verity`, `ovl_validate_verity`",
        config="data-only+verity=on",
        versus="data-only",
        spec=layers([_meta(b"f", METACOPY_DIGEST)], data=DATA),
        program=[ops.Stat(b"/f"), ops.Open(b"/f", os.O_RDONLY)],
        expect={"results": ["file size=5", "EIO"]},
        expect_versus={"results": ["file size=5", "fd0"]},
        notes="composefs writes the fs-verity digest of each data file into the metacopy "
        "xattr. With `verity=on` the overlay checks it at every open (here the data file "
        "has no fs-verity, so it cannot match); without the option the digest is ignored. "
        "Looking the file up and stat work either way.",
        features=("verity",),
    ),
    Example(
        id="verity-on-without-a-digest",
        title="With verity=on a metacopy file without a digest opens as before",
        rule="util.c `ovl_maybe_validate_verity` (no OVL_HAS_DIGEST: nothing to check)",
        config="data-only+verity=on",
        spec=layers([_meta(b"f", b"")], data=DATA),
        program=[ops.Open(b"/f", os.O_RDONLY), ops.Read(0, 10)],
        expect={"results": ["fd0", "hello"]},
        notes="`on` checks the digests that are there; it does not ask for them.",
        features=("verity",),
    ),
    Example(
        id="verity-require-needs-a-digest",
        title="With verity=require a metacopy file without a digest cannot be opened or "
        "copied up",
        rule="util.c `ovl_maybe_validate_verity` (\"metacopy file has no digest specified\")",
        config="data-only+verity=require",
        spec=layers([_meta(b"f", b"")], data=DATA),
        program=[ops.Open(b"/f", os.O_RDONLY), ops.Chmod(b"/f", 0o600), ops.Lstat(b"/f")],
        expect={"results": ["EIO", "EIO", "file mode=0644"], "upper": {b"/f": "absent"}},
        notes="The check comes before the copy-up, so nothing reaches the upper layer.",
        features=("verity",),
    ),
    Example(
        id="verity-require-removal-works",
        title="A file that fails verity can still be removed",
        rule="dir.c `ovl_do_remove` (no copy-up, no open)",
        config="data-only+verity=require",
        spec=layers([_meta(b"f", b"")], data=DATA),
        program=[ops.Unlink(b"/f")],
        expect={"results": ["ok"], "upper": {b"/f": "whiteout"}},
        features=("verity",),
    ),
    Example(
        id="verity-require-copies-data",
        title="With verity=require and metacopy=on a file without fs-verity is copied whole",
        rule="copy_up.c `ovl_need_meta_copy_up` (verity=require: only from a verity file)",
        config="metacopy=on+verity=require",
        versus="metacopy=on",
        spec=layers([reg(b"f", b"x")]),
        program=[ops.Chmod(b"/f", 0o600)],
        expect={"results": ["ok"], "upper": {b"/f": "file -metacopy data=x"}},
        expect_versus={"results": ["ok"], "upper": {b"/f": "file metacopy"}},
        notes="A metadata-only copy can only be trusted later if the lower file has a "
        "digest to record; without one the data is copied at once.",
        features=("verity", "metacopy"),
    ),
]
