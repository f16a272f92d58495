"""Digests of files over ``LARGE`` read only the windows, skipping holes, and still equal the
model's digest of the same bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from difftest.realfs import fd_digest
from model.content import content_digest

GiB = 1 << 30


@pytest.mark.parametrize(
    "size, writes",
    [
        (5 * GiB, [(0, b"head")]),
        (5 * GiB, [(1000, b"x" * 70000), ((4 << 30) - 10, b"across the 4 GiB line")]),
        (5 * GiB, [(5 * GiB - 3, b"end")]),
        (5 * GiB, [(2 * GiB, b"outside every window")]),
        (200 << 20, [(0, b"a"), (100 << 20, b"middle"), ((200 << 20) - 1, b"z")]),
    ],
)
def test_windowed_digest_equals_the_model_digest(
    tmp_path: Path, size: int, writes: list[tuple[int, bytes]]
) -> None:
    path = tmp_path / "f"
    with open(path, "wb") as f:
        f.truncate(size)
        for offset, data in writes:
            f.seek(offset)
            f.write(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert fd_digest(fd, size) == content_digest(size, writes)
    finally:
        os.close(fd)
