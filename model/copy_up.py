"""Copy-up: making an upper copy of a lower object (``fs/overlayfs/copy_up.c``, catalogue
§2.3 and §2.12).

What a copy-up preserves: type, mode (setuid included), owner, mtime, the non-private
xattrs, symlink target, device number and data with its holes.  A directory is copied
without its contents.  The parents are copied up first (``ovl_copy_up_flags`` walks down
from the topmost ancestor without an upper).  The copy gets ``trusted.overlay.origin`` when
it is a dir, when the lower is not a hard link, or when it is indexed; its upper parent gets
``impure=y``.  The parent's mtime is restored afterwards, so a copy-up changes no mtime.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from model.errors import fail
from model.fs import IndexEntry, OvlFs
from model.inode import inode_copied_up, inode_key
from model.layer import DIR, REG, Layer, Node, SparseData, is_metacopy, is_whiteout
from model.lookup import Dentry, set_impure
from model.spec import METACOPY, ORIGIN
from model.xattrs import is_own


def index_wanted(fs: OvlFs, lower: Node) -> bool:
    """``ovl_need_index``: with index=on, lower hard links are indexed on copy-up; with
    nfs_export=on every lower object, dirs too (``ovl_index_all``: "index all files for NFS
    export and consistency verification")."""
    if not fs.config.index:
        return False
    return fs.config.nfs_export or (lower.kind != DIR and lower.nlink > 1)


@dataclass
class CopyUpCtx:
    """``struct ovl_copy_up_ctx``: one object on its way up."""

    dentry: Dentry
    parent: Dentry
    layer: Layer
    lower: Node
    trunc: bool  # open(O_TRUNC): copy no data (the file is about to be emptied)
    metacopy: bool  # copy the metadata only (``ovl_need_meta_copy_up``)

    def need_index(self, fs: OvlFs) -> bool:
        """A non-dir copied up through the index (:func:`index_wanted`; a dir's index entry
        under nfs_export holds no data the model needs)."""
        return self.lower.kind != DIR and index_wanted(fs, self.lower)

    def want_origin(self, fs: OvlFs) -> bool:
        """Catalogue §2.3: origin only for dirs, non-hard-linked lowers, or indexed copies."""
        return self.lower.kind == DIR or self.lower.nlink == 1 or self.need_index(fs)

    def origin_stored(self, fs: OvlFs) -> bool:
        """With ``userxattr`` only regular files and dirs can carry the origin: ``user.*``
        xattrs are refused on other types (EPERM), which ``ovl_set_origin_fh`` ignores."""
        return not fs.config.userxattr or self.lower.kind in (REG, DIR)

    def origin_decodable(self, fs: OvlFs) -> bool:
        """A later lookup can decode the stored origin: not in a user namespace, where
        ``ovl_can_decode_fh`` asks ``capable(CAP_DAC_READ_SEARCH)`` of the initial one and the
        origin is written empty (a null file handle: "copied up", nothing to follow; checked
        on 6.18); nor where a lower filesystem cannot decode file handles (``ofs->nofh``: an
        overlay as a lower layer, :mod:`model.nested`; checked on 6.18).  A dir's lower is
        found by name anyway, so only non-dirs lose it."""
        return self.origin_stored(fs) and (not (fs.userns or fs.nofh) or self.lower.kind == DIR)


def verify_lowerdata(fs: OvlFs, d: Dentry) -> None:
    """``ovl_verify_lowerdata`` → ``ovl_maybe_validate_verity``, before a metacopy file is
    opened or copied up: with verity=on a metacopy xattr that holds a digest must match the
    data file's fs-verity digest, and with verity=require every metacopy file must hold one.
    The layers here have no fs-verity (the reference kernel is built without
    CONFIG_FS_VERITY), so a digest never matches: EIO, before anything is copied up
    (checked on 6.18: open, chmod, truncate and link of such a file, its parent dir not
    copied up; stat, listxattr and unlink work)."""
    mode = fs.config.verity
    if mode == "off":
        return
    if not d.lowers:
        return
    meta = d.upper if d.upper is not None else d.lowers[0][1]
    if not is_metacopy(meta):
        return
    if meta.xattrs[METACOPY]:
        raise fail(errno.EIO, "a metacopy digest, and the data file has no fs-verity")
    if mode == "require":
        raise fail(errno.EIO, "verity=require: a metacopy file without a digest")


def copy_up(fs: OvlFs, d: Dentry, *, trunc: bool = False, data: bool = False) -> Node:
    """Give ``d`` an upper node (a no-op when it has one under its name) and return it.

    ``data``: the caller writes the data (open for writing or with O_TRUNC, truncate), so a
    regular file is copied with its data even with metacopy=on, and a metacopy upper gets
    its data now.  Every other copy-up of a regular file with metacopy=on copies the
    metadata only (``ovl_need_meta_copy_up``; catalogue §4, checked on 6.18: chmod, chown,
    utimes, setxattr, rename and link; truncate and write opens copy the data)."""
    if d.lowers and d.real.kind == REG:
        verify_lowerdata(fs, d)
    if d.upper is not None and d.upper_alias:
        if data and is_metacopy(d.upper):
            _copy_up_data(fs, d, trunc)
        return d.upper
    parent = d.parent
    assert parent is not None, "the root always has an upper"
    if parent.upper is None or not parent.upper_alias:
        copy_up(fs, parent)
    assert parent.upper is not None
    existing = parent.upper.dir_children().get(d.name)
    if existing is not None and not is_whiteout(existing):
        # Another dentry of this same operation for the same name already copied it up
        # (the kernel has one dentry per name; the model may hold two).
        d.upper, d.upper_alias = existing, True
        if data and is_metacopy(existing):
            _copy_up_data(fs, d, trunc)
        return existing
    layer, lower = d.lowers[0]
    # verity=require copies metadata only from a lower file with fs-verity: none here
    meta = fs.config.metacopy and lower.kind == REG and not data and fs.config.verity != "require"
    ctx = CopyUpCtx(d, parent, layer, lower, trunc, meta)
    old_key = inode_key(fs, d)
    new = _link_up(fs, ctx, d.upper) if d.upper is not None else _copy_up_one(fs, ctx)
    d.upper = new
    d.upper_alias = True
    inode_copied_up(fs, old_key, new)
    return new


def _copy_up_one(fs: OvlFs, c: CopyUpCtx) -> Node:
    """``ovl_do_copy_up``: build the copy, record origin and index, link it in place."""
    # the data comes from the lower data file: a lower metacopy's is in a data-only layer
    new = clone_node(fs, c.lower, c.trunc, c.metacopy, c.dentry.lowers[-1][1])
    if c.want_origin(fs):
        if c.origin_stored(fs):
            new.xattrs[ORIGIN] = b""
        if c.origin_decodable(fs):
            new.origin = (c.layer, c.lower)
        else:
            # kept by this name's dentry only (checked on 6.18: a copied-up FIFO or symlink
            # of a userxattr mount, any copy-up in a user namespace, keeps the lower's st_ino
            # under its name, also renamed, while a new link to it and the name after a
            # remount show the upper's)
            assert c.parent.upper is not None
            fs.named_origins[(c.parent.upper, c.dentry.name)] = (new, (c.layer, c.lower))
    if c.lower.kind == DIR and index_wanted(fs, c.lower):
        fs.indexed_dirs.add(c.lower)  # a dir index entry (nfs_export=on)
    if c.need_index(fs):
        # Copied to workdir/index/ first: the index holds one link of the upper inode.
        fs.index[c.lower.ino] = IndexEntry(new, c.lower.nlink, c.lower.nlink)
        fs.index_gen += 1
        new.nlink = 1
        return _link_up(fs, c, new)
    set_impure(c.parent)
    _insert(c.parent, c.dentry.name, new)
    return new


def _copy_up_data(fs: OvlFs, d: Dentry, trunc: bool) -> None:
    """``ovl_copy_up_meta_inode_data``: copy the lower data file's data into the metacopy
    upper in place and remove ``trusted.overlay.metacopy``.  The copy writes the upper file
    and nothing restores its mtime afterwards, so the mtime moves when there was data to
    write (checked on 6.18: an all-hole or empty file keeps its mtime; with O_TRUNC the size
    copied is 0)."""
    upper = d.upper
    assert upper is not None and upper.data is not None
    lower = d.lowers[-1][1]
    assert lower.data is not None
    del upper.xattrs[METACOPY]
    if trunc:
        return
    written = bool(lower.data.extents)
    upper.data = lower.data.copy()
    if written:
        upper.mtime = fs.tick()


def _link_up(fs: OvlFs, c: CopyUpCtx, upper: Node) -> Node:
    """``ovl_link_up``: an alias of an already indexed inode gets an upper hard link."""
    set_impure(c.parent)
    upper.nlink += 1
    _insert(c.parent, c.dentry.name, upper)
    return upper


def _insert(parent: Dentry, name: bytes, node: Node) -> None:
    """Link ``node`` into the upper parent, restoring the parent's mtime afterwards
    (``ovl_set_timestamps`` with the saved ``pstat``)."""
    assert parent.upper is not None
    parent.upper.dir_children()[name] = node
    parent.upper.changed()


def clone_node(fs: OvlFs, lower: Node, trunc: bool = False, metacopy: bool = False,
               data: Node | None = None) -> Node:
    """The upper copy of ``lower``: same type, attributes, xattrs (but overlay's private
    ones, ``ovl_copy_xattr``), data (``data``'s if given: the lower data file; nothing when
    truncating), target and rdev.  A metacopy is a sparse file of the same size, no data,
    marked ``trusted.overlay.metacopy`` (empty value: no verity digest)."""
    new = Node(lower.kind, lower.mode, lower.uid, lower.gid, fs.clock.new_ino(), lower.mtime)
    ux = fs.config.userxattr
    new.xattrs = {k: v for k, v in lower.xattrs.items() if not is_own(k, ux)}
    new.target = lower.target
    new.rdev = lower.rdev
    if lower.kind == REG:
        assert lower.data is not None
        if metacopy:
            new.data = SparseData(lower.data.size)
            new.xattrs[METACOPY] = b""
            return new
        source = (data if data is not None else lower).data
        assert source is not None
        new.data = source.copy()
        if trunc:
            new.data.truncate(0)
    return new
