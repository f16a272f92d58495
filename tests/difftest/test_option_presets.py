"""The xino, volatile and fsconfig presets reach the kernel and ovlfuse, and the model says
what they do.

Issue 15's options beyond redirect_dir: ``xino=on|auto`` on one filesystem and on layers that
span several (``split-fs+xino=...``), ``volatile``, and layers mounted through the new mount
API with paths that need escaping (``fsconfig``).  The differential runs compare inode
identity and devices as classes; these tests pin down the raw values the classes stand for
(the fsid in st_ino's high bits, the marker a volatile mount leaves) on real mounts.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from difftest import ops, realfs
from difftest.example import run_program
from difftest.layers import ODD_SUFFIX
from difftest.runconfig import PRESETS
from difftest.scratch import Scratch
from difftest.session import Session
from difftest.strategies import with_data_layer
from difftest.targets import make_target, teardown_target
from model.inode import xino_bits
from model.overlay import Overlay
from model.spec import Entry, LayersSpec
from model.types import Cred, DirEntry

Make = Callable[[str, str], tuple[object, Overlay]]

SPEC = LayersSpec(
    lowers=(
        (Entry(b"d", "dir"), Entry(b"d/top", "reg", data=b"1"), Entry(b"a", "reg", data=b"a"),
         Entry(b"only1", "dir")),
        (Entry(b"d", "dir"), Entry(b"d/low", "reg", data=b"2"), Entry(b"b", "reg", data=b"b"),
         Entry(b"only2", "dir")),
    ),
    upper=(Entry(b"c", "reg", data=b"c"), Entry(b"u", "dir")),
)  # fmt: skip
PATHS = [b"/", b"/a", b"/b", b"/c", b"/d", b"/d/top", b"/d/low", b"/only1", b"/only2", b"/u"]


@pytest.fixture
def make() -> Iterator[Make]:
    """(a real target of ``SPEC`` in a preset, the model of the same) for (target, preset)."""
    made: list[object] = []
    with Scratch() as scratch:

        def _make(target: str, preset: str) -> tuple[object, Overlay]:
            rc = PRESETS[preset]
            t = make_target(target, scratch, SPEC, rc.config, rc.split_fs, rc.new_api)
            made.append(t)
            return t, Overlay.from_spec(SPEC, rc.config, samefs=not rc.split_fs)

        try:
            yield _make
        finally:
            for t in made:
                teardown_target(t)
    assert not realfs.mounts_under(os.fsdecode(scratch.path))


def _model_stat(m: Overlay, path: bytes) -> tuple[int, int]:
    st = m.lstat(path)
    return st.ino, st.dev


@pytest.mark.privileged
@pytest.mark.parametrize("xino", ["on", "auto"])
def test_xino_on_several_filesystems_puts_the_fsid_in_the_high_bits(make: Make,
                                                                     xino: str) -> None:
    """With each layer on a filesystem of its own, xino=on and xino=auto (tmpfs has file
    handles) give every object the overlay's device and an st_ino whose high bits hold the
    fsid of the filesystem the number comes from (upper 0, lowers 1 and 2; three fsid bits
    for three filesystems), the same fsid the model computes; directories keep their number
    across a remount.  A dmesg line of the kernel says how many bits it uses."""
    t, m = make("kernel", f"split-fs+xino={xino}")
    shift = 65 - xino_bits(m.fs)
    assert xino_bits(m.fs) == 3
    real = {p: t.lstat(p) for p in PATHS}  # type: ignore[attr-defined]
    assert {st.dev for st in real.values()} == {real[b"/"].dev}
    for p in PATHS:
        ino, dev = _model_stat(m, p)
        assert dev == 0, p
        assert real[p].ino >> shift == ino >> shift, (p, hex(real[p].ino), hex(ino))
    assert {real[p].ino >> shift for p in PATHS} == {0, 1, 2}
    t.chmod(b"/a", 0o600)  # type: ignore[attr-defined]
    m.chmod(b"/a", 0o600)
    assert t.lstat(b"/a").ino == real[b"/a"].ino  # type: ignore[attr-defined]
    t.remount()  # type: ignore[attr-defined]
    for p in (b"/d", b"/only1", b"/only2"):
        assert t.lstat(p).ino == real[p].ino, p  # type: ignore[attr-defined]


@pytest.mark.privileged
def test_without_xino_several_filesystems_give_files_their_layers_devices(make: Make) -> None:
    """The control of the test above: split-fs with xino=off gives lower and upper files
    devices of their own, and the model says so (``st_dev`` 1 + the layer's idx)."""
    t, m = make("kernel", "split-fs")
    real = {p: t.lstat(p) for p in (b"/", b"/a", b"/b", b"/c")}  # type: ignore[attr-defined]
    assert len({st.dev for st in real.values()}) == 4
    assert [_model_stat(m, p)[1] for p in (b"/", b"/a", b"/b", b"/c")] == [0, 2, 3, 1]


@pytest.mark.privileged
@pytest.mark.parametrize("target", ["kernel", "fuse"])
@pytest.mark.parametrize(("xino", "opaque"), [("on", True), ("auto", False), ("off", False)])
def test_mkdir_in_a_merged_dir_is_opaque_with_xino_on_even_on_one_filesystem(
    make: Make, target: str, xino: str, opaque: bool
) -> None:
    """xino=on is ignored on one filesystem (every number is the real one) but still
    forbids offline changes to the lowers (``ovl_allow_offline_changes``), so a new
    directory in a merged one is made opaque; xino=auto does not count there."""
    t, m = make(target, "default" if xino == "off" else f"xino={xino}")
    t.mkdir(b"/d/new", 0o755)  # type: ignore[attr-defined]
    m.mkdir(b"/d/new", 0o755)
    got = t.upper_dump()[b"/d/new"].opaque  # type: ignore[attr-defined]
    assert bool(got) is opaque
    assert bool(m.upper_dump()[b"/d/new"].opaque) is opaque
    real_ino = os.lstat(t.dirs.lowers[0] + b"/a").st_ino  # type: ignore[attr-defined]
    assert t.lstat(b"/a").ino == real_ino  # type: ignore[attr-defined]


@pytest.mark.privileged
@pytest.mark.parametrize("target", ["kernel", "fuse"])
def test_a_volatile_mount_leaves_a_marker_that_refuses_the_next_mount(make: Make,
                                                                      target: str) -> None:
    """A volatile mount leaves ``work/incompat/volatile/`` after a clean umount; while it is
    there the next mount of the workdir fails (the kernel: EINVAL, "overlay with incompat
    feature 'volatile' cannot be mounted"; ovlfuse refuses too); removed, the mount works.
    The target's remount reports the marker (as the model's does) and removes it."""
    t, m = make(target, "volatile")
    assert m.remount() == ("volatile",)
    t._umount()  # type: ignore[attr-defined]
    t.mounted = False  # type: ignore[attr-defined]
    work = t.dirs.work  # type: ignore[attr-defined]
    assert os.listdir(os.path.join(work, b"work", b"incompat")) == [b"volatile"]
    with pytest.raises(OSError) as info:
        t._mount()  # type: ignore[attr-defined]
    assert info.value.errno == errno.EINVAL or target == "fuse", info.value
    assert t.take_incompat() == ("volatile",)  # type: ignore[attr-defined]
    t.mount()  # type: ignore[attr-defined]
    assert t.remount() == ("volatile",)  # type: ignore[attr-defined]
    assert t.lstat(b"/c").size == 1  # type: ignore[attr-defined]


@pytest.mark.privileged
def test_without_volatile_the_workdir_holds_no_incompat_marker(make: Make) -> None:
    t, m = make("kernel", "default")
    assert t.remount() is None and m.remount() is None  # type: ignore[attr-defined]


@pytest.mark.privileged
@pytest.mark.parametrize("target", ["kernel", "fuse"])
def test_the_fsconfig_preset_mounts_layers_whose_paths_need_escaping(make: Make,
                                                                     target: str) -> None:
    """Preset ``fsconfig``: every layer directory's name holds a space, ``,`` ``:`` ``=``
    and ``\\``.  The kernel takes them through the new mount API (``lowerdir+`` as given,
    ``upperdir``/``workdir`` with the backslash doubled: measured, see difftest.newmount);
    ovlfuse through its escaped ``-o`` string, as mount(8) would pass it.  The overlay works
    and keeps its upper layer across a remount."""
    t, m = make(target, "fsconfig")
    dirs = t.dirs  # type: ignore[attr-defined]
    assert all(d.endswith(ODD_SUFFIX) for d in (*dirs.lowers, dirs.upper, dirs.work))
    with open("/proc/self/mountinfo", "rb") as f:
        line = next(ln for ln in f if ln.split()[4] == t.mountpoint)  # type: ignore[attr-defined]
    assert (b"lowerdir+=" in line) == (target == "kernel"), line
    for target in (t, m):
        target.mkdir(b"/d/new", 0o700)  # type: ignore[attr-defined]
        target.chmod(b"/b", 0o600)  # type: ignore[attr-defined]
    t.remount()  # type: ignore[attr-defined]
    got = {p: e.kind for p, e in t.upper_dump().items()}  # type: ignore[attr-defined]
    assert got == {p: e.kind for p, e in m.upper_dump().items()}
    assert _names(t.readdir(b"/d")) == {b"top", b"low", b"new"}  # type: ignore[attr-defined]


def _names(entries: list[DirEntry]) -> set[bytes]:
    return {e.name for e in entries} - {b".", b".."}


PLAIN_SPEC = LayersSpec(
    lowers=((Entry(b"a", "reg", data=b"top"),),
            (Entry(b"f", "reg", data=b"hello"), Entry(b"d", "dir"),
             Entry(b"d/g", "reg", data=b"x", size=10))),
    upper=(),
)  # fmt: skip
DATA_SPEC = with_data_layer(PLAIN_SPEC)
DATA_PROGRAM = [
    ops.Open(b"/f", os.O_RDONLY), ops.Read(0, 100), ops.Close(0), ops.Chmod(b"/d/g", 0o600),
    ops.Rename(b"/f", b"/d/f2"), ops.Remount(), ops.Open(b"/d/f2", os.O_RDONLY),
    ops.Read(1, 100),
]  # fmt: skip


@pytest.mark.privileged
@pytest.mark.parametrize("preset", ["data-only", "data-only+metacopy=on", "data-only+fsconfig",
                                    "volatile"])
def test_data_only_and_volatile_cases_replay_and_their_reproducers_run(
    tmp_path: Path, preset: str
) -> None:
    """The bottom lower's files are metacopy files with their data in a data-only layer
    (``with_data_layer``): the kernel reads the data through the redirects, before and after
    copy-ups and renames, as the model says; a report's reproducers (Python and shell)
    build the data layer and mount it after ``::`` (and a volatile one remounts), and every
    step of the Python one gives what the model expected."""
    from difftest.repro import render_repro_py, render_repro_sh

    rc = PRESETS[preset]
    spec = DATA_SPEC if rc.data_only else PLAIN_SPEC
    with Scratch() as scratch:
        record = run_program(Session(rc, ["kernel"], scratch), spec, DATA_PROGRAM)
    assert record.divergence is None, record.divergence
    assert record.steps[1].outcomes["kernel"].value == b"hello"
    assert record.steps[-1].outcomes["kernel"].value == b"hello"
    (tmp_path / "repro.py").write_text(render_repro_py(record, rc))
    (tmp_path / "repro.sh").write_text(render_repro_sh(record, rc))
    py = subprocess.run([sys.executable, str(tmp_path / "repro.py")], capture_output=True,
                        text=True, timeout=120, check=False)  # fmt: skip
    assert py.returncode == 0, py.stdout + py.stderr
    assert ("::" in py.stdout) == rc.data_only, py.stdout
    now = re.findall(r"^    now: (.*)$", py.stdout, re.M)
    expected = re.findall(r"^    model expected: (.*?)   recorded", py.stdout, re.M)
    # the model's value of an open is the text 'handle', printed quoted
    assert len(now) == len(DATA_PROGRAM), py.stdout
    assert now == [e[1:-1] if e.startswith("'") else e for e in expected], py.stdout
    sh = subprocess.run(["bash", str(tmp_path / "repro.sh")], capture_output=True, text=True,
                        timeout=120, check=False)  # fmt: skip
    assert f"--- step {len(DATA_PROGRAM)}" in sh.stdout, sh.stdout + sh.stderr
    assert "failed" not in sh.stdout.replace("step", ""), sh.stdout + sh.stderr


@pytest.mark.privileged
@pytest.mark.parametrize("preset", ["default", "ro"])
def test_a_users_chown_of_a_setgid_file_on_fuse_is_eperm_only_where_the_mount_is_writable(
    preset: str,
) -> None:
    """Tolerance ``fuse-chown-keeps-setgid``: the FUSE target gives the VFS's EPERM itself
    for a user's chown of a setgid file it does not own; on a read-only mount the VFS
    refuses with EROFS before it looks at the mode (a false divergence of the ro config,
    found by the gate's control run), as the kernel overlay does."""
    spec = LayersSpec(lowers=((), (Entry(b"f", "reg", mode=0o2745),)), upper=())
    want = errno.EROFS if preset == "ro" else errno.EPERM
    with Scratch() as scratch:
        for name in ("kernel", "fuse"):
            t = make_target(name, scratch, spec, PRESETS[preset].config)
            try:
                with pytest.raises(OSError) as info:
                    t.chown(b"/f", -1, -1, cred=Cred(1000, 1000))
                assert info.value.errno == want, (name, info.value)
            finally:
                teardown_target(t)
