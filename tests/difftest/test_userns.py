"""The user-namespace target: a process that entered ``difftest.userns`` mounts the kernel
overlay as rootless engines do, and lacks what the model says it lacks.

Each check runs in a forked child (entering a user namespace cannot be undone); the child
reports what it saw through a pipe, and its mounts die with its mount namespace.  The
differential side (the ``userns`` preset agreeing with the model, and faults in its rules
being found) is in ``test_seeded_faults.py``; what is pinned down here is the mechanism and
the kernel behaviour the model's rules for it were measured from.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from difftest import realfs, userns

ROOT = Path(__file__).resolve().parents[2]


def in_child(body: Callable[[bytes], dict[str, Any]], where: Path) -> dict[str, Any]:
    """``body(scratch)`` in a forked child inside a fresh user namespace, on a tmpfs the child
    mounts at ``where``; its result (or its traceback) comes back as JSON."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(r)
        out: dict[str, Any]
        try:
            userns.enter()
            base = os.fsencode(where)
            realfs.mount(b"tmpfs", base, b"tmpfs", 0, b"mode=755")
            out = body(base)
        except BaseException:
            out = {"error": traceback.format_exc()}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(data)
    assert "error" not in result, result.get("error")
    return result


def _errno_of(call: Callable[[], object]) -> str:
    try:
        call()
    except OSError as e:
        return errno.errorcode[e.errno or 0]
    return "ok"


def _capabilities(base: bytes) -> dict[str, Any]:
    f = base + b"/f"
    with open(f, "wb") as fh:
        fh.write(b"x")
    return {
        "inside": userns.inside(),
        "uid": os.getuid(),
        "set_trusted": _errno_of(lambda: os.setxattr(f, b"trusted.t", b"1")),
        "set_user": _errno_of(lambda: os.setxattr(f, b"user.t", b"1")),
        "mknod_null": _errno_of(lambda: os.mknod(base + b"/null", 0o20666, os.makedev(1, 3))),
        "mknod_fifo": _errno_of(lambda: os.mknod(base + b"/fifo", 0o10666)),
        "chown_mapped": _errno_of(lambda: os.chown(f, 1000, 1000)),
        "chown_unmapped": _errno_of(lambda: os.chown(f, 70000, 70000)),
    }


@pytest.mark.privileged
def test_a_process_in_the_user_namespace_is_root_there_without_the_initial_capabilities(
    tmp_path: Path,
) -> None:
    seen = in_child(_capabilities, tmp_path)
    assert seen["inside"] and seen["uid"] == 0
    assert seen["set_trusted"] == "EPERM"  # capable(CAP_SYS_ADMIN), initial namespace
    assert seen["mknod_null"] == "EPERM"  # capable(CAP_MKNOD)
    assert seen["set_user"] == seen["mknod_fifo"] == seen["chown_mapped"] == "ok"
    assert seen["chown_unmapped"] == "EINVAL"  # ids past the map do not exist inside
    assert not userns.inside()  # the parent never moved


def _overlay(base: bytes) -> dict[str, Any]:
    lower, upper, work, merged = (base + n for n in (b"/l", b"/u", b"/w", b"/m"))
    for d in (lower, upper, work, merged):
        os.mkdir(d)
    for name in (b"f", b"g"):
        with open(lower + b"/" + name, "wb") as fh:
            fh.write(b"lower")
    os.mkfifo(lower + b"/p")
    os.chmod(lower + b"/g", 0o2755)
    opts = b"lowerdir=%s,upperdir=%s,workdir=%s" % (lower, upper, work)
    without = _errno_of(lambda: realfs.mount(b"overlay", merged, b"overlay", 0,
                                             opts + b",redirect_dir=on,userxattr"))  # fmt: skip
    realfs.mount(b"overlay", merged, b"overlay", 0, opts + b",userxattr")
    lower_ino = os.stat(lower + b"/f").st_ino
    os.chmod(merged + b"/f", 0o600)
    os.chown(merged + b"/p", 0, 0)
    fd = os.open(merged + b"/g", os.O_WRONLY)
    os.write(fd, b"w")
    os.close(fd)
    seen = {
        "conflict": without,
        "upper_f": sorted(n for n in os.listxattr(upper + b"/f")),
        "origin_value": os.getxattr(upper + b"/f", b"user.overlay.origin").hex(),
        "upper_p": os.listxattr(upper + b"/p", follow_symlinks=False),
        "set_private": _errno_of(lambda: os.setxattr(merged + b"/f", b"user.overlay.x", b"1")),
        "upper_after_set": sorted(os.listxattr(upper + b"/f")),
        "listed": sorted(os.listxattr(merged + b"/f")),
        "set_trusted": _errno_of(lambda: os.setxattr(merged + b"/f", b"trusted.x", b"1")),
        "g_mode": oct(os.stat(merged + b"/g").st_mode & 0o7777),
        "ino_before": os.stat(merged + b"/f").st_ino == lower_ino,
    }
    realfs.umount2(merged)
    realfs.mount(b"overlay", merged, b"overlay", 0, opts + b",userxattr")
    seen["ino_after_remount"] = os.stat(merged + b"/f").st_ino == lower_ino
    realfs.umount2(merged)
    return seen


