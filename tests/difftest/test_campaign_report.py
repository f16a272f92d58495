"""The campaign report: records in a store, their digest, the HTML page and the committed one.

The committed report of a 10-minute two-worker campaign against the kernel is opened in
headless Chromium: its screenshot must show drawn plots (pixels of the plots' first colour,
not only text on white), and every inline SVG must parse.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any

import pytest
from conftest import IN_CI

from difftest.campaign import Campaign
from difftest.htmlreport import render
from difftest.profiles import PROFILES, hypothesis_profile
from difftest.store import DirStore, Keyspace
from difftest.svgplot import PALETTE, nice_ticks

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "reports" / "campaign-20261205" / "index.html"
SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def _stats(run: str, worker: int, t: float, examples: int, **events: int) -> dict[str, Any]:
    return {"type": "stats", "run": run, "worker": worker, "config": "default",
            "targets": ["kernel"], "t": t, "elapsed": t - 1000, "examples": examples,
            "steps": examples * 10, "divergent": 0, "tallied": examples, "events": events,
            "final": False}  # fmt: skip


def test_a_directory_store_keeps_keyspaces_and_records(tmp_path: Path) -> None:
    store = DirStore(tmp_path / "db")
    ks = Keyspace("index=on,lowers=3", ("kernel", "cmd:/usr/bin/x -o a=1"), 25)
    store.register(ks)
    store.register(ks)
    assert store.keyspaces() == [ks]
    store.append({"type": "run", "run": "r1", "t": 1.0})
    store.append(_stats("r1", 0, 2.0, 5))
    with open(tmp_path / "db" / "campaign.jsonl", "a") as f:
        f.write('{"type": "stats", "run"')  # a line cut short by a crash
    assert [r["type"] for r in store.records()] == ["run", "stats"]
    assert "/" not in ks.slug and ks.slug != Keyspace("index=on,lowers=3", ("kernel",), 25).slug


def test_counts_over_time_add_up_the_workers_and_interpolate() -> None:
    records = [_stats("a", 0, 1000, 0), _stats("a", 0, 1010, 100, exdev=4),
               _stats("a", 1, 1005, 0), _stats("a", 1, 1015, 50),
               _stats("b", 0, 1030, 30)]  # fmt: skip
    c = Campaign(records)
    xs, ys = c.over_time(lambda s: s["examples"], points=7)  # every 5 s
    assert xs[2] == pytest.approx(10 / 60)
    # t=1000: 0; 1005: 50+0; 1010: 100+25; 1015: 100+50; then b starts at 1030
    assert ys[:4] == pytest.approx([0, 50, 125, 150])
    assert ys[-1] == pytest.approx(180)
    _, exdev = c.over_time(lambda s: s["events"].get("exdev", 0), points=7)
    assert exdev[2:] == pytest.approx([4] * 5)
    assert {w["examples"] for w in c.workers()} == {100, 50, 30}


def test_the_page_is_self_contained_links_reports_and_its_svgs_parse(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "20261205-default-kernel"
    report.mkdir(parents=True)
    (report / "report.md").write_text("# a divergence\n")
    find = {"type": "find", "run": "a", "t": 1012.0, "found": 1011.0, "config": "default",
            "targets": ["kernel"], "target": "kernel", "key": "state|x<y>|merged",
            "summary": "state differs", "report": str(report), "host": "h", "length": 2,
            "via": "run"}  # fmt: skip
    records = [{"type": "run", "run": "a", "t": 999.0, "host": "h", "argv": ["difftest"]},
               _stats("a", 0, 1000, 0), _stats("a", 0, 1020, 40, copy_up=3), find]  # fmt: skip
    out = tmp_path / "html"
    page = render(records, "redis://127.0.0.1:1/0", out)
    assert "state|x&lt;y&gt;|merged" in page
    assert 'href="../reports/20261205-default-kernel/report.md"' in page
    out.mkdir()
    report.rename(out / report.name)  # the reports moved along with the page
    assert 'href="20261205-default-kernel/report.md"' in render(records, "r", out)
    shutil.rmtree(out / report.name)
    assert "(not on this machine)" in render(records, "r", out)
    svgs = SVG.findall(page)
    assert len(svgs) >= 2 + 13  # progress plots, one per coverage event
    for svg in svgs:
        ET.fromstring(svg)
    assert "<script" not in page and "url(" not in page and "@import" not in page
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?(?:\w+:)?//""", page)  # nothing fetched


def test_ticks_are_round_and_cover_the_data() -> None:
    assert nice_ticks(7.3) == [0, 2, 4, 6, 8]
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(1234)[-1] >= 1234


def test_each_role_is_a_hypothesis_profile_and_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    for p in PROFILES.values():
        assert hypothesis_profile(p.name).stateful_step_count == p.steps
        assert re.search(rf"^\| `{p.name}` \|", readme, re.M), f"profile {p.name} not in README"
    assert PROFILES["nightly"].steps == PROFILES["campaign"].steps  # one keyspace, shared


def _png_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """Width, height, bytes per pixel and the unfiltered rows of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    out, prev = bytearray(), bytearray(stride)
    for y in range(height):
        f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pred = (0, a, b, (a + b) // 2,
                    a if abs(p - a) <= min(abs(p - b), abs(p - c))
                    else b if abs(p - b) <= abs(p - c) else c)[f]  # fmt: skip
            row[i] = (row[i] + pred) & 0xFF
        out += row
        prev = row
    return width, height, bpp, bytes(out)


def test_the_committed_campaign_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        why = "chromium is not installed (scripts/setup.sh installs it)"
        pytest.fail(why) if IN_CI else pytest.skip(why)
    page = COMMITTED.read_text()
    for svg in SVG.findall(page):
        ET.fromstring(svg)
    shot = tmp_path / "shot.png"
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    "--window-size=1200,2000", COMMITTED.as_uri()],
                   capture_output=True, timeout=120, check=True)  # fmt: skip
    width, height, bpp, px = _png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 2000)
    pixels = [px[i:i + 3] for i in range(0, len(px), bpp)]
    non_white = sum(1 for p in pixels if p != b"\xff\xff\xff")
    assert non_white > len(pixels) // 100, "the page rendered (almost) blank"
    blue = bytes.fromhex(PALETTE[0][1:])
    assert sum(1 for p in pixels if p == blue) > 500, "no plot line was drawn"


def test_every_role_generates_at_random_even_where_the_environment_says_ci() -> None:
    """Hypothesis's own "ci" profile (loaded when CI is set) derandomizes; an unseeded run
    must still draw each chunk of examples from a fresh random state."""
    code = ("from difftest.profiles import PROFILES, hypothesis_profile\n"
            "import hypothesis\n"
            "assert hypothesis.settings().derandomize  # the environment's profile\n"
            "print(sorted({hypothesis_profile(n).derandomize for n in PROFILES}))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, CI="true"),
                         capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[False]"
