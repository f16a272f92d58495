"""The committed semantics pages are fresh, and the example set covers what it claims.

The staleness check re-renders every page in memory from the model and the committed
``verified.json`` (no kernel involved, so it cannot flap) and compares with the committed
files.  After changing the model or an example, run ``difftest docs`` as root to refresh the
pages and their kernel verification.
"""

from __future__ import annotations

import re
from collections import Counter

from difftest.docs.areas import AREAS, all_examples
from difftest.docs.cli import default_out, stale_files
from difftest.docs.deviations import DEVIATIONS
from difftest.docs.features import BY_KEY, FEATURES
from difftest.docs.render import slug
from difftest.docs.verify import VERIFIED_FILE, Verification


def test_committed_pages_are_fresh() -> None:
    stale = stale_files(default_out())
    assert not stale, (
        f"reports/semantics is stale ({', '.join(stale)}): run `difftest docs` as root to "
        "regenerate the pages and their kernel verification"
    )


def test_committed_pages_are_kernel_verified() -> None:
    v = Verification.load(default_out() / VERIFIED_FILE)
    assert v.kernel, "verified.json names no kernel: the pages were rendered model-only"
    keys = {ex.key(c) for ex in all_examples() for c in ex.configs}
    missing = sorted(keys - set(v.runs))
    assert not missing, f"runs without a kernel verification: {missing}"


def test_enough_examples_in_every_area() -> None:
    examples = all_examples()
    assert len(examples) >= 80
    for area in AREAS:
        assert len(area.examples()) >= 5, area.slug


def test_example_ids_and_titles_unique() -> None:
    examples = all_examples()
    ids = Counter(ex.id for ex in examples)
    assert [i for i, n in ids.items() if n > 1] == []
    for area in AREAS:
        anchors = Counter(slug(ex.title) for ex in area.examples())
        assert [a for a, n in anchors.items() if n > 1] == [], area.slug
    for ex in examples:
        assert re.fullmatch(r"[a-z0-9][a-z0-9_=-]*", ex.id), ex.id


def test_every_example_has_expectations() -> None:
    for ex in all_examples():
        for config in ex.configs:
            expect = ex.expect_for(config)
            assert expect.get("results") is not None, ex.key(config)
            assert len(expect["results"]) == len(ex.program), ex.key(config)


def test_feature_table_coverage() -> None:
    used = Counter(f for ex in all_examples() for f in ex.features)
    unknown = sorted(set(used) - set(BY_KEY))
    assert not unknown, f"examples name unknown features: {unknown}"
    uncovered = [f.key for f in FEATURES if f.status == "covered" and not used[f.key]]
    assert not uncovered, f"feature rows without examples: {uncovered}"
    for f in FEATURES:
        assert f.status == "covered" or f.why, f.key
    for f in FEATURES:
        if f.status != "covered":
            assert not used[f.key], f"{f.key} is marked {f.status} but has examples"


def test_deviations_are_named_and_dated() -> None:
    names = [d.name for d in DEVIATIONS]
    assert len(names) == len(set(names))
    ids = {ex.id for ex in all_examples()}
    for d in DEVIATIONS:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", d.date), d.name
        assert d.doc and d.kernel and d.source and d.evidence, d.name
        assert not d.example or d.example in ids, f"{d.name}: no example {d.example}"
