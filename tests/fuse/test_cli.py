"""The ovlfuse command: bad input (one-line messages, exit status, nothing mounted),
daemonizing only once mounted, and clean exits on unmount and signals."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from ovlfuse_testlib import OVLFUSE, REPO, make_layers, mounted, scratch, start_ovlfuse, umount

pytestmark = pytest.mark.privileged


def run_ovlfuse(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OVLFUSE, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)


def expect_error(status: int, message: str, *args: str) -> None:
    res = run_ovlfuse(*args)
    assert res.returncode == status, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("ovlfuse: ") and message in lines[0], lines[0]
    assert not mounted(args[-1]) if args and os.path.isdir(args[-1]) else True


@pytest.fixture
def dirs(tmpfs: Path) -> dict[str, Path]:
    paths = {name: tmpfs / name for name in ("l1", "l2", "u", "w", "m")}
    for path in paths.values():
        path.mkdir()
    (tmpfs / "file").write_text("x")
    paths["file"] = tmpfs / "file"
    return paths


def test_unknown_option_is_usage_error(dirs: dict[str, Path]) -> None:
    expect_error(2, "unknown mount option 'bogus'",
                 "-o", f"lowerdir={dirs['l1']}:{dirs['l2']},bogus", str(dirs["m"]))


def test_missing_lowerdir_is_usage_error(dirs: dict[str, Path]) -> None:
    expect_error(2, "missing option 'lowerdir'", "-o", f"upperdir={dirs['u']}", str(dirs["m"]))


def test_bad_option_values_are_usage_errors(dirs: dict[str, Path]) -> None:
    lower = f"lowerdir={dirs['l1']}:{dirs['l2']}"
    expect_error(2, "bad value 'sideways' for option 'redirect_dir'",
                 "-o", f"{lower},redirect_dir=sideways", str(dirs["m"]))
    expect_error(2, "option 'nfs_export=on' is not supported", "-o", f"{lower},nfs_export=on",
                 str(dirs["m"]))
    expect_error(2, "option 'timeout' needs a number", "-o", f"{lower},timeout=soon",
                 str(dirs["m"]))


def test_upper_without_workdir_is_usage_error(dirs: dict[str, Path]) -> None:
    expect_error(2, "option 'upperdir' needs 'workdir'",
                 "-o", f"lowerdir={dirs['l1']},upperdir={dirs['u']}", str(dirs["m"]))


def test_single_lower_without_upper_is_refused(dirs: dict[str, Path]) -> None:
    expect_error(2, "at least 2 lowerdir are needed", "-o", f"lowerdir={dirs['l1']}",
                 str(dirs["m"]))


def test_missing_mountpoint_argument(dirs: dict[str, Path]) -> None:
    expect_error(2, "missing mountpoint", "-o", f"lowerdir={dirs['l1']}:{dirs['l2']}")


def test_missing_layer_directory(dirs: dict[str, Path]) -> None:
    missing = dirs["l1"].parent / "nope"
    expect_error(1, f"lowerdir '{missing}': No such file or directory",
                 "-o", f"lowerdir={missing}:{dirs['l2']}", str(dirs["m"]))
    expect_error(1, "upperdir", "-o",
                 f"lowerdir={dirs['l1']},upperdir={missing},workdir={dirs['w']}", str(dirs["m"]))


def test_layer_that_is_not_a_directory(dirs: dict[str, Path]) -> None:
    expect_error(1, f"lowerdir '{dirs['file']}' is not a directory",
                 "-o", f"lowerdir={dirs['file']}:{dirs['l2']}", str(dirs["m"]))


def test_lowerdir_equal_to_upperdir(dirs: dict[str, Path]) -> None:
    expect_error(1, f"lowerdir '{dirs['u']}' is the same as upperdir",
                 "-o", f"lowerdir={dirs['u']},upperdir={dirs['u']},workdir={dirs['w']}",
                 str(dirs["m"]))


def test_lowerdir_inside_upperdir(dirs: dict[str, Path]) -> None:
    inner = dirs["u"] / "inner"
    inner.mkdir()
    expect_error(1, f"lowerdir '{inner}' is inside upperdir",
                 "-o", f"lowerdir={inner},upperdir={dirs['u']},workdir={dirs['w']}",
                 str(dirs["m"]))


def test_same_lower_twice(dirs: dict[str, Path]) -> None:
    expect_error(1, f"lowerdir '{dirs['l1']}' is listed twice",
                 "-o", f"lowerdir={dirs['l1']}:{dirs['l1']}", str(dirs["m"]))


def test_lower_inside_an_earlier_lower(dirs: dict[str, Path]) -> None:
    inner = dirs["l1"] / "sub"
    inner.mkdir()
    expect_error(1, f"lowerdir '{inner}' is inside lowerdir '{dirs['l1']}'",
                 "-o", f"lowerdir={dirs['l1']}:{inner}", str(dirs["m"]))


def test_workdir_inside_or_equal_to_upperdir(dirs: dict[str, Path]) -> None:
    inner = dirs["u"] / "work"
    inner.mkdir()
    for work in (inner, dirs["u"]):
        expect_error(1, "must be separate subtrees",
                     "-o", f"lowerdir={dirs['l1']},upperdir={dirs['u']},workdir={work}",
                     str(dirs["m"]))


def test_workdir_on_another_filesystem(dirs: dict[str, Path]) -> None:
    with scratch(size="1m") as other:
        expect_error(1, "must be on the same mount",
                     "-o", f"lowerdir={dirs['l1']},upperdir={dirs['u']},workdir={other}",
                     str(dirs["m"]))


def test_mountpoint_that_does_not_exist(dirs: dict[str, Path]) -> None:
    expect_error(1, "mountpoint", "-o", f"lowerdir={dirs['l1']}:{dirs['l2']}",
                 str(dirs["m"] / "nope"))


def test_background_mode_returns_once_the_mount_is_live(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"hello": "world"})
    res = run_ovlfuse("-o", layers.options(), str(layers.mnt))
    try:
        assert res.returncode == 0, res.stderr
        assert res.stderr == ""
        assert mounted(layers.mnt)
        assert (layers.mnt / "hello").read_text() == "world"
        pid = _daemon_pid(layers.mnt)
        assert pid is not None
    finally:
        umount(layers.mnt)
    _wait_gone(pid)


def test_background_mode_reports_a_failed_mount(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    res = run_ovlfuse("-o", layers.options("max_read=notanumber"), str(layers.mnt))
    assert res.returncode == 1
    assert "mounting" in res.stderr and "failed" in res.stderr
    assert not mounted(layers.mnt)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_unmount_and_exit_cleanly(tmpfs: Path, signum: int) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    daemon = start_ovlfuse(layers.mnt, layers.options())
    try:
        assert (layers.mnt / "f").read_text() == "x"
        daemon.proc.send_signal(signum)
        assert daemon.proc.wait(20) == 0, daemon.stderr()
        assert not mounted(layers.mnt)
    finally:
        daemon.proc.kill()
        umount(layers.mnt)


def test_external_unmount_ends_the_daemon(tmpfs: Path) -> None:
    layers = make_layers(tmpfs, {"f": "x"})
    daemon = start_ovlfuse(layers.mnt, layers.options())
    assert daemon.stop() == 0


def _daemon_pid(mnt: Path) -> int | None:
    needle = str(mnt).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if needle in args and any(b"fuse_impl.main" in a for a in args):
            return int(entry)
    return None


def _wait_gone(pid: int | None, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while pid is not None and os.path.exists(f"/proc/{pid}"):
        with open(f"/proc/{pid}/stat") as f:
            if f.read().split()[2] == "Z":
                return
        assert time.monotonic() < deadline, "daemon did not exit after unmount"
        time.sleep(0.01)
