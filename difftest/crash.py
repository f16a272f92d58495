"""The crash lane: what a fresh mount must show after a FUSE daemon died inside an operation.

An example of the lane starts with :class:`difftest.ops.ArmCrash` (drawn by
:class:`difftest.core.MachineCore`): the FUSE target's daemon kills itself with SIGKILL
just before its N-th change to a layer (:mod:`fuse_impl.crash`), inside whichever operation
makes that change.  The target is then mounted again with a fresh daemon, and its merged
view must be one the interrupted operation may leave (catalogue §2.3, "copy-up is atomic";
``ovl_copy_up_one`` builds the copy in ``work/`` and renames it into place; ``ovl_workdir_create``
empties ``work/`` at mount):

* what the operation started from;
* what it ends with;
* a state on the way between that the kernel passes through too: the objects the operation
  names copied up one after the other, each completely (parents first, in the order of the
  operation's paths), and nothing else done yet;
* for a directory without a lower renamed onto an upper whiteout, that whiteout at the old
  name: ``ovl_rename`` exchanges the two (RENAME_EXCHANGE) and removes the whiteout after;
* for a write by a caller without CAP_FSETID to a setuid file, its setuid bit killed and
  nothing written: the FUSE client sends the kill as a SETATTR request of its own before the
  WRITE (``fuse_*_write_iter`` calls ``file_remove_privs``), so a daemon can die between.

Never a partial object (a copy-up's file with part of its data or without its owner, mode or
xattrs, a directory without its opaque mark) and nothing left in ``work/``.  Only the merged
view and identity are compared: the upper layer itself may differ from every one of these
states by what the kernel writes non-atomically as well (``overlay.impure`` set before the
copy is renamed in, the parent's times restored after it).  The example ends after the
crash; its end-of-example check then mounts the layers with the kernel and compares that view
with the state that matched.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator

from difftest import ops
from difftest.observe import Difference, Observation, differences
from difftest.observing import observe
from model.copy_up import copy_up
from model.errors import OvlError
from model.layer import DIR, Node, data_node, is_whiteout
from model.namei import Nameidata, resolve
from model.namespace import new_whiteout
from model.overlay import Overlay
from model.perm import kill_suid, should_remove_suid
from model.types import ROOT

KILL_POINT = "crash-recovery"  # the op label of a divergence found after a crash


@dataclasses.dataclass
class Allowed:
    """One state the interrupted operation may leave: a label for reports, the model in that
    state (remounted) and its view."""

    label: str
    model: Overlay
    view: Observation
    kind: str  # "before", "after" or "between"


def op_paths(op: ops.Op) -> list[bytes]:
    """The paths an operation names, in its own order (``old`` before ``new``)."""
    return [getattr(op, f) for f in ("path", "old", "new")
            if isinstance(getattr(op, f, None), bytes)]  # fmt: skip


def _chain(path: bytes) -> list[bytes]:
    """The path's ancestors below the root, top down, then the path itself."""
    parts = [p for p in path.split(b"/") if p]
    return [b"/" + b"/".join(parts[: i + 1]) for i in range(len(parts))]


def _copied_up(model: Overlay, paths: list[bytes]) -> bool:
    """Copy each of ``paths`` up in ``model`` (those that exist and are lower); whether any
    did copy."""
    changed = False
    for path in paths:
        try:
            d = resolve(Nameidata(model.fs, ROOT), path, follow=False)
            if d.lowers and (d.upper is None or not d.upper_alias):
                copy_up(model.fs, d)
                changed = True
        except OvlError:
            return changed
    return changed


def _between(before: Overlay, op: ops.Op, fd: int | None) -> Iterator[tuple[str, Overlay]]:
    """The models of the steps the operation may have finished before it died (``fd``: the
    model's handle of a handle operation)."""
    if isinstance(op, ops.Write | ops.Pwrite) and fd is not None:
        model = copy.deepcopy(before)
        h = model.handles.get(fd)
        node = None if h is None or h.dir is not None else data_node(h.inode.upper,
                                                                      h.inode.lowers)
        if h is not None and node is not None and should_remove_suid(h.cred, node,
                                                                     model.fs.userns):
            kill_suid(node)
            yield f"{op!r} interrupted after its setuid kill", model
    done: list[bytes] = []
    for path in op_paths(op):
        for step in _chain(path):
            done.append(step)
            model = copy.deepcopy(before)
            if _copied_up(model, done):
                yield f"{op!r} interrupted after the copy-up of {step!r}", model


