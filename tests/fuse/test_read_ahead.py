"""Sequential reads: ovlfuse raises its mount's read-ahead once INIT is done, so a large read
arrives as 1 MiB requests rather than the kernel's default 128 KiB ones."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from ovlfuse_testlib import make_layers, ovlfuse

pytestmark = pytest.mark.privileged


def read_ahead_kb(mnt: Path) -> int:
    st = os.stat(mnt)
    bdi = Path(f"/sys/class/bdi/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/read_ahead_kb")
    return int(bdi.read_text())


@pytest.mark.skipif(os.environ.get("OVLFUSE_TEST_TARGET") == "kernel", reason="FUSE only")
@pytest.mark.parametrize("mode", ["timeout=60", "exact"])
def test_the_mount_reads_ahead_1_mib_and_reads_stay_exact(tmpfs: Path, mode: str) -> None:
    """Also with a space in the mountpoint's path (mountinfo escapes it)."""
    data = os.urandom(3 << 20) + b"tail"
    layers = make_layers(tmpfs, {"big": data}, name="with space")
    with ovlfuse(layers, mode) as mnt:
        assert read_ahead_kb(mnt) == 1024
        with open(mnt / "big", "rb") as f:
            got = b"".join(iter(lambda: f.read(1 << 20), b""))
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
