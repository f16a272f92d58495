"""Import pyfuse3 without what a mount does not need: about 90 ms of every mount's start-up.

* pyfuse3 imports trio when it is imported, but uses it only inside ``pyfuse3.main()``, and
  ovlfuse runs that under a loop of its own (:mod:`fuse_impl.loop`, which swaps
  ``pyfuse3.trio`` for a stand-in).  So while pyfuse3 is imported, ``trio`` is a module
  whose first attribute access imports the real trio: code that does run pyfuse3 under trio
  (the benchmark's ``trio`` variant) still gets it, the mount does not pay for it.
* pyfuse3 asks ``importlib.metadata`` for its own version (which imports the email parser
  and reads every distribution's metadata); a stand-in answers from the name of pyfuse3's
  ``.dist-info`` directory instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from typing import Any


class _LazyTrio(types.ModuleType):
    """Stands for trio until something asks it for an attribute."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get("trio") is self:
            del sys.modules["trio"]
        return getattr(importlib.import_module("trio"), name)


class _PackageNotFoundError(ModuleNotFoundError):
    """The stand-in's answer for a distribution it cannot see."""


def _version(name: str) -> str:
    """The version of the installed distribution *name*, from its dist-info directory name."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise _PackageNotFoundError(name)
    site = os.path.dirname(os.path.dirname(spec.origin))
    for entry in os.listdir(site):
        stem, dot, ext = entry.rpartition(".")
        dist, dash, version = stem.partition("-")
        if ext == "dist-info" and dot and dash and dist.lower() == name.lower():
            return version
    raise _PackageNotFoundError(name)


def _metadata_stand_in() -> types.ModuleType:
    mod = types.ModuleType("importlib.metadata")
    mod.version = _version  # type: ignore[attr-defined]
    mod.PackageNotFoundError = _PackageNotFoundError  # type: ignore[attr-defined]
    return mod


def import_pyfuse3() -> None:
    """Import pyfuse3 with the stand-ins in place (nothing to do if it is imported)."""
    if "pyfuse3" in sys.modules:
        return
    stand_ins = {"trio": _LazyTrio("trio"), "importlib.metadata": _metadata_stand_in()}
    placed = {name: mod for name, mod in stand_ins.items() if name not in sys.modules}
    sys.modules.update(placed)
    try:
        import pyfuse3  # noqa: F401
    finally:
        for name, mod in placed.items():
            if sys.modules.get(name) is mod:
                del sys.modules[name]
