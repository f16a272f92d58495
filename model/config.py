"""Mount options, as declared in the kernel's ``fs/overlayfs/params.c``.

Only what userspace can choose at mount time lives here; the layers themselves are passed
separately, and how option words become a config (and which combinations the kernel
refuses) is :mod:`model.options`.  Defaults are those of kernel 6.18 on the reference machines
(``CONFIG_OVERLAY_FS_REDIRECT_DIR`` unset, ``REDIRECT_ALWAYS_FOLLOW=y``, no index, xino,
metacopy): ``redirect_dir=follow``, ``index=off``, ``metacopy=off``, ``xino=off``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

RedirectDir = Literal["on", "follow", "nofollow", "off"]
Xino = Literal["off", "auto", "on"]
Uuid = Literal["null", "off", "auto", "on"]
Verity = Literal["off", "on", "require"]

OVL_MAX_STACK = 500  # params.c: at most 500 layers
REDIRECT_MAX = 256  # module parameter redirect_max


@dataclass(frozen=True)
class Config:
    """One overlay mount's options (what ``-o`` says, not the layers)."""

    redirect_dir: RedirectDir = "follow"
    index: bool = False
    metacopy: bool = False
    nfs_export: bool = False
    xino: Xino = "off"
    userxattr: bool = False
    volatile: bool = False
    uuid: Uuid = "auto"
    verity: Verity = "off"
    ro: bool = False
    redirect_max: int = REDIRECT_MAX

    @property
    def redirect_create(self) -> bool:
        """Directory renames write redirects (``redirect_dir=on``), else they give EXDEV."""
        return self.redirect_dir == "on"

    @property
    def redirect_follow(self) -> bool:
        """Redirects are followed on lookup (``on``/``follow``; ``off`` maps to follow here
        because ``redirect_always_follow=Y``)."""
        return self.redirect_dir != "nofollow"

    @property
    def offline_changes_allowed(self) -> bool:
        """``ovl_allow_offline_changes()``: false with index, metacopy, redirect_dir=on or
        xino=on (not auto, and even on one filesystem, where xino itself is ignored); then
        mkdir in a merged parent makes the new dir opaque (catalogue §2.6, §4)."""
        return not (self.index or self.metacopy or self.redirect_dir == "on" or self.xino == "on")

    def with_(self, **changes: object) -> Config:  # pragma: no cover - for difftest replay
        return replace(self, **changes)  # type: ignore[arg-type]

    def mount_options(self) -> list[str]:
        """The ``-o`` words that select this config on a real mount (defaults omitted)."""
        opts: list[str] = []
        if self.redirect_dir != "follow":
            opts.append(f"redirect_dir={self.redirect_dir}")
        if self.index:
            opts.append("index=on")
        if self.metacopy:
            opts.append("metacopy=on")
        if self.nfs_export:
            opts.append("nfs_export=on")
        if self.xino != "off":
            opts.append(f"xino={self.xino}")
        if self.userxattr:
            opts.append("userxattr")
        if self.volatile:
            opts.append("volatile")
        if self.uuid != "auto":
            opts.append(f"uuid={self.uuid}")
        if self.verity != "off":
            opts.append(f"verity={self.verity}")
        if self.ro:
            opts.append("ro")
        return opts
