"""The rule strategy: swarm testing decided once per example, one index per step, and
arguments from ``sampled_from`` drawn as plain indices."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)

from difftest.swarm import Swarm, SwarmRules

SETTINGS = settings(
    max_examples=300,
    stateful_step_count=12,
    database=None,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


class Tiny(RuleBasedStateMachine):
    """Three rules, one of which needs a value from a bundle; records what ran."""

    log: ClassVar[list[list[tuple[str, Any]]]] = []
    all_off = False
    things = Bundle("things")

    def __init__(self) -> None:
        super().__init__()
        self._rules_strategy = SwarmRules(self)
        self.ran: list[tuple[str, Any]] = []
        type(self).log.append(self.ran)

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        strategy = self._rules_strategy
        assert isinstance(strategy, SwarmRules)
        strategy.off = data.draw(strategy.swarm())
        if self.all_off:
            strategy.off = frozenset(r.function.__name__ for r in strategy.rules)

    @rule(target=things, x=st.sampled_from([1, 2, 3]))
    def make(self, x: int) -> int:
        self.ran.append(("make", x))
        return x

    @rule(t=things)
    def use(self, t: int) -> None:
        self.ran.append(("use", t))

    @rule()
    def noop(self) -> None:
        self.ran.append(("noop", None))


def run(all_off: bool = False) -> list[list[tuple[str, Any]]]:
    machine = type("Run", (Tiny,), {"log": [], "all_off": all_off})
    run_state_machine_as_test(machine, settings=SETTINGS)
    return [ran for ran in machine.log if ran]


def test_a_rule_that_needs_a_bundle_value_runs_only_once_one_exists() -> None:
    examples = run()
    uses = 0
    for ran in examples:
        made: set[int] = set()
        for name, value in ran:
            if name == "make":
                made.add(value)
            elif name == "use":
                uses += 1
                assert value in made
    assert uses > 0


def test_sampled_from_arguments_take_every_element_and_nothing_else() -> None:
    values = Counter(v for ran in run() for name, v in ran if name == "make")
    assert set(values) == {1, 2, 3}


def test_some_examples_leave_a_rule_out_and_others_use_every_rule() -> None:
    """Swarm testing: narrow examples are common (a rule that could run never does: about
    100 of 300 here, against 22 with every rule always on), and examples with all three
    rules still occur."""
    narrow = wide = 0
    for ran in run():
        names = {name for name, _ in ran}
        if len(ran) >= 8 and "make" in names and names != {"make", "use", "noop"}:
            narrow += 1
        if names == {"make", "use", "noop"}:
            wide += 1
    assert narrow > 50 and wide > 10, (narrow, wide)


def test_with_every_rule_off_the_valid_rules_still_run() -> None:
    examples = run(all_off=True)
    assert sum(len(ran) for ran in examples) > 100


def test_the_swarm_shrinks_towards_every_rule_on() -> None:
    names = ("a", "b", "c", "d")
    assert find(Swarm(names), lambda off: True) == frozenset()
    assert find(Swarm(names), lambda off: "c" in off) == frozenset({"c"})
