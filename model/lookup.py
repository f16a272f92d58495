"""Resolving one name across the layer stack (``fs/overlayfs/namei.c``, catalogue §1).

:func:`ovl_lookup` turns a parent :class:`Dentry` and a name into the child's dentry: the
upper node (if any) and the stack of lower nodes that merge into it, cut by whiteouts,
opaque directories and non-directories, and redirected by ``trusted.overlay.redirect``.  The
walk state lives in one small record, :class:`LookupData` (``struct ovl_lookup_data``).

The model keeps no dentry cache: every operation resolves its path from the root.  That is
equivalent to the kernel's cached dentries because everything the cache remembers (opaque,
redirect, origin) is written to the upper layer when it is decided, but for one thing: an
origin that cannot be stored (userxattr) or decoded (a user namespace), which
``OvlFs.named_origins`` keeps per name.
"""

from __future__ import annotations

import errno

from model.errors import fail
from model.fs import OvlFs, kept_origin
from model.layer import (
    DIR,
    LNK,
    Layer,
    Node,
    has_origin,
    is_chr_whiteout,
    is_impure,
    is_metacopy,
    is_whiteout,
    redirect_of,
    xattr_flag,
)
from model.spec import IMPURE, OPAQUE, ORIGIN
from model.types import NAME_MAX, DirEntry

LowerStack = tuple[tuple[Layer, Node], ...]


class Dentry:
    """One overlay dentry: what a name in the overlay stands for.

    ``upper`` is the upper node (for a lower hard link with index=on it may be the shared
    index copy, then ``upper_alias`` is false: the name itself has no upper entry yet).
    ``lowers`` is the lower stack, top first (for a copied-up non-dir: its origin).
    ``opaque`` is set for an upper opaque dir and for an upper whiteout (a negative dentry
    that "is whiteout", ``ovl_dentry_is_whiteout``).  ``redirect`` is the upper dir's
    ``trusted.overlay.redirect``.
    """

    __slots__ = (
        "cache",
        "listing",
        "lowers",
        "name",
        "opaque",
        "parent",
        "redirect",
        "upper",
        "upper_alias",
        "xwhiteouts",
    )

    def __init__(
        self,
        parent: Dentry | None,
        name: bytes,
        upper: Node | None,
        lowers: LowerStack,
        opaque: bool = False,
        redirect: bytes | None = None,
        upper_alias: bool = True,
        xwhiteouts: bool = False,
    ) -> None:
        self.parent = parent
        self.name = name
        self.upper = upper
        self.lowers = lowers
        self.opaque = opaque
        self.redirect = redirect
        self.upper_alias = upper_alias and upper is not None
        self.xwhiteouts = xwhiteouts
        self.cache: dict[bytes, tuple[Node | None, Node | None, int, Dentry]] | None = None
        self.listing: tuple[tuple[int, int, int, int], list[DirEntry]] | None = None

    def __repr__(self) -> str:  # pragma: no cover - a debugging aid
        return f"<Dentry {self.path_bytes()!r} upper={self.upper} lowers={len(self.lowers)}>"

    @property
    def positive(self) -> bool:
        return self.upper is not None or bool(self.lowers)

    @property
    def real(self) -> Node:
        """The node that provides attributes and data (``ovl_dentry_real``)."""
        if self.upper is not None:
            return self.upper
        return self.lowers[0][1]

    @property
    def lower(self) -> Node | None:
        return self.lowers[0][1] if self.lowers else None

    @property
    def is_dir(self) -> bool:
        return self.real.kind == DIR

    @property
    def is_symlink(self) -> bool:
        return self.real.kind == LNK

    @property
    def is_root(self) -> bool:
        return self.parent is None

    @property
    def merged(self) -> bool:
        """``OVL_TYPE_MERGE``: a dir of an upper plus a lower, or of several lowers; a
        metacopy upper file with its lower data (``ovl_path_type``: no upper data)."""
        if self.upper is not None:
            return bool(self.lowers) and (self.is_dir or is_metacopy(self.upper))
        return len(self.lowers) > 1

    @property
    def merge_or_lower(self) -> bool:
        """``ovl_type_merge_or_lower``: merged, or not in the upper layer at all."""
        return self.merged or self.upper is None

    @property
    def whiteout(self) -> bool:
        """A negative dentry with an upper whiteout under its name."""
        return not self.positive and self.opaque

    def path(self) -> tuple[bytes, ...]:
        """The names from the root down to this dentry."""
        names: list[bytes] = []
        d: Dentry | None = self
        while d is not None and d.parent is not None:
            names.append(d.name)
            d = d.parent
        return tuple(reversed(names))

    def path_bytes(self) -> bytes:  # pragma: no cover - for __repr__
        return b"/" + b"/".join(self.path())


