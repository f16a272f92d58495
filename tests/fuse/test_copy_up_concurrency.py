"""A copy-up holds up only the requests that need that file: others are served meanwhile.

The data of a large file is copied in a thread before the copy-up proper
(``copy_up.stage_data``); the request loop goes on serving other requests.  These tests pin
down the order of events, not durations: the stat of another file returns while the
write-open that copies a 1 GiB file up has not returned yet.  The latency itself is a figure
of ``python -m bench`` (W7), not a timed test.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ovlfuse_testlib import make_layers, ovlfuse, scratch

pytestmark = [pytest.mark.privileged, pytest.mark.slow]

GIB = 1 << 30


@pytest.fixture
def big_tmpfs() -> Iterator[Path]:
    """A tmpfs with room for a 1 GiB lower file and its copy."""
    with scratch("3g") as base:
        yield base


def fill(path: Path, size: int) -> str:
    """Write *size* bytes of varied data; returns their digest."""
    h = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(size >> 20):
            chunk = block[i % 7:] + block[: i % 7]
            f.write(chunk)
            h.update(chunk)
    return h.hexdigest()


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def staging_started(work: Path, timeout: float = 20.0) -> bool:
    """True once a copy-up's file appears in work/ (the staging thread has begun)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(work.iterdir()):
            return True
        time.sleep(0.001)
    return False


class Opener(threading.Thread):
    """open(path, flags) in a thread; records the result (fd or errno) and when it ended."""

    def __init__(self, path: Path, flags: int) -> None:
        super().__init__(daemon=True)
        self.path, self.flags = path, flags
        self.result: int | None = None
        self.error = 0

    def run(self) -> None:
        try:
            self.result = os.open(self.path, self.flags)
        except OSError as e:
            self.error = e.errno or -1

    def close(self) -> None:
        self.join(60)
        if self.result is not None:
            os.close(self.result)


@pytest.mark.parametrize("mode", ["exact", "timeout=60"])
def test_a_stat_of_another_file_is_answered_while_a_1_gib_copy_up_runs(
    big_tmpfs: Path, mode: str
) -> None:
    layers = make_layers(big_tmpfs, {"small": "s"})
    want = fill(layers.lowers[0] / "big", GIB)
    assert layers.work is not None and layers.upper is not None
    with ovlfuse(layers, mode) as m:  # small is looked up first then: no cache to answer
        opener = Opener(m / "big", os.O_WRONLY)
        opener.start()
        try:
            assert staging_started(layers.work / "work")
            st = os.stat(m / "small")
            assert opener.is_alive(), "the copy-up was over before the stat was answered"
            assert st.st_size == 1
        finally:
            opener.close()
        assert opener.error == 0
        assert digest(layers.upper / "big") == want
        assert digest(m / "big") == want
        assert list((layers.work / "work").iterdir()) == []


def test_two_write_opens_of_one_large_file_copy_it_up_once(big_tmpfs: Path) -> None:
    layers = make_layers(big_tmpfs, {})
    want = fill(layers.lowers[0] / "big", 64 << 20)
    assert layers.work is not None and layers.upper is not None
    with ovlfuse(layers) as m:
        openers = [Opener(m / "big", os.O_RDWR) for _ in range(3)]
        for o in openers:
            o.start()
        for o in openers:
            o.close()
        assert [o.error for o in openers] == [0, 0, 0]
        assert digest(layers.upper / "big") == want
        assert list((layers.work / "work").iterdir()) == []
        assert os.stat(m / "big").st_ino == os.stat(m / "big").st_ino


def test_a_file_removed_while_its_data_is_copied_is_not_copied_up(big_tmpfs: Path) -> None:
    layers = make_layers(big_tmpfs, {})
    fill(layers.lowers[0] / "big", GIB)
    assert layers.work is not None and layers.upper is not None
    with ovlfuse(layers) as m:
        opener = Opener(m / "big", os.O_WRONLY)
        opener.start()
        try:
            assert staging_started(layers.work / "work")
            os.unlink(m / "big")
            assert opener.is_alive()
        finally:
            opener.close()
        # the open lost the race to the unlink: the kernel gives ENOENT for a copy-up of a
        # removed dentry; nothing of the copy may be left behind either way
        assert opener.error in (0, errno.ENOENT)
        assert not (m / "big").exists()
        assert (layers.upper / "big").is_char_device()  # the whiteout, not a copy
        assert list((layers.work / "work").iterdir()) == []
