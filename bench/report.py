"""Medians, ratios and the two outputs: ``bench.md`` (for people) and ``bench.json``."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict
from typing import Any

from bench.impls import Impl
from bench.runner import FLOAT, PINNED, Sample
from bench.tester import ModelSample, TesterSample
from bench.workloads import Figure

REFERENCE = "kernel"
OURS = "ovlfuse"
FO = ("fuse-overlayfs", "fuse-overlayfs-mt")


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def values(samples: list[Sample], fig: str, impl: str, placement: str) -> list[float]:
    return [s.figures[fig] for s in samples
            if s.impl == impl and s.placement == placement and fig in s.figures]


def medians(samples: list[Sample], figures: list[Figure], impls: list[str],
            placement: str = FLOAT) -> dict[str, dict[str, float | None]]:
    return {f.key: {i: median(values(samples, f.key, i, placement)) for i in impls}
            for f in figures}


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def best_fo(row: dict[str, float | None]) -> tuple[str | None, float | None]:
    cands = [(row.get(n), n) for n in FO if row.get(n) is not None]
    if not cands:
        return None, None
    v, n = min(cands)
    return n, v


def comparisons(meds: dict[str, dict[str, float | None]]) -> dict[str, dict[str, Any]]:
    """Per figure: ovlfuse against the kernel and against fuse-overlayfs's best setting."""
    out = {}
    for fig, row in meds.items():
        fo_name, fo_v = best_fo(row)
        ours = row.get(OURS)
        r_k = ratio(ours, row.get(REFERENCE))
        r_fo = ratio(ours, fo_v)
        out[fig] = {
            "ovlfuse_over_kernel": r_k,
            "ovlfuse_over_fuse_overlayfs_best": r_fo,
            "fuse_overlayfs_best": fo_name,
            "faster_than_fuse_overlayfs": None if r_fo is None else r_fo < 1.0,
            "within_3x_kernel": None if r_k is None else r_k <= 3.0,
            "ovlfuse_exact_over_kernel": ratio(row.get("ovlfuse-exact"), row.get(REFERENCE)),
            "kernel_over_raw": ratio(row.get(REFERENCE), row.get("raw")),
        }
    return out


def _s(v: float | None) -> str:
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 0.1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def _x(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}×"


