"""Operations are data whose repr is valid Python; outcomes compare as the kernel allows."""

from __future__ import annotations

import errno
import os

import pytest

from difftest import ops
from difftest.ops import *  # noqa: F403 - the reprs below are evaluated in this namespace
from difftest.outcome import Kind, Outcome, compare, normalise
from model.errors import OvlError
from model.types import DirEntry, Stat

EXAMPLES: list[ops.Op] = [
    ops.Lstat(b"/a"),
    ops.Open(b"/a/\xff", os.O_WRONLY | os.O_CREAT, 0o600, uid=1000, gid=1000),
    ops.Rename(b"/a", b"/b", ops.RENAME_EXCHANGE),
    ops.Chown(b"/a", 1000, -1),
    ops.Utimens(b"/a", None, -1),
    ops.Setxattr(b"/a", b"user.x", b"\x00v", ops.XATTR_CREATE),
    ops.Pwrite(3, b"data", 5 * 1024**3),
    ops.Remount(),
]


@pytest.mark.parametrize("op", EXAMPLES, ids=lambda o: type(o).__name__)
def test_operation_repr_is_valid_python_that_rebuilds_it(op: ops.Op) -> None:
    assert eval(repr(op)) == op


def test_operation_repr_omits_default_fields() -> None:
    assert repr(ops.Mkdir(b"/d")) == "Mkdir(path=b'/d')"


@pytest.mark.parametrize("op", EXAMPLES, ids=lambda o: type(o).__name__)
def test_operation_survives_a_json_round_trip(op: ops.Op) -> None:
    assert ops.op_from_dict(ops.op_to_dict(op)) == op


def test_every_syscall_of_the_surface_has_an_operation() -> None:
    from difftest.syscalls import Syscalls

    surface = {n for n in vars(Syscalls) if not n.startswith("_")}
    covered = {cls.syscall for cls in ops.ALL_OPS}
    # Observation-only calls are used by the walker, not generated as steps.
    assert surface - covered == {"content_digest", "upper_dump"}


def test_errno_inside_the_allowed_set_agrees() -> None:
    expected = Outcome(errnos=OvlError(errno.EXDEV, errno.ENOTEMPTY).allowed)
    assert compare(expected, Outcome(errnos=frozenset({errno.ENOTEMPTY}))) is None


def test_errno_outside_the_allowed_set_is_classified() -> None:
    expected = Outcome(errnos=frozenset({errno.EXDEV}))
    assert compare(expected, Outcome(errnos=frozenset({errno.EIO}))) is Kind.ERRNO_DIFFERS


def test_value_where_error_expected_and_the_reverse_are_told_apart() -> None:
    err, ok = Outcome(errnos=frozenset({errno.ENOENT})), Outcome(value=None)
    assert compare(err, ok) is Kind.VALUE_WHERE_ERROR
    assert compare(ok, err) is Kind.ERROR_WHERE_VALUE
    assert compare(Outcome(value=b"a"), Outcome(value=b"b")) is Kind.VALUE_DIFFERS


def test_readdir_results_compare_as_sets() -> None:
    a = [DirEntry(b"x", 8, 1), DirEntry(b"y", 4, 2)]
    assert normalise("readdir", a) == normalise("readdir", list(reversed(a)))


def test_stat_results_ignore_directory_size_but_not_file_size() -> None:
    d1, d2 = Stat(0o40755, 1, 2, 0, 0, 40, 0, 0), Stat(0o40755, 9, 2, 0, 0, 80, 0, 5)
    assert normalise("lstat", d1) == normalise("lstat", d2)
    f1, f2 = Stat(0o100644, 1, 1, 0, 0, 1, 0, 0), Stat(0o100644, 1, 1, 0, 0, 2, 0, 0)
    assert normalise("lstat", f1) != normalise("lstat", f2)
