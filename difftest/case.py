"""A saved case read back from its report: the config it ran in, its targets, its starting
layers and its program (what ``difftest replay`` and ``difftest docs promote`` start from)."""

from __future__ import annotations

import json
from pathlib import Path

from difftest import ops
from difftest.report import spec_from_json
from difftest.session import PRESETS, RunConfig
from model.config import Config


def load_case(report_dir: Path) -> tuple[RunConfig, list[str], object, list[ops.Op]]:
    """Read a saved case: its config, targets, starting layers and program."""
    path = report_dir / "report.json" if report_dir.is_dir() else report_dir
    if not path.exists():
        raise FileNotFoundError(f"no report.json in {report_dir}")
    data = json.loads(path.read_text())
    c = data["config"]
    base = PRESETS.get(c["name"].split(",")[0], PRESETS["default"])
    rc = RunConfig(
        c["name"],
        config_from_options(c["options"]) if c["options"] else base.config,
        c["lowers"],
        c["upper"],
    )
    program = [ops.op_from_dict(s["op"]) for s in data["steps"]]
    return rc, data["targets"], spec_from_json(data["spec"]), program


def config_from_options(options: list[str]) -> Config:
    cfg = Config()
    for o in options:
        key, _, value = o.partition("=")
        if key == "redirect_dir":
            cfg = cfg.with_(redirect_dir=value)
        elif key == "index":
            cfg = cfg.with_(index=value == "on")
        elif key == "ro":
            cfg = cfg.with_(ro=True)
        else:
            raise ValueError(f"option {o!r} is not supported by the model")
    return cfg
