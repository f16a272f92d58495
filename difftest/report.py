"""Divergence reports: ``reports/<run-id>/`` with report.md, report.json, repro.py, repro.sh.

The JSON is the saved case (``difftest replay`` reads it back); the Markdown is for people;
``repro.py`` (standard library only) and ``repro.sh`` (plain shell) rebuild the layers, mount
and run the steps on any Linux machine without this project.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from difftest import ops
from difftest.divergence import ExampleRecord
from difftest.outcome import Outcome, compare
from difftest.repro import render_repro_py, render_repro_sh
from difftest.runconfig import RunConfig
from difftest.targets import programs
from model.spec import Entry, LayersSpec


def spec_to_json(spec: LayersSpec) -> dict[str, Any]:
    def entry(e: Entry) -> dict[str, Any]:
        return {
            "path": e.path.hex(),
            "kind": e.kind,
            "mode": e.mode,
            "uid": e.uid,
            "gid": e.gid,
            "data": e.data.hex(),
            "size": e.size,
            "target": e.target.hex(),
            "rdev": e.rdev,
            "xattrs": [[k.hex(), v.hex()] for k, v in e.xattrs],
        }

    out: dict[str, Any] = {
        "lowers": [[entry(e) for e in layer] for layer in spec.lowers],
        "upper": None if spec.upper is None else [entry(e) for e in spec.upper],
    }
    if spec.data:
        out["data"] = [[entry(e) for e in layer] for layer in spec.data]
    return out


def spec_from_json(d: dict[str, Any]) -> LayersSpec:
    def entry(j: dict[str, Any]) -> Entry:
        return Entry(
            bytes.fromhex(j["path"]),
            j["kind"],
            j["mode"],
            j["uid"],
            j["gid"],
            bytes.fromhex(j["data"]),
            j["size"],
            bytes.fromhex(j["target"]),
            j["rdev"],
            tuple((bytes.fromhex(k), bytes.fromhex(v)) for k, v in j["xattrs"]),
        )

    upper = None if d["upper"] is None else tuple(entry(e) for e in d["upper"])
    data = tuple(tuple(entry(e) for e in layer) for layer in d.get("data", ()))
    return LayersSpec(tuple(tuple(entry(e) for e in layer) for layer in d["lowers"]), upper,
                      data=data)  # fmt: skip


def run_id(run_config: RunConfig, targets: list[str]) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    cfg = run_config.name.replace("=", "-")
    return f"{stamp}-{cfg}-{'-'.join(targets)}"


def record_to_json(
    record: ExampleRecord, run_config: RunConfig, targets: list[str]
) -> dict[str, Any]:
    d = record.divergence
    return {
        "format": 1,
        "kernel": platform.release(),
        "config": {
            "name": run_config.name,
            "options": run_config.config.mount_options(),
            "lowers": run_config.lowers,
            "upper": run_config.has_upper,
        },
        "targets": targets,
        "programs": programs(targets),
        "spec": spec_to_json(record.spec),
        "steps": [
            {
                "op": ops.op_to_dict(s.op),
                "repr": repr(s.op),
                "outcomes": {k: v.to_json() for k, v in s.outcomes.items()},
            }
            for s in record.steps
        ],
        "divergence": None
        if d is None
        else {
            "step": d.step,
            "target": d.target,
            "kind": d.kind.value,
            "op": repr(d.op),
            "expected": d.expected,
            "actual": d.actual,
            "details": d.details,
            "keys": sorted(d.keys),
        },
        "events": sorted(record.events),
    }


def steps_table(record: ExampleRecord, targets: list[str], title: str = "") -> Table:
    """The steps with each target's result side by side; cells that differ from the model's
    are highlighted."""
    table = Table(title=title or None, show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("operation")
    table.add_column("model")
    for t in targets:
        table.add_column(t)
    div = record.divergence
    for i, step in enumerate(record.steps, 1):
        expected = step.outcomes.get("model", Outcome())
        cells: list[Text | str] = [str(i), repr(step.op), str(expected)]
        for t in targets:
            got = step.outcomes.get(t)
            if got is None:
                cells.append("")
                continue
            bad = compare(expected, got) is not None
            cells.append(Text(str(got), style="bold red" if bad else ""))
        if div is not None and div.step == i and div.kind.value == "state differs":
            cells[1] = Text(repr(step.op) + "  ← state differs after this step", style="yellow")
        table.add_row(*cells)
    return table


def _markdown(record: ExampleRecord, rc: RunConfig, targets: list[str], rid: str) -> str:
    d = record.divergence
    assert d is not None
    lines = [
        f"# Divergence {rid}",
        "",
        f"* **Classification:** {d.kind.value}",
        f"* **Target:** `{d.target}` disagrees with the model",
        f"* **Config:** {rc.describe()}",
        f"* **Kernel:** {platform.release()}",
        *[f"* **`{t}` mounts:** `{v}`" for t, v in programs(targets).items()],
        f"* **Where:** step {d.step}" + (
            f" `{d.op!r}`" if d.op else " (initial state)" if d.step == 0
            else " (end of the example: the FUSE layers through the kernel)"),
        f"* **Expected (model):** {d.expected}",
        f"* **Actual ({d.target}):** {d.actual}",
        "",
        "## Starting layers",
        "",
        "```python",
        repr_spec(record.spec),
        "```",
        "",
        "## Steps",
        "",
        "| # | operation | model | " + " | ".join(targets) + " |",
        "|---|---|---|" + "---|" * len(targets),
    ]
    for i, s in enumerate(record.steps, 1):
        exp = s.outcomes.get("model", Outcome())
        cells = []
        for t in targets:
            got = s.outcomes.get(t)
            txt = "" if got is None else str(got)
            if got is not None and compare(exp, got) is not None:
                txt = f"**{txt}**"
            cells.append(txt.replace("|", "\\|"))
        row = [str(i), f"`{s.op!r}`", str(exp).replace("|", "\\|"), *cells]
        lines.append("| " + " | ".join(row) + " |")
    if d.details:
        lines += ["", "## State difference", "", "```", *d.details, "```"]
    lines += [
        "",
        "## Reproduce",
        "",
        f"* `difftest replay {rid}` reruns the case on the model and the targets.",
        "* `python3 repro.py` (standard library only, as root) rebuilds the layers on a tmpfs,",
        "  mounts the kernel overlay, runs the steps and prints each result.",
        "* `bash repro.sh` does the same with mkdir, mknod, setfattr, mount and friends.",
        "",
        "## As a regression test",
        "",
        "```python",
        "from difftest.ops import *",
        f"SPEC = {repr_spec(record.spec)}",
        "PROGRAM = [",
        *[f"    {s.op!r}," for s in record.steps],
        "]",
        "```",
    ]
    return "\n".join(lines) + "\n"


def repr_spec(spec: LayersSpec) -> str:
    def layer(entries: tuple[Entry, ...]) -> str:
        if not entries:
            return "()"
        return "(\n" + "".join(f"        {e!r},\n" for e in entries) + "    )"

    lows = "".join(f"    {layer(entries)},\n" for entries in spec.lowers)
    up = "None" if spec.upper is None else layer(spec.upper)
    datas = "".join(f"    {layer(entries)},\n" for entries in spec.data)
    data = f"  data=(\n{datas}  ),\n" if spec.data else ""
    return f"LayersSpec(\n  lowers=(\n{lows}  ),\n  upper={up},\n{data})"


def write_report(
    record: ExampleRecord, rc: RunConfig, targets: list[str], out_dir: Path, rid: str | None = None
) -> Path:
    """Write the four files and return the report directory."""
    rid = rid or run_id(rc, targets)
    path = out_dir / rid
    path.mkdir(parents=True, exist_ok=True)
    data = record_to_json(record, rc, targets)
    (path / "report.json").write_text(json.dumps(data, indent=1) + "\n")
    (path / "report.md").write_text(_markdown(record, rc, targets, rid))
    (path / "repro.py").write_text(render_repro_py(record, rc))
    (path / "repro.sh").write_text(render_repro_sh(record, rc))
    os.chmod(path / "repro.py", 0o755)
    os.chmod(path / "repro.sh", 0o755)
    return path


def print_failure(
    console: Console, record: ExampleRecord, targets: list[str], where: Path | None
) -> None:
    d = record.divergence
    if d is None:
        return
    console.print(steps_table(record, targets, title="Shrunk divergence"))
    console.print(Text(d.summary(), style="red"))
    if where is not None:
        console.print(f"Report: {where}/report.md  (replay: difftest replay {where})")