@pytest.mark.privileged
def test_the_kernel_overlay_in_a_user_namespace_keeps_its_xattrs_in_user_overlay(
    tmp_path: Path,
) -> None:
    """What the model's ``userns`` rules were measured from (6.18): a copy-up records an
    empty ``user.overlay.origin`` (no file handle can be decoded without the initial
    CAP_DAC_READ_SEARCH), so st_ino is the lower's until a remount; a FIFO gets none (no
    ``user.*`` xattr on it); ``user.overlay.x`` through the overlay is stored escaped and
    listed as given; trusted.* is EPERM; a write by the namespace's root kills setgid."""
    seen = in_child(_overlay, tmp_path)
    assert seen["conflict"] == "EINVAL"  # userxattr with redirect_dir=on
    assert seen["upper_f"] == ["user.overlay.origin"]
    assert seen["origin_value"] == ""
    assert seen["upper_p"] == []
    assert seen["set_private"] == "ok"
    assert "user.overlay.overlay.x" in seen["upper_after_set"]
    assert seen["listed"] == ["user.overlay.x"]
    assert seen["set_trusted"] == "EPERM"
    assert seen["g_mode"] == "0o755"
    assert seen["ino_before"] and not seen["ino_after_remount"]


@pytest.mark.privileged
def test_difftest_runs_the_userns_preset_in_a_worker_and_agrees(tmp_path: Path) -> None:
    """``--config userns`` (one process asked for) runs in a worker that entered the user
    namespace, and the kernel there agrees with the model's userns rules; the tester's own
    process and the machine keep no mount of it."""
    before = realfs.mounts()
    proc = subprocess.run(
        [sys.executable, "-m", "difftest", "--target", "kernel", "--config", "userns",
         "--examples", "60", "--seed", "2", "--no-db", "-q", "--json", str(tmp_path / "s.json"),
         "--report-dir", str(tmp_path / "reports")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run,) = json.loads((tmp_path / "s.json").read_text())["runs"]
    assert run["config"] == "userns" and run["agreed"] and run["examples"] >= 60, run
    assert realfs.mounts() == before


@pytest.mark.privileged
def test_replay_of_a_userns_case_runs_inside_a_user_namespace(tmp_path: Path) -> None:
    """A saved case of the ``userns`` preset replays where it ran: root's trusted.* xattr is
    EPERM for the model there, and the kernel agrees only from inside a user namespace
    (outside it, root may set one and the replay would exit 1)."""
    saved = ROOT / "reports" / "ovlfuse-userns-20261205" / "security-xattr-eperm"
    case = json.loads((saved / "report.json").read_text())
    step = case["steps"][0]
    step["op"]["name"] = {"hex": b"trusted.t".hex()}
    case["steps"], case["targets"] = [step], ["kernel"]
    (tmp_path / "case").mkdir()
    (tmp_path / "case" / "report.json").write_text(json.dumps(case))
    proc = subprocess.run(
        [sys.executable, "-m", "difftest", "replay", str(tmp_path / "case")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "EPERM" in proc.stdout and "agree" in proc.stdout


def _ovlfuse_handle_after_rename(base: bytes) -> dict[str, Any]:
    lower, upper, work, merged = (base + n for n in (b"/l", b"/u", b"/w", b"/m"))
    for d in (lower, upper, work, merged):
        os.mkdir(d)
    os.mkdir(lower + b"/a")
    with open(lower + b"/a/y", "wb") as fh:
        fh.write(b"lower")
    opts = b"lowerdir=%s,upperdir=%s,workdir=%s,userxattr,exact" % (lower, upper, work)
    daemon = subprocess.Popen([str(Path(sys.executable).parent / "ovlfuse"), "-f", "-o",
                               os.fsdecode(opts), os.fsdecode(merged)])  # fmt: skip
    try:
        for _ in range(100):
            if os.path.ismount(merged):
                break
            time.sleep(0.05)
        lower_ino = os.lstat(merged + b"/a/y").st_ino
        fd = os.open(merged + b"/a/y", os.O_RDONLY)
        os.rename(merged + b"/a/y", merged + b"/y")  # copies up; the origin is undecodable
        seen: dict[str, Any] = {"same_ino": os.lstat(merged + b"/y").st_ino == lower_ino}
        seen["read"] = _errno_of(lambda: os.pread(fd, 5, 0))
        os.close(fd)
    finally:
        subprocess.run(["fusermount3", "-u", os.fsdecode(merged)], check=False)
        daemon.wait(timeout=30)
    return seen


@pytest.mark.privileged
def test_ovlfuse_in_a_user_namespace_keeps_a_renamed_files_node_under_its_new_name(
    tmp_path: Path,
) -> None:
    """Inside a user namespace ovlfuse cannot decode the origin it wrote (no
    open_by_handle_at), so looking up a file's new name after a rename copied it up found
    only its upper object; it made a new node there, and the old node, which an open
    handle held, kept a stale path: the handle's next read was ENOENT.  The name's node now
    stays, with the lower's inode number, as the kernel's dentry does (found by difftest,
    reports/ovlfuse-userns-20261205)."""
    seen = in_child(_ovlfuse_handle_after_rename, tmp_path)
    assert seen == {"same_ino": True, "read": "ok"}
