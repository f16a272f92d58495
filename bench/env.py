"""What the figures were measured on: machine, kernel, versions, load."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from typing import Any

from bench.impls import ovlfuse_program


def _out(cmd: list[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (p.stdout + p.stderr).strip()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _version(pattern: str, text: str) -> str:
    m = re.search(pattern, text)
    return m.group(1) if m else ""


def fuse_overlayfs_version() -> str:
    prog = shutil.which("fuse-overlayfs")
    if not prog:
        return "not installed"
    return _version(r"fuse-overlayfs: version (\S+)", _out([prog, "--version"])) or "unknown"


def fuse_overlayfs_has_threaded() -> bool:
    """Whether this fuse-overlayfs knows ``-o threaded=`` (1.10+ does)."""
    prog = shutil.which("fuse-overlayfs")
    if not prog:
        return False
    try:
        with open(prog, "rb") as f:
            return b"threaded=%d" in f.read()
    except OSError:
        return False


def libfuse_version() -> str:
    v = _out(["pkg-config", "--modversion", "fuse3"])
    if re.fullmatch(r"[\d.]+", v):
        return v
    return _version(r"fusermount3 version: (\S+)", _out(["fusermount3", "--version"])) or "?"


def overlay_params() -> dict[str, str]:
    """The overlay module's default options on this kernel."""
    out = {}
    base = "/sys/module/overlay/parameters"
    try:
        for name in sorted(os.listdir(base)):
            with open(os.path.join(base, name)) as f:
                out[name] = f.read().strip()
    except OSError:
        pass
    return out


def git_state() -> dict[str, Any]:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = _out(["git", "-C", here, "rev-parse", "--short", "HEAD"])
    try:
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain",
                                "--untracked-files=no", "--", "fuse_impl", "model", "difftest"],
                               capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        dirty = ""
    return {"commit": commit,
            "dirty_paths": [ln[3:] for ln in dirty.splitlines() if len(ln) > 3]}


def collect() -> dict[str, Any]:
    try:
        import pyfuse3  # type: ignore[import-not-found,unused-ignore]

        pyfuse3_version = str(pyfuse3.__version__)
    except Exception:
        pyfuse3_version = "not importable"
    try:
        import trio  # type: ignore[import-not-found,unused-ignore]

        trio_version = str(trio.__version__)
    except Exception:
        trio_version = "?"
    return {
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "ram_bytes": ram_bytes(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "pyfuse3": pyfuse3_version,
        "trio": trio_version,
        "libfuse": libfuse_version(),
        "fuse_overlayfs": fuse_overlayfs_version(),
        "fuse_overlayfs_threaded_option": fuse_overlayfs_has_threaded(),
        "ovlfuse": _out([ovlfuse_program(), "--version"]) or "?",
        "overlay_module_params": overlay_params(),
        "git": git_state(),
    }
