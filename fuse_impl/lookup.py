"""Resolving a name across the layers (the kernel's namei.c, catalogue §1).

For a name in a directory whose stack is ``[upper?, L0, L1, ...]`` the layers are scanned
top to bottom:

1. missing in this layer: go on;
2. a whiteout (chr 0:0, or an xwhiteout; with ``aufs_whiteouts`` also a ``.wh.NAME`` entry
   beside a missing NAME, see :mod:`fuse_impl.aufs`): stop; negative unless something was
   found above;
3. first hit, not a directory: that is the object; everything below is hidden;
4. first hit, a directory: keep it; opaque (``overlay.opaque`` == ``y``; with
   ``aufs_whiteouts`` also ``.wh..wh..opq`` inside or ``.wh.NAME`` beside it) stops the scan;
5. a later non-directory (file, symlink, whiteout) ends the merge and stays hidden;
6. a later directory joins the merge; an opaque one ends the stack after itself.

A directory's ``overlay.redirect`` changes the name looked up in the layers below: a bare
name replaces the last component, ``/a/b`` is resolved from the lower roots.  With
``redirect_dir=nofollow`` a redirect that leads to a lower directory gives EPERM.  A regular
file carrying ``overlay.metacopy`` gives EPERM too (metacopy is not supported).

All state of one lookup lives in :class:`LookupData` (``struct ovl_lookup_data``); the result
is a :class:`Resolved`.  Side effect, as the kernel's ovl_fix_origin: a merged directory whose
upper lacks ``overlay.origin`` gets it, and its upper parent gets ``overlay.impure``.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field

from . import aufs, fh, index, layers
from .errors import fail
from .layers import Layer, LowerRef, join
from .super import OverlayFs


@dataclass(slots=True)
class Hit:
    """An entry found in one layer, with its lstat (current when lookup returns)."""

    layer: Layer
    rel: bytes
    st: os.stat_result


@dataclass(slots=True)
class LookupData:
    """Scan state: the name being looked up (changed by redirects) and the stop flags."""

    name: bytes
    is_dir: bool = False
    opaque: bool = False
    stop: bool = False
    last: bool = False
    redirect: bytes | None = None
    aufs_whiteout: bool = False  # stopped by a .wh.NAME entry (aufs.py)


@dataclass(slots=True)
class Resolved:
    """What a name resolves to: the upper entry and the lower stack (top first)."""

    upper: Hit | None = None
    lowers: list[Hit] = field(default_factory=list)
    is_dir: bool = False
    opaque: bool = False  # the upper is an opaque dir, or a whiteout
    redirect: bytes | None = None  # the upper dir's redirect
    upper_whiteout: bool = False  # the upper holds a whiteout at the name itself
    aufs_whiteout: bool = False  # the upper hides the name with a .wh.NAME entry (aufs.py)
    origin: os.stat_result | None = None  # decoded origin of an upper non-dir
    origin_value: bytes = b""  # its overlay.origin as stored (the index entry's name)
    # index=on: the index entry (path, lstat) of an indexed non-dir: its upper object, which
    # a name not yet copied up shows (see fuse_impl.index)
    index: tuple[bytes, os.stat_result] | None = None

    @property
    def positive(self) -> bool:
        return self.upper is not None or bool(self.lowers)

    @property
    def top(self) -> Hit:
        """The providing entry: the upper one if any, else the top lower."""
        if self.upper is not None:
            return self.upper
        return self.lowers[0]

    @property
    def kind(self) -> int:
        return stat.S_IFMT(self.top.st.st_mode)

    @property
    def shown_st(self) -> os.stat_result:
        """The lstat of the object whose data and attributes the name shows."""
        if self.upper is None and self.index is not None:
            return self.index[1]
        return self.top.st


def _is_whiteout(ofs: OverlayFs, path: bytes, st: os.stat_result) -> bool:
    return layers.is_whiteout(st) or layers.is_xwhiteout(path, st, ofs.prefix)


def _check_redirect(ofs: OverlayFs, path: bytes, d: LookupData) -> None:
    """Apply a directory's redirect xattr to the name looked up below (ovl_check_redirect)."""
    value = layers.getxattr(path, ofs.private(b"redirect"))
    if not value:
        return
    if value.startswith(b"/"):
        if any(not part for part in value[1:].split(b"/")):
            fail(errno.EINVAL, value)  # the kernel's "invalid redirect"
        d.name = value
    else:
        if b"/" in value:
            fail(errno.EINVAL, value)
        d.name = d.name.rsplit(b"/", 1)[0] + b"/" + value if d.name.startswith(b"/") else value
    d.redirect = d.name


