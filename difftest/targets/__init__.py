"""Targets: things that implement :class:`difftest.syscalls.Syscalls`.

``make_target(name, scratch, spec, config)`` builds one for an example:

* ``"kernel"``: :class:`difftest.targets.kernel.KernelOverlay`, the kernel's overlayfs on
  layers built in a fresh directory of ``scratch``; call ``teardown()`` when done.
* ``"model"``: ``model.overlay.Overlay.from_spec(spec, config)`` (imported lazily).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from difftest.scratch import Scratch
    from model.config import Config
    from model.spec import LayersSpec

from difftest.targets.names import CRASH_TARGETS, FUSE_TARGETS, TARGET_NAMES

__all__ = ["CRASH_TARGETS", "FUSE_TARGETS", "TARGET_NAMES", "make_target", "target_problem"]


def make_target(name: str, scratch: Scratch, spec: LayersSpec, config: Config,
                split_fs: bool = False, new_api: bool = False, nested: str = "") -> Any:
    """A fresh target called ``name`` holding ``spec``'s layers, mounted with ``config``
    (``split_fs``: each layer on a filesystem of its own; ``new_api``: layer paths with
    ``,`` ``:`` ``=`` and spaces, and the kernel mounts through fsconfig; ``nested``: the
    lowers mounted as an overlay of that kind first, :mod:`difftest.nesting`)."""
    if name == "kernel":
        from difftest.targets.kernel import make_kernel_target

        return make_kernel_target(scratch, spec, config, split_fs, new_api, nested)
    if name.endswith("+interchange"):
        from difftest.targets.fuse import make_fuse_target

        return make_fuse_target(name.removesuffix("+interchange"), scratch, spec, config, True,
                                split_fs, new_api, nested)  # fmt: skip
    if name in FUSE_TARGETS or name.startswith("cmd:"):
        from difftest.targets.fuse import make_fuse_target

        return make_fuse_target(name, scratch, spec, config, split_fs=split_fs,
                                new_api=new_api, nested=nested)  # fmt: skip
    if name == "model":
        if nested:
            from model.nested import nested as nested_model

            return nested_model(spec, spec, config)
        from model.overlay import Overlay  # type: ignore[import-not-found,unused-ignore]

        return Overlay.from_spec(spec, config, samefs=not split_fs)
    raise ValueError(f"unknown target {name!r} (known: {', '.join(TARGET_NAMES)})")


def teardown_target(target: object) -> None:
    """Release what a target holds (mounts, dirs, helpers' handles); no-op for the model."""
    teardown = getattr(target, "teardown", None)
    if teardown is not None:
        teardown()


# Configs a target refuses by design (not a divergence worth a default run's time): ovlfuse
# copies data with every copy-up and keeps no directory index entries, so it refuses
# metacopy=on, data-only layers and nfs_export=on at mount (tests/difftest/test_gate_fuse.py).
_OVLFUSE_REFUSES = {
    "metacopy=on": "ovlfuse does not implement metacopy=on (it refuses to mount)",
    "data-only": "ovlfuse does not implement data-only layers (it refuses '::' at mount)",
    "data-only+metacopy=on": "ovlfuse does not implement data-only layers or metacopy=on",
    "data-only+fsconfig": "ovlfuse does not implement data-only layers (it refuses '::')",
    "nfs_export=on": "ovlfuse does not implement nfs_export=on (file handles of the overlay, "
    "directory index entries; it refuses to mount)",
    "nfs_export=on+redirect_dir=on": "ovlfuse does not implement nfs_export=on",
    "data-only+verity=on": "ovlfuse does not implement data-only layers (it refuses '::')",
    "data-only+verity=require": "ovlfuse does not implement data-only layers (it refuses '::')",
    "metacopy=on+verity=require": "ovlfuse does not implement metacopy=on (it refuses to mount)",
}
UNSUPPORTED_CONFIGS = {"fuse": _OVLFUSE_REFUSES, "fuse-cached": _OVLFUSE_REFUSES,
                       "fuse-crash": _OVLFUSE_REFUSES}


def unsupported_config(name: str, config: str) -> str | None:
    """Why target ``name`` does not take preset ``config``, or None."""
    return UNSUPPORTED_CONFIGS.get(name.removesuffix("+interchange"), {}).get(config)


def target_problem(name: str) -> str | None:
    """Why ``name`` cannot run on this machine (for a clear exit 2), or None."""
    if name == "model":
        return None
    if name == "kernel":
        from difftest.targets.kernel import kernel_overlay_problem

        return kernel_overlay_problem()
    name = name.removesuffix("+interchange")
    if name in FUSE_TARGETS or name.startswith("cmd:"):
        from difftest.targets.fuse import fuse_target_problem

        return fuse_target_problem(name)
    return f"unknown target (known: {', '.join(TARGET_NAMES)}, fuse, fuse-overlayfs, cmd:PROG)"


_programs: dict[str, str] = {}


def programs(names: list[str]) -> dict[str, str]:
    """For each FUSE target among ``names``, the program it mounts and its version."""
    from difftest.targets.fuse import program_version

    out = {}
    for name in names:
        if name in ("model", "kernel"):
            continue
        if name not in _programs:
            _programs[name] = program_version(name)
        out[name] = _programs[name]
    return out