def _remounted(label: str, model: Overlay, kind: str) -> Allowed:
    model.handles.clear()  # the crash closed every handle
    model.remount()
    return Allowed(label, model, observe(model), kind)


def _split(path: bytes) -> tuple[bytes, bytes]:
    parent, _, name = path.rstrip(b"/").rpartition(b"/")
    return parent or b"/", name


def _upper_child(model: Overlay, path: bytes) -> Node | None:
    """What the upper layer holds under ``path``'s name in its parent's upper dir."""
    parent, name = _split(path)
    try:
        d = resolve(Nameidata(model.fs, ROOT), parent, follow=True)
    except OvlError:
        return None
    return None if d.upper is None else d.upper.dir_children().get(name)


def _whiteout_left(before: Overlay, after: Overlay, op: ops.Op) -> Overlay | None:
    """The model after ``op`` with the whiteout ``ovl_rename`` exchanged to the old name not
    yet removed (see the module doc), or None where the rename does not exchange one."""
    if not isinstance(op, ops.Rename) or op.flags & (ops.RENAME_EXCHANGE | ops.RENAME_WHITEOUT):
        return None
    new = _upper_child(before, op.new)
    try:
        old = resolve(Nameidata(before.fs, ROOT), op.old, follow=False)
    except OvlError:
        return None
    if new is None or not is_whiteout(new) or old.lowers or old.real.kind != DIR:
        return None
    model = copy.deepcopy(after)
    parent, name = _split(op.old)
    d = resolve(Nameidata(model.fs, ROOT), parent, follow=True)
    if d.upper is None or name in d.upper.dir_children():
        return None
    d.upper.dir_children()[name] = new_whiteout(model.fs)
    return model


def allowed_states(before: Overlay | None, after: Overlay, op: ops.Op | None,
                   fd: int | None = None) -> list[Allowed]:
    """Every state the interrupted ``op`` may leave, each after a remount (see the module
    doc).  ``before`` is not changed; ``after`` (the model that ran the op) is remounted.
    Without ``before`` the daemon died after ``op``, in the lookups of the walk that
    observes the state (a lookup may write: an upper directory's missing origin), and only
    the state after ``op`` is allowed."""
    left = None if before is None or op is None else _whiteout_left(before, after, op)
    out = [_remounted(f"as after {op!r}", after, "after")]
    if before is None or op is None:
        return out
    out.insert(0, _remounted(f"as before {op!r}", copy.deepcopy(before), "before"))
    seen = {_key(a.view) for a in out}
    between = list(_between(before, op, fd))
    if left is not None:
        between.append((f"{op!r} interrupted before the exchanged whiteout was removed", left))
    for label, model in between:
        state = _remounted(label, model, "between")
        if _key(state.view) not in seen:
            seen.add(_key(state.view))
            out.append(state)
    return out


def _key(view: Observation) -> object:
    return (tuple(sorted(view.merged.items())), view.identity_classes())


def view_differences(expected: Observation, actual: Observation) -> list[Difference]:
    """How ``actual``'s merged view and identity differ from ``expected``'s (the upper
    layer is not compared: see the module doc)."""
    return differences(dataclasses.replace(expected, upper=None),
                       dataclasses.replace(actual, upper=None), None, None)


def match(states: list[Allowed], actual: Observation) -> tuple[Allowed | None, list[Difference]]:
    """The allowed state ``actual`` shows, or None and the differences from the nearest."""
    nearest: list[Difference] | None = None
    for state in states:
        diffs = view_differences(state.view, actual)
        if not diffs:
            return state, []
        if nearest is None or len(diffs) < len(nearest):
            nearest = [dataclasses.replace(d, line=f"{d.line} (nearest: {state.label})")
                       for d in diffs]
    return None, nearest or []


def work_left(names: list[bytes]) -> list[Difference]:
    """A difference for each entry the fresh mount left in ``work/`` (it must empty it)."""
    return [Difference("work", b"work/" + n, "extra", None, n,
                       f"work/{n.decode(errors='replace')}: left in the workdir by the "
                       "crash and not removed by the next mount")
            for n in names]  # fmt: skip
