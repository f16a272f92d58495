"""Shared test fixtures.

Privileged tests (root, kernel overlayfs, /dev/fuse) skip with a reason on machines that lack
them, except in CI (``CI=true``), where such a skip is a failure: CI machines have all three,
so a skip there means a broken setup, not a missing feature.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _overlay_supported() -> bool:
    try:
        with open("/proc/filesystems") as f:
            return any(line.split()[-1] == "overlay" for line in f if line.strip())
    except OSError:
        return False


def privileged_missing() -> str | None:
    """Why privileged tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root"
    if not _overlay_supported():
        return "kernel has no overlay filesystem"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    return None


def require_privileged() -> None:
    """Skip (outside CI) or fail (in CI) when root, overlayfs or /dev/fuse is missing."""
    why = privileged_missing()
    if why is None:
        return
    if IN_CI:
        pytest.fail(f"privileged test cannot run in CI: {why}", pytrace=False)
    pytest.skip(why)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("privileged") is not None:
        require_privileged()


# Every scratch directory of this test session lives under one private TMPDIR, so that the
# leftover-mount check below sees only this session's mounts (not a concurrent run's).
SESSION_TMP = tempfile.mkdtemp(prefix="ovl-tests-")
os.chmod(SESSION_TMP, 0o711)  # unprivileged helpers must be able to reach mounts below it
os.environ["TMPDIR"] = SESSION_TMP
tempfile.tempdir = SESSION_TMP


def mounts_under(base: str) -> list[str]:
    """Mount points at or below ``base`` (findmnt's view)."""
    out = subprocess.run(
        ["findmnt", "-rn", "-o", "TARGET,FSTYPE"], capture_output=True, text=True, check=False
    ).stdout
    found = []
    for line in out.splitlines():
        target = line.split()[0].encode().decode("unicode_escape") if line.split() else ""
        if target == base or target.startswith(base + "/"):
            found.append(line)
    return found


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """The process umask is 0 during the test (modes exactly as asked), restored after."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture(autouse=True)
def umask_kept() -> Iterator[None]:
    """Fail a test that leaves the process umask changed: later tests build layers with it."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    after = os.umask(before)
    assert after == before, f"the test left the umask at {after:#o} (was {before:#o})"


@pytest.fixture(scope="session", autouse=True)
def no_mount_left_behind() -> Iterator[None]:
    """Fail the session if the tests leave any mount behind (checked with findmnt)."""
    yield
    left = mounts_under(SESSION_TMP)
    if left:
        pytest.fail(f"mounts left behind by the tests: {sorted(left)}", pytrace=False)
    shutil.rmtree(SESSION_TMP, ignore_errors=True)
