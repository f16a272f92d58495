"""What one operation returned on one target, and how two such results are compared.

A result is either a *value* (normalised so that equal behaviour compares equal: stat results
lose fields that are compared elsewhere or tolerated, listings become sorted) or an *error*
(the errno, or for the model the set of errnos the kernel may pick).
"""

from __future__ import annotations

import errno as errno_mod
import stat as stat_mod
from dataclasses import dataclass
from enum import Enum
from typing import Any

from model.errors import OvlError
from model.types import DirEntry, Stat, StatFs


class Kind(Enum):
    """How two results differ (SibylFS's classification)."""

    ERRNO_DIFFERS = "errno differs"
    VALUE_DIFFERS = "value differs"
    ERROR_WHERE_VALUE = "error where a value was expected"
    VALUE_WHERE_ERROR = "value where an error was expected"
    STATE_DIFFERS = "state differs"
    TARGET_FAILED = "target failed"


CRASHED = frozenset({-1})  # the target raised something that is not an errno
# what a call through a FUSE mount gives once its daemon is gone (killed, crashed, aborted)
DAEMON_GONE = frozenset({errno_mod.ENOTCONN, errno_mod.ECONNABORTED})


@dataclass(frozen=True)
class Outcome:
    """One target's result: ``value`` when ``errnos`` is empty, else the error."""

    value: Any = None
    errnos: frozenset[int] = frozenset()

    @property
    def is_error(self) -> bool:
        return bool(self.errnos)

    def __str__(self) -> str:
        if self.errnos == CRASHED:
            return str(self.value)
        if self.is_error:
            return "|".join(sorted(errno_mod.errorcode.get(e, str(e)) for e in self.errnos))
        return show_value(self.value)

    def to_json(self) -> Any:
        if self.errnos == CRASHED:
            return {"crash": str(self.value)}
        if self.is_error:
            return {"errno": sorted(errno_mod.errorcode.get(e, str(e)) for e in self.errnos)}
        return {"value": jsonable(self.value)}


def show_value(v: Any) -> str:
    if v is None:
        return "ok"
    if isinstance(v, bytes):
        return repr(v) if len(v) <= 40 else f"{v[:32]!r}… ({len(v)} bytes)"
    return repr(v)


def jsonable(v: Any) -> Any:
    if isinstance(v, bytes):
        return {"hex": v.hex()} if not v.isascii() else v.decode()
    if isinstance(v, tuple | list):
        return [jsonable(x) for x in v]
    return v


def from_error(exc: BaseException) -> Outcome:
    if isinstance(exc, OvlError):
        return Outcome(errnos=exc.allowed)
    if isinstance(exc, OSError) and exc.errno is not None:
        return Outcome(errnos=frozenset({exc.errno}))
    raise exc


def stat_summary(st: Stat) -> tuple[Any, ...]:
    """The fields of a stat result compared per operation (identity and mtime are compared
    in the state observation; directory sizes are filesystem bookkeeping)."""
    kind = stat_mod.S_IFMT(st.mode)
    size = 0 if kind == stat_mod.S_IFDIR else st.size
    return (stat_mod.filemode(st.mode), st.uid, st.gid, size, st.nlink, st.rdev)


def normalise(syscall: str, value: Any) -> Any:
    """Make a raw result comparable across targets."""
    if isinstance(value, Stat):
        return stat_summary(value)
    if syscall in ("readdir", "getdents"):
        return tuple(sorted((e.name, e.d_type) for e in value if isinstance(e, DirEntry)))
    if syscall == "listxattr":
        return tuple(sorted(value))
    if isinstance(value, StatFs):
        return (hex(value.f_type), value.namelen, value.readonly, value.fsid)
    if syscall == "open":
        return "handle"
    if syscall == "write" or syscall == "pwrite":
        return int(value)
    return value


def compare(expected: Outcome, actual: Outcome) -> Kind | None:
    """None when ``actual`` agrees with ``expected`` (an errno within the allowed set counts)."""
    if expected.is_error and actual.is_error:
        return None if actual.errnos <= expected.errnos else Kind.ERRNO_DIFFERS
    if expected.is_error:
        return Kind.VALUE_WHERE_ERROR
    if actual.is_error:
        return Kind.ERROR_WHERE_VALUE
    if expected.value == actual.value or _unobserved_fsid(expected.value, actual.value):
        return None
    return Kind.VALUE_DIFFERS


FSID_UNOBSERVED = "unobserved"  # a FUSE mount's f_fsid is FUSE's: tolerance statfs-fsid


def _unobserved_fsid(e: Any, a: Any) -> bool:
    """Two statfs results that agree but for an fsid the actual target cannot show."""
    return (isinstance(e, tuple) and isinstance(a, tuple) and len(e) == len(a) == 4
            and a[3] == FSID_UNOBSERVED and e[:3] == a[:3])  # fmt: skip