def root_dentry(fs: OvlFs) -> Dentry:
    """The root merges the upper root with every lower root, whatever their xattrs
    (``ovl_get_root``): it is always a merged directory."""
    upper = fs.upper.root if fs.upper is not None else None
    lowers = tuple((layer, layer.root) for layer in fs.lowers)
    xw = any(xattr_flag(n, OPAQUE) == b"x" for _, n in lowers[:-1])
    return Dentry(None, b"", upper, lowers, xwhiteouts=xw)


class LookupData:
    """``struct ovl_lookup_data``: the state of one name's walk down the layers."""

    __slots__ = (
        "follow_metacopy", "is_dir", "last", "metacopy", "name", "opaque", "redirect", "stop",
        "xwhiteouts",
    )  # fmt: skip

    def __init__(self, name: bytes, last: bool, follow_metacopy: bool = False) -> None:
        self.name = name
        self.follow_metacopy = follow_metacopy  # metacopy=on
        self.metacopy = False  # the last non-dir found holds metadata only
        self.is_dir = False
        self.opaque = False
        self.stop = False
        self.last = last
        self.redirect: bytes | None = None
        self.xwhiteouts = False


def _check_redirect(d: LookupData, node: Node, prelen: int, post: bytes) -> None:
    """Follow a ``trusted.overlay.redirect`` found on a directory (``ovl_check_redirect``):
    an absolute value replaces the whole lookup path and resumes a stopped lookup; a bare
    name replaces this component only.  A malformed value fails the lookup with EINVAL
    (``ovl_get_redirect_xattr``)."""
    buf = redirect_of(node)
    if buf is None:
        return
    if (
        not buf
        or (buf.startswith(b"/") and b"" in buf[1:].split(b"/"))
        or (not buf.startswith(b"/") and b"/" in buf)
    ):
        raise fail(errno.EINVAL, f"invalid redirect {buf!r}")
    if buf.startswith(b"/"):
        d.stop = False
    else:
        buf = d.name[:prelen] + buf
    d.redirect = d.name = buf + post


def _lookup_single(
    d: LookupData, layer: Layer, base: Node, name: bytes, prelen: int, post: bytes
) -> Node | None:
    """One name in one real directory (``ovl_lookup_single``)."""
    assert base.children is not None
    this = base.children.get(name)
    if this is None:
        return None
    last_element = not post
    if is_whiteout(this):
        # Catalogue §1 step 2: a whiteout ends the lookup (negative if nothing above).
        d.stop = d.opaque = True
        return None
    if this.kind != DIR:
        # §1 steps 3 and 5: a non-dir ends the stack; below a dir it is hidden.
        d.stop = True
        if d.is_dir or not last_element:
            return None
        # With metacopy=on a metacopy file goes on down to its data file, following its
        # redirect (``ovl_lookup_single``: ``d->stop = !d->metacopy``).
        d.metacopy = d.follow_metacopy and is_metacopy(this)
        if d.metacopy:
            d.stop = False
            if not d.last:
                _check_redirect(d, this, prelen, post)
        return this
    if last_element:
        d.is_dir = True
    if d.last:
        return this  # the bottom layer: its opaque/redirect xattrs are never read
    val = xattr_flag(this, OPAQUE)
    if last_element and not layer.is_upper and val == b"x":
        d.xwhiteouts = True  # opaque=x marks a dir holding xwhiteouts, not opaque (§1)
    elif val == b"y":
        # §1 step 4: only the exact value "y" makes a dir opaque.
        d.stop = True
        if last_element:
            d.opaque = True
        return this
    _check_redirect(d, this, prelen, post)
    return this


def _lookup_layer(d: LookupData, layer: Layer, base: Node) -> Node | None:
    """``ovl_lookup_layer``: a bare name in ``base``, or an absolute redirect path walked
    from ``base`` (a layer root), component by component."""
    if not d.name.startswith(b"/"):
        return _lookup_single(d, layer, base, d.name, 0, b"")
    rem = len(d.name) - 1  # counted from the end: a redirect may rewrite the prefix
    found: Node | None = None
    cur: Node | None = base
    while cur is not None and cur.kind == DIR:
        s = len(d.name) - rem
        nxt = d.name.find(b"/", s)
        if nxt < 0:
            nxt = len(d.name)
        cur = _lookup_single(d, layer, cur, d.name[s:nxt], s, d.name[nxt:])
        found = cur
        if nxt == len(d.name):
            break
        rem -= nxt - s + 1
    return found


