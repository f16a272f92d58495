"""The state machine's core: one example's starting layers, the step that runs an
operation on every target, the paths rules draw from, and what the model shows now.

The rules live in two layers above it: :mod:`difftest.aims` (rules that head for deep
states) and :mod:`difftest.machine` (one rule per call)."""

from __future__ import annotations

import errno
import os
from typing import Any

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from difftest import ops
from difftest.example import Example
from difftest.outcome import Outcome
from difftest.session import Session
from difftest.strategies import (
    CHAIN_DIR,
    CHAIN_FRESH,
    FRESH_NAMES,
    layers_spec,
    spec_paths,
    without_big_files,
)
from difftest.swarm import SwarmRules
from model.xattrs import spelled

HANDLES = Bundle("handles")
# The crash lane's kill points: before the 1st to the CRASH_MAX-th change to a layer after the
# mount (a copy-up makes about ten, a create or a rename two to four).
CRASH_MAX = 12
# What run_op answers once the example has run its maximum number of operations: an error,
# so that a rule part-way through its calls stops as it would on a failing call.
NOT_RUN = Outcome(value="<not run: the example's operations are spent>",
                  errnos=frozenset({errno.ECANCELED}))


class MachineCore(RuleBasedStateMachine):
    """Subclassed per run by :func:`difftest.machine.machine_for` with ``session``."""

    session: Session
    handles = HANDLES

    def __init__(self) -> None:
        super().__init__()
        if os.environ.get("DIFFTEST_HYPOTHESIS_SWARM") != "1":  # 1: Hypothesis's own, for A/B
            self._rules_strategy = SwarmRules(self)
        self.example: Example | None = None
        self.paths: list[bytes] = []
        self.xattr_paths: list[bytes] = []
        self.last_op: ops.Op | None = None

    # ---- setup ----------------------------------------------------------------------------

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        s = self.session
        rc = s.run_config
        spec = data.draw(layers_spec(lowers=s.lowers, upper=s.has_upper, data_only=rc.data_only,
                                     userxattr=rc.config.userxattr, userns=rc.userns,
                                     root_history=rc.root_history, digests=rc.digests),
                         label="layers")  # fmt: skip
        if rc.nested == "ovlfuse":
            spec = without_big_files(spec)
        if isinstance(self._rules_strategy, SwarmRules):
            self._rules_strategy.off = data.draw(self._rules_strategy.swarm(), label="swarm")
        self.example = Example(s, spec)
        if s.crash_lane:  # (drawn only here: every other run keeps its fixed-seed examples)
            self.run_op(ops.ArmCrash(data.draw(st.integers(1, CRASH_MAX), label="crash point")))
        fresh = {b"/" + n for n in FRESH_NAMES} | {b"/a/" + n for n in FRESH_NAMES[:4]}
        known = spec_paths(spec)
        if b"/" + CHAIN_DIR in known:
            fresh.update(CHAIN_FRESH)
        self.paths = sorted(known | fresh | {b"/"})
        # paths whose object has xattrs in some layer (odd_xattr aims at them)
        self.xattr_paths = sorted({b"/" + e.path for layer in (*spec.lowers, spec.upper or ())
                                   for e in layer if e.xattrs})  # fmt: skip

    def teardown(self) -> None:
        if self.example is not None:
            self.example.close()

    @invariant()
    def state_agrees(self) -> None:
        """After the initial layers, every target shows the model's merged view and upper
        layer; after each step :meth:`Example.step` compares the same way."""
        ex = self.example
        if ex is not None and not ex.prev_obs and not ex.ended and not ex.online:
            ex.check_state(None)

    @property
    def steps_spent(self) -> bool:
        """Whether the example has run ``--steps`` operations.  A step of a report is one
        operation, and a rule may run several (the aimed rules of :mod:`difftest.aims` run
        two to four), so the cap is on operations: a rule that meets it runs no more."""
        if self.example is not None and self.example.ended:
            return True  # the crash lane's crash has been checked
        cap = self.session.max_steps
        return cap is not None and self.example is not None and len(
            self.example.record.steps) >= cap

    @precondition(lambda self: self.steps_spent)
    @rule()
    def rest(self) -> None:
        """Nothing: the only rule left once the example's operations are spent (Hypothesis
        still draws its ``stateful_step_count`` rules)."""

    def run_op(self, op: ops.Op) -> Outcome:
        if self.steps_spent:
            return NOT_RUN
        note(repr(op))
        assert self.example is not None
        self.last_op = op
        return self.example.step(op)

    def xname(self, name: bytes) -> bytes:
        """A drawn xattr name as this config's overlay sees it: the draws name the overlay's
        own namespace ``trusted.overlay.``; with ``userxattr`` that is ``user.overlay.``
        and the other becomes an ordinary ``trusted.*`` name (:func:`model.xattrs.spelled`:
        the same draws, so fixed seeds of the other configs generate what they did)."""
        return spelled(name, self.session.config.userxattr)

    def at(self, index: int) -> bytes:
        """The path an index names: the known paths and fresh names, in a fixed order
        (shrinking goes towards index 0, the root)."""
        return self.paths[index % len(self.paths)]

    def remember(self, path: bytes) -> None:
        if path not in self.paths:
            self.paths.append(path)


    # ---- what the model shows now ----------------------------------------------------------

    def _handles_open(self) -> bool:
        assert self.example is not None
        model = self.example.handle_maps.get("model")
        return model is not None and bool(model.by_label)

    def _model_upper(self) -> dict[bytes, Any]:
        assert self.example is not None
        obs = self.example.prev_obs.get("model")
        return obs.upper or {} if obs is not None else {}

    def _model_merged(self) -> dict[bytes, Any]:
        assert self.example is not None
        obs = self.example.prev_obs.get("model")
        return obs.merged if obs is not None else {}
    def _lower_only(self, kind: str) -> list[bytes]:
        """Paths of the model's merged view of ``kind`` that no upper object backs yet."""
        upper = self._model_upper()
        return sorted(k for k, e in self._model_merged().items()
                      if e.kind == kind and k not in upper and k != b"/")  # fmt: skip

    def _opened(self, out: Outcome) -> int | None:
        """The label of the handle the ``Open`` just run made, if it succeeded."""
        assert self.example is not None
        return None if out.is_error else self.example.next_label - 1