def _rate(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def tester_summary(samples: list[TesterSample]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for t in dict.fromkeys(s.target for s in samples):
        ok = [s for s in samples if s.target == t and s.error is None]
        setup_keys = sorted({k for s in ok for k in s.setup_per_example})
        out[t] = {
            "runs": len(ok),
            "errors": [s.error for s in samples if s.target == t and s.error],
            "examples": median([float(s.examples) for s in ok]),
            "steps": median([float(s.steps) for s in ok]),
            "steps_per_s": median([s.steps_per_s for s in ok]),
            "examples_per_s": median([s.examples_per_s for s in ok]),
            "steps_per_s_all": [s.steps_per_s for s in ok],
            "examples_per_s_all": [s.examples_per_s for s in ok],
            "setup_per_example_s": {
                k: median([s.setup_per_example[k] for s in ok if k in s.setup_per_example])
                for k in setup_keys
            },
            "agreed": all(s.agreed for s in ok) if ok else None,
            "divergences": sorted({s.divergence for s in ok if s.divergence}),
        }
    return out


def build_json(meta: dict[str, Any], env: dict[str, Any], figures: list[Figure],
               impls: list[Impl], pin_impls: list[Impl], samples: list[Sample],
               tester: list[TesterSample], model: list[ModelSample]) -> dict[str, Any]:
    names = [i.name for i in impls]
    meds = medians(samples, figures, names)
    pinned_names = [i.name for i in pin_impls]
    pinned = {k: {i: v for i, v in row.items() if v is not None}
              for k, row in medians(samples, figures, pinned_names, PINNED).items()}
    pinned = {k: row for k, row in pinned.items() if row}
    return {
        "meta": meta,
        "env": env,
        "implementations": {i.name: {"title": i.title, "doc": i.doc} for i in impls},
        "figures": {f.key: {"title": f.title, "doc": f.doc} for f in figures},
        "medians_s": meds,
        "comparisons": comparisons(meds),
        "placement_cpu0_medians_s": pinned,
        "placement_float_medians_s": {k: {i: meds[k].get(i) for i in row} for k, row in
                                      pinned.items()},
        "tester": tester_summary(tester),
        "model_bench": {
            "syscalls_per_s": median([m.syscalls_per_s for m in model if m.error is None]),
            "runs": [asdict(m) for m in model],
        },
        "samples": [asdict(s) for s in samples],
        "tester_samples": [asdict(s) for s in tester],
        "errors": [f"round {s.round + 1} {s.workload} {s.impl} {s.placement}: {s.error}"
                   for s in samples if s.error],
    }


def render_md(data: dict[str, Any], workload_docs: dict[str, str]) -> str:
    meta, env = data["meta"], data["env"]
    impls = data["implementations"]
    names = list(impls)
    figs = data["figures"]
    meds = data["medians_s"]
    comp = data["comparisons"]
    L: list[str] = []
    w = L.append
    w("# Benchmarks: ovlfuse, fuse-overlayfs and the kernel overlay; the tester's throughput")
    w("")
    w(f"Generated by `{meta['command']}` on {meta['date']} in {meta['duration_s'] / 60:.1f} "
      f"min ({meta['rounds']} round(s){', quick sizes' if meta['quick'] else ''}). "
      "Regenerate with `python -m bench` (as root; `--help` for options).")
    w("")
    la0, la1 = meta["loadavg_start"], meta["loadavg_end"]
    w(f"**Noise.** Load average at start {la0[0]:.2f} / {la0[1]:.2f} / {la0[2]:.2f}, at end "
      f"{la1[0]:.2f} / {la1[1]:.2f} / {la1[2]:.2f} on {env['cpus']} vCPUs. "
      + ("Other jobs were running on this machine during the run: the figures are noisy and "
         "should be regenerated on a quiet machine before they are quoted."
         if max(la0[0], la1[0]) > 0.5 else "The machine was quiet."))
    w("")
    w("## Machine and versions")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| CPU | {env['cpu_model']}, {env['cpus']} vCPUs |")
    w(f"| RAM | {env['ram_bytes'] / (1 << 30):.1f} GiB |")
    w(f"| kernel | Linux {env['kernel']} (overlay module defaults: "
      + ", ".join(f"{k}={v}" for k, v in env["overlay_module_params"].items()
                  if k in ("redirect_dir", "index", "metacopy", "xino_auto", "nfs_export"))
      + ") |")
    w(f"| Python | {env['python']} |")
    w(f"| pyfuse3 / trio | {env['pyfuse3']} / {env['trio']} |")
    w(f"| libfuse | {env['libfuse']} |")
    thr = "has" if env["fuse_overlayfs_threaded_option"] else "does not have"
    w(f"| fuse-overlayfs | {env['fuse_overlayfs']} ({thr} `-o threaded=1`) |")
    w(f"| ovlfuse | {env['ovlfuse']}, git {env['git']['commit']}"
      + (f" + uncommitted changes in {', '.join(env['git']['dirty_paths'])}"
         if env["git"]["dirty_paths"] else "") + " |")
    w("")
    w("## Method")
    w("")
    w(f"* **Rounds**: {meta['rounds']}. Every round runs every implementation once per "
      "workload, in an order rotated by one each round (and each workload); a figure is the "
      "**median** over the rounds, and every ratio compares medians from this same run. "
      f"*ovlfuse exact* runs in the first {meta['exact_rounds']} round(s) only (it is "
      "10–100× slower on metadata workloads and would take most of the run): its figures "
      f"are the median of {meta['exact_rounds']} run(s).")
    w("* **Placement**: **float** — the benchmark process (and the `ls`/`rm`/`tar` it starts) "
      "and the FUSE daemon are free to run on either vCPU (no `taskset`); this is what the "
      "main table shows. W1 and W2 are also measured **pinned** (`cpu0`: benchmark and daemon "
      "both on CPU 0), see *Placement* below.")
    w("* **Layers**: each measurement builds its lower layer afresh (identical for every "
      "implementation) on a private tmpfs, with an empty upper and workdir on the same tmpfs; "
      "it mounts, runs the workload, unmounts, waits for the FUSE daemon to exit and deletes "
      "everything. Only the workload is timed (not building, mounting or unmounting). "
      "\"Cold\" means the first pass on a fresh mount (the layers themselves are in RAM: "
      "tmpfs); \"warm\" the second pass on the same mount. Before W3 and the W4 copy-up "
      "(which take up to 1 GiB of new page cache or upper copy), 1.25× that much memory is "
      "touched and freed: this VM reports free memory to its host, and first use of a "
      "reported page costs a host page fault (up to 5× on W3; `bench/runner.py`, "
      "`prefault`).")
    w("* **Implementations**: " + "; ".join(f"*{v['title']}*: {v['doc']}"
                                            for v in impls.values()) + ".")
    w("* **Workloads** at these sizes:")
    for k, v in workload_docs.items():
        w(f"  * {k}: {v}")
    w("")
    w("## ovlfuse workloads: median seconds (lower is better)")
    w("")
    w("| figure | " + " | ".join(impls[n]["title"] for n in names)
      + " | ovlfuse ÷ kernel | ovlfuse ÷ best fuse-overlayfs |")
    w("|---|" + "---:|" * (len(names) + 2))
    for key, f in figs.items():
        row = meds[key]
        c = comp[key]
        w(f"| {f['title']} | " + " | ".join(_s(row.get(n)) for n in names)
          + f" | {_x(c['ovlfuse_over_kernel'])} | {_x(c['ovlfuse_over_fuse_overlayfs_best'])} |")
    w("")
    w("Ratios are time ÷ time: below 1× ovlfuse is faster. \"Best fuse-overlayfs\" is the "
      "faster of its default and `threaded=1` on that figure.")
    w("")
    w("### Against the goals")
    w("")
    w("| figure | ovlfuse vs best fuse-overlayfs | ovlfuse within 3× of the kernel | "
      "ovlfuse exact ÷ kernel |")
    w("|---|---|---|---:|")
    for key, f in figs.items():
        c = comp[key]
        fo = c["ovlfuse_over_fuse_overlayfs_best"]
        k = c["ovlfuse_over_kernel"]
        fo_s = "–" if fo is None else (
            f"faster ({_x(fo)} the time of {c['fuse_overlayfs_best']})" if fo < 1
            else f"**slower**: {_x(fo)} the time of {c['fuse_overlayfs_best']}")
        k_s = "–" if k is None else (f"yes ({_x(k)})" if k <= 3 else f"**no** ({_x(k)})")
        w(f"| {f['title']} | {fo_s} | {k_s} | {_x(c['ovlfuse_exact_over_kernel'])} |")
    w("")
    w("Where ovlfuse is slower or beyond 3×, `docs/profiling.md` has the profile that "
      "explains it and the change proposed.")
    w("")
    w("### Spread (min – max seconds over the rounds)")
    w("")
    w("| figure | " + " | ".join(impls[n]["title"] for n in names) + " |")
    w("|---|" + "---:|" * len(names))
    samples = data["samples"]
    for key, f in figs.items():
        cells = []
        for n in names:
            xs = [s["figures"][key] for s in samples
                  if s["impl"] == n and s["placement"] == FLOAT and key in s["figures"]]
            cells.append(f"{_s(min(xs))} – {_s(max(xs))}" if xs else "–")
        w(f"| {f['title']} | " + " | ".join(cells) + " |")
    w("")
    pinned = data["placement_cpu0_medians_s"]
    if pinned:
        w("## Placement: float vs pinned to one CPU (median seconds)")
        w("")
        pnames = sorted({n for row in pinned.values() for n in row}, key=names.index)
        w("| figure | " + " | ".join(f"{impls[n]['title']} float | {impls[n]['title']} cpu0"
                                     for n in pnames) + " |")
        w("|---|" + "---:|" * (2 * len(pnames)))
        for key, row in pinned.items():
            w(f"| {figs[key]['title']} | "
              + " | ".join(f"{_s(meds[key].get(n))} | {_s(row.get(n))}" for n in pnames)
              + " |")
        w("")
        w("Pinned, application and daemon share one CPU: a FUSE round trip is a context "
          "switch instead of a cross-CPU wake-up (see "
          "`../shared/reference/fuse-performance-notes.md`). The main table uses float.")
        w("")
    w("## The tester: difftest throughput per target")
    w("")
    ts = data["tester"]
    if ts:
        budget = (f"--time {meta['tester_time_s']:g}" if meta.get("tester_time_s")
                  else f"--examples {meta['tester_examples']}")
        w(f"`difftest --target T --config default {budget} "
          f"--seed 1 --no-db --no-shrink -q --json F` (with `--jobs N` for `-jN`; at most 20 "
          f"steps per example unless `--steps` says otherwise), {meta['tester_rounds']} "
          "round(s), "
          "targets rotated "
          "per round; medians. Setup is per example (building layers and mounting for a real "
          "target; building the in-memory overlay for the model).")
        w("")
        w("| target | compared steps/s | examples/s | setup per example, target | "
          "setup per example, model | examples (steps) per run | all agreed |")
        w("|---|---:|---:|---:|---:|---|---|")
        for t, v in ts.items():
            sp = v["setup_per_example_s"]
            tgt = sp.get(t.split()[0])
            ex = "–" if v["examples"] is None else f"{v['examples']:.0f} ({v['steps']:.0f})"
            agreed = {True: "yes", False: "**no**", None: "–"}[v["agreed"]]
            w(f"| {t} | {_rate(v['steps_per_s'])} | {_rate(v['examples_per_s'])} | "
              f"{_ms(tgt)} | {_ms(sp.get('model'))} | {ex} | {agreed} |")
        w("")
        w("Goals, per run (one run gives both of its figures): against the kernel ≥ 2,000 "
          "compared steps/s and ≥ 100 examples/s; against ovlfuse ≥ 30 examples/s. More "
          "steps per example (the default profile's 20 against the CI gate's 12) trade "
          "examples/s for steps/s.")
        w("")
        for t, v in ts.items():
            if t.split()[0] == "kernel":
                w(f"* `{t}`: **{_rate(v['steps_per_s'])}** steps/s"
                  + _met(v["steps_per_s"], 2000) + f", **{_rate(v['examples_per_s'])}** "
                  "examples/s" + _met(v["examples_per_s"], 100))
            elif t.split()[0] == "fuse":
                w(f"* `{t}`: **{_rate(v['examples_per_s'])}** examples/s"
                  + _met(v["examples_per_s"], 30))
        for t, v in ts.items():
            for d in v["divergences"]:
                w(f"\n* {t}: divergence found, the run stopped there (not shrunk): {d}")
            for e in v["errors"]:
                w(f"\n* {t}: error: {e}")
        w("")
    mb = data["model_bench"]
    if mb["runs"]:
        steps = mb["runs"][0]["steps"]
        w(f"**Model operations/s** (`python -m model.bench {steps}`, syscalls per CPU second on "
          f"a mixed stream, median of {len(mb['runs'])}): "
          f"**{_rate(mb['syscalls_per_s'])}**.")
        w("")
    if data["errors"]:
        w("## Errors")
        w("")
        for e in data["errors"]:
            w(f"* {e}")
        w("")
    w("Raw samples (every round, build/mount/teardown times too) are in `bench.json`.")
    return "\n".join(L) + "\n"


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v * 1000:.1f} ms"


def _met(v: float | None, goal: float) -> str:
    if v is None:
        return " (not measured)"
    if v >= goal:
        return " (met)"
    share = math.floor(v / goal * 1000) / 10  # never rounds up to 100%
    return f" (**not met**: {share:g}% of the goal)"


def write(out_dir: str, data: dict[str, Any], md: str) -> tuple[str, str]:
    import os

    os.makedirs(out_dir, exist_ok=True)
    jp = os.path.join(out_dir, "bench.json")
    mp = os.path.join(out_dir, "bench.md")
    with open(jp, "w") as f:
        json.dump(data, f, indent=1, default=str)
        f.write("\n")
    with open(mp, "w") as f:
        f.write(md)
    return mp, jp


# re-exported for the smoke test
__all__ = ["PINNED", "build_json", "render_md", "write"]
