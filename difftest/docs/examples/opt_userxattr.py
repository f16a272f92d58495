"""Option ``userxattr`` (overlayfs.rst "User xattr"; params.c ``ovl_fs_params_verify``,
xattrs.c ``ovl_is_private_xattr``, copy_up.c ``ovl_set_origin_fh``)."""

from __future__ import annotations

from difftest import ops
from difftest.docs.schema import Example, dir_, fifo, layers, reg

USER_OPAQUE = b"user.overlay.opaque"

EXAMPLES: list[Example] = [
    Example(
        id="userxattr-reads-user-overlay-opaque",
        title="With userxattr, user.overlay.opaque makes a directory opaque",
        rule="overlayfs.rst, User xattr; xattrs.c `ovl_is_private_xattr` (userxattr)",
        config="userxattr",
        spec=layers([dir_(b"d", xattrs={USER_OPAQUE: b"y"}), reg(b"d/top", b"y")],
                    [dir_(b"d"), reg(b"d/low", b"x")]),
        program=[ops.Readdir(b"/d"), ops.Listxattr(b"/d")],
        expect={"results": [". .. top", "(none)"], "upper": {b"/d": "absent"}},
        notes="The overlay keeps its own xattrs in `user.overlay.*` instead of "
        "`trusted.overlay.*`, so an unprivileged user (in a user namespace) can mount it. "
        "The top layer's `d` is opaque: the bottom layer's `low` is hidden, and the "
        "private xattr is not listed.",
        features=("userxattr", "xattr-privacy"),
    ),
    Example(
        id="userxattr-trusted-overlay-is-ordinary",
        title="With userxattr, trusted.overlay.opaque is an ordinary xattr",
        rule="xattrs.c `ovl_is_private_xattr` (userxattr: the user.overlay. prefix only)",
        config="userxattr",
        spec=layers([dir_(b"d", xattrs={b"trusted.overlay.opaque": b"y"}), reg(b"d/top", b"y")],
                    [dir_(b"d"), reg(b"d/low", b"x")]),
        program=[ops.Readdir(b"/d"), ops.Listxattr(b"/d")],
        expect={"results": [". .. low top", "trusted.overlay.opaque"],
                "upper": {b"/d": "absent"}},
        notes="A layer made for a mount without `userxattr` does not mean the same thing "
        "under it: its opaque directories merge, and root sees their markers as xattrs.",
        features=("userxattr", "xattr-privacy"),
    ),
    Example(
        id="userxattr-escapes-user-overlay-names",
        title="With userxattr, a user.overlay.* xattr set through the overlay is stored escaped",
        rule="xattrs.c `ovl_is_escaped_xattr`, `ovl_xattr_escape_name` (userxattr)",
        config="userxattr",
        spec=layers([reg(b"f", b"x")]),
        program=[ops.Setxattr(b"/f", b"user.overlay.x", b"1"), ops.Listxattr(b"/f"),
                 ops.Getxattr(b"/f", b"user.overlay.x")],
        expect={"results": ["ok", "user.overlay.x", "1"],
                "upper": {b"/f": "file user.overlay.overlay.x=1 origin"}},
        notes="As `trusted.overlay.*` names are without `userxattr`: the layer gets "
        "`user.overlay.overlay.x`, the merged view shows `user.overlay.x`.",
        features=("userxattr", "xattr-privacy"),
    ),
    Example(
        id="userxattr-fifo-copy-up-has-no-origin",
        title="With userxattr, a copied-up FIFO records no origin",
        rule="copy_up.c `ovl_set_origin_fh` (EPERM from user.* on a special file is ignored)",
        versus="userxattr",
        spec=layers([fifo(b"p")]),
        program=[ops.Chmod(b"/p", 0o600), ops.Remount(), ops.Lstat(b"/p")],
        expect={"results": ["ok", "ok", "fifo mode=0600"], "upper": {b"/p": "fifo origin"}},
        expect_versus={"results": ["ok", "ok", "fifo mode=0600"], "upper": {b"/p": "fifo"}},
        notes="`user.*` xattrs exist only on regular files and directories, so the copy of "
        "a FIFO or symlink cannot carry `user.overlay.origin`; the kernel goes on without "
        "it. Until the remount the name keeps the lower file's inode number (its dentry "
        "remembers the lower file); after it, the upper file's (difftest compares inode "
        "numbers; this page does not show them).",
        features=("userxattr", "copy-up-keeps"),
    ),
    Example(
        id="userxattr-dir-rename-exdev",
        title="userxattr implies redirect_dir=nofollow: renaming a lower directory is EXDEV",
        rule="params.c `ovl_fs_params_verify` (userxattr: redirect_dir=nofollow)",
        config="userxattr",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")]),
        program=[ops.Rename(b"/d", b"/e")],
        expect={"results": ["EXDEV"], "upper": {b"/d": "absent"}},
        notes="`redirect_dir=on` or `follow` together with `userxattr` refuse the mount "
        "(EINVAL); `metacopy=on` too. Redirects are not followed, so lower directories "
        "cannot be moved.",
        features=("userxattr", "dir-rename-default"),
    ),
]
