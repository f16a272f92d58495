"""Content digests that ignore how zeros are stored.

A hole and written zeros read the same, and filesystems differ in how they keep them (tmpfs
allocates whole pages), so a digest covers the size and the *non-zero runs* with their
offsets.  Every target computes it the same way from whatever extents it has.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

_NONZERO = re.compile(rb"[^\x00]+")

LARGE = 64 * 1024 * 1024  # files larger than this are compared by windows (see windows())
_HEAD, _TAIL, _AROUND = (1024 + 64) * 1024, 64 * 1024, 64 * 1024


def windows(size: int) -> list[tuple[int, int]]:
    """The byte ranges of a file that its digest covers: all of it up to :data:`LARGE`; for
    larger files the first 1088 KiB, 64 KiB around the 4 GiB boundary and the last 64 KiB.

    Named tolerance ``large-file-windows``: a FUSE filesystem without SEEK_DATA makes a
    5 GiB sparse file cost 5 GiB of reads per observation; the tester's writes all land
    inside these windows.
    """
    if size <= LARGE:  # pragma: no cover - every caller asks for sizes past LARGE only
        return [(0, size)]
    out = [(0, _HEAD)]
    if _HEAD < 4 << 30 < size - _TAIL:
        out.append(((4 << 30) - _AROUND, (4 << 30) + _AROUND))
    out.append((max(size - _TAIL, _HEAD), size))
    return out


def _clip(size: int, extents: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    wins = windows(size)
    for offset, data in extents:
        end = offset + len(data)
        for lo, hi in wins:
            a, b = max(lo, offset), min(hi, end)
            if a < b:
                yield a, data[a - offset : b - offset]


def content_digest(size: int, extents: Iterable[tuple[int, bytes]]) -> str:
    """Digest of a file of ``size`` bytes whose possibly non-zero bytes are ``extents``
    (``(offset, data)`` pairs in increasing, non-overlapping order; anything outside them
    reads as zero)."""
    if size > LARGE:
        extents = _clip(size, extents)
    h = hashlib.blake2b(digest_size=12)
    h.update(b"%d;" % size)
    start, run = -1, bytearray()  # the current non-zero run, merged across touching extents
    for offset, data in _nonzero_blocks(extents):
        for m in _NONZERO.finditer(data):
            if run and offset + m.start() == start + len(run):
                run += m.group()
                continue
            if run:
                h.update(b"%d:%d;%s" % (start, len(run), run))
            start, run = offset + m.start(), bytearray(m.group())
    if run:
        h.update(b"%d:%d;%s" % (start, len(run), run))
    return h.hexdigest()


_BLOCK = 64 * 1024
_ZEROS = bytes(_BLOCK)


def _nonzero_blocks(extents: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    """The extents cut into blocks, all-zero blocks dropped (cheap: no regex over zeros)."""
    for offset, data in extents:
        if len(data) <= _BLOCK:
            yield offset, data
            continue
        for i in range(0, len(data), _BLOCK):
            block = data[i : i + _BLOCK]
            if block != _ZEROS[: len(block)]:
                yield offset + i, block
