"""Live remount read-only and read-write (issue 14): the model's rules, checked against the
kernel overlay and ovlfuse step by step, with handles kept open across the remount.

Rules (``sb_prepare_remount_readonly``, ``ovl_reconfigure``; each case checked on 6.18):
remount,ro is EBUSY while a regular file is open for writing or an open file holds an object
whose last overlay link is gone; afterwards writes are EROFS, open read handles still read,
and remount,rw gives the writes back.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from difftest import ops
from difftest.example import run_program
from difftest.scratch import Scratch
from difftest.session import PRESETS, Session
from model.config import Config
from model.errors import OvlError
from model.overlay import Overlay
from model.spec import Entry, LayersSpec

SPEC = LayersSpec(
    lowers=((
        Entry(b"a", "reg", 0o644, data=b"lower a\n"),
        Entry(b"h1", "reg", 0o644, data=b"linked\n"),
        Entry(b"h2", "hardlink", target=b"h1"),
        Entry(b"d", "dir", 0o755),
        Entry(b"p", "fifo", 0o644),
    ),),
    upper=(
        Entry(b"u", "reg", 0o644, data=b"upper u\n"),
        Entry(b"u2", "hardlink", target=b"u"),
    ),
)

# (name, program): the model's outcome of every step must be what each target gives
PROGRAMS = {
    "ro with a file open for writing is EBUSY; after close it works": [
        ops.Open(b"/u", os.O_WRONLY), ops.RemountRo(), ops.Close(0), ops.RemountRo(),
        ops.Mkdir(b"/new", 0o755), ops.Chmod(b"/a", 0o600), ops.Open(b"/a", os.O_RDWR),
        ops.RemountRw(), ops.Mkdir(b"/new", 0o755),
    ],
    "a read handle keeps reading across ro and rw; a write through it is EBADF": [
        ops.Open(b"/a", os.O_RDONLY), ops.RemountRo(), ops.Pread(0, 20, 0),
        ops.Truncate(b"/a", 0), ops.RemountRw(), ops.Truncate(b"/a", 1), ops.Pread(0, 20, 0),
    ],
    "an open file unlinked keeps ro EBUSY until it is closed": [
        ops.Open(b"/a", os.O_RDONLY), ops.Unlink(b"/a"), ops.RemountRo(), ops.Close(0),
        ops.RemountRo(), ops.RemountRw(),
    ],
    "an open upper file that keeps a second name is not busy": [
        ops.Open(b"/u", os.O_RDONLY), ops.Unlink(b"/u2"), ops.RemountRo(), ops.RemountRw(),
    ],
    "an open directory removed, or a file renamed over, keeps ro busy": [
        ops.Open(b"/d", os.O_RDONLY | os.O_DIRECTORY), ops.Rmdir(b"/d"), ops.RemountRo(),
        ops.Close(0), ops.Open(b"/u", os.O_RDONLY), ops.Rename(b"/a", b"/u"),
        ops.RemountRo(), ops.Close(1), ops.RemountRo(), ops.Open(b"/u", os.O_RDONLY),
    ],
    "a FIFO open for writing takes no write access of the mount": [
        ops.Open(b"/p", os.O_RDWR), ops.RemountRo(), ops.Write(0, b"x"), ops.RemountRw(),
    ],
    "a full remount keeps the read-only state": [
        ops.RemountRo(), ops.Remount(), ops.Mkdir(b"/new", 0o755), ops.RemountRw(),
        ops.Remount(), ops.Mkdir(b"/new", 0o755),
    ],
}


def _errno(fn: object, *args: object) -> int:
    try:
        fn(*args)  # type: ignore[operator]
    except OvlError as e:
        return e.errno
    return 0


def test_the_model_refuses_ro_while_a_file_is_open_for_writing_and_refuses_rw_without_upper(
) -> None:  # fmt: skip
    o = Overlay.from_spec(SPEC, Config())
    fd = o.open(b"/u", os.O_WRONLY, 0)
    assert _errno(o.reconfigure, True) == errno.EBUSY
    o.close(fd)
    assert _errno(o.reconfigure, True) == 0
    assert _errno(o.mkdir, b"/x", 0o755) == errno.EROFS
    assert o.statfs(b"/").readonly
    assert _errno(o.reconfigure, False) == 0 and _errno(o.mkdir, b"/x", 0o755) == 0
    lowers_only = Overlay.from_spec(LayersSpec(lowers=(*SPEC.lowers, ()), upper=None), Config())
    assert _errno(lowers_only.reconfigure, False) == errno.EROFS
    assert _errno(lowers_only.reconfigure, True) == 0


@pytest.mark.privileged
@pytest.mark.parametrize("target", ["kernel", "fuse"])
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_live_remount_agrees_with_the_model(target: str, name: str, umask_zero: None) -> None:
    with Scratch() as scratch:
        record = run_program(Session(PRESETS["default"], [target], scratch), SPEC,
                             PROGRAMS[name])  # fmt: skip
    assert record.divergence is None, record.divergence
    assert len(record.steps) == len(PROGRAMS[name])


# With index=off each name of a lower hard link is an overlay inode of its own with one link,
# whatever nlink stat shows (the lower file's): unlinking an open one leaves the kernel
# busy.  A FUSE inode's link count is the one stat shows, so FUSE drops it to 1 and the VFS
# lets remount,ro through (deviation "ro-after-unlinking-an-open-lower-hard-link", found
# 2026-12-05 by this program; the VFS never asks the daemon, so ovlfuse cannot refuse).
LOWER_HARD_LINK = [ops.Open(b"/h1", os.O_RDONLY), ops.Unlink(b"/h1"), ops.RemountRo()]


@pytest.mark.privileged
def test_the_kernel_keeps_ro_busy_after_unlinking_an_open_lower_hard_link(
    umask_zero: None,
) -> None:
    with Scratch() as scratch:
        record = run_program(Session(PRESETS["default"], ["kernel"], scratch), SPEC,
                             LOWER_HARD_LINK)  # fmt: skip
    assert record.divergence is None, record.divergence
    assert record.steps[-1].outcomes["kernel"].errnos == frozenset({errno.EBUSY})


@pytest.mark.privileged
def test_fuse_lets_ro_through_after_unlinking_an_open_lower_hard_link(umask_zero: None) -> None:
    """The deviation above, pinned: if it goes, the model's rule can cover FUSE too."""
    with Scratch() as scratch:
        record = run_program(Session(PRESETS["default"], ["fuse"], scratch), SPEC,
                             LOWER_HARD_LINK)  # fmt: skip
    d = record.divergence
    assert d is not None and (d.step, d.op, d.expected, d.actual) == (
        3, ops.RemountRo(), "EBUSY", "ok"), d


