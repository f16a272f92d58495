"""Static line charts as inline SVG: axes with round ticks, one polyline per series, a legend
and vertical marks for moments (a divergence's first find).  No scripts, no external files,
so a page that embeds them renders anywhere, offline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22")  # fmt: skip
MARGIN = (48, 12, 28, 34)  # left, right, top, bottom


@dataclass(frozen=True)
class Line:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]


def nice_ticks(hi: float, count: int = 5) -> list[float]:
    """Ticks from 0 to at least ``hi`` at a step of 1, 2 or 5 times a power of ten."""
    if hi <= 0:
        return [0.0, 1.0]
    raw = hi / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(hi / step - 1e-9) + 1)]


def _fmt(v: float) -> str:
    if v >= 10_000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


class _Frame:
    """Maps data to pixels inside the margins."""

    def __init__(self, width: int, height: int, xmax: float, ymax: float) -> None:
        self.left, self.right, self.top, self.bottom = MARGIN
        self.w, self.h = width, height
        self.xticks, self.yticks = nice_ticks(xmax, 8), nice_ticks(ymax, 4)
        self.xmax, self.ymax = self.xticks[-1], self.yticks[-1]

    def x(self, v: float) -> float:
        return self.left + (self.w - self.left - self.right) * v / self.xmax

    def y(self, v: float) -> float:
        return self.h - self.bottom - (self.h - self.top - self.bottom) * v / self.ymax


def _axes(f: _Frame, x_label: str) -> list[str]:
    out = []
    for t in f.yticks:
        y = f.y(t)
        out.append(f'<line x1="{f.left}" y1="{y:.1f}" x2="{f.w - f.right}" y2="{y:.1f}" '
                   f'stroke="#e6e6e6"/>')  # fmt: skip
        out.append(f'<text x="{f.left - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    base = f.h - f.bottom
    for t in f.xticks:
        x = f.x(t)
        out.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="#444"/>')
        out.append(f'<text x="{x:.1f}" y="{base + 15}" text-anchor="middle">{_fmt(t)}</text>')
    out.append(f'<line x1="{f.left}" y1="{base}" x2="{f.w - f.right}" y2="{base}" stroke="#444"/>')
    out.append(f'<line x1="{f.left}" y1="{f.top}" x2="{f.left}" y2="{base}" stroke="#444"/>')
    out.append(f'<text x="{f.w - f.right}" y="{f.h - 3}" text-anchor="end">'
               f'{escape(x_label)}</text>')  # fmt: skip
    return out


def _legend(lines: Sequence[Line], f: _Frame) -> list[str]:
    out = []
    for i, line in enumerate(lines):
        y = f.top + 4 + 13 * i
        color = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{f.left + 8}" y="{y}" width="10" height="3" fill="{color}"/>')
        out.append(f'<text x="{f.left + 22}" y="{y + 5}">{escape(line.label)}</text>')
    return out


def line_chart(lines: Sequence[Line], *, title: str, width: int = 560, height: int = 200,
               x_label: str = "minutes", marks: Sequence[tuple[float, str]] = ()) -> str:
    """One chart as an ``<svg>`` element; ``marks`` are (x, label) moments drawn as dashed
    vertical lines."""
    xmax = max((max(line.xs, default=0.0) for line in lines), default=0.0)
    ymax = max((max(line.ys, default=0.0) for line in lines), default=0.0)
    f = _Frame(width, height, xmax, ymax)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" '
             f'font-size="10">', f"<title>{escape(title)}</title>",
             f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
             f'<text x="{f.left}" y="12" font-size="12" font-weight="bold">'
             f'{escape(title)}</text>', *_axes(f, x_label)]  # fmt: skip
    for x, label in marks:
        px = f.x(x)
        parts.append(f'<line x1="{px:.1f}" y1="{f.top}" x2="{px:.1f}" y2="{f.h - f.bottom}" '
                     f'stroke="#d62728" stroke-dasharray="3,3"><title>{escape(label)}</title>'
                     f"</line>")  # fmt: skip
    for i, line in enumerate(lines):
        pts = " ".join(f"{f.x(x):.1f},{f.y(y):.1f}" for x, y in zip(line.xs, line.ys, strict=True))
        parts.append(f'<polyline fill="none" stroke-width="1.6" '
                     f'stroke="{PALETTE[i % len(PALETTE)]}" points={quoteattr(pts)}/>')
    if len(lines) > 1:
        parts += _legend(lines, f)
    parts.append("</svg>")
    return "\n".join(parts)
