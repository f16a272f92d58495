"""A saved case reads back in the config it ran in (what ``difftest replay`` reruns)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from difftest.case import config_from_options, load_case
from difftest.runconfig import PRESETS

ROOT = Path(__file__).resolve().parents[2]
SAVED = ROOT / "reports" / "ovlfuse-userns-20261205" / "security-xattr-eperm" / "report.json"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_presets_mount_options_name_its_config_again(name: str) -> None:
    config = PRESETS[name].config
    assert config_from_options(config.mount_options()) == config


@pytest.mark.parametrize("name", ["userns", "split-fs", "fsconfig", "xino=on", "volatile"])
def test_a_case_comes_back_with_its_presets_placement_and_namespace(
    name: str, tmp_path: Path
) -> None:
    case = json.loads(SAVED.read_text())
    rc = PRESETS[name]
    case["config"] = {"name": name, "options": rc.config.mount_options(), "lowers": rc.lowers,
                      "upper": rc.has_upper}  # fmt: skip
    (tmp_path / "report.json").write_text(json.dumps(case))
    loaded, *_ = load_case(tmp_path)
    assert loaded == rc


def test_a_report_with_an_option_the_kernel_does_not_know_is_refused(tmp_path: Path) -> None:
    case = json.loads(SAVED.read_text())
    case["config"]["options"] = ["userxattr", "shiny=on"]
    (tmp_path / "report.json").write_text(json.dumps(case))
    with pytest.raises(ValueError, match="shiny"):
        load_case(tmp_path)
