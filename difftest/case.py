"""A saved case read back from its report: the config it ran in, its targets, its starting
layers and its program (what ``difftest replay`` and ``difftest docs promote`` start from)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from difftest import ops
from difftest.report import spec_from_json
from difftest.runconfig import PRESETS, RunConfig
from model.config import Config
from model.errors import OvlError
from model.options import named_config


def load_case(report_dir: Path) -> tuple[RunConfig, list[str], object, list[ops.Op]]:
    """Read a saved case: its config, targets, starting layers and program."""
    path = report_dir / "report.json" if report_dir.is_dir() else report_dir
    if not path.exists():
        raise FileNotFoundError(f"no report.json in {report_dir}")
    data = json.loads(path.read_text())
    c = data["config"]
    base = PRESETS.get(c["name"].split(",")[0], PRESETS["default"])
    # the preset's layer placement, mount path and namespace (split_fs, new_api, userns)
    # come with its name; the options and the layer stack's shape are the report's own
    rc = replace(base, name=c["name"],
                 config=config_from_options(c["options"]) if c["options"] else base.config,
                 lowers=c["lowers"], has_upper=c["upper"])  # fmt: skip
    program = [ops.op_from_dict(s["op"]) for s in data["steps"]]
    return rc, data["targets"], spec_from_json(data["spec"]), program


def config_from_options(options: list[str]) -> Config:
    """The config a report's mount options name (``Config.mount_options``: the words of
    ``-o`` and ``ro``), as its preset would give it; ValueError for a word the kernel would
    refuse."""
    words = [o for o in options if o != "ro"]
    try:
        cfg = named_config(words)
    except OvlError as exc:
        raise ValueError(f"options {','.join(options)}: {exc}") from None
    return cfg.with_(ro=True) if "ro" in options else cfg
