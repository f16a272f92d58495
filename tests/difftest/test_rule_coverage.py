"""Rule coverage: which functions (rules) and branches of ``model/`` a run reached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from difftest.rulecov import Collector, summary_lines
from model.config import Config
from model.overlay import Overlay
from model.spec import Entry, LayersSpec

SPEC = LayersSpec(lowers=((Entry(b"a", "reg", 0o644, data=b"x"),),), upper=())


def mount(spec: LayersSpec = SPEC) -> Overlay:
    return Overlay.from_spec(spec, Config())


def test_a_rule_is_reached_only_by_the_calls_that_enter_it() -> None:
    rules = Collector()
    with rules.measuring():
        o = mount()
        o.mkdir(b"/d", 0o755)
    got = rules.result()
    unreached = {(r.module, r.name) for r in got.unreached}
    assert ("rename", "ovl_rename") in unreached  # nothing was renamed
    entered = {(m.module, m.statements_hit > 0) for m in got.modules}
    assert ("namespace", True) in entered
    assert 0 < got.branches_hit < got.branches
    with rules.measuring():
        o.rename(b"/a", b"/b")
    after = rules.result()
    assert ("rename", "ovl_rename") not in {(r.module, r.name) for r in after.unreached}
    assert after.branches_hit > got.branches_hit


def test_data_measured_in_another_process_merges_into_the_totals() -> None:
    one, two = Collector(), Collector()
    with one.measuring():
        mount().mkdir(b"/d", 0o755)
    with two.measuring():
        mount().rename(b"/a", b"/b")
    merged = Collector()
    merged.merge(one.data())
    merged.merge(two.data())
    total = merged.result()
    assert total.branches_hit >= max(one.result().branches_hit, two.result().branches_hit)
    names = {(r.module, r.name) for r in total.unreached}
    assert ("rename", "ovl_rename") not in names


def test_the_summary_gives_the_share_and_names_the_rules_never_entered() -> None:
    rules = Collector()
    with rules.measuring():
        mount().mkdir(b"/d", 0o755)
    lines = summary_lines(rules.result(), limit=3)
    assert lines[0].startswith("rule coverage: ") and "%" in lines[0]
    assert len([ln for ln in lines if ln.startswith("  never entered: model/")]) == 3
    assert "more (see --json)" in lines[-1]


def test_difftest_coverage_puts_the_rules_in_the_summary_the_json_and_junit(
        tmp_path: Path) -> None:  # fmt: skip
    out, junit = tmp_path / "run.json", tmp_path / "run.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "difftest", "--target", "model", "--config", "default",
         "--examples", "30", "--seed", "3", "--no-db", "-q", "--coverage", "--jobs", "2",
         "--json", str(out), "--junit-xml", str(junit)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rule coverage: " in proc.stdout
    cov = json.loads(out.read_text())["rule_coverage"]
    assert 0 < cov["branches_hit"] < cov["branches"]
    assert set(cov["modules"]) >= {"lookup", "namespace", "rename", "copy_up", "readdir"}
    assert all(w.startswith("model/") for w in cov["unreached"])
    suite = ET.parse(junit).getroot()
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"rule_coverage.model":
                     f"{cov['branches_hit']}/{cov['branches']} ({cov['share']}%)"}
    said = suite.find("system-out")
    assert said is not None and said.text is not None
    assert said.text.splitlines() == [f"never entered: {w}" for w in cov["unreached"]]


def test_every_branch_not_taken_is_listed_by_file_and_lines() -> None:
    """``missed`` names each branch a run did not take as ``model/F.py:FROM->TO``, as many
    as the module figures count, and -vv prints them."""
    rules = Collector()
    with rules.measuring():
        mount().mkdir(b"/d", 0o755)
    got = rules.result()
    assert len(got.missed) == got.branches - got.branches_hit
    assert all(arc.startswith("model/") and ".py:" in arc and "->" in arc for arc in got.missed)
    lines = summary_lines(got, missed=True)
    assert sum(ln.startswith("  branch not taken: model/") for ln in lines) == len(got.missed)
    assert got.to_json()["missed"] == got.missed


@pytest.mark.privileged
def test_with_ovlfuse_as_target_the_daemons_measure_fuse_impl(tmp_path: Path) -> None:
    """``--coverage`` against ovlfuse also measures ``fuse_impl/`` in the daemons its mount
    server forks: the daemons' request handlers are entered, and no data directory is left
    behind."""
    out = tmp_path / "run.json"
    before = set(Path(tempfile.gettempdir()).glob("difftest-fuse-coverage-*"))
    proc = subprocess.run(
        [sys.executable, "-m", "difftest", "--target", "fuse", "--config", "default",
         "--examples", "15", "--seed", "3", "--no-db", "-q", "--coverage", "--json", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "DIFFTEST_OVLFUSE"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reachable branches of fuse_impl/ taken" in proc.stdout
    doc = json.loads(out.read_text())
    daemons = doc["fuse_impl_coverage"]
    assert daemons["package"] == "fuse_impl"
    assert 0 < daemons["branches_hit"] < daemons["branches"]
    entered = {m for m, (_b, _n, hit, _s) in daemons["modules"].items() if hit > 0}
    assert {"namespace", "copy_up", "lookup"} <= entered, entered
    assert all(w.startswith("fuse_impl/") for w in daemons["unreached"])
    assert doc["rule_coverage"]["package"] == "model"
    assert set(Path(tempfile.gettempdir()).glob("difftest-fuse-coverage-*")) == before


@pytest.mark.privileged
def test_measuring_the_daemons_leaves_the_environment_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_zero: None) -> None:  # fmt: skip
    """A run in this process (as a program embedding difftest makes it) sets DIFFTEST_OVLFUSE
    to the measuring ovlfuse only while it lasts: afterwards the next run mounts the plain
    one again, and the data directory is gone."""
    from difftest import cli

    monkeypatch.delenv("DIFFTEST_OVLFUSE", raising=False)
    monkeypatch.chdir(tmp_path)
    before = set(Path(tempfile.gettempdir()).glob("difftest-fuse-coverage-*"))
    code = cli.main(["--target", "fuse", "--config", "default", "--examples", "3", "--seed",
                     "3", "--no-db", "-q", "--no-pin", "--coverage"])  # fmt: skip
    assert code == 0
    assert "DIFFTEST_OVLFUSE" not in os.environ
    assert set(Path(tempfile.gettempdir()).glob("difftest-fuse-coverage-*")) == before
