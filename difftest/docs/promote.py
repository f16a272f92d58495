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
import os
import re
from pathlib import Path

from difftest.case import load_case
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


def lit(v: object) -> str:
    """A Python literal, with double quotes where the value allows them."""
    if isinstance(v, bytes) and all(32 <= c < 127 for c in v) and not set(v) & set(b'"\\'):
        return f'b"{v.decode()}"'
    if isinstance(v, str) and v.isprintable() and '"' not in v and "\\" not in v:
        return f'"{v}"'
    return repr(v)


def _xattrs(e: Entry) -> str:
    return "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in e.xattrs) + "}"


def entry_call(e: Entry) -> tuple[str, str]:
    """``(helper name, call source)`` for one layer entry, using the helpers of
    :mod:`difftest.docs.schema`; an ``Entry(...)`` for kinds they do not cover."""
    kw: list[str] = []
    default_mode = {"reg": 0o644, "dir": 0o755, "fifo": 0o644, "chr": 0o644}.get(e.kind)
    if default_mode is not None and (e.mode & 0o7777) != default_mode:
        kw.append(f"mode=0o{e.mode & 0o7777:o}")
    if e.kind in ("reg", "dir") and (e.uid or e.gid):
        kw += [f"uid={e.uid}", f"gid={e.gid}"]
    if e.kind == "reg" and e.size is not None:
        kw.append(f"size={e.size}")
    if e.kind in ("reg", "dir") and e.xattrs:
        kw.append(f"xattrs={_xattrs(e)}")
    path = lit(e.path)
    plain = e.kind in ("whiteout", "lnk", "hardlink") and not (e.uid or e.gid or e.xattrs)
    if e.kind == "reg":
        args = [path] + ([lit(e.data)] if e.data else [])
        return "reg", f"reg({', '.join(args + kw)})"
    if e.kind == "dir":
        return "dir_", f"dir_({', '.join([path, *kw])})"
    if e.kind == "whiteout" and plain:
        return "whiteout", f"whiteout({path})"
    if e.kind == "lnk" and plain:
        return "symlink", f"symlink({path}, {lit(e.target)})"
    if e.kind == "hardlink" and plain:
        return "hardlink", f"hardlink({path}, {lit(e.target)})"
    if e.kind == "chr" and e.rdev and not (e.uid or e.gid or e.xattrs):
        major, minor = os.major(e.rdev), os.minor(e.rdev)
        return "chrdev", f"chrdev({', '.join([path, str(major), str(minor), *kw])})"
    if e.kind == "fifo" and not (e.uid or e.gid or e.xattrs):
        return "fifo", f"fifo({', '.join([path, *kw])})"
    return "Entry", repr(e)


def _spec_source(spec: LayersSpec) -> tuple[str, set[str]]:
    names = {"layers"}

    def layer(entries: tuple[Entry, ...]) -> str:
        if not entries:
            return "[]"
        calls = []
        for e in entries:
            name, call = entry_call(e)
            names.add(name)
            calls.append(call)
        return "[\n" + "".join(f"                {c},\n" for c in calls) + "            ]"

    args = [layer(entries) for entries in spec.lowers]
    if spec.upper is None:
        args.append("upper=None")
    elif spec.upper:
        args.append(f"upper={layer(spec.upper)}")
    body = "".join(f"            {a},\n" for a in args)
    return f"layers(\n{body}        )", names


def _key_facts(facts: tuple[str, ...]) -> str:
    words = [f for f in facts if f in KEY_UPPER_FACTS or f.startswith(("opaque=", "redirect="))]
    return " ".join(words)


def _wrap(text: str, indent: str, width: int = 96) -> list[str]:
    """``text`` as string literals of at most ``width`` columns, implicitly joined."""
    words = text.split(" ")
    lines: list[str] = []
    cur = ""
    for w in words:
        cand = f"{cur} {w}" if cur else w
        if len(indent) + len(lit(cand + " ")) > width and cur:
            lines.append(cur + " ")
            cur = w
        else:
            cur = cand
    lines.append(cur)
    return [indent + lit(chunk) for chunk in lines]


def entry_source(ex: Example, comment: str = "") -> tuple[str, set[str]]:
    """The Python source of ``ex`` as an item of an ``EXAMPLES`` list, and the names it
    needs from :mod:`difftest.docs.schema`."""
    view = run_model(ex, ex.config)
    results = view.results()
    initial = {b"/" + e.path.strip(b"/") for e in ex.spec.upper or ()}
    upper: dict[bytes, str] = {}
    for path, e in (view.upper or {}).items():
        if path == b"/" or path in initial:
            continue
        upper[path] = _key_facts(e.facts)
    spec_src, names = _spec_source(ex.spec)
    lines = [f"    # {line}" for line in _comment_lines(comment)]
    lines += [
        "    Example(",
        f"        id={lit(ex.id)},",
        f"        title={lit(ex.title)},",
        f"        rule={lit(ex.rule)},",
    ]
    if ex.config != "default":
        lines.append(f"        config={lit(ex.config)},")
    lines.append(f"        spec={spec_src},")
    lines.append("        program=[")
    lines += [f"            ops.{_op_source(op)}," for op in ex.program]
    lines.append("        ],")
    lines.append("        expect={")
    lines.append(f'            "results": [{", ".join(lit(r) for r in results)}],')
    if upper:
        lines.append('            "upper": {')
        lines += [f"                {lit(p)}: {lit(f)}," for p, f in sorted(upper.items())]
        lines.append("            },")
    lines.append("        },")
    if ex.notes:
        lines += ["        notes=(", *_wrap(ex.notes, " " * 12), "        ),"]
    lines.append("    ),")
    return "\n".join(lines) + "\n", names


