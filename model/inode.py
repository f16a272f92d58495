"""Overlay inode attributes: ``ovl_getattr`` (st_ino, st_nlink; catalogue §2.1 and §3) and
the identity of overlay inodes (``ovl_get_inode``/``ovl_hash_bylower``).

Everything is computed from the real nodes behind an object: the upper node, the lower
stack (for a copied-up non-dir: its origin), and whether it is the root.  A :class:`Dentry`
from a path walk and an :class:`OvlInode` held by an open file give the same answers.
"""

from __future__ import annotations

from model.fs import IndexEntry, OvlFs, OvlInode
from model.layer import Layer, Node
from model.lookup import Dentry
from model.types import Stat

LowerStack = tuple[tuple[Layer, Node], ...]


def index_entry(fs: OvlFs, upper: Node | None, lowers: LowerStack) -> IndexEntry | None:
    """The index entry of an indexed non-dir (``OVL_INDEX``): index=on, a lower hard link
    that was copied up, and this object's upper is the index copy."""
    if not fs.config.index or upper is None or not lowers or upper.is_dir:
        return None
    entry = fs.index.get(lowers[0][1].ino)
    return entry if entry is not None and entry.upper is upper else None


def const_ino(fs: OvlFs, upper: Node | None, lowers: LowerStack) -> bool:
    """``OVL_CONST_INO`` (``ovl_hash_bylower``): the overlay inode is identified by its lower
    inode: always when it is indexed or there is no upper layer to copy to; not for a lower
    hard link that a copy-up breaks (index=off, or already copied without the index); not
    for an upper object that is not indexed under nfs_export=on (an upper dir or file the
    layers brought: checked on 6.18, moving such a merged dir marks no parent impure)."""
    if not lowers:
        return False
    lower = lowers[0][1]
    if upper is not None and indexed(fs, upper, lowers):
        return True
    if fs.upper is None:
        return True
    if not lower.is_dir and lower.nlink > 1 and (upper is not None or not fs.config.index):
        return False
    return not (fs.config.nfs_export and upper is not None)


def indexed(fs: OvlFs, upper: Node | None, lowers: LowerStack) -> bool:
    """``OVL_INDEX``: copied up through the index (a non-dir: :func:`index_entry`; a dir:
    under nfs_export, :attr:`OvlFs.indexed_dirs`)."""
    if upper is None or not lowers:
        return False
    if upper.is_dir:
        return lowers[0][1] in fs.indexed_dirs
    return index_entry(fs, upper, lowers) is not None


def _ino_source(fs: OvlFs, upper: Node | None, lowers: LowerStack,
                root: bool) -> tuple[Layer | None, Node]:
    """The real object whose inode number the overlay reports (catalogue §3): the root's
    upper root (top lower root without an upper); a lower-only object's topmost lower; an
    upper object's const-ino origin (persistent across copy-up and remount); else the
    upper (``None`` stands for the upper layer)."""
    if root or not lowers:
        return (None, upper) if upper is not None else lowers[0]
    if upper is None or const_ino(fs, upper, lowers):
        return lowers[0]
    return None, upper


def xino_bits(fs: OvlFs) -> int:
    """How many high bits of st_ino hold the fsid (``ovl_xino_bits``): none on one
    filesystem or with xino=off; else enough for the largest fsid plus one bit reserved for
    numbers the overlay hands out itself, ``ilog2(numfs - 1) + 2``, where numfs counts the
    upper's fsid 0 even without an upper.  xino=auto counts as on: it falls back to off only
    on a filesystem without file handles, and the test layers (tmpfs) have them."""
    if fs.samefs or fs.config.xino == "off":
        return 0
    return len(fs.lowers).bit_length() + 1  # each lower on a filesystem of its own


def st_ino(fs: OvlFs, upper: Node | None, lowers: LowerStack, root: bool) -> int:
    """The reported number of :func:`_ino_source`; with xino on several filesystems, the
    fsid of its layer's filesystem (upper 0, lowers 1..n) in the high bits above the
    reserved one (``ovl_map_dev_ino``: ``ino | fsid << (64 - xinobits + 1)``)."""
    layer, node = _ino_source(fs, upper, lowers, root)
    bits = xino_bits(fs)
    if not bits or layer is None:
        return node.ino
    return node.ino | layer.idx << (65 - bits)


def st_dev(fs: OvlFs, upper: Node | None, lowers: LowerStack, root: bool) -> int:
    """Catalogue §3: every object reports the overlay's device when all layers share one
    filesystem or xino maps their numbers, and every directory always does; with layers on
    several filesystems and xino=off a non-directory reports the pseudo device of the layer
    whose inode number it reports: 1 + that layer's idx."""
    real = upper if upper is not None else lowers[0][1]
    if fs.same_dev or real.is_dir:
        return 0
    layer, _ = _ino_source(fs, upper, lowers, root)
    return 1 + (0 if layer is None else layer.idx)


