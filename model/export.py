"""File handles of the overlay (``fs/overlayfs/export.c``; overlayfs.rst "NFS export";
catalogue §4): what ``name_to_handle_at`` and ``open_by_handle_at`` show userspace.

Without ``nfs_export=on`` the overlay encodes no decodable handle: ``name_to_handle_at``
gives EOPNOTSUPP (only an ``AT_HANDLE_FID`` for fanotify is encoded, which difftest does not
ask for).  With it (which needs ``index=on``) a handle names one overlay object for good:

* **encoding** (``ovl_encode_fh`` → ``ovl_check_encode_origin``): an object that is
  indexed, or has no upper, is named by its lower origin; an upper object that is not
  indexed (a pure upper one, or an upper dir the layers brought), and the root, by the
  upper;
* **decoding** (``ovl_fh_to_dentry``): a lower handle finds the object through the index
  (its copy-up) or by walking the lower path again in the overlay; an upper handle finds the
  upper object.  Either way the object must still be visible under some name: one that was
  removed (its index entry turned into a whiteout "to block future open by handle"), or
  hidden by a whiteout, gives ESTALE; a moved or copied-up one is found under its new name.

The model keeps the handle as the object's identity and answers a decode by looking for a
name that shows that identity now (checked on 6.18 by a probe and by difftest's
``nfs_export=on`` preset).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

from model.copy_up import copy_up
from model.errors import OvlError, fail
from model.file import merged_names
from model.fs import OvlFs
from model.inode import indexed
from model.lookup import Dentry, lookup_child
from model.namei import fs_root
from model.readdir import is_real_dir

Identity = tuple[str, object]  # ("U", upper node) or ("L", lower node): the model's handle


def encode_fh(fs: OvlFs, d: Dentry) -> Identity:
    """The handle ``name_to_handle_at`` returns for ``d`` (EOPNOTSUPP without nfs_export).
    A lower-named dir is made decodable first (:func:`_connect_layer`)."""
    if not fs.config.nfs_export:
        raise fail(errno.EOPNOTSUPP, "no nfs_export: handles cannot be decoded")
    handle = handle_of(fs, d)
    if handle[0] == "L" and d.is_dir and fs.upper is not None and not d.is_root:
        _connect_layer(fs, d)
        handle = handle_of(fs, d)
    return handle


def handle_of(fs: OvlFs, d: Dentry) -> Identity:
    """``ovl_check_encode_origin``: lower-named unless an upper object is not indexed."""
    if d.upper is not None and (d.is_root or not d.lowers or not _indexed(fs, d)):
        return ("U", d.upper)
    assert d.lowers
    return ("L", d.lowers[0][1])


def _connect_layer(fs: OvlFs, d: Dentry) -> None:
    """``ovl_connect_layer``: a lower dir's handle can be decoded by walking its lower path
    from an ancestor whose own topmost layer is no higher than the dir's origin layer.  Up
    from ``d``, the first ancestor that is not (the root, an indexed dir, or a lower one of
    that layer or below) has its child on the way copied up, which makes the child indexed;
    an indexed ancestor or the root ends the walk (the root is always "connected").  The
    copy-up happens on a read-only overlay too."""
    origin = d.lowers[0][0].idx
    nxt = d
    while True:
        parent = nxt.parent
        assert parent is not None
        if _connectable(fs, parent) < origin:
            if nxt.upper is None:
                # also on a read-only overlay: ovl_want_write asks the private upper mount,
                # which stays writable (checked on 6.18: mounted ro and remounted ro)
                copy_up(fs, nxt)
            return
        if parent.is_root or (parent.upper is not None and _indexed(fs, parent)):
            return
        nxt = parent


def _connectable(fs: OvlFs, d: Dentry) -> int:
    """``ovl_connectable_layer``: the lowest layer from which ``d`` can be reached."""
    if d.is_root:
        return fs.numlower
    if d.upper is not None and not _indexed(fs, d):
        return 0
    return d.lowers[0][0].idx


def _indexed(fs: OvlFs, d: Dentry) -> bool:
    return indexed(fs, d.upper, d.lowers)


def decode_fh(fs: OvlFs, handle: Identity) -> Dentry:
    """The dentry ``open_by_handle_at`` opens: one that shows the object now, else ESTALE."""
    for d in _visible(fs):
        if handle_of(fs, d) == handle:
            return d
    raise fail(errno.ESTALE, "the object of the handle is no longer visible")


def _visible(fs: OvlFs) -> Iterator[Dentry]:
    """Every positive dentry of the merged view, parents first."""
    todo = [fs_root(fs)]
    while todo:
        d = todo.pop()
        yield d
        if not d.is_dir:
            continue
        for name in _names(fs, d):
            try:
                child = lookup_child(fs, d, name)
            except OvlError:
                continue
            if child.positive:
                todo.append(child)


def _names(fs: OvlFs, d: Dentry) -> list[bytes]:
    if is_real_dir(d.upper, d.lowers):
        return list(d.real.dir_children())
    return merged_names(fs, d)
