"""Rule coverage: which of the model's rules a run reached.

A differential tester only checks the rules its examples reach.  During a run the ``coverage``
package measures branch coverage of ``model/`` (the executable specification); afterwards each
function of the model is a *rule* (its docstring states it, with its source), and the run
reports the share of the model's reachable branches it took and the rules it never entered.
Lines marked ``# pragma: no cover`` are not reachable from the syscall surface (a defensive
check, a debugging aid); each such mark says why on its line.

Collection is per process: a forked worker (``--jobs``) measures its own examples and hands
its data to the parent as bytes (:meth:`Collector.data`), which merges them
(:func:`merge`).  Only the model is measured: the tracer does not follow frames of other
files, so the rest of the tester runs at full speed.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import model

MODEL_DIR = Path(model.__file__).resolve().parent


@dataclass(frozen=True)
class Rule:
    """One function of the model: where it is and what its docstring says it does."""

    module: str
    name: str
    line: int
    doc: str
    package: str = "model"

    @property
    def where(self) -> str:
        return f"{self.package}/{self.module}.py:{self.line} {self.name}"


@dataclass
class ModuleCoverage:
    module: str
    branches: int
    branches_hit: int
    statements: int
    statements_hit: int


@dataclass
class RuleCoverage:
    """What a run reached of a package: the model (see the module docstring), or ovlfuse's
    ``fuse_impl`` measured in its daemons (:class:`DaemonCoverage`)."""

    package: str = "model"
    modules: list[ModuleCoverage] = field(default_factory=list)
    unreached: list[Rule] = field(default_factory=list)  # rules never entered
    partial: list[tuple[Rule, int]] = field(default_factory=list)  # entered, branches missed
    # every branch not taken, as ``model/file.py:123->130`` (a negative target leaves the
    # function), for finding what the generator misses
    missed: list[str] = field(default_factory=list)

    @property
    def branches(self) -> int:
        return sum(m.branches for m in self.modules)

    @property
    def branches_hit(self) -> int:
        return sum(m.branches_hit for m in self.modules)

    @property
    def share(self) -> float:
        """Share of the reachable branches taken, in percent."""
        return 100.0 * self.branches_hit / self.branches if self.branches else 100.0

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "branches": self.branches,
            "branches_hit": self.branches_hit,
            "share": round(self.share, 2),
            "modules": {m.module: [m.branches_hit, m.branches, m.statements_hit, m.statements]
                        for m in self.modules},
            "unreached": [r.where for r in self.unreached],
            "partial": {r.where: n for r, n in self.partial},
            "missed": self.missed,
        }


class Collector:
    """Branch coverage of ``model/`` in this process while started."""

    def __init__(self) -> None:
        import coverage  # only when asked for: the import costs ~50 ms

        self.cov = coverage.Coverage(branch=True, data_file=None, config_file=False,
                                     source=[str(MODEL_DIR)])  # fmt: skip
        self.cov.exclude(r"#\s*pragma: no cover")

    def start(self) -> None:
        self.cov.start()

    def stop(self) -> None:
        self.cov.stop()

    @contextlib.contextmanager
    def measuring(self) -> Iterator[Collector]:
        """Measure while the context is open."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def data(self) -> bytes:
        """The measured lines and arcs, to send to another process (see :func:`merge`)."""
        dumped: bytes = self.cov.get_data().dumps()
        return dumped

    def merge(self, data: bytes) -> None:
        """Add what another process measured."""
        from coverage import CoverageData

        other = CoverageData(no_disk=True)
        other.loads(data)
        self.cov.get_data().update(other)

    def result(self) -> RuleCoverage:
        return analyse(self.cov)


FUSE_IMPL_DIR = Path(__file__).resolve().parent.parent / "fuse_impl"


