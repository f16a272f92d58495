"""Check an example's hand-written expectations against the model.

Used by the tests (``tests/docs/``) and by ``difftest promote``.  The rendered page shows
everything the model does; these checks pin down the facts the rule is about, so a model
change that breaks the rule fails instead of silently re-rendering.
"""

from __future__ import annotations

import os

from difftest.docs.facts import match, match_result
from difftest.docs.runner import RunView, run_model
from difftest.docs.schema import Example, Expect


def check_view(ex: Example, view: RunView, expect: Expect) -> list[str]:
    """Problems of one run against one :class:`~difftest.docs.schema.Expect`."""
    where = f"{ex.id} under {view.config}"
    if view.failed:
        return [f"{where}: the model did not mount: {view.failed}"]
    problems = []
    results = expect.get("results")
    if results is not None:
        if len(results) != len(view.steps):
            problems.append(
                f"{where}: {len(results)} expected results for {len(view.steps)} operations"
            )
        for i, (want, step) in enumerate(zip(results, view.steps, strict=False), 1):
            for p in match_result(step.op, want, step.result):
                problems.append(f"{where}: step {i} ({step.command}): {p}")
    for label, got in (("merged", view.merged), ("upper", view.upper or {})):
        want_map: dict[bytes, str] = expect.get(label, {})  # type: ignore[assignment]
        if label == "upper" and want_map and view.upper is None:
            problems.append(f"{where}: expects an upper layer but the example has none")
            continue
        for path, words in want_map.items():
            facts = got[path].facts if path in got else ("absent",)
            for p in match(words, facts):
                problems.append(
                    f"{where}: {label} {os.fsdecode(path)}: {p} (has: {' '.join(facts)})"
                )
    return problems


def check_example(ex: Example) -> list[str]:
    """Every problem of ``ex`` under each of its configs (empty when all expectations hold)."""
    problems = []
    for config in ex.configs:
        problems += check_view(ex, run_model(ex, config), ex.expect_for(config))
    return problems
