"""The inodes index (``index=on``): hard links of a lower file stay one file after copy-up.

Rules (kernel ``Documentation/filesystems/overlayfs.rst`` "Inode index", ``ovl_need_index``,
``ovl_lookup_index``, ``ovl_link_up``, ``ovl_nlink_start``/``ovl_nlink_end``,
``ovl_cleanup_index``, ``ovl_get_indexdir``; catalogue §2.10):

* the index lives in ``workdir/index/``; the upper root records the top lower root in
  ``overlay.origin`` and the index dir the upper root in ``overlay.upper`` (with the
  "upper" flag); a later mount whose layers do not match either refuses (ESTALE);
* a lower non-directory with more than one link is copied up through the index: the copy
  (with its origin) is renamed to ``index/<hex of the origin value>`` and then hard-linked
  under its name; another name of the same lower file finds the index entry by its origin
  and shows it (data, attributes) before it is copied up itself, which is then a plain hard
  link of the entry (a "link-up");
* an indexed file shows its origin's inode number and the overlay's own link count: the
  upper names plus the lower names not yet covered.  That count is kept relative to the
  upper file's real one in ``overlay.nlink`` ("U+n"); it changes only at a link-up, since a
  link, unlink or rename changes both counts alike;
* a name of an indexed file is copied up before it is removed or renamed over, so the
  count has somewhere to live; when it drops to zero the index entry goes.
"""

from __future__ import annotations

import errno
import os
import stat

from . import fh, layers, syscalls
from .errors import MountError, fail
from .super import OverlayFs

INDEX_DIR = b"index"


def active(ofs: OverlayFs) -> bool:
    """index=on with an upper layer (without one the kernel turns the index off)."""
    return ofs.cfg.index and ofs.upper is not None and ofs.work_fd is not None


def index_dir(ofs: OverlayFs) -> bytes:
    assert ofs.work_fd is not None
    return b"/proc/self/fd/%d/%s" % (ofs.work_fd, INDEX_DIR)


def entry_path(ofs: OverlayFs, origin: bytes) -> bytes:
    """Where the index entry of the lower object that ``origin`` (an origin value) names is."""
    return index_dir(ofs) + b"/" + origin.hex().encode()


def need_index(ofs: OverlayFs, lower_st: os.stat_result) -> bool:
    """``ovl_need_index``: lower hard links are copied up through the index."""
    return active(ofs) and not stat.S_ISDIR(lower_st.st_mode) and lower_st.st_nlink > 1


def find_entry(ofs: OverlayFs, origin: bytes, mode: int) -> tuple[bytes, os.stat_result] | None:
    """The index entry for ``origin`` (path and lstat), or None.  An entry of another type,
    or a whiteout, is a bad index: EIO, as ``ovl_lookup_index``."""
    if not origin:
        return None
    path = entry_path(ofs, origin)
    st = layers.lstat(path)
    if st is None:
        return None
    if layers.is_whiteout(st) or stat.S_IFMT(st.st_mode) != stat.S_IFMT(mode):
        fail(errno.EIO, path)
    return path, st


def _nlink_offset(ofs: OverlayFs, path: bytes) -> int | None:
    """The union count's offset from the real one (``overlay.nlink`` "U+n"); None when the
    record is missing or bad (a record relative to the lower file, "L+n", which ovlfuse
    never writes, counts as missing)."""
    value = layers.getxattr(path, ofs.private(b"nlink")) or b""
    if value[:1] != b"U":
        return None
    try:
        return int(value[1:])
    except ValueError:
        return None


def union_nlink(ofs: OverlayFs, path: bytes, st: os.stat_result) -> int:
    """The overlay's link count of an indexed file (``ovl_get_nlink``), from its upper
    object's lstat ``st``; the real count when the record is missing, bad or not positive."""
    offset = _nlink_offset(ofs, path)
    if offset is None or st.st_nlink + offset <= 0:
        return st.st_nlink
    return st.st_nlink + offset


def set_union_nlink(ofs: OverlayFs, path: bytes, union: int) -> None:
    """Record ``union`` relative to the real link count (``ovl_set_nlink_upper``)."""
    real = os.lstat(path).st_nlink
    layers.setxattr(path, ofs.private(b"nlink"), b"U%+d" % (union - real))


def create_entry(ofs: OverlayFs, tmp: bytes, origin: bytes, lower_nlink: int) -> bytes:
    """Move a finished copy from work/ into the index; returns the entry's path."""
    path = entry_path(ofs, origin)
    layers.rename(tmp, path, syscalls.RENAME_NOREPLACE)
    set_union_nlink(ofs, path, lower_nlink)
    return path


def link_up(ofs: OverlayFs, entry: bytes, dest: bytes) -> None:
    """Give one more name of an indexed file its upper hard link (``ovl_link_up``): the
    union count stays, the real one grows."""
    union = union_nlink(ofs, entry, os.lstat(entry))
    layers.link(entry, dest)
    set_union_nlink(ofs, entry, union)


def drop_if_unlinked(ofs: OverlayFs, entry: bytes) -> None:
    """After a name of an indexed file went: at a union count of zero (only the index's own
    link is left) the entry goes too (``ovl_cleanup_index``)."""
    st = layers.lstat(entry)
    if st is None or st.st_nlink != 1:
        return
    offset = _nlink_offset(ofs, entry)
    if offset is not None and 1 + offset <= 0:
        layers.unlink(entry)


def setup(ofs: OverlayFs) -> None:
    """At mount: the index dir, and the records that tie it to these layers
    (``ovl_get_indexdir``: ``ovl_verify_origin`` of the upper root, ``ovl_verify_upper`` of
    the index dir; each is written when missing and must match when present)."""
    if not active(ofs):
        return
    assert ofs.upper is not None
    top = ofs.lowers[0]
    root = ofs.upper.real(b"")
    _verify_or_set(ofs, root, b"origin", fh.encode(top.real(b""), ofs.fs_uuid_of(top)),
                   "failed to verify upper root origin")
    path = index_dir(ofs)
    if layers.lstat(path) is None:
        if not ofs.writable:
            return  # a read-only mount makes no index: nothing can be copied up
        layers.mkdir(path, 0)
    upper_fh = fh.encode(root, ofs.upper_uuid(), upper=True)
    _verify_or_set(ofs, path, b"upper", upper_fh, "failed to verify index dir 'upper' xattr")


def _verify_or_set(ofs: OverlayFs, path: bytes, name: bytes, value: bytes, why: str) -> None:
    if not value:
        return  # the layer cannot encode handles: nothing to verify against
    current = layers.getxattr(path, ofs.private(name))
    if current is None:
        layers.setxattr(path, ofs.private(name), value)
    elif current != value:
        raise MountError(f"{why} (ESTALE: the layers are not the ones this index was made for)")
