"""Mount options: declared once as a table, parsed into a :class:`Config`, checked once.

The syntax is the kernel overlay's (also fuse-overlayfs's): ``-o`` takes comma-separated
``key`` or ``key=value`` items; ``\\,`` escapes a comma and, inside ``lowerdir``, ``\\:``
escapes a colon.  ``lowerdir=A:B`` lists the top layer first.

Three groups share the one table:

* overlay options (``lowerdir``, ``upperdir``, ``workdir``, ``redirect_dir``, ...), with the
  kernel's values and defaults (catalogue §0, §4);
* ovlfuse's own (``exact``, ``timeout=N``);
* FUSE / generic mount options passed through to libfuse (``allow_other``, ``ro``,
  ``nosuid``, ...), plus fstab-only words that mount(8) may hand to a helper (``defaults``,
  ``noauto``, ``_netdev``, ``x-*``) and that are dropped.

Anything else is an error (:class:`UsageError`), as the kernel's "Unknown parameter".
Features the kernel has but ovlfuse does not implement (``index=on``, ``metacopy=on``, ...)
are recognised and refused with a message saying so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .errors import UsageError

DEFAULT_TIMEOUT = 60.0  # seconds of entry/attribute caching outside exact mode


@dataclass(frozen=True)
class Opt:
    """One row of the option table."""

    name: str
    kind: str  # layers | path | enum | flag | number | fuse | fuse_value | ignore
    choices: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()
    doc: str = ""


OPTIONS: tuple[Opt, ...] = (
    Opt("lowerdir", "layers", doc="lower layers, top first, colon-separated"),
    Opt("upperdir", "path", doc="writable upper layer"),
    Opt("workdir", "path", doc="empty dir on the upper's filesystem, for atomic changes"),
    Opt("redirect_dir", "enum", ("on", "follow", "nofollow", "off"),
        doc="on: directory renames via trusted.overlay.redirect; follow (default): read only"),
    Opt("index", "enum", ("on", "off"), unsupported=("on",)),
    Opt("nfs_export", "enum", ("on", "off"), unsupported=("on",)),
    Opt("metacopy", "enum", ("on", "off"), unsupported=("on",)),
    Opt("verity", "enum", ("on", "off", "require"), unsupported=("on", "require")),
    Opt("xino", "enum", ("on", "off", "auto"),
        doc="on layers that span filesystems inode numbers are always mapped as with xino=on "
            "(FUSE has one st_dev); on one filesystem only the opaque-on-mkdir rule changes"),
    Opt("uuid", "enum", ("on", "off", "auto", "null")),
    Opt("fsync", "enum", ("auto", "strict", "volatile")),
    Opt("volatile", "flag", doc="same as fsync=volatile"),
    Opt("userxattr", "flag", doc="use user.overlay.* instead of trusted.overlay.*"),
    Opt("override_creds", "flag"),
    Opt("default_permissions", "fuse", doc="always on: the kernel checks permissions"),
    Opt("ro", "flag", doc="read-only overlay (also without an upperdir)"),
    Opt("rw", "flag"),
    Opt("exact", "flag", doc="no caching: every stat reflects the current state"),
    Opt("timeout", "number", doc="entry/attribute timeout in seconds; 0 means exact"),
    Opt("allow_other", "fuse", doc="on by default when run as root"),
    Opt("allow_root", "fuse"),
    Opt("auto_unmount", "fuse"),
    Opt("fsname", "fuse_value"),
    Opt("subtype", "fuse_value"),
    Opt("max_read", "fuse_value"),
    Opt("blksize", "fuse_value"),
    *(Opt(flag, "fuse") for flag in (
        "nosuid", "suid", "nodev", "dev", "noexec", "exec", "async", "sync", "dirsync",
        "noatime", "atime", "nodiratime", "diratime", "relatime", "norelatime",
        "strictatime", "nostrictatime", "lazytime", "nolazytime",
    )),
    *(Opt(word, "ignore") for word in (
        "defaults", "auto", "noauto", "user", "nouser", "users", "owner", "_netdev",
        "nofail", "comment", "loop",
    )),
)
_BY_NAME = {opt.name: opt for opt in OPTIONS}


@dataclass
class Config:
    """Everything a mount needs, after parsing (paths as given, bytes)."""

    lowerdirs: list[bytes] = field(default_factory=list)
    upperdir: bytes | None = None
    workdir: bytes | None = None
    mountpoint: bytes = b""
    redirect_dir: str = "follow"
    xino: str = "off"
    uuid: str = "auto"
    fsync: str = "auto"
    userxattr: bool = False
    readonly: bool = False
    exact: bool = False
    timeout: float = DEFAULT_TIMEOUT
    debug: bool = False
    foreground: bool = False
    fsname: str = "overlay"
    fuse_options: list[str] = field(default_factory=list)

    @property
    def xattr_prefix(self) -> bytes:
        """The private xattr namespace: ``trusted.overlay.`` (``user.overlay.``)."""
        return b"user.overlay." if self.userxattr else b"trusted.overlay."

    @property
    def redirect_create(self) -> bool:
        """Directory renames create redirects (else they give EXDEV)."""
        return self.redirect_dir == "on"

    @property
    def redirect_follow(self) -> bool:
        return self.redirect_dir != "nofollow"

    @property
    def offline_changes_allowed(self) -> bool:
        """The kernel's ovl_allow_offline_changes(): no index, metacopy, redirects, xino=on."""
        return not self.redirect_create and self.xino != "on"

    @property
    def writable(self) -> bool:
        return self.upperdir is not None and not self.readonly