def st_nlink(fs: OvlFs, upper: Node | None, lowers: LowerStack) -> int:
    """Merged dir: 1 (catalogue §2.1).  Other dirs: the real dir's nlink.  Indexed non-dir:
    the overlay nlink (§2.10, exact).  Other non-dirs: the real nlink, stale for broken lower
    hard links with index=off."""
    real = upper if upper is not None else lowers[0][1]
    if real.is_dir:
        merged = (upper is not None and bool(lowers)) or len(lowers) > 1
        return 1 if merged else real.real_nlink()
    entry = index_entry(fs, upper, lowers)
    if entry is not None:
        return entry.nlink
    return real.nlink


def make_stat(fs: OvlFs, upper: Node | None, lowers: LowerStack, root: bool) -> Stat:
    """``ovl_getattr``: mode, owner, size, rdev and mtime of the real node, the overlay's
    st_ino and st_nlink."""
    real = upper if upper is not None else lowers[0][1]
    return Stat(
        real.st_mode,
        st_ino(fs, upper, lowers, root),
        st_nlink(fs, upper, lowers),
        real.uid,
        real.gid,
        real.size,
        real.rdev,
        real.mtime,
        st_dev(fs, upper, lowers, root),
    )


def getattr_dentry(fs: OvlFs, d: Dentry) -> Stat:
    return make_stat(fs, d.upper, d.lowers, d.is_root)


def getattr_inode(fs: OvlFs, inode: OvlInode) -> Stat:
    return make_stat(fs, inode.upper, inode.lowers, inode.root)


def inode_key(fs: OvlFs, d: Dentry) -> tuple[object, ...]:
    """Which overlay inode ``d`` is (``ovl_get_inode``): hashed by the upper node, else by
    the lower node when the object is const-ino, else one inode per dentry (a lower hard link
    that copy-up will break, index=off).  The per-dentry key is the path."""
    if d.upper is not None:
        return ("U", id(d.upper))
    if const_ino(fs, None, d.lowers):
        return ("L", id(d.lowers[0][1]))
    return ("P", d.path())


def same_inode(fs: OvlFs, a: Dentry, b: Dentry) -> bool:
    """Two names for one overlay inode: ``vfs_rename`` does nothing then (§2.9: with
    index=off two lower hard-link aliases are *different* overlay inodes)."""
    if not a.positive or not b.positive:
        return False
    return inode_key(fs, a) == inode_key(fs, b)


def grab_inode(fs: OvlFs, d: Dentry) -> OvlInode:
    """The live overlay inode of ``d`` for an open file (shared by every file open on it)."""
    key = inode_key(fs, d)
    inode = fs.live.get(key)
    if inode is None:
        inode = OvlInode(key, d.upper, d.lowers, d.is_root)
        fs.live[key] = inode
    inode.refs += 1
    return inode


def overlay_links(fs: OvlFs, d: Dentry) -> tuple[tuple[object, ...], int]:
    """(the overlay inode of ``d``, its own link count ``i_nlink``): a directory's does not
    matter; a non-directory's is its upper's nlink, the union nlink of its index entry with
    index=on, else 1: with index=off each name of a lower hard link is an inode of its own
    (checked on 6.18: an open alias of a two-name lower file, unlinked, keeps a remount
    read-only busy; an open upper file with two names does not)."""
    entry = index_entry(fs, d.upper, d.lowers)
    if entry is not None:
        return inode_key(fs, d), entry.nlink
    return inode_key(fs, d), d.upper.nlink if d.upper is not None else 1


def lose_link(fs: OvlFs, key: tuple[object, ...], is_dir: bool, links: int) -> None:
    """An unlink, rmdir or rename over took a name of the overlay inode ``key``, which had
    ``links`` (``drop_nlink``; ``clear_nlink`` for a directory).  At zero the VFS counts it
    in ``s_remove_count`` while a file holds it open, and ``sb_prepare_remount_readonly``
    refuses a remount read-only with EBUSY until the last close; a directory is also marked
    S_DEAD by ``vfs_rmdir``/``vfs_rename``, so a handle on it reads ENOENT (``iterate_dir``)."""
    inode = fs.live.get(key)
    if inode is not None and (is_dir or links <= 1):
        inode.removed = True


def release_inode(fs: OvlFs, inode: OvlInode) -> None:
    inode.refs -= 1
    if inode.refs <= 0 and fs.live.get(inode.key) is inode:
        del fs.live[inode.key]


def inode_copied_up(fs: OvlFs, old_key: tuple[object, ...], upper: Node) -> None:
    """A copy-up gave the object behind ``old_key`` an upper node: open files follow it."""
    inode = fs.live.pop(old_key, None)
    if inode is None:
        return
    inode.upper = upper
    inode.key = ("U", id(upper))
    fs.live[inode.key] = inode
