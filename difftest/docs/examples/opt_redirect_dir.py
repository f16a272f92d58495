"""Option ``redirect_dir=on`` against the default ``follow`` (catalogue §2.9 rules 6-8,
§2.6, §4; dir.c ``ovl_set_redirect``, namei.c ``ovl_check_redirect``)."""

from __future__ import annotations

from difftest import ops
from difftest.docs.schema import Example, dir_, layers, redirected, reg, whiteout

ON = "redirect_dir=on"
LONG_A, LONG_B = b"a" * 150, b"b" * 110

EXAMPLES: list[Example] = [
    Example(
        id="rename-lower-dir-with-redirect",
        title="Renaming a lower directory: EXDEV, or a copy with a redirect",
        rule="catalogue §2.9 rules 2 and 6 [V t4, t5]; dir.c `ovl_set_redirect`",
        versus=ON,
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")]),
        program=[ops.Rename(b"/d", b"/e"), ops.Readdir(b"/e")],
        expect={"results": ["EXDEV", "ENOENT"], "upper": {b"/d": "absent", b"/e": "absent"}},
        expect_versus={
            "results": ["ok", ". .. f"],
            "upper": {b"/d": "whiteout", b"/e": "dir redirect=d origin", b"/e/f": "absent"},
            "merged": {b"/e/f": "file data=x"},
        },
        notes="With the redirect the upper `e/` is looked up in the lower layers as `d`, so "
        "its contents stay visible although none of them was copied.",
        features=("dir-rename-redirect", "dir-rename-default"),
    ),
    Example(
        id="rename-dir-across-dirs-absolute-redirect",
        title="A directory moved to another parent gets an absolute redirect",
        rule="catalogue §2.9 rule 6 [V t5]",
        versus=ON,
        spec=layers([dir_(b"a"), dir_(b"a/d"), reg(b"a/d/f", b"x"), dir_(b"b")]),
        program=[ops.Rename(b"/a/d", b"/b/d"), ops.Readdir(b"/b/d")],
        expect={"results": ["EXDEV", "ENOENT"]},
        expect_versus={
            "results": ["ok", ". .. f"],
            "upper": {b"/a/d": "whiteout", b"/b/d": "dir redirect=/a/d", b"/b": "dir impure"},
        },
        features=("dir-rename-redirect", "impure"),
    ),
    Example(
        id="rename-dir-back-keeps-redirect",
        title="Moving a directory back to its old name keeps its redirect",
        rule="catalogue §2.9 rule 6 [V t5] (an existing redirect is kept)",
        versus=ON,
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")]),
        program=[ops.Rename(b"/d", b"/e"), ops.Rename(b"/e", b"/d"), ops.Readdir(b"/d")],
        expect={"results": ["EXDEV", "ENOENT", ". .. f"]},
        expect_versus={
            "results": ["ok", "ok", ". .. f"],
            "upper": {b"/d": "dir redirect=d", b"/e": "absent"},
        },
        features=("dir-rename-redirect",),
    ),
    Example(
        id="mkdir-in-merged-parent-opaque-with-redirect-on",
        title="redirect_dir=on makes a new directory in a merged parent opaque",
        rule="catalogue §2.6 [V t31]; dir.c `ovl_create_upper` (`!ovl_allow_offline_changes`)",
        versus=ON,
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[dir_(b"d")]),
        program=[ops.Mkdir(b"/d/n")],
        expect={"results": ["ok"], "upper": {b"/d/n": "dir -opaque"}},
        expect_versus={"results": ["ok"], "upper": {b"/d/n": "dir opaque=y"}},
        notes="With redirects in use, the lower layers may not be changed offline; making "
        "new directories opaque keeps a lower `d/n` that appears later from merging in.",
        features=("mkdir-merged-parent",),
    ),
    Example(
        id="redirect-too-long-exdev-after-copy-up",
        title="A redirect longer than redirect_max fails with EXDEV after the copy-up",
        rule="catalogue §2.9 rule 6 [V t19]; dir.c `ovl_get_redirect` (redirect_max = 256)",
        versus=ON,
        spec=layers([dir_(LONG_A), dir_(LONG_A + b"/" + LONG_B), dir_(b"x")]),
        program=[ops.Rename(b"/" + LONG_A + b"/" + LONG_B, b"/x/d")],
        expect={"results": ["EXDEV"], "upper": {b"/" + LONG_A: "absent"}},
        expect_versus={
            "results": ["EXDEV"],
            "upper": {
                b"/" + LONG_A: "dir origin",
                b"/" + LONG_A + b"/" + LONG_B: "dir origin",
                b"/x/d": "absent",
            },
        },
        notes="The absolute redirect would be the 262-byte old path. Under `redirect_dir=on` "
        "the directory and its parent were copied up before the length check, and they stay "
        "in the upper layer.",
        features=("redirect-max",),
    ),
    Example(
        id="exchange-two-lower-dirs-with-redirects",
        title="Exchanging two lower directories gives each a redirect to the other's name",
        rule="catalogue §2.9 rule 8 [V t19]",
        versus=ON,
        spec=layers([dir_(b"p"), reg(b"p/from_p", b"1"), dir_(b"q"), reg(b"q/from_q", b"2")]),
        program=[ops.Rename(b"/p", b"/q", ops.RENAME_EXCHANGE), ops.Readdir(b"/p")],
        expect={"results": ["EXDEV", ". .. from_p"]},
        expect_versus={
            "results": ["ok", ". .. from_q"],
            "upper": {b"/p": "dir redirect=q", b"/q": "dir redirect=p"},
        },
        features=("rename-exchange", "dir-rename-redirect"),
    ),
    Example(
        id="existing-redirect-followed-by-default",
        title="The default follow mode reads redirects but will not make new ones",
        rule="catalogue §2.9 [V t5]; namei.c `ovl_check_redirect`",
        versus=ON,
        spec=layers(
            [dir_(b"d"), reg(b"d/f", b"x")], upper=[whiteout(b"d"), redirected(b"e", b"d")]
        ),
        program=[ops.Readdir(b"/e"), ops.Rename(b"/e", b"/g")],
        expect={"results": [". .. f", "EXDEV"]},
        expect_versus={"results": [". .. f", "ok"], "upper": {b"/g": "dir redirect=d"}},
        notes="The upper layer is what an earlier mount with `redirect_dir=on` left after "
        "`mv d e`. Under the default the redirect is followed and `e` shows `d`'s contents, "
        "but renaming it again is EXDEV.",
        features=("dir-rename-default", "dir-rename-redirect"),
    ),
    Example(
        id="redirect-to-lower-dir-still-visible",
        title="A redirect to a lower directory that is still visible under its own name",
        rule="catalogue §1 (redirects), §6 (sanity checks give ESTALE or EIO)",
        spec=layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[redirected(b"e", b"d")]),
        program=[ops.Readdir(b"/e"), ops.Lstat(b"/d")],
        expect={"results": ["ESTALE", "dir"]},
        notes="Layers made offline: the upper `e/` redirects to `d`, but there is no "
        "whiteout at `d`, so the lower `d/` is reachable under two names. The kernel refuses "
        "the redirected lookup with ESTALE; overlayfs itself never leaves such layers "
        "behind (a rename with a redirect always whites out the old name).",
    ),
    # difftest promote: new examples go above this line
]
