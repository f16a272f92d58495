"""Benchmarks: ovlfuse against fuse-overlayfs and the kernel overlay, and the tester's speed.

``python -m bench`` (as root) runs the workloads W1–W7 on every implementation in
interleaved rounds, runs the differential tester against each target, and writes
``reports/bench.md`` and ``reports/bench.json``.  ``python -m bench.profile`` profiles the
ovlfuse daemon on one workload (py-spy).  See ``docs/profiling.md``.
"""
