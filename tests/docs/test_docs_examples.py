"""Every documentation example, as a test: its hand-written expectations hold on the model,
and (privileged) the model and the kernel agree on it, step by step and fact by fact.

Where the kernel and the model are known to disagree on an example, that single example is
marked ``xfail(strict=True)`` here with the reason: the expectations follow the kernel, so
the model test fails until the model is corrected, and the strict marker then reports the
fix so the entry can be removed.  The generated pages flag the same examples.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator

import pytest

from difftest.docs.areas import all_examples
from difftest.docs.check import check_view
from difftest.docs.runner import run_model
from difftest.docs.schema import Example

# example key -> why the model and this kernel (6.18) disagree on it
MODEL_DISAGREES: dict[str, str] = {}

RUNS: list[tuple[Example, str]] = [(ex, c) for ex in all_examples() for c in ex.configs]


def _params() -> Iterator[object]:
    for ex, config in RUNS:
        key = ex.key(config)
        marks = []
        if key in MODEL_DISAGREES:
            marks.append(pytest.mark.xfail(reason=MODEL_DISAGREES[key], strict=True))
        yield pytest.param(ex, config, id=key, marks=marks)


@pytest.mark.parametrize(("example", "config"), list(_params()))
def test_example_expectations_on_model(example: Example, config: str) -> None:
    problems = check_view(example, run_model(example, config), example.expect_for(config))
    assert not problems, "\n".join(problems)


def _searchable_tmp() -> str:
    """A temp directory that the credential helpers (uid 1000) can walk through: the
    session's TMPDIR unless it or a parent is closed to others, else the system's."""
    base = tempfile.gettempdir()
    p = os.path.abspath(base)
    while p != "/":
        if not os.stat(p).st_mode & stat.S_IXOTH:
            return "/tmp"
        p = os.path.dirname(p)
    return base


@pytest.fixture(scope="module")
def scratch() -> Iterator[object]:
    from difftest import realfs
    from difftest.scratch import Scratch

    old = os.umask(0)
    try:
        with Scratch(prefix="difftest-docs-test-", dir=_searchable_tmp()) as s:
            path = s.path
            yield s
        assert not realfs.mounts_under(path), "the docs tests left a mount behind"
    finally:
        os.umask(old)


@pytest.mark.privileged
@pytest.mark.parametrize(("example", "config"), list(_params()))
def test_example_model_agrees_with_kernel(example: Example, config: str, scratch: object) -> None:
    from difftest.docs.verify import verify_run

    rec = verify_run(scratch, example, config)
    assert rec["agree"], "\n".join([rec.get("summary", ""), *rec.get("details", [])])


def test_known_disagreements_name_real_runs() -> None:
    keys = {ex.key(c) for ex, c in RUNS}
    assert set(MODEL_DISAGREES) <= keys