def set_impure(parent: Dentry) -> None:
    """Mark the parent's upper dir ``impure=y`` (``ovl_set_impure``): it now holds an entry
    with an origin or a redirect, so readdir must fix its d_ino."""
    upper = parent.upper
    assert upper is not None
    if not is_impure(upper):
        upper.xattrs[IMPURE] = b"y"


def _fix_origin(parent: Dentry, upper: Node, layer: Layer, lower: Node) -> None:
    """Lookup of a merged dir whose upper has no origin writes one, and marks the parent
    impure (``ovl_fix_origin``, catalogue §1 "Side effect of lookup"; also on a ``ro``
    mount, checked on 6.18)."""
    if has_origin(upper):
        return
    upper.xattrs[ORIGIN] = b""
    upper.origin = (layer, lower)
    set_impure(parent)
    assert parent.upper is not None
    parent.upper.changed()  # the parent's listing shows the origin's d_ino now


def ovl_lookup(fs: OvlFs, parent: Dentry, name: bytes) -> Dentry:
    """The child ``name`` of the directory ``parent`` (``ovl_lookup``, catalogue §1)."""
    if len(name) > NAME_MAX:
        raise fail(errno.ENAMETOOLONG, "name longer than 255 bytes")
    follow = fs.config.redirect_follow
    poe = parent.lowers
    d = LookupData(name, last=False if follow else not poe,
                   follow_metacopy=fs.config.metacopy or bool(fs.datas))  # fmt: skip
    upper: Node | None = None
    origin: LowerStack = ()
    upperredirect: bytes | None = None
    upperopaque = False
    if parent.upper is not None:
        upper = _lookup_layer(d, _upper_layer(fs), parent.upper)
        if upper is not None and not d.is_dir and upper.origin is not None:
            origin = (upper.origin,)  # ovl_check_origin: decode the copy-up origin
        elif upper is not None and not d.is_dir and fs.named_origins:
            kept = kept_origin(fs, parent.upper, name, upper)
            origin = () if kept is None else (kept,)
        if d.redirect is not None:
            upperredirect = d.redirect
            if d.redirect.startswith(b"/"):
                poe = _root_lowers(fs)
        upperopaque = d.opaque
    stack = _lookup_lowers(fs, d, parent, upper, poe, follow)
    if d.metacopy and stack and fs.datas and d.redirect is not None and d.redirect[:1] == b"/":
        # the data of a lower metacopy is in a data-only layer, at its absolute redirect
        # (looked up at first access in the kernel: a missing one fails the open, ENOENT)
        d.metacopy = False
        data = _lookup_data(fs, d.redirect)
        if data is not None:
            stack = (*stack, data)
    if d.metacopy:
        # the upper (or last) file found holds metadata only and no data file was found
        raise fail(errno.EIO, "metacopy with no lower data found")
    if not d.is_dir and upper is not None and not stack:
        stack = origin
    upper_alias = upper is not None
    if upper is None and stack and not d.is_dir and fs.config.index:
        entry = fs.index.get(stack[0][1].ino)
        if entry is not None:
            upper = entry.upper  # an alias of an indexed lower hard link (§2.10)
    if d.is_dir and stack:
        _verify_dir_inode(fs, upper, stack[0][1])
    child = Dentry(
        parent, name, upper, stack, upperopaque, upperredirect, upper_alias, d.xwhiteouts
    )
    if d.is_dir and stack:
        fs.dir_inodes[stack[0][1].ino] = child
    return child


def _verify_dir_inode(fs: OvlFs, upper: Node | None, lower: Node) -> None:
    """The inode check at the end of a lookup (``do_ovl_lookup`` → ``ovl_get_inode``,
    inode.c).  A dir with a lower stack is hashed by its top lower dir (``ovl_hash_bylower``:
    "Yes, if won't be copied up" / dirs are never broken hard links), so when that lower dir
    already has an overlay inode in the cache, ``iget5_locked`` returns it and
    ``ovl_verify_inode(inode, lowerdentry, upperdentry, true)`` must find the same real dirs:
    "Lookup of an uncovered redirect origin?" (``!upperdentry && ovl_inode_upper(inode)``)
    and ``upperdentry && ovl_inode_upper(inode) != d_inode(upperdentry)`` give
    ``err = -ESTALE``.  That happens when one lower dir is reachable under two names, e.g. an
    upper dir redirected to a lower dir that is still visible (layers made offline): the name
    looked up first owns the inode, the other fails with ESTALE while that dentry lives
    (checked on 6.18).  The inode lives while the dentry that made it still names it (an
    ``rmdir`` or a rename away drops or moves it; the model re-registers a moved dir at its
    next lookup)."""
    held: Dentry | None = fs.dir_inodes.get(lower.ino)
    if held is None or held.upper is upper or not _still_named(held, lower):
        return
    raise fail(errno.ESTALE, "lower dir already has an overlay inode with other real dirs")