class DaemonCoverage:
    """Branch coverage of ``fuse_impl/`` in the ovlfuse processes of a run: the mount server
    runs under ``coverage run`` (:meth:`command`), whose settings follow each daemon it forks
    (``patch = fork, _exit``: a daemon's data is written when it exits, as at unmount); the
    data files are combined at the end.  A daemon killed by a signal leaves nothing."""

    def __init__(self, where: Path) -> None:
        self.dir = where
        self.measured: RuleCoverage | None = None  # set once the daemons have exited
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rcfile = self.dir / "coveragerc"
        self.rcfile.write_text(
            "[run]\nbranch = True\nparallel = True\n"
            f"source = {FUSE_IMPL_DIR}\ndata_file = {self.dir / 'daemons'}\n"
            "patch = fork, _exit\n[report]\nexclude_lines = pragma: no cover\n"
        )

    def command(self) -> list[str]:
        """The ovlfuse command line that measures itself."""
        return [sys.executable, "-m", "coverage", "run", f"--rcfile={self.rcfile}",
                "-m", "fuse_impl.main"]  # fmt: skip

    def result(self) -> RuleCoverage:
        import coverage

        cov = coverage.Coverage(config_file=str(self.rcfile), data_file=str(self.dir / "daemons"))
        files = sorted(str(p) for p in self.dir.glob("daemons.*"))
        if files:
            cov.combine(files, keep=False)
        cov.load()
        return analyse(cov, FUSE_IMPL_DIR, "fuse_impl")


def _functions(path: Path) -> list[tuple[str, int, int, str]]:
    """(qualified name, first line, last line, first docstring line) of every function."""
    out: list[tuple[str, int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                doc = (ast.get_docstring(child) or "").strip().split("\n")[0]
                end = child.end_lineno or child.lineno
                out.append((prefix + child.name, child.lineno, end, doc))
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(ast.parse(path.read_text()), "")
    return out


NOT_RULES = ("__init__.py", "bench.py")  # the package marker and ``python -m model.bench``


@functools.cache
def package_files(where: Path = MODEL_DIR) -> tuple[Path, ...]:
    return tuple(sorted(p for p in where.glob("*.py") if p.name not in NOT_RULES))


def analyse(cov: Any, where: Path = MODEL_DIR, package: str = "model") -> RuleCoverage:
    """Per module, branches and statements taken; per function, whether it was entered."""
    out = RuleCoverage(package)
    for path in package_files(where):
        analysis = cov._analyze(str(path))  # the public API has no branch numbers
        nums = analysis.numbers
        executed = set(analysis.executed)
        functions = _functions(path)
        # statements in function bodies only: the module ran when it was imported, before
        # measuring started
        statements = {n for n in analysis.statements
                      if any(first < n <= last for _name, first, last, _doc in functions)}
        missing_arcs = analysis.missing_branch_arcs()
        out.missed.extend(f"{package}/{path.name}:{line}->{to}"
                          for line, tos in sorted(missing_arcs.items()) for to in sorted(tos))
        out.modules.append(ModuleCoverage(
            path.stem, nums.n_branches, nums.n_branches - nums.n_missing_branches,
            len(statements), len(statements & executed),
        ))  # fmt: skip
        for name, first, last, doc in functions:
            body = {n for n in statements if first < n <= last}
            if not body:
                continue
            rule = Rule(path.stem, name, first, doc, package)
            if not body & executed:
                out.unreached.append(rule)
                continue
            missed = sum(len(v) for line, v in missing_arcs.items() if first <= line <= last)
            if missed:
                out.partial.append((rule, missed))
    # a nested function of an unreached one is unreached too: report the outer one only
    names = {(r.module, r.name) for r in out.unreached}
    out.unreached = [r for r in out.unreached
                     if (r.module, r.name.rpartition(".")[0]) not in names]  # fmt: skip
    return out


def summary_lines(cov: RuleCoverage, limit: int = 20, missed: bool = False) -> list[str]:
    """The run summary's lines: the share of branches taken, and the rules never entered
    (the first *limit*; the JSON has them all); with *missed*, every branch not taken."""
    lines = [f"rule coverage: {cov.branches_hit} of {cov.branches} reachable branches of "
             f"{cov.package}/ taken ({cov.share:.1f}%); {len(cov.unreached)} rule(s) never "
             "entered"]
    for rule in cov.unreached[:limit]:
        doc = f": {rule.doc}" if rule.doc else ""
        lines.append(f"  never entered: {rule.where}{doc}")
    if len(cov.unreached) > limit:
        lines.append(f"  ... and {len(cov.unreached) - limit} more (see --json)")
    if missed:
        lines.extend(f"  branch not taken: {arc}" for arc in cov.missed)
    return lines
