"""JUnit XML output, one test case per config, so CI systems show divergences as failures."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def write_junit(path: Path, rows: list[dict[str, Any]],
                coverage: Sequence[dict[str, Any]] = ()) -> None:
    """One test case per config; with ``--coverage``, the suite's properties give each
    measured package's share (``rule_coverage.model``, ``rule_coverage.fuse_impl``) and its
    output names the rules never entered."""
    failures = sum(1 for r in rows if not r["agreed"])
    total = sum(r["seconds"] for r in rows)
    suite = ET.Element(
        "testsuite",
        name="difftest",
        tests=str(len(rows)),
        failures=str(failures),
        errors="0",
        time=f"{total:.2f}",
    )
    if coverage:
        props = ET.SubElement(suite, "properties")
        lines = []
        for c in coverage:
            ET.SubElement(props, "property", name=f"rule_coverage.{c['package']}",
                          value=f"{c['branches_hit']}/{c['branches']} ({c['share']}%)")
            lines += [f"never entered: {w}" for w in c["unreached"]]
        ET.SubElement(suite, "system-out").text = "\n".join(lines)
    for r in rows:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"difftest.{'+'.join(r['targets'])}",
            name=r["config"],
            time=f"{r['seconds']:.2f}",
        )
        out = ET.SubElement(case, "system-out")
        out.text = f"{r['examples']} examples, {r['steps']} steps"
        if not r["agreed"]:
            fail = ET.SubElement(
                case, "failure", message=(r["divergence"] or "error").splitlines()[0]
            )
            fail.text = (r["divergence"] or "") + (
                f"\nreport: {r['report']}" if r["report"] else ""
            )
    ET.ElementTree(suite).write(path, encoding="unicode", xml_declaration=True)
