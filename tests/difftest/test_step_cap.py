"""``--steps N`` caps what an example runs at N operations, as reports count steps, though a
rule of the state machine may run several."""

from __future__ import annotations

from collections import Counter

import pytest

from difftest import runner
from difftest.core import MachineCore
from difftest.example import ExampleRecord
from difftest.session import PRESETS, Session


def _lengths(steps: int, examples: int) -> Counter[int]:
    """How many operations each example of a model-only run made (no mounts)."""
    session = Session(PRESETS["default"], [], None)
    lengths: Counter[int] = Counter()
    end = session.end_example

    def count(record: ExampleRecord) -> None:
        lengths[len(record.steps)] += 1
        end(record)

    session.end_example = count  # type: ignore[method-assign]
    result = runner.run(session, examples=examples, seconds=None, steps=steps, seed=3,
                        store=None, shrink=False)  # fmt: skip
    assert result.agreed
    assert session.steps == sum(n * c for n, c in lengths.items())
    return lengths


def test_an_example_runs_at_most_steps_operations() -> None:
    lengths = _lengths(steps=6, examples=150)
    assert max(lengths) == 6  # reached, never passed
    assert lengths[6] > 0


def test_without_the_cap_rules_run_more_operations_than_steps(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The control: six rules run more than six operations in some examples (the aimed
    rules make two to four calls each), so the cap is what holds the test above."""
    monkeypatch.setattr(MachineCore, "steps_spent", property(lambda self: False))
    assert max(_lengths(steps=6, examples=150)) > 6
