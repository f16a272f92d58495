"""Layers changed underneath a mount ("online" changes: overlayfs.rst, "Changes to underlying
filesystems").

The kernel's promise is narrow.  Changing a layer while the overlay is mounted is not
supported: what later calls return is left open ("the behavior of the overlay is
undefined, though it will not result in a crash or deadlock").  Before it unlinks, removes or
renames in the upper layer the kernel checks that the upper parent still holds the child it
looked up (``ovl_remove_upper``, ``ovl_rename``: ``lookup_one`` must give the overlay's
cached upper dentry, else ESTALE), so an upper changed behind its back leads to errors, not
to removing the wrong object.  After the next mount the overlay shows the changed layers as
it would had they been changed offline, which is allowed (catalogue §4).

So the model of an online change is the change itself, applied to the layer as a user's
``rm``/``touch``/``mkdir``/``mv`` would (:func:`change_layer`), and a set of outcomes a call
may have until the next mount (:data:`ALLOWED_ERRNOS`, any success): the tester compares
those loosely and the view after the next mount exactly.
"""

from __future__ import annotations

import errno

from model.errors import OvlError, fail
from model.layer import DIR, REG, Node, SparseData
from model.overlay import Overlay

ACTIONS = ("remove", "create", "mkdir", "rename")

# What a call may fail with after a layer changed underneath the mount and before the next
# mount: a name gone or come (ENOENT, EEXIST, ENOTEMPTY), an object of another type than
# the cached one (ENOTDIR, EISDIR), the kernel's stale checks (ESTALE), a copy-up or rename
# that meets a changed lower or upper (EXDEV, EIO), a directory rename whose redirect meets
# a changed layer (EINVAL, ELOOP).  Anything else (another errno, a crash, a hang) is a
# divergence.
ALLOWED_ERRNOS = frozenset({
    errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR, errno.ESTALE,
    errno.EXDEV, errno.EIO, errno.EINVAL, errno.ELOOP,
})  # fmt: skip

DATA = b"online\n"  # what a created file holds
NAME_MAX = 255


def _layer_root(ovl: Overlay, layer: int) -> Node:
    fs = ovl.fs
    if layer == 0:
        if fs.upper is None:
            raise fail(errno.ENOENT, "no upper layer")
        return fs.upper.root
    if not 1 <= layer <= len(fs.lowers):
        raise fail(errno.ENOENT, f"no lower layer {layer}")
    return fs.lowers[layer - 1].root


def _parent(root: Node, path: bytes) -> tuple[Node, bytes]:
    """The directory node that holds ``path``'s last component, and that component: walked
    one component at a time without following symlinks (a symlink on the way is ENOTDIR)."""
    parts = [p for p in path.split(b"/") if p]
    if not parts:
        raise fail(errno.EBUSY, "the layer's root")
    node = root
    for part in parts[:-1]:
        if len(part) > NAME_MAX:
            raise fail(errno.ENAMETOOLONG, "a name longer than NAME_MAX")
        child = node.dir_children().get(part) if node.kind == DIR else None
        if child is None:
            raise fail(errno.ENOENT, "no such directory in the layer")
        if child.kind != DIR:
            raise fail(errno.ENOTDIR, "not a directory in the layer")
        node = child
    if len(parts[-1]) > NAME_MAX:
        raise fail(errno.ENAMETOOLONG, "a name longer than NAME_MAX")
    return node, parts[-1]


def _touched(ovl: Overlay, directory: Node) -> None:
    """A real directory whose entries changed: new mtime, caches of its entries dropped."""
    directory.mtime = ovl.fs.tick()
    directory.ver += 1
    directory.listing = None


def _drop(node: Node) -> None:
    if node.kind == DIR:
        assert node.children is not None
        for child in list(node.children.values()):
            _drop(child)
    node.nlink = 0 if node.kind == DIR else node.nlink - 1


def change_layer(ovl: Overlay, layer: int, action: str, path: bytes, new: bytes = b"") -> None:
    """Change layer ``layer`` (0: the upper, 1..: the lowers from the top) of the mounted
    ``ovl`` behind its back, as root on the layer's own directory: ``remove`` the object at
    ``path`` (a directory with everything in it), ``create`` a file holding :data:`DATA`,
    ``mkdir`` a directory, ``rename`` ``path`` to ``new`` (which must not exist).  Errors
    are those of the layer's own filesystem (ENOENT, EEXIST, ENOTDIR).  Nothing the mount
    remembers is told (see the module doc)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown layer change {action!r} (known: {', '.join(ACTIONS)})")
    root = _layer_root(ovl, layer)
    parent, name = _parent(root, path)
    children = parent.dir_children()
    if action == "remove":
        node = children.pop(name, None)
        if node is None:
            raise fail(errno.ENOENT, "nothing to remove in the layer")
        _drop(node)
    elif action in ("create", "mkdir"):
        if name in children:
            raise fail(errno.EEXIST, "exists in the layer")
        kind, mode = (REG, 0o644) if action == "create" else (DIR, 0o755)
        # (a setgid directory hands its group down; the tester's chmod after mkdir drops
        # the setgid bit the new directory inherits)
        gid = parent.gid if parent.mode & 0o2000 else 0
        node = ovl.fs.clock.new_node(kind, mode, 0, gid)
        if kind == REG:
            node.data = SparseData()
            node.data.write(0, DATA)
        children[name] = node
    else:
        node = children.get(name)
        if node is None:
            raise fail(errno.ENOENT, "nothing to rename in the layer")
        to_parent, to_name = _parent(root, new)
        if to_name in to_parent.dir_children():
            raise fail(errno.EEXIST, "the new name exists in the layer")
        if node.kind == DIR and _inside(node, to_parent):
            raise fail(errno.EINVAL, "a directory into itself")
        del children[name]
        to_parent.dir_children()[to_name] = node
        _touched(ovl, to_parent)
    _touched(ovl, parent)


def feasible(ovl: Overlay, layer: int, action: str, path: bytes, new: bytes = b"") -> bool:
    """Whether :func:`change_layer` would change something (for a tester choosing where)."""
    try:
        root = _layer_root(ovl, layer)
        parent, name = _parent(root, path)
        exists = name in parent.dir_children()
        if action in ("create", "mkdir"):
            return not exists
        if action == "rename":
            to_parent, to_name = _parent(root, new)
            return exists and to_name not in to_parent.dir_children()
        return exists
    except OvlError:
        return False


def _inside(node: Node, other: Node) -> bool:
    """Whether ``other`` is ``node`` or below it."""
    if node is other:
        return True
    if node.kind != DIR:
        return False
    assert node.children is not None
    return any(_inside(child, other) for child in node.children.values())


def allowed(errnos: frozenset[int]) -> bool:
    """Whether a call that failed with ``errnos`` after an online change is in the range
    the kernel may give (:data:`ALLOWED_ERRNOS`)."""
    return bool(errnos) and errnos <= ALLOWED_ERRNOS


__all__ = ["ACTIONS", "ALLOWED_ERRNOS", "DATA", "OvlError", "allowed", "change_layer",
           "feasible"]