def _is_opaque(ofs: OverlayFs, layer: Layer, rel: bytes, path: bytes) -> bool:
    """``overlay.opaque`` is ``y``; with AUFS whiteouts also ``.wh..wh..opq`` inside, or a
    ``.wh.NAME`` beside it in the same layer."""
    if layers.getxattr(path, ofs.private(b"opaque")) == b"y":
        return True
    return aufs.active(ofs) and (aufs.marked_opaque(path) or aufs.hidden_below(layer, rel))


def _lookup_single(ofs: OverlayFs, layer: Layer, rel: bytes, d: LookupData,
                   last: bool) -> Hit | None:
    """Look at one path component in one layer (ovl_lookup_single)."""
    path = layer.real(rel)
    st = layers.lstat(path)
    if st is None:
        if aufs.active(ofs) and aufs.hidden_below(layer, rel):
            d.stop = d.opaque = d.aufs_whiteout = True
        return None
    if _is_whiteout(ofs, path, st):
        d.stop = d.opaque = True
        return None
    if not stat.S_ISDIR(st.st_mode):
        if d.is_dir or not last:
            d.stop = True
            return None
        d.stop = True
        if stat.S_ISREG(st.st_mode) and layers.getxattr(path, ofs.private(b"metacopy")) is not None:
            fail(errno.EPERM, rel)  # "refusing to follow metacopy origin" (metacopy=off)
        return Hit(layer, rel, st)
    if last:
        d.is_dir = True
    if d.last:
        return Hit(layer, rel, st)
    if _is_opaque(ofs, layer, rel, path):
        d.stop = True
        if last:
            d.opaque = True
        return Hit(layer, rel, st)
    if last:
        _check_redirect(ofs, path, d)
    return Hit(layer, rel, st)


def _lookup_layer(ofs: OverlayFs, layer: Layer, base: bytes, d: LookupData) -> Hit | None:
    """Look *d.name* up under *base* in *layer*; an absolute name walks from the layer root."""
    if not d.name.startswith(b"/"):
        return _lookup_single(ofs, layer, join(base, d.name), d, True)
    parts = d.name[1:].split(b"/")
    rel = b""
    hit = None
    for i, part in enumerate(parts):
        rel = join(rel, part)
        hit = _lookup_single(ofs, layer, rel, d, i == len(parts) - 1)
        if hit is None or not stat.S_ISDIR(hit.st.st_mode):
            break
    return hit


def _read_origin(ofs: OverlayFs, upper_path: bytes, res: Resolved) -> None:
    """The upper object's ``overlay.origin`` value, and the stat of the copy-up origin it
    names if it decodes."""
    res.origin_value = layers.getxattr(upper_path, ofs.private(b"origin")) or b""
    if res.origin_value:
        res.origin = fh.decode_stat(res.origin_value, ofs.origin_candidates())


def _find_index(ofs: OverlayFs, res: Resolved) -> None:
    """index=on, a non-dir: its index entry, found by its origin (an upper object's, which
    must be that entry, or the top lower's when the name has no upper yet), as the kernel's
    ovl_lookup_index."""
    if res.upper is not None:
        if res.origin is None:
            return
        found = index.find_entry(ofs, res.origin_value, res.upper.st.st_mode)
        if found is not None and (found[1].st_dev, found[1].st_ino) == (
                res.upper.st.st_dev, res.upper.st.st_ino):
            res.index = found
        return
    if not res.lowers:
        return
    top = res.lowers[0]
    value = fh.encode(top.layer.real(top.rel), ofs.fs_uuid_of(top.layer))
    res.index = index.find_entry(ofs, value, top.st.st_mode)


def set_impure(ofs: OverlayFs, upper_dir_rel: bytes) -> None:
    """Mark an upper dir ``impure=y``: it holds entries with origin or redirect."""
    assert ofs.upper is not None
    path = ofs.upper.real(upper_dir_rel)
    name = ofs.private(b"impure")
    if layers.getxattr(path, name) != b"y":
        layers.setxattr(path, name, b"y")


