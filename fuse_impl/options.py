"""Mount options: declared once as a table, parsed into a :class:`Config`, checked once.

The syntax is the kernel overlay's (also fuse-overlayfs's): ``-o`` takes comma-separated
``key`` or ``key=value`` items; ``\\,`` escapes a comma and, inside ``lowerdir``, ``\\:``
escapes a colon.  ``lowerdir=A:B`` lists the top layer first.

Four groups share the one table:

* overlay options (``lowerdir``, ``upperdir``, ``workdir``, ``redirect_dir``, ...), with the
  kernel's values and defaults (catalogue §0, §4);
* ovlfuse's own (``exact``, ``timeout=N``, ``aufs_whiteouts``);
* the options fuse-overlayfs takes that a container engine passes to its mount program
  (``uidmapping``, ``squash_to_uid``, ``xattr_permissions``, ``context``, ...): implemented
  (:mod:`fuse_impl.owners`), accepted without effect where they only tune fuse-overlayfs's own
  machinery, or refused with the reason;
* FUSE / generic mount options passed through to libfuse (``allow_other``, ``ro``,
  ``nosuid``, ...), plus fstab-only words that mount(8) may hand to a helper (``defaults``,
  ``noauto``, ``_netdev``, ``x-*``) and that are dropped.  Atime options libfuse does not
  know (``relatime``, ``lazytime``, ...) are accepted and never reach it: the atimes shown are
  the layers' own (lower files are read with O_NOATIME, the upper filesystem keeps its rule).

Anything else is an error (:class:`UsageError`), as the kernel's "Unknown parameter".
Features the kernel has but ovlfuse does not implement (``metacopy=on``, ``nfs_export=on``, ...)
are recognised and refused with a message saying so.  A comma inside double quotes does not
split options (``context="system_u:object_r:container_file_t:s0:c1,c2"``), as the kernel's
LSM option parser.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .errors import UsageError

DEFAULT_TIMEOUT = 60.0  # seconds of entry/attribute caching outside exact mode
MAX_ID = 0xFFFFFFFE  # (uid_t)-1 means "no change" to chown


@dataclass(frozen=True)
class IdRange:
    """One range of an ID mapping: IDs stored from *stored* on are shown from *shown* on."""

    stored: int
    shown: int
    count: int


@dataclass(frozen=True)
class Opt:
    """One row of the option table."""

    name: str
    # layers | path | enum | flag | number | id | mapping | label | fuse | fuse_value | ignore
    # | tuning (accepted, no effect) | refused (doc says why)
    kind: str
    choices: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()
    doc: str = ""


FUSE_OVERLAYFS_OPTIONS: tuple[Opt, ...] = (
    Opt("uidmapping", "mapping",
        doc="STORED:SHOWN:COUNT[:STORED2:SHOWN2:COUNT2...]: a uid stored in the layers is "
            "shown shifted into the range; callers' uids are stored shifted back"),
    Opt("gidmapping", "mapping", doc="as uidmapping, for gids"),
    Opt("squash_to_uid", "id", doc="every object is shown owned by this uid"),
    Opt("squash_to_gid", "id", doc="every object is shown owned by this gid"),
    Opt("squash_to_root", "flag", doc="every object is shown owned by 0:0 (the two above win)"),
    Opt("xattr_permissions", "enum", ("0", "1", "2"),
        doc="owner and mode kept in an xattr instead of the real ones: 1 "
            "security.fuseoverlayfs.override_stat, 2 user.fuseoverlayfs.override_stat"),
    Opt("context", "label", doc="SELinux label; ignored when SELinux is not enabled"),
    Opt("static_nlink", "flag", doc="directories report st_nlink 1"),
    Opt("noxattrs", "enum", ("0", "1"), doc="1: extended attributes are not supported"),
    Opt("noacl", "tuning", doc="ovlfuse never enables FUSE ACL support"),
    *(Opt(name, "tuning", doc="a fuse-overlayfs performance setting") for name in (
        "threaded", "fast_ino", "writeback", "splice_read", "splice_write", "splice_move",
        "kernel_cache", "max_write",
    )),
    Opt("plugins", "refused", doc="ovlfuse reads layers from directories only (no plugins)"),
)

OPTIONS: tuple[Opt, ...] = (
    Opt("lowerdir", "layers", doc="lower layers, top first, colon-separated"),
    Opt("upperdir", "path", doc="writable upper layer"),
    Opt("workdir", "path", doc="empty dir on the upper's filesystem, for atomic changes"),
    Opt("redirect_dir", "enum", ("on", "follow", "nofollow", "off"),
        doc="on: directory renames via trusted.overlay.redirect; follow (default): read only"),
    Opt("index", "enum", ("on", "off"),
        doc="on: hard links of lower files stay one file after copy-up (workdir/index)"),
    Opt("nfs_export", "enum", ("on", "off"), unsupported=("on",)),
    Opt("metacopy", "enum", ("on", "off"), unsupported=("on",)),
    Opt("verity", "enum", ("on", "off", "require"), unsupported=("on", "require")),
    Opt("xino", "enum", ("on", "off", "auto"),
        doc="on layers that span filesystems inode numbers are always mapped as with xino=on "
            "(FUSE has one st_dev); on one filesystem only the opaque-on-mkdir rule changes"),
    Opt("uuid", "enum", ("on", "off", "auto", "null")),
    Opt("fsync", "enum", ("auto", "strict", "volatile", "0", "1"),
        doc="fuse-overlayfs's fsync=0 is volatile, fsync=1 auto"),
    Opt("volatile", "flag", doc="same as fsync=volatile"),
    Opt("userxattr", "flag", doc="use user.overlay.* instead of trusted.overlay.*"),
    Opt("override_creds", "flag"),
    Opt("default_permissions", "fuse", doc="always on: the kernel checks permissions"),
    Opt("ro", "flag", doc="read-only overlay (also without an upperdir)"),
    Opt("rw", "flag"),
    Opt("exact", "flag", doc="no caching: every stat reflects the current state"),
    Opt("timeout", "number", doc="entry/attribute timeout in seconds; 0 means exact"),
    Opt("debug", "flag", doc="same as -d, without staying in the foreground"),
    Opt("aufs_whiteouts", "flag",
        doc="containers-storage's mount_program role: .wh.NAME and .wh..wh..opq in any "
            "layer are whiteouts and opaque markers, never listed (fuse_impl.aufs)"),
    *FUSE_OVERLAYFS_OPTIONS,
    Opt("allow_other", "fuse", doc="on by default when run as root"),
    Opt("allow_root", "fuse"),
    Opt("auto_unmount", "fuse"),
    Opt("fsname", "fuse_value"),
    Opt("subtype", "fuse_value"),
    Opt("max_read", "fuse_value"),
    Opt("blksize", "refused", doc="it applies to FUSE block-device (fuseblk) mounts only"),
    *(Opt(flag, "fuse") for flag in (
        "nosuid", "suid", "nodev", "dev", "noexec", "exec", "async", "sync", "dirsync",
        "noatime", "atime",
    )),
    *(Opt(flag, "tuning", doc="atimes shown are the layers' own") for flag in (
        "nodiratime", "diratime", "relatime", "norelatime", "strictatime", "nostrictatime",
        "lazytime", "nolazytime",
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
    index: bool = False
    readonly: bool = False
    exact: bool = False
    timeout: float = DEFAULT_TIMEOUT
    debug: bool = False
    foreground: bool = False
    fsname: str = "overlay"
    fuse_options: list[str] = field(default_factory=list)
    aufs_whiteouts: bool = False
    uid_map: tuple[IdRange, ...] = ()
    gid_map: tuple[IdRange, ...] = ()
    squash_uid: int | None = None
    squash_gid: int | None = None
    squash_root: bool = False
    xattr_permissions: int = 0
    context: str | None = None
    static_nlink: bool = False
    noxattrs: bool = False
    ignored: list[str] = field(default_factory=list)  # accepted options without effect

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
        return not self.redirect_create and self.xino != "on" and not self.index

    @property
    def writable(self) -> bool:
        return self.upperdir is not None and not self.readonly


def split_unescaped(text: str, sep: str, quotes: bool = False) -> list[str]:
    """Split on *sep* not preceded by a backslash (nor, with *quotes*, inside double quotes);
    backslashes and quotes stay in the parts."""
    parts, current, i, quoted = [], [], 0, False
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if quotes and ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
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


def _mapping(name: str, value: str) -> tuple[IdRange, ...]:
    """``STORED:SHOWN:COUNT[:STORED2:SHOWN2:COUNT2...]`` → ranges, in the order given; empty
    fields are skipped (containers-storage writes ``uidmapping=:0:100000:65536``)."""
    fields = [f for f in value.split(":") if f]
    if len(fields) % 3 or not all(f.isdigit() for f in fields):
        raise UsageError(f"option '{name}' needs STORED:SHOWN:COUNT triples, not '{value}'")
    numbers = [int(f) for f in fields]
    ranges = tuple(IdRange(*numbers[i : i + 3]) for i in range(0, len(numbers), 3))
    for r in ranges:
        if r.count == 0 or max(r.stored, r.shown) + r.count - 1 > MAX_ID:
            raise UsageError(f"option '{name}': range {r.stored}:{r.shown}:{r.count} is "
                             "empty or leaves the ID space")
    return ranges


def _id(name: str, value: str) -> int:
    if not value.isdigit() or int(value) > MAX_ID:
        raise UsageError(f"option '{name}' needs a uid/gid number, not '{value}'")
    return int(value)


def _apply_container_option(cfg: Config, opt: Opt, value: str | None) -> None:
    """Store one of the options a container engine passes to its mount program."""
    name, text = opt.name, value or ""
    if name == "uidmapping":
        cfg.uid_map = _mapping(name, text)
    elif name == "gidmapping":
        cfg.gid_map = _mapping(name, text)
    elif name == "squash_to_uid":
        cfg.squash_uid = _id(name, text)
    elif name == "squash_to_gid":
        cfg.squash_gid = _id(name, text)
    elif name == "squash_to_root":
        cfg.squash_root = True
    elif name == "xattr_permissions":
        cfg.xattr_permissions = int(text)
    elif name == "context":
        cfg.context = text[1:-1] if len(text) > 1 and text[0] == text[-1] == '"' else text
    elif name == "static_nlink":
        cfg.static_nlink = True
    elif name == "noxattrs":
        cfg.noxattrs = text == "1"
    elif name == "aufs_whiteouts":
        cfg.aufs_whiteouts = True
    elif name == "debug":
        cfg.debug = True


CONTAINER_OPTIONS = frozenset(opt.name for opt in FUSE_OVERLAYFS_OPTIONS) | {
    "aufs_whiteouts", "debug"}


def _apply(cfg: Config, opt: Opt, value: str | None) -> None:
    """Store one parsed option in *cfg* (the option's checks already passed)."""
    name = opt.name
    if name in CONTAINER_OPTIONS and opt.kind != "tuning":
        _apply_container_option(cfg, opt, value)
    elif opt.kind == "tuning":
        cfg.ignored.append(name if value is None else f"{name}={value}")
    elif opt.kind == "layers":
        cfg.lowerdirs = _lowerdirs(value or "")
    elif name == "upperdir":
        cfg.upperdir = _path(value or "")
    elif name == "workdir":
        cfg.workdir = _path(value or "")
    elif name == "redirect_dir":
        # redirect_always_follow=Y on this kernel: "off" means follow (catalogue §0)
        cfg.redirect_dir = "follow" if value == "off" else str(value)
    elif name in ("xino", "uuid"):
        setattr(cfg, name, value)
    elif name == "fsync":
        cfg.fsync = {"0": "volatile", "1": "auto"}.get(str(value), str(value))
    elif name == "volatile":
        cfg.fsync = "volatile"
    elif name == "userxattr":
        cfg.userxattr = True
    elif name == "index":
        cfg.index = value == "on"
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
    """Reject a value that does not fit the option's kind, and refused options."""
    if opt.kind == "refused":
        raise UsageError(f"option '{opt.name}' is not supported by ovlfuse: {opt.doc}")
    if opt.kind in ("flag", "fuse") and value is not None:
        raise UsageError(f"option '{opt.name}' takes no value")
    if opt.kind in ("layers", "path", "enum", "number", "id", "mapping", "label",
                    "fuse_value") and not value:
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
    for item in split_unescaped(text, ",", quotes=True):
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
        cfg.index = False  # and turns the index off
        if len(cfg.lowerdirs) < 2:
            raise UsageError("at least 2 lowerdir are needed while upperdir nonexistent")
    if cfg.userxattr:
        if cfg.redirect_dir == "on":
            raise UsageError("conflicting options: userxattr and redirect_dir=on")
        cfg.redirect_dir = "nofollow"
    if cfg.upperdir is None and cfg.redirect_dir == "follow":
        cfg.redirect_dir = "on"  # as the kernel: no upper means follow becomes on (§0)
    if cfg.context is not None and selinux_enabled():
        raise UsageError("option 'context' is not supported by ovlfuse while SELinux is "
                         "enabled: it cannot label its mount")
    return cfg


def selinux_enabled() -> bool:
    """Whether SELinux is active on this machine (selinuxfs is mounted)."""
    return os.path.exists("/sys/fs/selinux/enforce")
