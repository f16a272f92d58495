"""Choosing the next rule: swarm testing with one set of choices per example, not per step.

Swarm testing (Groce et al., ISSTA 2012) switches some rules off for a whole example, so
that narrow examples (only renames and opens, say) occur and reach states that a uniform
mix of all 30 rules rarely does.  Hypothesis's own ``RuleStrategy`` does this with lazily
drawn feature flags: every step re-records the flag of each rule it looks at, and when its
three random tries miss, it scans all rules, so a step cost about 17 recorded choices,
half of the tester's time against the kernel.

:class:`SwarmRules` keeps the idea and makes it cheap:

* once per example (in the machine's initialize rule) it draws the share of rules to
  switch off, then one boolean per rule; both shrink towards "on", so shrinking widens the
  swarm as Hypothesis's flags do;
* each step draws one index into all rules, and a second one into the rules that are
  valid (a handle rule needs a handle) and on, if the first named a rule that is not; when
  no valid rule is on, all valid rules count as on;
* a rule argument that is a plain ``sampled_from`` is drawn as one index, without the
  strategy machinery; anything else (the handles bundle) is drawn as Hypothesis would.

Every draw is still a choice of the example's choice sequence, so the example database,
replay and shrinking work as before.  ``DIFFTEST_HYPOTHESIS_SWARM=1`` in the environment puts
Hypothesis's own strategy back, for A/B measurements (``docs/profiling.md`` has them).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from hypothesis.errors import InvalidDefinition
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.stateful import RuleBasedStateMachine, RuleStrategy
from hypothesis.strategies._internal.strategies import SampledFromStrategy, SearchStrategy

Plan = list[tuple[str, "tuple[Any, ...] | None", Any, int]]


def _plain_elements(strategy: Any) -> tuple[Any, ...] | None:
    """The elements of an untransformed ``sampled_from``, or None for any other strategy."""
    inner = getattr(strategy, "wrapped_strategy", strategy)  # st.* return lazy wrappers
    if type(inner) is SampledFromStrategy and not inner._transformations:
        return tuple(inner.elements)
    return None


RULE_LABEL = 0x5357_524D_5255_4C45  # labels the span of a step's rule choice (any fixed number)


class Swarm(SearchStrategy[frozenset[str]]):
    """The rules switched off for one example: a share drawn first, then one boolean per
    rule; both shrink towards "on"."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        self.names = names

    def do_draw(self, data: ConjectureData) -> frozenset[str]:
        p_off = data.draw_integer(0, 254) / 255
        return frozenset(n for n in self.names if data.draw_boolean(p_off))


@functools.cache
def _swarm(names: tuple[str, ...]) -> Swarm:
    """One strategy per set of rule names (a new one per example would be validated anew)."""
    return Swarm(names)


class SwarmRules(RuleStrategy):
    """The rule strategy of :class:`difftest.machine.OverlayMachine` (one per example).

    ``off`` is set by the machine's initialize rule, which draws it with :meth:`swarm`:
    drawn there, the swarm's choices stay out of the step spans that Hypothesis's mutator
    copies from one step to another."""

    _plans: ClassVar[dict[Any, Plan]] = {}  # rule function -> how to draw its arguments

    def __init__(self, machine: RuleBasedStateMachine) -> None:
        super().__init__(machine)
        self.off: frozenset[str] = frozenset()

    def swarm(self) -> Swarm:
        return _swarm(tuple(sorted(r.function.__name__ for r in self.rules)))

    def _plan(self, rule: Any) -> Plan:
        plan = self._plans.get(rule.function)
        if plan is None:
            plan = [
                (k, _plain_elements(s), s, s.label) for k, s in rule.arguments_strategies.items()
            ]
            self._plans[rule.function] = plan
        return plan

    def do_draw(self, data: ConjectureData) -> tuple[Any, dict[str, Any]]:
        if getattr(self.machine, "steps_spent", False):  # only ``rest`` is left: no draw
            return next(r for r in self.rules if r.function.__name__ == "rest"), {}
        data.start_span(RULE_LABEL)
        # An index into all rules first, so that a choice names the same rule whatever the
        # state (Hypothesis's mutator copies steps between states); a second draw if that
        # rule cannot run or is off.  The valid rules are listed only then: checking every
        # precondition at each step cost 2% of a run.
        rule = self.rules[data.draw_integer(0, len(self.rules) - 1)]
        if rule.function.__name__ in self.off or not self.is_valid(rule):
            valid = [r for r in self.rules if self.is_valid(r)]
            if not valid:
                raise InvalidDefinition("no rule of the state machine can run in this state")
            live = [r for r in valid if r.function.__name__ not in self.off] or valid
            if not any(rule is r for r in live):
                rule = live[data.draw_integer(0, len(live) - 1)] if len(live) > 1 else live[0]
        data.stop_span()
        arguments: dict[str, Any] = {}
        for key, elements, strategy, label in self._plan(rule):
            if elements is None:
                arguments[key] = data.draw(strategy)
            else:
                # The span, labelled as Hypothesis labels the strategy, lets its mutator copy
                # one path argument onto another, which makes steps meet on the same name.
                data.start_span(label)
                arguments[key] = elements[data.draw_integer(0, len(elements) - 1)]
                data.stop_span()
        return rule, arguments