def _still_named(d: Dentry, lower: Node) -> bool:
    """Whether ``d`` still stands for ``lower`` under its name: same top lower, and its
    parent's upper dir holds under the name what ``d`` holds (its upper dir, or nothing)."""
    if not d.lowers or d.lowers[0][1] is not lower:
        return False
    parent = d.parent
    if parent is None or parent.upper is None:
        return True
    return parent.upper.dir_children().get(d.name) is d.upper


def _lookup_data(fs: OvlFs, path: bytes) -> tuple[Layer, Node] | None:
    """``ovl_lookup_data_layers``: the regular file at the absolute ``path`` in the first
    data-only layer that has one."""
    for layer in fs.datas:
        node: Node | None = layer.root
        for comp in path.strip(b"/").split(b"/"):
            children = node.children if node is not None else None
            node = children.get(comp) if children is not None else None
        if node is not None and node.kind != DIR and not is_whiteout(node):
            return layer, node
    return None


def _lookup_lowers(
    fs: OvlFs, d: LookupData, parent: Dentry, upper: Node | None, poe: LowerStack, follow: bool
) -> LowerStack:
    """The lower half of ``ovl_lookup``: scan the parent's lower stack top to bottom."""
    stack: list[tuple[Layer, Node]] = []
    root_lowers = _root_lowers(fs)
    i = 0
    while not d.stop and i < len(poe):
        layer, base = poe[i]
        # with data-only layers a non-dir reads its redirect also in the last lower layer
        last = layer.idx == fs.numlower and (d.is_dir or not fs.datas)
        d.last = last if follow else i == len(poe) - 1
        this = _lookup_layer(d, layer, base)
        i += 1
        if this is None:
            continue
        if upper is not None and not stack and d.is_dir:
            _fix_origin(parent, upper, layer, this)
        stack.append((layer, this))
        if d.redirect is not None and not follow:  # pragma: no cover - needs an offline redirect
            raise fail(errno.EPERM, "refusing to follow redirect (redirect_dir=nofollow)")
        if d.stop:
            break
        if d.redirect is not None and d.redirect.startswith(b"/") and poe is not root_lowers:
            poe = root_lowers
            i = layer.idx  # continue below this layer, from the lower roots
    return tuple(stack)


def _upper_layer(fs: OvlFs) -> Layer:
    assert fs.upper is not None
    return fs.upper


def _root_lowers(fs: OvlFs) -> LowerStack:
    return fs.root_lowers


def lookup_child(fs: OvlFs, parent: Dentry, name: bytes) -> Dentry:
    """:func:`ovl_lookup` through a small dentry cache, as the kernel's dcache: a child's
    dentry is reused while the parent's upper dir holds the same node under the name and the
    index is unchanged (lower layers never change; dentries themselves are updated in place
    by copy-up and create)."""
    up = parent.upper
    cur = None if up is None else up.children.get(name)  # type: ignore[union-attr]
    gen = fs.index_gen
    cache = parent.cache
    if cache is None:
        cache = parent.cache = {}
    else:
        hit = cache.get(name)
        if hit is not None and hit[0] is up and hit[1] is cur and hit[2] == gen:
            return hit[3]
    child = ovl_lookup(fs, parent, name)
    cache[name] = (up, cur, gen, child)
    return child


def lower_positive(fs: OvlFs, d: Dentry) -> bool:
    """Whether removing ``d`` must leave a whiteout (``ovl_lower_positive``): a negative
    dentry counts when it is an upper whiteout; a lower-only one always; an upper one when
    the *same name* is found in the parent's lower stack and the first hit is not a
    char-device whiteout."""
    if not d.positive:  # pragma: no cover - both callers pass a positive dentry
        return d.opaque
    if not d.upper_alias:
        return True
    assert d.parent is not None
    for _layer, base in d.parent.lowers:
        assert base.children is not None
        this = base.children.get(d.name)
        if this is not None:
            return not is_chr_whiteout(this)
    return False
