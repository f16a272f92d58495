"""The packages' import rules: ``fuse_impl`` imports nothing from ``model`` or ``difftest``
(two independent implementations), ``model`` nothing from the other two, and no package's
modules import each other in a circle (imports inside functions count)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("model", "fuse_impl", "difftest")


def imports(package: str) -> dict[str, set[str]]:
    """Each module of ``package`` and the project modules it imports (anywhere in it)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        found[name] = {d for d in deps if d.split(".")[0] in PACKAGES}
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


@pytest.mark.parametrize("package,forbidden", [("fuse_impl", ("model", "difftest")),
                                               ("model", ("fuse_impl", "difftest"))])
def test_an_implementation_imports_nothing_from_the_other_packages(
    package: str, forbidden: tuple[str, ...]
) -> None:
    bad = {m: sorted(d for d in deps if d.split(".")[0] in forbidden)
           for m, deps in imports(package).items()}  # fmt: skip
    assert not {m: d for m, d in bad.items() if d}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_modules_of_a_package_import_each_other_in_a_circle(package: str) -> None:
    graph = imports(package)
    inner = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}
    assert circles(inner) == []


def test_a_circle_is_seen() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
