"""Writing ``trusted.overlay.redirect`` (``ovl_set_redirect``, ``ovl_get_redirect`` in
``fs/overlayfs/dir.c``; catalogue §2.9 rule 6, §2.10): what a moved directory or metacopy
file, or a linked metacopy file, records of where its lower objects are."""

from __future__ import annotations

import errno

from model.errors import fail
from model.fs import OvlFs
from model.lookup import Dentry
from model.spec import REDIRECT


def set_redirect(fs: OvlFs, d: Dentry, samedir: bool) -> None:
    """``ovl_set_redirect``: keep an existing redirect unless an absolute one is needed and
    it is relative; else the bare current name (same dir) or the absolute path of the lower
    location (``ovl_get_redirect``).  An absolute one is needed across dirs, and for a
    non-dir whose lower is a hard link (``ovl_need_absolute_redirect``: its upper links may
    end up in several dirs; checked on 6.18 with metacopy=on)."""
    absolute = not samedir or (not d.is_dir and bool(d.lowers) and d.lowers[0][1].nlink > 1)
    if d.redirect is not None and (not absolute or d.redirect.startswith(b"/")):
        return
    value = _absolute_redirect(fs, d) if absolute else d.name
    assert d.upper is not None
    d.upper.xattrs[REDIRECT] = value
    d.redirect = value


def _absolute_redirect(fs: OvlFs, d: Dentry) -> bytes:
    """Walk up from ``d``, each dir contributing its redirect or its name, until the root
    or an absolute redirect; longer than redirect_max is EXDEV ("fall back to userspace
    move", after the copy-ups already done)."""
    room = fs.config.redirect_max
    parts: list[bytes] = []
    cur = d
    while cur.parent is not None:
        name = cur.redirect if cur.redirect is not None else cur.name
        is_abs = name.startswith(b"/")
        if len(name) + (0 if is_abs else 1) > room:
            raise fail(errno.EXDEV, "redirect longer than redirect_max")
        room -= len(name)
        parts.append(name)
        if is_abs:
            break
        room -= 1
        parts.append(b"/")
        cur = cur.parent
    return b"".join(reversed(parts))
