"""The facade offers exactly the syscall surface of :class:`difftest.syscalls.Syscalls`."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from model.overlay import Overlay

if TYPE_CHECKING:
    from difftest.syscalls import Syscalls

    def _structural_check(o: Overlay) -> Syscalls:
        return o  # mypy checks that Overlay satisfies the Protocol


def _protocol_methods() -> dict[str, inspect.Signature]:
    from difftest.syscalls import Syscalls

    return {
        name: inspect.signature(fn)
        for name, fn in vars(Syscalls).items()
        if callable(fn) and not name.startswith("_")
    }


def test_overlay_has_every_syscall_with_the_same_signature() -> None:
    expected = _protocol_methods()
    assert expected, "no methods found on the Syscalls protocol"
    for name, sig in expected.items():
        ours = inspect.signature(getattr(Overlay, name))
        assert list(ours.parameters) == list(sig.parameters), name
        for p, q in zip(ours.parameters.values(), sig.parameters.values(), strict=True):
            assert (p.kind, p.default) == (q.kind, q.default), (name, p.name)
        assert str(ours.return_annotation) == str(sig.return_annotation), name
