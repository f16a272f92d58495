"""What an example found: its steps, results and divergence, as plain records.

These records are what Hypothesis's examples leave behind, what ``difftest replay`` reads
back and what reports are written from; they import nothing that runs an example.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from difftest import ops
from difftest.outcome import Kind, Outcome
from model.spec import LayersSpec


class TargetSetupError(Exception):
    """A target could not be set up for an example (a FUSE program that did not mount)."""

    def __init__(self, target: str, message: str) -> None:
        super().__init__(message)
        self.target = target


Signature = tuple[str, str]  # (target, primary key): what makes two divergences one bug

# Which difference of a state divergence names it: what the merged view shows first, then
# lookups, the upper layer, identity and devices, then stability of inode numbers and mtimes.
AREA_RANK = {"merged": 0, "lookup": 1, "upper": 2, "identity": 3, "dev": 4,
             "ino-changed": 5, "mtime-changed": 6}


def primary_key(keys: frozenset[str]) -> str:
    """The key that names a divergence with several: the first by :data:`AREA_RANK`, then
    by text.  One divergence often shows as several differences (a wrong inode number
    aliases a file with whatever else has that number); its identity is the first of them,
    so a shrink may drop the others, and another divergence is one whose first key differs.
    """

    def rank(k: str) -> tuple[int, str]:
        parts = k.split("|")
        area = parts[2] if parts[0] == "state" and len(parts) > 2 else ""
        return AREA_RANK.get(area, -1), k

    return min(keys, key=rank)


@dataclass
class Divergence:
    """The first disagreement of an example.

    ``keys`` name what differs and where, without paths or incidental values
    (:mod:`difftest.signature`); one key for a result, one per difference for a state.
    The signature is the target and the primary key (:func:`primary_key`).
    """

    step: int
    target: str
    kind: Kind
    op: ops.Op | None
    expected: str
    actual: str
    details: list[str] = field(default_factory=list)
    keys: frozenset[str] = frozenset()

    @property
    def signature(self) -> Signature:
        if self.keys:
            return self.target, primary_key(self.keys)
        op = type(self.op).__name__ if self.op is not None else "setup"
        return self.target, f"{self.kind.value}|{op}"

    def where(self) -> str:
        """What follows "after" in a summary: the step and its operation, the initial state,
        or, for the check of a FUSE target's layers through the kernel when an example ends,
        the last step."""
        if self.op is not None:
            return f"step {self.step} {self.op!r}"
        if self.step == 0:
            return "the initial state"
        return f"the last step ({self.step}), in the kernel's view of the layers"

    def summary(self) -> str:
        where = self.where()
        head = (
            f"{self.kind.value} on {self.target} after {where}: "
            f"expected {self.expected}, got {self.actual}"
        )
        return "\n".join([head, *self.details[:30]])


@dataclass
class StepRecord:
    op: ops.Op
    outcomes: dict[str, Outcome]


@dataclass
class ExampleRecord:
    spec: LayersSpec
    steps: list[StepRecord] = field(default_factory=list)
    divergence: Divergence | None = None
    events: set[str] = field(default_factory=set)
    found_at: float = 0.0  # time.monotonic() when its signature was first met in the run

    def size(self) -> tuple[int, int]:
        """How big the case is: steps, then entries of the starting layers."""
        entries = sum(len(layer) for layer in self.spec.lowers) + len(self.spec.upper or ())
        return len(self.steps), entries


def is_setup_failure(d: Divergence) -> bool:
    """The target could not even mount the starting layers (a failure of the first
    observation is a divergence like any other, not this)."""
    return d.kind is Kind.TARGET_FAILED and f"failed|mount|{d.target}" in d.keys


class DivergenceFound(AssertionError):
    """Raised at the first disagreement; Hypothesis shrinks the example that raised it.

    Each signature raises a subclass of its own (:func:`divergence_error`): Hypothesis tells
    bugs apart by the exception's type and origin, so a shrink only accepts smaller examples
    that show the same divergence, and each distinct one is shrunk on its own.
    """

    signature: Signature | None = None


_ERRORS: dict[Signature, type[DivergenceFound]] = {}


def divergence_error(d: Divergence) -> DivergenceFound:
    """The exception that reports ``d``: an instance of the class of ``d``'s signature."""
    sig = d.signature
    cls = _ERRORS.get(sig)
    if cls is None:
        tag = zlib.crc32(repr(sig).encode())
        cls = type(f"DivergenceFound_{tag:08x}", (DivergenceFound,), {"signature": sig})
        _ERRORS[sig] = cls
    return cls(d.summary())
