"""Fixtures for the ovlfuse tests (tests/fuse): a scratch tmpfs per test.

Environment knobs (see ovlfuse_testlib):

* ``OVLFUSE_TEST_TARGET=kernel`` runs the overlay-semantics tests against the kernel's
  overlayfs instead, to check the tests' expectations against the reference;
* ``OVLFUSE_TEST_MODE=cached`` mounts ovlfuse with attribute caching instead of ``exact``;
* ``OVLFUSE_STRESS_SECONDS`` sets the duration of the concurrency test (default 20).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ovlfuse_testlib import Client, scratch


@pytest.fixture
def tmpfs() -> Iterator[Path]:
    """A fresh tmpfs under a mkdtemp() dir, unmounted (with all mounts below) afterwards."""
    with scratch() as base:
        yield base


@pytest.fixture
def public_tmpfs() -> Iterator[Path]:
    """Like ``tmpfs`` but reachable by other users (under /tmp)."""
    with scratch(public=True) as base:
        yield base


@pytest.fixture
def server() -> Iterator[Client]:
    client = Client()
    try:
        yield client
    finally:
        if client.proc.poll() is None:
            client.close()
