"""Named overlay configurations (presets): mount options plus the shape of the layer stack.

Kept apart from :mod:`difftest.session` so that reports, surveys and commands can name a
config without importing the machinery that runs one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from model.config import Config


@dataclass(frozen=True)
class RunConfig:
    """A named overlay configuration: mount options plus the shape of the layer stack."""

    name: str
    config: Config = field(default_factory=Config)
    lowers: int = 2
    has_upper: bool = True
    split_fs: bool = False  # each lower layer on a tmpfs of its own, apart from the upper
    # layer paths with " ,:=\" in their names; the kernel mounted through fsopen/fsconfig
    # (lowerdir+, upperdir, workdir: no escaping), FUSE programs get the escaped -o string
    new_api: bool = False
    # the bottom lower's files are metacopy files whose data is in a data-only layer
    data_only: bool = False
    # the tester runs inside a user namespace of its own (difftest.userns), as rootless
    # container engines mount the overlay: its root lacks every capability of the initial
    # namespace; such a config runs in a worker process, which enters the namespace first
    userns: bool = False
    # the upper root may hold a uuid or an impure mark from earlier mounts (uuid= presets)
    root_history: bool = False
    # with data_only: every other lower metacopy file holds an fs-verity digest
    digests: bool = False
    # the lowers are mounted as a read-only overlay of this kind ("kernel", "ovlfuse"), which
    # is then the only lower layer (difftest.nesting, model.nested)
    nested: str = ""
    # layers are changed underneath the mount too (model.online, machine.OnlineMachine)
    online: bool = False
    # live remount,ro / remount,rw drawn with FUSE targets too (kernel-only runs always)
    live_remount: bool = False

    def describe(self) -> str:
        opts = ",".join(self.config.mount_options()) or "defaults"
        upper = "upper" if self.has_upper else "no upper"
        fs = ", each layer on its own filesystem" if self.split_fs else ""
        api = ", odd layer paths, fsconfig" if self.new_api else ""
        data = ", a data-only layer" if self.data_only else ""
        ns = ", inside a user namespace" if self.userns else ""
        old = ", an upper root of earlier mounts" if self.root_history else ""
        lowers = (f"the {self.lowers} lowers as a {self.nested} overlay" if self.nested
                  else f"{self.lowers} lower(s)")  # fmt: skip
        if self.online:
            lowers += ", layers changed underneath"
        return f"{self.name} ({opts}; {lowers}, {upper}{fs}{api}{data}{ns}{old})"


PRESETS: dict[str, RunConfig] = {
    "default": RunConfig("default"),
    "redirect_dir=on": RunConfig("redirect_dir=on", Config(redirect_dir="on")),
    "redirect_dir=off": RunConfig("redirect_dir=off", Config(redirect_dir="off")),
    "redirect_dir=nofollow": RunConfig("redirect_dir=nofollow", Config(redirect_dir="nofollow")),
    "index=on": RunConfig("index=on", Config(index=True)),
    "nfs_export=on": RunConfig("nfs_export=on", Config(index=True, nfs_export=True)),
    "nfs_export=on+redirect_dir=on": RunConfig(
        "nfs_export=on+redirect_dir=on", Config(redirect_dir="on", index=True, nfs_export=True)),
    "xino=on": RunConfig("xino=on", Config(xino="on")),
    "xino=auto": RunConfig("xino=auto", Config(xino="auto")),
    "split-fs+xino=on": RunConfig("split-fs+xino=on", Config(xino="on"), split_fs=True),
    "split-fs+xino=auto": RunConfig("split-fs+xino=auto", Config(xino="auto"), split_fs=True),
    "volatile": RunConfig("volatile", Config(volatile=True)),
    "metacopy=on": RunConfig("metacopy=on", Config(redirect_dir="on", metacopy=True)),
    "fsconfig": RunConfig("fsconfig", new_api=True),
    "data-only": RunConfig("data-only", data_only=True),
    "data-only+metacopy=on": RunConfig("data-only+metacopy=on",
                                       Config(redirect_dir="on", metacopy=True), data_only=True),
    "data-only+fsconfig": RunConfig("data-only+fsconfig", new_api=True, data_only=True),
    "data-only+verity=on": RunConfig("data-only+verity=on", Config(verity="on"),
                                     data_only=True, digests=True),
    "data-only+verity=require": RunConfig("data-only+verity=require", Config(verity="require"),
                                          data_only=True),
    "metacopy=on+verity=require": RunConfig(
        "metacopy=on+verity=require", Config(redirect_dir="on", metacopy=True, verity="require")),
    "userxattr": RunConfig("userxattr", Config(userxattr=True)),
    "userns": RunConfig("userns", Config(userxattr=True), userns=True),
    "uuid=on": RunConfig("uuid=on", Config(uuid="on"), root_history=True),
    "uuid=auto": RunConfig("uuid=auto", root_history=True),
    "uuid=null": RunConfig("uuid=null", Config(uuid="null"), root_history=True),
    "uuid=off": RunConfig("uuid=off", Config(uuid="off"), root_history=True),
    "split-fs+uuid=off": RunConfig("split-fs+uuid=off", Config(uuid="off"), split_fs=True,
                                   root_history=True),
    "no-upper+uuid=on": RunConfig("no-upper+uuid=on", Config(uuid="on"), has_upper=False),
    "lowers=1": RunConfig("lowers=1", lowers=1),
    "lowers=3": RunConfig("lowers=3", lowers=3),
    "no-upper": RunConfig("no-upper", lowers=2, has_upper=False),
    "ro": RunConfig("ro", Config(ro=True)),
    "split-fs": RunConfig("split-fs", split_fs=True),
    "nested": RunConfig("nested", nested="kernel"),
    "nested+redirect_dir=on": RunConfig("nested+redirect_dir=on", Config(redirect_dir="on"),
                                        nested="kernel"),
    "nested-on-ovlfuse": RunConfig("nested-on-ovlfuse", nested="ovlfuse"),
    "live-remount": RunConfig("live-remount", live_remount=True),
    "live-remount+redirect_dir=on": RunConfig("live-remount+redirect_dir=on",
                                              Config(redirect_dir="on"), live_remount=True),
    "online": RunConfig("online", online=True),
    "online+redirect_dir=on": RunConfig("online+redirect_dir=on", Config(redirect_dir="on"),
                                        online=True),
}
SUPPORTED = ("default", "redirect_dir=on", "index=on", "lowers=3", "no-upper", "split-fs")
# The whole mount-option matrix: what --profile nightly and campaign run without --config.
MATRIX = tuple(PRESETS)


def with_lowers(rc: RunConfig, lowers: int) -> RunConfig:
    """``rc`` with another number of lower layers (``--lowers``), named after both."""
    return replace(rc, name=f"{rc.name},lowers={lowers}", lowers=lowers)


def by_name(name: str) -> RunConfig:
    """The config a run named ``name``: a preset, or a preset with ``,lowers=N``."""
    preset, _, rest = name.partition(",")
    if preset not in PRESETS:
        raise ValueError(f"unknown config {preset!r}; choose from: {', '.join(PRESETS)}")
    if not rest:
        return PRESETS[preset]
    key, _, value = rest.partition("=")
    if key != "lowers" or not value.isdigit():
        raise ValueError(f"config {name!r}: only ',lowers=N' may follow a preset")
    return with_lowers(PRESETS[preset], int(value))
