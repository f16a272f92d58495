"""Concurrency: several processes create, rename, read and delete in shared directories for
``OVLFUSE_STRESS_SECONDS`` (default 20).  Only the errnos such races produce are allowed, and
afterwards the layers look the same through ovlfuse and through the kernel overlay."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from ovlfuse_testlib import PYTHON, dump_upper, kernel_overlay, make_layers, ovlfuse, view

pytestmark = [pytest.mark.privileged, pytest.mark.slow]

SECONDS = float(os.environ.get("OVLFUSE_STRESS_SECONDS", "20"))
WORKERS = 6
EXPECTED = {"ENOENT", "EEXIST", "ENOTEMPTY", "EXDEV", "EISDIR", "ENOTDIR"}

WORKER = r'''
import errno, json, os, random, sys, time
root, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
dirs = ["", "d0", "d1", "d2", "d3", "d0/sub"]
ops, errors = {}, {}

def p():
    d = rnd.choice(dirs)
    return os.path.join(root, d, rnd.choice(["f%d" % i for i in range(12)] + ["x", "y"]))

def dname():
    return os.path.join(root, rnd.choice(dirs), rnd.choice(["n0", "n1", "n2"]))

def create():
    with open(p(), "wb") as f:
        f.write(os.urandom(rnd.randint(0, 9000)))
def append():
    with open(p(), "ab") as f:
        f.write(b"+" * rnd.randint(1, 100))
def read():
    with open(p(), "rb") as f:
        f.read()
def unlink(): os.unlink(p())
def rename(): os.rename(p(), p())
def exchange_dirs(): os.rename(dname(), dname())
def mkdir(): os.mkdir(dname())
def rmdir(): os.rmdir(dname())
def listdir():
    d = os.path.join(root, rnd.choice(dirs))
    names = os.listdir(d)
    if len(names) != len(set(names)):
        raise AssertionError("duplicate names in %s: %r" % (d, names))
def stat(): os.stat(p())
def chmod(): os.chmod(p(), rnd.choice([0o600, 0o644, 0o755]))
def link(): os.link(p(), p())
def truncate(): os.truncate(p(), rnd.randint(0, 5000))
def nested():
    d = dname()
    os.mkdir(d)
    with open(os.path.join(d, "inner"), "w") as f:
        f.write("i")

table = [create, append, read, read, unlink, rename, rename, exchange_dirs, mkdir, rmdir,
         listdir, stat, chmod, link, truncate, nested]
end = time.monotonic() + seconds
while time.monotonic() < end:
    op = rnd.choice(table)
    ops[op.__name__] = ops.get(op.__name__, 0) + 1
    try:
        op()
    except OSError as e:
        name = errno.errorcode.get(e.errno, str(e.errno))
        errors[name] = errors.get(name, 0) + 1
print(json.dumps({"ops": ops, "errors": errors}))
'''


def test_parallel_processes_in_shared_directories(tmpfs: Path) -> None:
    lower = {f"d{i}": {f"f{j}": f"lower {i} {j}" for j in range(8)} for i in range(4)}
    lower["d0"]["sub"] = {"f1": "deep"}  # type: ignore[index]
    layers = make_layers(tmpfs, lower, {"d1": {"f9": "l1", "n1": {"z": "z"}}, "f3": "top"})
    with ovlfuse(layers, "timeout=5") as m:
        start = time.monotonic()
        procs = [subprocess.Popen([PYTHON, "-c", WORKER, str(m), str(SECONDS), str(seed)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for seed in range(WORKERS)]
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=SECONDS + 120)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
        elapsed = time.monotonic() - start
        live = view(m)
    ops: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for result in results:
        ops.update(result["ops"])
        errors.update(result["errors"])
    total = sum(ops.values())
    print(f"\nstress: {WORKERS} processes, {elapsed:.1f} s, {total} operations "
          f"({total / elapsed:.0f} ops/s); errnos: {dict(errors)}; ops: {dict(ops)}")
    assert set(errors) <= EXPECTED, f"unexpected errnos: {set(errors) - EXPECTED}"
    assert layers.work is not None
    assert list((layers.work / "work").iterdir()) == []
    with kernel_overlay(layers) as m:
        assert view(m) == live
    with ovlfuse(layers) as m:
        assert view(m) == live
    assert layers.upper is not None
    assert dump_upper(layers.upper)  # something was written
