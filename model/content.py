"""Content digests that ignore how zeros are stored.

A hole and written zeros read the same, and filesystems differ in how they keep them (tmpfs
allocates whole pages), so a digest covers the size and the *non-zero runs* with their
offsets.  Every target computes it the same way from whatever extents it has.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_NONZERO = re.compile(rb"[^\x00]+")


def content_digest(size: int, extents: Iterable[tuple[int, bytes]]) -> str:
    """Digest of a file of ``size`` bytes whose possibly non-zero bytes are ``extents``
    (``(offset, data)`` pairs in increasing, non-overlapping order; anything outside them
    reads as zero)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(b"%d;" % size)
    start, run = -1, bytearray()  # the current non-zero run, merged across touching extents
    for offset, data in extents:
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
