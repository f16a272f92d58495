"""``difftest docs`` and ``difftest promote``.

``difftest docs [--check] [--no-kernel] [--out DIR]``
    Render ``reports/semantics/``.  As root with overlayfs, every example is first run on the
    kernel and ``verified.json`` is rewritten; without them (or with ``--no-kernel``) the
    pages are rendered from the model and the stored verification, which still applies to
    every example whose definition and model results are unchanged.  ``--check`` renders in
    memory and exits 1 when the committed pages are stale.

``difftest promote REPORT_DIR --area AREA --title "..."``
    Turn a saved case (``report.json``) into an example entry in
    ``difftest/docs/examples/<area>.py``.

Exit codes: 0 done (or fresh), 1 stale pages (``--check``) or a failed promotion,
2 usage error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from difftest.docs.areas import AREAS, BY_SLUG, all_examples
from difftest.docs.render import GENERATED, render_all
from difftest.docs.verify import VERIFIED_FILE, Verification, kernel_problem, verify_all


def default_out() -> Path:
    """``reports/semantics`` of the source tree this package lives in (else of the cwd)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").exists():
        return root / "reports" / "semantics"
    return Path("reports") / "semantics"


def stale_files(out: Path) -> list[str]:
    """Files under ``out`` that differ from a fresh in-memory rendering (with the committed
    verification), are missing, or are generated pages that should no longer exist."""
    pages = render_all(Verification.load(out / VERIFIED_FILE))
    stale = []
    for name, text in sorted(pages.items()):
        path = out / name
        if not path.exists() or path.read_text() != text:
            stale.append(name)
    for path in sorted(out.glob("*.md")) if out.exists() else []:
        if path.name not in pages and path.read_text().startswith(GENERATED):
            stale.append(path.name)
    return stale


def write_pages(out: Path, pages: dict[str, str]) -> list[str]:
    """Write ``pages`` into ``out``; remove generated pages that are no longer rendered.
    Returns the names of files that changed."""
    out.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in pages.items():
        path = out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(name)
    for path in out.glob("*.md"):
        if path.name not in pages and path.read_text().startswith(GENERATED):
            path.unlink()
            changed.append(path.name)
    return changed


def docs_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="difftest docs",
        description="Render the semantics pages (reports/semantics/) from the model's "
        "examples, verifying each against the kernel when possible.",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the committed pages are stale against the model",
    )
    p.add_argument(
        "--no-kernel",
        action="store_true",
        help="do not run the kernel; keep the stored verification",
    )
    p.add_argument("--out", type=Path, default=None, help="output directory")
    args = p.parse_args(argv)
    console = Console(highlight=False)
    out: Path = args.out or default_out()
    if args.check:
        stale = stale_files(out)
        if stale:
            console.print(f"stale semantics pages in {out}: {', '.join(stale)}", style="red")
            console.print("regenerate them with: difftest docs (as root, for kernel verification)")
            return 1
        console.print(f"{out}: up to date")
        return 0
    stored = Verification.load(out / VERIFIED_FILE)
    verification = stored
    if not args.no_kernel:
        problem = kernel_problem()
        if problem:
            console.print(f"not verifying against the kernel: {problem}", style="yellow")
            console.print("rendering from the model; the pages say which examples are verified")
        else:
            examples = all_examples()
            runs = sum(len(ex.configs) for ex in examples)
            console.print(f"running {runs} example runs on the kernel...")

            def progress(key: str, rec: dict[str, object]) -> None:
                if not rec.get("agree"):
                    console.print(f"  [red]disagrees[/red] {key}: {rec.get('summary')}")

            verification = verify_all(examples, progress)
    pages = render_all(verification)
    changed = write_pages(out, pages)
    _summary(console, verification, out, changed)
    return 0


def _summary(console: Console, v: Verification, out: Path, changed: list[str]) -> None:
    n = sum(len(area.examples()) for area in AREAS)
    bad = sorted(k for k, rec in v.runs.items() if not rec.get("agree"))
    console.print(f"{n} examples in {len(AREAS)} areas; verified on {v.kernel or 'no kernel'}")
    for key in bad:
        console.print(f"  disagreement: {key}: {v.runs[key].get('summary')}", style="yellow")
    console.print(f"wrote {out} ({len(changed)} file(s) changed)")


def promote_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="difftest promote",
        description="Turn a saved difftest case (report.json) into a documentation example.",
    )
    p.add_argument("report", type=Path, help="a report directory (or its report.json)")
    p.add_argument("--area", required=True, choices=sorted(BY_SLUG), help="the page")
    p.add_argument("--title", required=True, help="the example's title (one sentence)")
    p.add_argument("--id", dest="example_id", default=None, help="default: from the title")
    p.add_argument("--rule", default=None, help="the rule's source (catalogue §, kernel fn)")
    p.add_argument("--notes", default="", help="a paragraph shown under the title")
    args = p.parse_args(argv)
    console = Console(highlight=False)
    from difftest.docs.promote import PromoteError, promote

    try:
        path, example_id, warnings = promote(
            args.report,
            BY_SLUG[args.area],
            args.title,
            example_id=args.example_id,
            rule=args.rule,
            notes=args.notes,
        )
    except (PromoteError, OSError, ValueError, KeyError) as exc:
        console.print(f"difftest promote: {exc}", style="red")
        return 1
    for w in warnings:
        console.print(w, style="yellow")
    console.print(f"added example {example_id} to {path}")
    console.print("review its expectations, then run: difftest docs")
    return 0
