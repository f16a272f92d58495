"""Permission results for a non-root user equal the kernel overlay's (allow_other and
default_permissions; the daemon works as root and gives new objects to the caller)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ovlfuse_testlib import Layers, dump_upper, kernel_overlay, make_layers, ovlfuse, run_as, view

pytestmark = pytest.mark.privileged

USER = 1000

SCRIPT = r'''
import errno, json, os, sys
m = sys.argv[1]
results = []
def attempt(name, fn, *args):
    try:
        fn(*args)
        results.append([name, "ok"])
    except OSError as e:
        results.append([name, errno.errorcode[e.errno]])
def write(path, data=b"x", flags=os.O_WRONLY | os.O_CREAT):
    fd = os.open(path, flags, 0o644)
    os.write(fd, data)
    os.close(fd)
def read(path):
    with open(path, "rb") as f:
        f.read()
attempt("read secret", read, m + "/secret")
attempt("read public", read, m + "/public")
attempt("write public", write, m + "/public")
attempt("write shared", write, m + "/shared", b"y", os.O_WRONLY | os.O_APPEND)
attempt("create in root dir", write, m + "/rootdir/new")
attempt("create in tmp", write, m + "/tmp/mine")
attempt("create in own dir", write, m + "/own/new")
attempt("mkdir in own dir", os.mkdir, m + "/own/sub")
attempt("unlink other in sticky tmp", os.unlink, m + "/tmp/others")
attempt("unlink own in sticky tmp", os.unlink, m + "/tmp/mine")
attempt("unlink in root dir", os.unlink, m + "/rootdir/f")
attempt("chmod other", os.chmod, m + "/public", 0o777)
attempt("chmod own", os.chmod, m + "/own/file", 0o600)
attempt("chown own to root", os.chown, m + "/own/file", 0, 0)
attempt("utime other now", os.utime, m + "/shared", None)
attempt("utime other explicit", os.utime, m + "/shared", (1, 1))
attempt("truncate secret", os.truncate, m + "/secret", 0)
attempt("trusted xattr", os.setxattr, m + "/own/file", "trusted.x", b"1")
attempt("user xattr own", os.setxattr, m + "/own/file", "user.x", b"1")
attempt("user xattr other", os.setxattr, m + "/public", "user.x", b"1")
attempt("rename own", os.rename, m + "/own/file", m + "/own/file2")
attempt("rename out of root dir", os.rename, m + "/rootdir/f", m + "/tmp/f")
attempt("list secret dir", os.listdir, m + "/secretdir")
attempt("enter secret dir", os.stat, m + "/secretdir/inner")
attempt("rmdir own sub", os.rmdir, m + "/own/sub")
attempt("link other into tmp", os.link, m + "/public", m + "/tmp/hard")
results.append(["access W public", os.access(m + "/public", os.W_OK)])
results.append(["access R secret", os.access(m + "/secret", os.R_OK)])
print(json.dumps(results))
'''

TREE = {
    "secret": "s", "public": "p", "shared": "sh",
    "rootdir": {"f": "f"}, "tmp": {"others": "o"}, "own": {"file": "mine"},
    "secretdir": {"inner": "i"},
}


def _layers(base: Path, name: str) -> Layers:
    layers = make_layers(base, TREE, name=name)
    low = layers.lowers[0]
    os.chmod(low / "secret", 0o600)
    os.chmod(low / "shared", 0o666)
    os.chmod(low / "tmp", 0o1777)
    os.chown(low / "tmp" / "others", 1001, 1001)
    os.chown(low / "own", USER, USER)
    os.chown(low / "own" / "file", USER, USER)
    os.chmod(low / "secretdir", 0o700)
    return layers


def test_non_root_permission_results_match_the_kernel(public_tmpfs: Path) -> None:
    results = {}
    uppers = {}
    views = {}
    for target in ("kernel", "ovlfuse"):
        layers = _layers(public_tmpfs, target)
        mount = kernel_overlay(layers) if target == "kernel" else ovlfuse(layers)
        with mount as m:
            res = run_as(USER, USER, SCRIPT, str(m))
            assert res.returncode == 0, res.stderr
            results[target] = json.loads(res.stdout)
            views[target] = view(m, with_ino=False)
        assert layers.upper is not None
        uppers[target] = {k: v for k, v in dump_upper(layers.upper).items()}
    for (name, kernel), (_, ours) in zip(results["kernel"], results["ovlfuse"], strict=True):
        assert ours == kernel, f"{name}: kernel {kernel}, ovlfuse {ours}"
    assert views["ovlfuse"] == views["kernel"]
    assert uppers["ovlfuse"] == uppers["kernel"]
