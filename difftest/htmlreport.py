"""The campaign report: one self-contained HTML page drawn from a store's records.

The page needs nothing but itself to be read (inline CSS, static inline SVG, no scripts):
the divergences found, each at its first find, with links to their report directories when
those are on this machine; examples and steps per target and config and per worker; and,
over the campaign's time, the examples run and how many examples reached each coverage
event, the first finds marked on every plot.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from difftest.campaign import Campaign, Find
from difftest.svgplot import Line, line_chart

CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1180px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: .95em; } .muted { color: #777; } .bad { color: #b00; font-weight: bold; }
.grid { display: flex; flex-wrap: wrap; gap: 8px; } .grid svg { border: 1px solid #ddd; }
"""


def _utc(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clock(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _table(head: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """Cells are HTML already; columns in ``numeric`` are right-aligned."""
    numeric = numeric or set()
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>\n"
        for row in rows)  # fmt: skip
    return f"<table><tr>{th}</tr>\n{body}</table>"


def _report_link(path: str | None, out_dir: Path) -> str:
    """A link (relative to the page) to a report directory where it was written, or to one
    of the same name beside the page (reports copied along with it), else its path."""
    if not path:
        return '<span class="muted">none written</span>'
    for where in (Path(path), out_dir / Path(path).name):
        if (where / "report.md").exists():
            href = quote(os.path.relpath(where.resolve() / "report.md", out_dir.resolve()))
            return f'<a href="{escape(href)}">{escape(Path(path).name)}</a>'
    return f'<code>{escape(path)}</code> <span class="muted">(not on this machine)</span>'


def _report_links(paths: list[str], out_dir: Path) -> str:
    links = [_report_link(p, out_dir) for p in dict.fromkeys(paths)]
    return "<br>".join(links) or _report_link(None, out_dir)


def _divergences(c: Campaign, out_dir: Path) -> str:
    found = c.divergences()
    if not found:
        return "<p>No divergence was found.</p>"
    rows = [[
        str(i), _clock(f.first - c.start), escape(_utc(f.first)), escape(f.target),
        escape(f.config), f"<code>{escape(f.key)}</code>", escape(f.summary), str(f.length),
        str(f.times), str(f.replays), _report_links(f.reports, out_dir),
    ] for i, f in enumerate(found, 1)]  # fmt: skip
    head = ["#", "first found at", "(wall clock)", "target", "config", "signature",
            "divergence", "steps", "times found", "still diverging in replays",
            "reports"]  # fmt: skip
    return _table(head, rows, {0, 7, 8, 9})


def _totals(c: Campaign) -> str:
    rows = []
    for (targets, config), t in c.totals().items():
        rate = t["examples"] / t["elapsed"] if t["elapsed"] else 0.0
        rows.append([escape(" + ".join(targets)), escape(config), f"{t['workers']:.0f}",
                     f"{t['examples']:.0f}", f"{t['steps']:.0f}",
                     f'<span class="{"bad" if t["divergent"] else ""}">{t["divergent"]:.0f}'
                     "</span>", f"{t['elapsed'] / 60:.1f}", f"{rate:.1f}"])  # fmt: skip
    head = ["targets", "config", "workers", "examples", "steps", "divergent examples",
            "worker-minutes", "examples/s per worker"]  # fmt: skip
    return _table(head, rows, {2, 3, 4, 5, 6, 7})


def _workers(c: Campaign) -> str:
    rows = [[escape(w["run"]), str(w["worker"]), escape(w["host"]), escape(str(w["profile"])),
             escape(str(w["seed"])), str(w["configs"]), str(w["examples"]), str(w["steps"]),
             str(w["divergent"]), f"{w['seconds'] / 60:.1f}"] for w in c.workers()]  # fmt: skip
    head = ["run", "worker", "host", "profile", "seed", "configs", "examples", "steps",
            "divergent examples", "minutes"]  # fmt: skip
    return _table(head, rows, {1, 5, 6, 7, 8, 9})


def _runs(c: Campaign) -> str:
    rows = [[escape(r["run"]), escape(_utc(r["t"])), escape(r.get("host", "?")),
             f"<code>{escape(' '.join(r.get('argv', [])))}</code>"]
            for r in sorted(c.runs.values(), key=lambda r: r["t"])]  # fmt: skip
    return _table(["run", "started", "host", "command line"], rows)


def _replays(c: Campaign) -> str:
    if not c.replays:
        return "<p>No replay of the saved examples was recorded.</p>"
    rows = [[escape(_utc(r["t"])), escape(r["config"]), escape(" + ".join(r["targets"])),
             str(r["steps"]), str(r["examples"]),
             f'<span class="{"bad" if r["diverged"] else ""}">{r["diverged"]}</span>',
             f"{r['seconds']:.1f}"] for r in c.replays]  # fmt: skip
    head = ["replayed at", "config", "targets", "step cap", "examples run",
            "still diverging", "seconds"]  # fmt: skip
    return _table(head, rows, {3, 4, 5, 6})


def _marks(c: Campaign, found: list[Find]) -> list[tuple[float, str]]:
    return [((f.first - c.start) / 60, f"first find: {f.target} {f.key}") for f in found]


def _plots(c: Campaign) -> str:
    marks = _marks(c, c.divergences())
    per: list[Line] = []
    for targets, config in c.totals():
        def mine(s: dict[str, Any], t: tuple[str, ...] = targets, cf: str = config) -> float:
            return float(s["examples"]) if (tuple(s["targets"]), s["config"]) == (t, cf) else 0.0

        xs, ys = c.over_time(mine)
        per.append(Line(f"{config} ({' + '.join(targets)})", xs, ys))
    charts = [line_chart(per, title="examples run, per config (all workers)", width=1160,
                         height=260, marks=marks)]  # fmt: skip
    xs, ys = c.over_time(lambda s: s["steps"])
    charts.append(line_chart([Line("steps", xs, ys)], title="steps run (all workers)",
                             width=1160, height=200, marks=marks))  # fmt: skip
    return "\n".join(charts)


def _event_count(event: str) -> Callable[[dict[str, Any]], float]:
    return lambda snapshot: float(snapshot["events"].get(event, 0))


def _event_plots(c: Campaign) -> str:
    marks = _marks(c, c.divergences())
    charts = []
    for event in c.events():
        xs, ys = c.over_time(_event_count(event))
        charts.append(line_chart([Line(event, xs, ys)], title=f"examples reaching {event}",
                                 width=370, height=170, marks=marks))  # fmt: skip
    return '<div class="grid">\n' + "\n".join(charts) + "\n</div>"


def _header(c: Campaign, source: str) -> str:
    hosts = sorted({r.get("host", "?") for r in c.runs.values()})
    examples = sum(c.last(k)["examples"] for k in c.series)
    steps = sum(c.last(k)["steps"] for k in c.series)
    workers = len({(k[0], k[1]) for k in c.series})
    span = f"{escape(_utc(c.start))} to {escape(_utc(c.end))} ({_clock(c.end - c.start)})" \
        if c.series or c.finds else "no records"  # fmt: skip
    return (f"<h1>difftest campaign</h1>\n<p>Store <code>{escape(source)}</code>: {span}; "
            f"{len(c.runs)} run(s), {workers} worker(s) on {len(hosts)} machine(s) "
            f"({escape(', '.join(hosts))}); {examples} examples, {steps} steps; "
            f"{len(c.divergences())} distinct divergence(s).</p>")  # fmt: skip


def render(records: list[dict[str, Any]], source: str, out_dir: Path) -> str:
    """The page for ``records`` (of the store named ``source``), with links relative to
    ``out_dir``, where it will be written."""
    c = Campaign(records)
    body = [
        _header(c, source),
        "<h2>Divergences found, each at its first find</h2>", _divergences(c, out_dir),
        "<h2>Examples and steps per target and config</h2>", _totals(c),
        "<h2>Progress over time</h2>",
        '<p class="muted">Minutes since the campaign\'s first record; each worker counts with '
        "its latest record; dashed red lines: first finds of divergences.</p>", _plots(c),
        "<h2>Coverage events over time</h2>",
        '<p class="muted">How many examples reached each event of the model '
        "(<code>difftest/coverage.py</code>), summed over the workers.</p>", _event_plots(c),
        "<h2>Workers</h2>", _workers(c), "<h2>Runs</h2>", _runs(c),
        "<h2>Replays of the saved examples</h2>", _replays(c),
    ]  # fmt: skip
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>difftest campaign</title>\n<style>" + CSS + "</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")  # fmt: skip


def write_html(records: list[dict[str, Any]], source: str, out_dir: Path) -> Path:
    """Write ``out_dir/index.html``; returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    page.write_text(render(records, source, out_dir))
    return page
