"""``difftest promote``: a saved difftest case becomes an example entry.

The case's layers, program and config are copied verbatim into the area's examples module
(``difftest/docs/examples/<module>.py``), inserted above the ``PROMOTE_MARKER`` line of its
``EXAMPLES`` list.  The expectations are the model's current results and the key upper-layer
facts of every path the program changed; when the saved case was a divergence, the entry says
so in a comment and the command warns, because then the model's results may be the wrong
ones and must be reviewed (the kernel test of the example fails until they agree).
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

from difftest.commands import load_case
from difftest.docs.areas import Area, all_examples
from difftest.docs.runner import run_model
from difftest.docs.schema import Example, config_fits
from difftest.session import PRESETS
from model.spec import Entry, LayersSpec

PROMOTE_MARKER = "    # difftest promote: new examples go above this line"
KEY_UPPER_FACTS = ("whiteout", "file", "dir", "symlink", "origin", "impure")


class PromoteError(Exception):
    pass


def example_id_from(title: str) -> str:
    words = re.findall(r"[a-z0-9_=]+", title.lower().replace("=", "-"))
    return "-".join(words)[:60].strip("-")


def _spec_source(spec: LayersSpec) -> str:
    def layer(entries: tuple[Entry, ...]) -> str:
        if not entries:
            return "()"
        return "(\n" + "".join(f"                {e!r},\n" for e in entries) + "            )"

    lows = "".join(f"            {layer(entries)},\n" for entries in spec.lowers)
    up = "None" if spec.upper is None else layer(spec.upper)
    return f"LayersSpec(\n            lowers=(\n{lows}            ),\n            upper={up},\n        )"


def _key_facts(facts: tuple[str, ...]) -> str:
    words = [f for f in facts if f in KEY_UPPER_FACTS or f.startswith(("opaque=", "redirect="))]
    return " ".join(words)


def entry_source(ex: Example, comment: str = "") -> str:
    """The Python source of ``ex`` as an item of an ``EXAMPLES`` list."""
    view = run_model(ex, ex.config)
    results = view.results()
    initial = {b"/" + e.path.strip(b"/") if e.path.strip(b"/") else b"/" for e in ex.spec.upper or ()}
    upper: dict[bytes, str] = {}
    if view.upper is not None:
        for path, e in view.upper.items():
            if path == b"/" and not (set(e.facts) & {"impure"}):
                continue
            if path not in initial or path == b"/":
                upper[path] = _key_facts(e.facts)
    lines = [f"    # {comment}"] if comment else []
    lines += [
        "    Example(",
        f"        id={ex.id!r},",
        f"        title={ex.title!r},",
        f"        rule={ex.rule!r},",
    ]
    if ex.config != "default":
        lines.append(f"        config={ex.config!r},")
    lines.append(f"        spec={_spec_source(ex.spec)},")
    lines.append("        program=[")
    lines += [f"            ops.{op!r}," for op in ex.program]
    lines.append("        ],")
    lines.append("        expect={")
    lines.append(f"            \"results\": {results!r},")
    if upper:
        lines.append("            \"upper\": {")
        lines += [f"                {p!r}: {f!r}," for p, f in sorted(upper.items())]
        lines.append("            },")
    lines.append("        },")
    if ex.notes:
        lines.append(f"        notes={ex.notes!r},")
    lines.append("    ),")
    return "\n".join(lines) + "\n"


def _ensure_imports(text: str) -> str:
    need = []
    if not re.search(r"^from model\.spec import .*\bEntry\b", text, re.M):
        need.append("Entry")
    if not re.search(r"^from model\.spec import .*\bLayersSpec\b", text, re.M):
        need.append("LayersSpec")
    if not need:
        return text
    line = f"from model.spec import {', '.join(need)}  # noqa: F401 (promoted examples)\n"
    last = list(re.finditer(r"^(from|import) [^\n]*\n(?:    [^\n]*\n|\)\n)*", text, re.M))
    at = last[-1].end() if last else 0
    return text[:at] + line + text[at:]


def promote(
    report: Path, area: Area, title: str, *, example_id: str | None = None,
    rule: str | None = None, notes: str = "",
) -> tuple[Path, str, list[str]]:  # fmt: skip
    """Append the saved case at ``report`` to ``area``'s examples; returns the module path,
    the new example's id and warnings for the user."""
    rc, _targets, spec, program = load_case(report)
    config = rc.name if rc.name in PRESETS else None
    if config is None:
        raise PromoteError(f"config {rc.name!r} is not a preset ({', '.join(PRESETS)})")
    assert isinstance(spec, LayersSpec)
    problem = config_fits(config, spec)
    if problem:
        raise PromoteError(problem)
    eid = example_id or example_id_from(title)
    if not eid or any(ex.id == eid for ex in all_examples()):
        raise PromoteError(f"example id {eid!r} is empty or already used; pass --id")
    report_json = report / "report.json" if report.is_dir() else report
    data = json.loads(report_json.read_text())
    rule = rule or f"harvested from difftest report {report_json.parent.name}"
    ex = Example(id=eid, title=title, rule=rule, spec=spec, program=program, expect={},
                 config=config, notes=notes)  # fmt: skip
    warnings = []
    comment = ""
    div = data.get("divergence")
    if div:
        comment = (f"harvested from a divergence ({div.get('kind')} on {div.get('target')} at "
                   f"step {div.get('step')}): the expectations are the model's; review them")  # fmt: skip
        warnings.append(f"the saved case is a divergence: {div.get('kind')} on "
                        f"{div.get('target')} (model {div.get('expected')}, "
                        f"{div.get('target')} {div.get('actual')}); the expectations below "
                        "are the model's results, check them against the kernel")  # fmt: skip
    module = importlib.import_module(f"difftest.docs.examples.{area.module}")
    path = Path(module.__file__ or "")
    text = path.read_text()
    if PROMOTE_MARKER not in text:
        raise PromoteError(f"{path} has no line {PROMOTE_MARKER.strip()!r}")
    new = _ensure_imports(text.replace(PROMOTE_MARKER, entry_source(ex, comment) + PROMOTE_MARKER))
    path.write_text(new)
    try:
        _check(area, eid)
    except Exception as exc:
        path.write_text(text)
        raise PromoteError(f"the new entry does not load, file left unchanged: {exc}") from exc
    return path, eid, warnings


def _check(area: Area, eid: str) -> None:
    """Reload the module and check the new example's expectations on the model."""
    from difftest.docs.check import check_example

    mod = importlib.import_module(f"difftest.docs.examples.{area.module}")
    importlib.reload(mod)
    found = [ex for ex in area.examples() if ex.id == eid]
    if len(found) != 1:
        raise PromoteError(f"{eid} not found after writing")
    problems = check_example(found[0])
    if problems:
        raise PromoteError("; ".join(problems))
