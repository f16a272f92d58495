"""JUnit XML output, one test case per config, so CI systems show divergences as failures."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def write_junit(path: Path, rows: list[dict[str, Any]]) -> None:
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
