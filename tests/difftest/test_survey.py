"""Signatures: what makes two divergences one bug, for shrinking and for survey mode."""

from __future__ import annotations

from difftest import ops
from difftest.divergence import Divergence, ExampleRecord, divergence_error
from difftest.observe import Difference, MergedEntry, Observation
from difftest.outcome import Kind, Outcome
from difftest.signature import Context, Known, path_class, result_key, state_key
from model.spec import LayersSpec

FILE = MergedEntry("reg", 0o644, 0, 0, 1, 1, 0, "d", ())
DIR = MergedEntry("dir", 0o755, 0, 0, 0, 1, 0, "", ())
VIEW = Observation({b"/": DIR, b"/a": FILE, b"/d": DIR, b"/d/f": FILE}, {}, {}, {})
CTX = Context(frozenset({b"/a", b"/d", b"/d/f"}), VIEW, VIEW)


def mount_failure(where: str) -> Divergence:
    return Divergence(0, "fuse-overlayfs", Kind.TARGET_FAILED, None, "a mount",
                      f"[Errno 5] did not mount {where}/ex{len(where)}/merged",
                      keys=frozenset({"failed|mount|fuse-overlayfs"}))  # fmt: skip


def state(op: ops.Op | None, *diffs: Difference) -> Divergence:
    keys = frozenset(state_key(op, d, CTX) for d in diffs)
    return Divergence(1, "t", Kind.STATE_DIFFERS, op, "same", "n", [d.line for d in diffs], keys)


def nlink(path: bytes, e: int, a: int) -> Difference:
    return Difference("merged", path, "nlink", e, a, f"merged {path!r}: nlink: {e} != {a}")


def test_a_target_that_cannot_mount_is_one_divergence_whatever_the_paths() -> None:
    assert mount_failure("/tmp/a").signature == mount_failure("/tmp/bb").signature


def test_the_same_difference_at_another_path_of_the_same_class_is_known() -> None:
    known = Known()
    known.add(ExampleRecord(LayersSpec((), ()), divergence=state(ops.Link(b"/a", b"/b"),
                                                                 nlink(b"/a", 1, 2))))
    again = state(ops.Link(b"/d/f", b"/c"), nlink(b"/d/f", 1, 3))
    assert all(known.is_known("t", k) for k in again.keys)


def test_an_nlink_difference_after_another_operation_or_on_a_dir_is_another_bug() -> None:
    after_link = state(ops.Link(b"/a", b"/b"), nlink(b"/a", 1, 2))
    after_unlink = state(ops.Unlink(b"/b"), nlink(b"/a", 1, 2))
    on_a_dir = state(ops.Link(b"/a", b"/b"), nlink(b"/d", 1, 2))
    fewer = state(ops.Link(b"/a", b"/b"), nlink(b"/a", 2, 1))
    sigs = {d.signature for d in (after_link, after_unlink, on_a_dir, fewer)}
    assert len(sigs) == 4


def test_mode_differences_are_told_apart_by_the_bits_that_differ() -> None:
    def mode(e: int, a: int) -> Divergence:
        return state(None, Difference("merged", b"/a", "mode", e, a, "l"))

    assert mode(0o644, 0o600).signature == mode(0o744, 0o700).signature  # group/other write
    assert mode(0o644, 0o600).signature != mode(0o4755, 0o755).signature  # suid lost


def test_errno_results_are_told_apart_by_errno_pair_variant_and_path_class() -> None:
    def errno_key(op: ops.Op, e: int, a: int) -> str:
        return result_key(Kind.ERRNO_DIFFERS, op, Outcome(errnos=frozenset({e})),
                          Outcome(errnos=frozenset({a})), CTX)

    base = errno_key(ops.Rename(b"/a", b"/x"), 18, 2)
    assert base == errno_key(ops.Rename(b"/d/f", b"/y"), 18, 2)  # another lower file
    assert base != errno_key(ops.Rename(b"/a", b"/x"), 18, 1)  # another errno
    assert base != errno_key(ops.Rename(b"/a", b"/x", ops.RENAME_EXCHANGE), 18, 2)
    assert base != errno_key(ops.Rename(b"/d", b"/x"), 18, 2)  # a directory
    assert base != errno_key(ops.Rename(b"/a", b"/x", uid=1000, gid=1000), 18, 2)


def test_path_class_names_kind_layers_links_and_odd_names() -> None:
    view = Observation({b"/a": FILE, b"/.wh.b": FILE,
                        b"/h": MergedEntry("reg", 0o644, 0, 0, 1, 2, 0, "d", ())}, {}, {}, None)
    lowers = frozenset({b"/a", b"/h"})
    assert path_class(b"/a", view, lowers) == "reg@lower"
    assert path_class(b"/h", view, lowers) == "reg@lower+hl"
    assert path_class(b"/.wh.b", view, lowers) == "reg@none.wh"
    assert path_class(b"/gone", view, lowers) == "absent@none"
    assert path_class(b"/", view, lowers) == "root"


def test_each_signature_raises_its_own_exception_type() -> None:
    a = state(ops.Link(b"/a", b"/b"), nlink(b"/a", 1, 2))
    b = state(ops.Unlink(b"/b"), nlink(b"/a", 1, 2))
    assert type(divergence_error(a)) is type(divergence_error(a))
    assert type(divergence_error(a)) is not type(divergence_error(b))