def set_origin(ofs: OverlayFs, target: bytes, lower: Hit | LowerRef) -> None:
    """Write ``overlay.origin`` on *target* naming the lower object.  With userxattr a
    symlink or special file cannot carry it (``user.*`` xattrs are EPERM there), and the
    kernel goes on without it (``ovl_set_origin_fh``); so does this (found by difftest in
    the userxattr config: a FIFO's copy-up failed with EPERM, reports/ovlfuse-20261205c)."""
    value = fh.encode(lower.layer.real(lower.rel), ofs.fs_uuid_of(lower.layer))
    try:
        layers.setxattr(target, ofs.private(b"origin"), value)
    except OSError as e:
        if not (e.errno == errno.EPERM and ofs.cfg.userxattr):
            raise


def _fix_origin(ofs: OverlayFs, parent_rel: bytes, upper: Hit, lower: Hit) -> None:
    """Give a merged upper dir the origin it lacks; mark its parent impure (ovl_fix_origin).
    Also on a read-only overlay with an upper layer: the kernel writes through its private
    upper mount, which ``ro`` does not make read-only (found by difftest in the ``ro``
    config, reports/ovlfuse-20261205b)."""
    if ofs.upper is None:
        return
    path = ofs.upper.real(upper.rel)
    if layers.getxattr(path, ofs.private(b"origin")) is not None:
        return
    set_origin(ofs, path, lower)
    set_impure(ofs, parent_rel)
    upper.st = os.lstat(path)  # the new xattr moved its ctime; callers reply with this stat


def _scan_upper(ofs: OverlayFs, parent_rel: bytes, has_lowers: bool, d: LookupData,
                res: Resolved) -> None:
    assert ofs.upper is not None
    d.last = not ofs.cfg.redirect_follow and not has_lowers
    hit = _lookup_layer(ofs, ofs.upper, parent_rel, d)
    res.upper = hit
    res.redirect = d.redirect
    res.opaque = d.opaque
    res.upper_whiteout = hit is None and d.opaque and not d.aufs_whiteout
    res.aufs_whiteout = hit is None and d.aufs_whiteout
    if hit is not None and not d.is_dir:
        _read_origin(ofs, ofs.upper.real(hit.rel), res)


def lookup(ofs: OverlayFs, parent_rel: bytes, parent_upper: bool,
           parent_lowers: list[LowerRef], name: bytes) -> Resolved:
    """Resolve *name* in the directory at overlay path *parent_rel* (see module doc)."""
    if len(name) > ofs.namelen:
        fail(errno.ENAMETOOLONG, name)
    if aufs.active(ofs) and aufs.is_special(name):
        return Resolved()  # never found in the role
    d = LookupData(name)
    res = Resolved()
    stack = parent_lowers
    if parent_upper and ofs.upper is not None:
        _scan_upper(ofs, parent_rel, bool(parent_lowers), d, res)
        if d.redirect and d.redirect.startswith(b"/"):
            stack = ofs.root_stack
    i = 0
    while not d.stop and i < len(stack):
        ref = stack[i]
        i += 1
        d.last = ref.layer is ofs.lowers[-1]
        hit = _lookup_layer(ofs, ref.layer, ref.rel, d)
        if hit is None:
            continue
        if res.upper is not None and not res.lowers and d.is_dir:
            _fix_origin(ofs, parent_rel, res.upper, hit)
        res.lowers.append(hit)
        if d.redirect and not ofs.cfg.redirect_follow:
            fail(errno.EPERM, name)  # "refusing to follow redirect"
        if d.stop:
            break
        if d.redirect and d.redirect.startswith(b"/") and stack is not ofs.root_stack:
            stack = ofs.root_stack
            i = ofs.lowers.index(ref.layer) + 1
    res.is_dir = d.is_dir
    if not d.is_dir and res.positive and index.active(ofs):
        _find_index(ofs, res)
    return res


def lower_positive(ofs: OverlayFs, parent_lowers: list[LowerRef], name: bytes) -> bool:
    """Whether *name* has a visible lower entry under the parent (ovl_lower_positive).

    The first lower layer holding the name decides: a whiteout there means no (with AUFS
    whiteouts a ``.wh.NAME`` entry in a layer counts as a whiteout there).
    """
    for ref in parent_lowers:
        rel = join(ref.rel, name)
        path = ref.layer.real(rel)
        st = layers.lstat(path)
        if st is None:
            if aufs.active(ofs) and aufs.hidden_below(ref.layer, rel):
                return False
            continue
        return not _is_whiteout(ofs, path, st)
    return False
