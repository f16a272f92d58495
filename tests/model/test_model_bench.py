"""``python -m model.bench`` runs (its figure is printed, not asserted: it is not a timed
test)."""

from __future__ import annotations

from model import bench


def test_bench_runs_a_small_stream_and_prints_a_figure(capsys: object) -> None:
    assert bench.main(["2000"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "syscalls/s" in out


def test_bench_stream_is_reproducible() -> None:
    assert bench.draw_stream(100, 7) == bench.draw_stream(100, 7)
