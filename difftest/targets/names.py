"""The names of difftest's targets (apart from the package, so target modules can use them
without importing the package that imports them)."""

from __future__ import annotations

TARGET_NAMES = ("model", "kernel", "fuse", "fuse-cached", "fuse-crash", "fuse-overlayfs",
                "fuse-overlayfs-exact")
FUSE_TARGETS = ("fuse", "fuse-cached", "fuse-crash", "fuse-overlayfs", "fuse-overlayfs-exact")
CRASH_TARGETS = ("fuse-crash",)  # ovlfuse (exact) whose daemons die where told: difftest.crash
