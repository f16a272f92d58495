"""Fixtures for the ovlfuse tests (tests/fuse): a scratch tmpfs per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ovlfuse_testlib import scratch


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