@pytest.mark.privileged
def test_the_kernel_refuses_remount_rw_of_an_overlay_without_upper(umask_zero: None) -> None:
    with Scratch() as scratch:
        record = run_program(Session(PRESETS["no-upper"], ["kernel"], scratch),
                             LayersSpec(lowers=(*SPEC.lowers, ()), upper=None),
                             [ops.RemountRw(), ops.RemountRo(), ops.RemountRw()])  # fmt: skip
    assert record.divergence is None, record.divergence
    assert record.steps[0].outcomes["kernel"].errnos == frozenset({errno.EROFS})


@pytest.mark.privileged
def test_reproducers_remount_the_live_mount_and_keep_handles(tmp_path, umask_zero: None) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from difftest.repro import render_repro_py, render_repro_sh

    program = PROGRAMS["an open file unlinked keeps ro EBUSY until it is closed"]
    with Scratch() as scratch:
        record = run_program(Session(PRESETS["default"], ["kernel"], scratch), SPEC, program)
    (tmp_path / "repro.py").write_text(render_repro_py(record, PRESETS["default"]))
    (tmp_path / "repro.sh").write_text(render_repro_sh(record, PRESETS["default"]))
    py = subprocess.run([sys.executable, str(tmp_path / "repro.py")], capture_output=True,
                        text=True, timeout=120, check=False)  # fmt: skip
    assert py.returncode == 0, py.stdout + py.stderr
    assert "EBUSY" in py.stdout, py.stdout
    sh = subprocess.run(["bash", str(tmp_path / "repro.sh")], capture_output=True, text=True,
                        timeout=120, check=False)  # fmt: skip
    assert 'mount -o remount,ro' in (tmp_path / "repro.sh").read_text()
    assert "--- step 6" in sh.stdout, sh.stdout + sh.stderr


@pytest.mark.privileged
def test_the_live_remount_configs_draw_live_remounts_on_ovlfuse(tmp_path: Path) -> None:
    """The rule runs with FUSE targets only in the live-remount configs (other configs keep
    their fixed-seed examples); there it is drawn, and ovlfuse agrees."""
    out = tmp_path / "summary.json"
    res = subprocess.run(
        [sys.executable, "-m", "difftest", "--target", "fuse", "-c", "live-remount",
         "--examples", "40", "--steps", "12", "--seed", "1", "--no-db", "--no-shrink", "-q",
         "--report-dir", str(tmp_path / "reports"), "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    run = json.loads(out.read_text())["runs"][0]
    assert run["events"].get("remount-live", 0) > 0, run["events"]