def _comment_lines(comment: str) -> list[str]:
    if not comment:
        return []
    out, cur = [], ""
    for w in comment.split():
        if cur and len(cur) + len(w) > 88:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    return [*out, cur]


def _op_source(op: object) -> str:
    """An operation's repr with double-quoted literals."""
    import dataclasses

    parts = []
    for f in dataclasses.fields(op):  # type: ignore[arg-type]
        value = getattr(op, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        parts.append(f"{f.name}={lit(value)}")
    return f"{type(op).__name__}({', '.join(parts)})"


_SCHEMA_IMPORT = re.compile(
    r"^from difftest\.docs\.schema import (\(\n(?:    [^\n]*\n)*\)|[^\n]*)\n", re.M
)


def _isort_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


def ensure_schema_imports(text: str, names: set[str]) -> str:
    """Make the module's ``from difftest.docs.schema import ...`` include ``names`` (sorted
    the way ruff's isort sorts them); ``Entry`` comes from ``model.spec``."""
    names = set(names)
    if "Entry" in names:
        names.discard("Entry")
        if not re.search(r"^from model\.spec import [^\n]*\bEntry\b", text, re.M):
            head_end = text.index("\nEXAMPLES")
            head = text[:head_end].rstrip("\n")
            text = head + "\nfrom model.spec import Entry\n" + text[len(head) :]
    m = _SCHEMA_IMPORT.search(text)
    have: set[str] = set()
    if m:
        have = {n.strip() for n in m.group(1).strip("()\n").replace("\n", ",").split(",")}
        have.discard("")
    if m and names <= have:
        return text
    wanted = sorted(have | names | {"Example"}, key=_isort_key)
    one_line = f"from difftest.docs.schema import {', '.join(wanted)}\n"
    if len(one_line) > 101 or (m and m.group(1).startswith("(")):
        one_line = (
            "from difftest.docs.schema import (\n" + "".join(f"    {n},\n" for n in wanted) + ")\n"
        )
    if m:
        return text[: m.start()] + one_line + text[m.end() :]
    at = text.index("\nEXAMPLES")
    return text[:at].rstrip("\n") + "\n" + one_line + "\n" + text[at:]


def promote(
    report: Path,
    area: Area,
    title: str,
    *,
    example_id: str | None = None,
    rule: str | None = None,
    notes: str = "",
) -> tuple[Path, str, list[str]]:
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
    taken = {ex.id for ex in all_examples()} | {ex.id for ex in area.examples()}
    if not eid or eid in taken:
        raise PromoteError(f"example id {eid!r} is empty or already used; pass --id")
    report_json = report / "report.json" if report.is_dir() else report
    data = json.loads(report_json.read_text())
    rule = rule or f"harvested from difftest report {report_json.parent.name}"
    ex = Example(
        id=eid,
        title=title,
        rule=rule,
        spec=spec,
        program=program,
        expect={},
        config=config,
        notes=notes,
    )
    warnings = []
    comment = ""
    div = data.get("divergence")
    if div:
        comment = (
            f"harvested from a divergence ({div.get('kind')} on {div.get('target')} at "
            f"step {div.get('step')}): the expectations are the model's; review them"
        )
        warnings.append(
            f"the saved case is a divergence: {div.get('kind')} on "
            f"{div.get('target')} (model {div.get('expected')}, "
            f"{div.get('target')} {div.get('actual')}); the expectations below "
            "are the model's results, check them against the kernel"
        )
    module = importlib.import_module(area.module_name)
    path = Path(module.__file__ or "")
    text = path.read_text()
    if PROMOTE_MARKER not in text:
        raise PromoteError(f"{path} has no line {PROMOTE_MARKER.strip()!r}")
    source, names = entry_source(ex, comment)
    new = ensure_schema_imports(text.replace(PROMOTE_MARKER, source + PROMOTE_MARKER), names)
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

    importlib.reload(importlib.import_module(area.module_name))
    found = [ex for ex in area.examples() if ex.id == eid]
    if len(found) != 1:
        raise PromoteError(f"{eid} not found after writing")
    problems = check_example(found[0])
    if problems:
        raise PromoteError("; ".join(problems))
