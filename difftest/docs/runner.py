"""Run one example on one target and keep what the page shows.

:func:`run_view` works on any :class:`difftest.syscalls.Syscalls` (the model, or a kernel
target in :mod:`difftest.docs.verify`).  It mirrors :func:`difftest.example.run_program`:
the state is observed before the first step and after every step (lookups have side effects
on a read-write overlay, so the kernel run and the model run must look the same way), and
handle labels count successful opens from 0.  The result is a :class:`RunView`: each step's
command and rendered result, and the merged view and the upper layer afterwards as facts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from difftest import ops
from difftest.docs import facts as F
from difftest.docs.schema import Example
from difftest.docs.shell import Before, command, layer_names, mount_command
from difftest.observe import Observation
from difftest.observing import observe
from difftest.session import PRESETS
from difftest.syscalls import Syscalls
from model.config import Config
from model.errors import OvlError
from model.nested import nested
from model.overlay import Overlay
from model.spec import LayersSpec
from model.types import DirEntry


@dataclass(frozen=True)
class StepView:
    op: ops.Op
    command: str
    result: F.Shown


@dataclass(frozen=True)
class EntryView:
    """One path of the merged view or the upper layer: facts, and file data when small."""

    facts: tuple[str, ...]
    data: bytes | None = None
    size: int | None = None


@dataclass
class RunView:
    """What one example did under one config on one target."""

    config: str
    mount: str
    steps: list[StepView] = field(default_factory=list)
    merged: dict[bytes, EntryView] = field(default_factory=dict)
    upper: dict[bytes, EntryView] | None = None
    failed: str | None = None  # the mount itself failed

    def results(self) -> list[str]:
        return [s.result.text for s in self.steps]

    def digest(self) -> str:
        """A digest of everything the page shows of this run (commands excluded)."""
        parts: list[Any] = [self.failed, [(s.result.text, s.result.facts) for s in self.steps]]
        parts.append(sorted((p, e.facts) for p, e in self.merged.items()))
        if self.upper is not None:
            parts.append(sorted((p, e.facts) for p, e in self.upper.items()))
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def config_of(name: str) -> Config:
    return PRESETS[name].config


def model_target(spec: LayersSpec, config: str) -> Overlay:
    if PRESETS[config].nested:
        return nested(spec, spec, config_of(config))
    return Overlay.from_spec(spec, config_of(config))


def run_model(example: Example, config: str) -> RunView:
    """The example on the model (what the pages show)."""
    try:
        sys = model_target(example.spec, config)
    except (OvlError, NotImplementedError) as exc:
        return RunView(config, _mount(example, config), failed=str(exc))
    return run_view(sys, example, config)


def _mount(example: Example, config: str) -> str:
    cmd = mount_command(example.spec, config_of(config))
    inner = PRESETS[config].nested
    if not inner:
        return cmd
    lowers = "lowerdir=" + ":".join(layer_names(example.spec))
    first = (f"mount -t overlay overlay -r -o {lowers} inner" if inner == "kernel"
             else f"ovlfuse -o {lowers} inner")  # fmt: skip
    return first + "\n" + cmd.replace(lowers, "lowerdir=inner", 1)


def run_view(sys: Syscalls, example: Example, config: str) -> RunView:
    """Run the program on ``sys`` (already mounted with the example's layers)."""
    view = RunView(config, _mount(example, config))
    labels = F.InodeLabels()
    readonly = example.spec.upper is None or config_of(config).ro
    handles = ops.Handles()
    next_label = 0
    obs = _observe(sys, labels)
    for op in example.program:
        before = _before(obs, labels)
        fd: int | None = None
        if isinstance(op, ops.Remount):
            for h in list(handles.by_label.values()):
                with contextlib.suppress(Exception):
                    sys.close(h)
            handles.by_label.clear()
        try:
            raw = op.run(sys, handles)
        except (OvlError, OSError) as exc:
            shown = F.show_error(exc)
        else:
            if isinstance(op, ops.Open):
                handles.by_label[next_label] = raw
                fd = next_label
                next_label += 1
                raw = fd
            elif isinstance(op, ops.Close):
                handles.by_label.pop(op.h, None)
            shown = F.show_value(op, raw, labels, example.show_inodes)
            if isinstance(op, ops.Readdir) and example.show_inodes:
                shown = _with_d_ino(sys, op.path, raw, shown, example.show_inodes)
        cmd = command(op, before, fd=fd, readonly=readonly, mount=view.mount)
        view.steps.append(StepView(op, cmd, shown))
        obs = _observe(sys, labels)
    view.merged = _merged(sys, obs, labels)
    if example.spec.upper is not None:
        view.upper = _upper(sys, obs)
    for h in list(handles.by_label.values()):
        with contextlib.suppress(Exception):
            sys.close(h)
    return view


def _with_d_ino(
    sys: Syscalls, path: bytes, entries: list[DirEntry], shown: F.Shown, show: bool
) -> F.Shown:
    """Add whether every entry's d_ino equals the st_ino that lstat gives for it (``..``
    of the mount root is left out: lstat would leave the mount).  Only examples that show
    inode numbers check this."""
    differ = []
    for e in entries:
        if e.name == b"..":
            if path == b"/":
                continue
            target = path.rsplit(b"/", 1)[0] or b"/"
        elif e.name == b".":
            target = path
        else:
            target = (path.rstrip(b"/") + b"/" + e.name) if path != b"/" else b"/" + e.name
        try:
            if sys.lstat(target).ino != e.ino:
                differ.append(F.text_of(e.name))
        except (OvlError, OSError):
            differ.append(F.text_of(e.name))
    fact = "d_ino=st_ino" if not differ else "d_ino!=st_ino:" + ",".join(sorted(differ))
    text = shown.text
    if show:
        text += " (d_ino = st_ino)" if not differ else f" (d_ino ≠ st_ino: {', '.join(differ)})"
    return F.Shown(text, (*shown.facts, fact), shown.error)


def _observe(sys: Syscalls, labels: F.InodeLabels) -> Observation:
    obs = observe(sys)
    for path in sorted(obs.ino):
        labels.of(obs.ino[path])
    return obs


def _before(obs: Observation, labels: F.InodeLabels) -> Before:
    kinds = {}
    for path, e in obs.merged.items():
        kinds[path] = (
            "unresolvable"
            if e.kind.startswith("unresolvable")
            else (F.KIND_WORDS.get(e.kind, e.kind))
        )
    inodes = {p: labels.of(i) for p, i in obs.ino.items()}
    return Before(kinds, inodes)


def _read_merged(sys: Syscalls, path: bytes) -> bytes | None:
    try:
        fd = sys.open(path, os.O_RDONLY)
    except (OvlError, OSError):
        return None
    try:
        return sys.pread(fd, F.PREVIEW + 1, 0)
    finally:
        sys.close(fd)


def _merged(sys: Syscalls, obs: Observation, labels: F.InodeLabels) -> dict[bytes, EntryView]:
    out = {}
    for path in sorted(obs.merged):
        e = obs.merged[path]
        data = _read_merged(sys, path) if e.kind == "reg" else None
        label = labels.of(obs.ino[path]) if path in obs.ino else "?"
        out[path] = EntryView(F.merged_facts(e, data, label), data, e.size)
    return out


def _upper(sys: Syscalls, obs: Observation) -> dict[bytes, EntryView]:
    assert obs.upper is not None
    datas = upper_data(sys)
    out = {}
    for path in sorted(obs.upper):
        e = obs.upper[path]
        data = datas.get(path) if e.kind == "reg" else None
        out[path] = EntryView(F.upper_facts(e, data), data, e.size)
    return out


def upper_data(sys: Syscalls) -> dict[bytes, bytes]:
    """The first bytes of every regular file in the upper layer, read from the layer
    itself: the model's upper tree, or a real target's upper directory."""
    out: dict[bytes, bytes] = {}
    if isinstance(sys, Overlay):
        from model.layer import REG, walk_tree

        if sys.fs.upper is None:
            return out
        for path, node in walk_tree(sys.fs.upper.root):
            if node.kind == REG and node.data is not None:
                out[path] = node.data.read(0, F.PREVIEW + 1)
        return out
    upperdir = getattr(sys, "upperdir", None)
    if upperdir is None:
        return out
    for path, e in sys.upper_dump().items():
        if e.kind != "reg":
            continue
        try:
            with open(upperdir + path, "rb") as f:
                out[path] = f.read(F.PREVIEW + 1)
        except OSError:
            continue
    return out