def split_unescaped(text: str, sep: str) -> list[str]:
    """Split on *sep* not preceded by a backslash; backslashes stay in the parts."""
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def unescape(text: str) -> str:
    """Drop the backslash of every ``\\X`` pair."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def _path(value: str) -> bytes:
    return os.fsencode(unescape(value))


def _lowerdirs(value: str) -> list[bytes]:
    """``A:B:C`` → [A, B, C]; ``::`` (data-only layers) is not supported."""
    if "::" in value.replace("\\:", ""):
        raise UsageError("lowerdir: data-only layers ('::') are not supported by ovlfuse")
    layers = split_unescaped(value, ":")
    if any(not layer for layer in layers):
        raise UsageError(f"lowerdir: empty layer path in {value!r}")
    return [_path(layer) for layer in layers]


def _apply(cfg: Config, opt: Opt, value: str | None) -> None:
    """Store one parsed option in *cfg* (the option's checks already passed)."""
    name = opt.name
    if opt.kind == "layers":
        cfg.lowerdirs = _lowerdirs(value or "")
    elif name == "upperdir":
        cfg.upperdir = _path(value or "")
    elif name == "workdir":
        cfg.workdir = _path(value or "")
    elif name == "redirect_dir":
        # redirect_always_follow=Y on this kernel: "off" means follow (catalogue §0)
        cfg.redirect_dir = "follow" if value == "off" else str(value)
    elif name in ("xino", "uuid", "fsync"):
        setattr(cfg, name, value)
    elif name == "volatile":
        cfg.fsync = "volatile"
    elif name == "userxattr":
        cfg.userxattr = True
    elif name in ("ro", "rw"):
        cfg.readonly = name == "ro"
    elif name == "exact":
        cfg.exact = True
    elif name == "timeout":
        cfg.timeout = float(value or 0)
        cfg.exact = cfg.timeout == 0
    elif name == "fsname":
        cfg.fsname = value or "overlay"
    elif opt.kind == "fuse":
        cfg.fuse_options.append(name)
    elif opt.kind == "fuse_value":
        cfg.fuse_options.append(f"{name}={value}")


def _check_value(opt: Opt, value: str | None) -> None:
    """Reject a value that does not fit the option's kind."""
    if opt.kind in ("flag", "fuse") and value is not None:
        raise UsageError(f"option '{opt.name}' takes no value")
    if opt.kind in ("layers", "path", "enum", "number", "fuse_value") and not value:
        raise UsageError(f"option '{opt.name}' needs a value")
    if opt.kind == "enum" and value not in opt.choices:
        raise UsageError(
            f"bad value '{value}' for option '{opt.name}' (one of: {', '.join(opt.choices)})"
        )
    if value in opt.unsupported:
        raise UsageError(f"option '{opt.name}={value}' is not supported by ovlfuse")
    if opt.kind == "number":
        try:
            if float(value or "") < 0:
                raise ValueError
        except ValueError:
            raise UsageError(f"option '{opt.name}' needs a number >= 0, not '{value}'") from None


def parse_options(text: str, cfg: Config | None = None) -> Config:
    """Parse one ``-o`` string into *cfg* (a new Config if None); may be called repeatedly."""
    cfg = cfg or Config()
    for item in split_unescaped(text, ","):
        if not item:
            continue
        name, eq, value = item.partition("=")
        opt = _BY_NAME.get(name)
        if opt is None and name.startswith("x-"):
            continue
        if opt is None:
            raise UsageError(f"unknown mount option '{name}'")
        if opt.kind == "ignore":
            continue
        _check_value(opt, value if eq else None)
        _apply(cfg, opt, value if eq else None)
    return cfg


def finish(cfg: Config) -> Config:
    """Cross-option checks and implied settings, once all ``-o`` strings are parsed."""
    if not cfg.lowerdirs:
        raise UsageError("missing option 'lowerdir'")
    if cfg.upperdir is not None and cfg.workdir is None:
        raise UsageError("option 'upperdir' needs 'workdir' too")
    if cfg.upperdir is None:
        cfg.workdir = None  # the kernel ignores a workdir without an upperdir
        cfg.readonly = True
        if len(cfg.lowerdirs) < 2:
            raise UsageError("at least 2 lowerdir are needed while upperdir nonexistent")
    if cfg.userxattr:
        if cfg.redirect_dir == "on":
            raise UsageError("conflicting options: userxattr and redirect_dir=on")
        cfg.redirect_dir = "nofollow"
    if cfg.upperdir is None and cfg.redirect_dir == "follow":
        cfg.redirect_dir = "on"  # as the kernel: no upper means follow becomes on (§0)
    return cfg
