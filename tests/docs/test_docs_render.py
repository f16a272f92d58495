"""The pieces of the pages: commands, tree drawings, facts and matching, and promote."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from difftest import ops
from difftest.docs import facts as F
from difftest.docs.areas import Area
from difftest.docs.check import check_example
from difftest.docs.promote import PROMOTE_MARKER, PromoteError, example_id_from, promote
from difftest.docs.render import slug
from difftest.docs.schema import Example, dir_, layers, reg, whiteout
from difftest.docs.shell import Before, command, mount_command, py_path
from difftest.docs.tree import draw, draw_layers, side_by_side
from difftest.docs.verify import Verification
from model.config import Config

EMPTY = Before({}, {})
FILE_A = Before({b"/": "dir", b"/a": "file", b"/d": "dir"}, {b"/a": "#2", b"/d": "#3"})


def cmd(op: ops.Op, before: Before = FILE_A, readonly: bool = False, fd: int | None = 0) -> str:
    return command(op, before, fd=fd, readonly=readonly, mount="mount …")


def test_shell_where_it_makes_exactly_the_syscall() -> None:
    assert cmd(ops.Unlink(b"/a")) == "rm m/a"
    assert cmd(ops.Rename(b"/a", b"/b")) == "mv m/a m/b"
    assert cmd(ops.Mkdir(b"/n")) == "mkdir m/n"
    assert cmd(ops.Mkdir(b"/n", 0o700)) == "mkdir -m 700 m/n"
    assert cmd(ops.Setxattr(b"/a", b"user.x", b"1")) == "setfattr -n user.x -v 1 m/a"
    assert cmd(ops.Mknod(b"/w", stat.S_IFCHR | 0o644, 0)) == "mknod m/w c 0 0"
    assert cmd(ops.Chown(b"/a", 1000, -1)) == "chown 1000 m/a"
    assert cmd(ops.Readdir(b"/d")) == "ls -a m/d"


def test_python_where_the_shell_would_do_something_else() -> None:
    # rm of a missing name never calls unlink(2); mv copies a directory on EXDEV, refuses
    # aliases of one inode, and moves into an existing directory; ls of a file lists it.
    assert cmd(ops.Unlink(b"/missing")) == 'os.unlink("m/missing")'
    assert cmd(ops.Unlink(b"/a"), readonly=True) == 'os.unlink("m/a")'
    assert cmd(ops.Rename(b"/d", b"/e")) == 'os.rename("m/d", "m/e")'
    assert cmd(ops.Rename(b"/a", b"/d")) == 'os.rename("m/a", "m/d")'
    alias = Before({b"/h1": "file", b"/h2": "file"}, {b"/h1": "#2", b"/h2": "#2"})
    assert cmd(ops.Rename(b"/h1", b"/h2"), alias) == 'os.rename("m/h1", "m/h2")'
    assert cmd(ops.Readdir(b"/a")) == 'os.listdir("m/a")'
    assert cmd(ops.Open(b"/a", os.O_WRONLY | os.O_CREAT)) == (
        'fd0 = os.open("m/a", os.O_WRONLY | os.O_CREAT, 0o644)'
    )
    assert cmd(ops.Open(b"/a", os.O_WRONLY), fd=None) == 'os.open("m/a", os.O_WRONLY)'
    assert cmd(ops.Rename(b"/a", b"/b", ops.RENAME_EXCHANGE)) == (
        'renameat2(AT_FDCWD, "m/a", AT_FDCWD, "m/b", RENAME_EXCHANGE)'
    )
    assert cmd(ops.Utimens(b"/a", None, None)) == (
        'utimensat(AT_FDCWD, "m/a", {UTIME_OMIT, UTIME_OMIT}, 0)'
    )
    assert cmd(ops.Getdents(0)) == "getdents64(fd0)"


def test_commands_as_another_user() -> None:
    assert cmd(ops.Chmod(b"/a", 0o600, uid=1000, gid=1000)) == (
        "setpriv --reuid=1000 --regid=1000 --clear-groups chmod 600 m/a"
    )
    line = cmd(ops.Open(b"/a", os.O_WRONLY, uid=1000, gid=1000))
    assert line.startswith("setpriv --reuid=1000 --regid=1000 --clear-groups python3 -c ")


def test_paths_and_mount_lines() -> None:
    assert py_path(b"/" + b"a" * 50 + b"/b") == '"m/" + "a" * 50 + "/b"'
    assert py_path(b"/\xff") == "b'm/\\xff'"
    spec = layers([reg(b"a")], [reg(b"b")], upper=[])
    assert mount_command(spec, Config(redirect_dir="on")) == (
        "mount -t overlay overlay -o lowerdir=l0:l1,upperdir=u,workdir=w,redirect_dir=on m"
    )
    no_upper = layers([reg(b"a")], [reg(b"b")], upper=None)
    assert mount_command(no_upper, Config()) == "mount -t overlay overlay -r -o lowerdir=l0:l1 m"


def test_tree_drawing() -> None:
    lines = draw("u/", {b"/d": ("", True), b"/d/f": ('file "x"', False), b"/w": ("wh", False)})
    assert lines == ["u/", "├── d/", '│   └── f  file "x"', "└── w      wh"]
    assert draw("u/", {}) == ["u/", "(empty)"]
    spec = layers([dir_(b"d"), reg(b"d/f", b"x")], upper=[whiteout(b"d")])
    drawn = "\n".join(draw_layers(spec))
    assert "l0/ (lower)" in drawn and "whiteout (char device 0:0)" in drawn
    assert side_by_side([["a", "bb"], ["c"]]) == ["a     c", "bb"]


def test_quoted_data() -> None:
    assert F.quoted(b"new") == '"new"'
    assert F.quoted(b"head\0\0", 5 << 30) == '"head", then zeros (5 GiB)'
    assert F.quoted(b"\x01\x02") == "0x0102"


def test_matching_facts() -> None:
    facts = ("dir", "mode=0755", "opaque=y", "origin")
    assert F.match("dir opaque=y origin", facts) == []
    assert F.match("-impure", facts) == []
    assert F.match("-opaque", facts) != []
    assert F.match("whiteout", facts) != []
    listing = F.Shown(". .. a", (".", "..", "a"))
    assert F.match_result(ops.Readdir(b"/"), ". .. a", listing) == []
    assert F.match_result(ops.Readdir(b"/"), ". ..", listing) != []
    st = F.Shown("file 0644", ("file", "mode=0644", "nlink=1"))
    assert F.match_result(ops.Lstat(b"/a"), "nlink=1", st) == []
    assert F.match_result(ops.Lstat(b"/a"), "*", st) == []


def test_slug_matches_github() -> None:
    assert slug("d_ino of .. in a dir") == "d_ino-of--in-a-dir"
    assert slug("The upper layer's file") == "the-upper-layers-file"


def test_verification_applies_only_to_unchanged_runs() -> None:
    from difftest.docs.runner import run_model

    ex = Example(
        id="t", title="t", rule="r", spec=layers([reg(b"a", b"x")]),
        program=[ops.Unlink(b"/a")], expect={"results": ["ok"]},
    )  # fmt: skip
    view = run_model(ex, "default")
    v = Verification("6.18", {ex.key("default"): {
        "example": ex.digest("default"), "model": view.digest(), "agree": True}})  # fmt: skip
    assert v.status(ex, "default", view).state == "agree"
    changed = Example(
        id="t", title="t", rule="r", spec=layers([reg(b"a", b"y")]),
        program=[ops.Unlink(b"/a")], expect={"results": ["ok"]},
    )  # fmt: skip
    assert v.status(changed, "default", run_model(changed, "default")).state == "changed"
    assert Verification().status(ex, "default", view).state == "unverified"
    assert Verification.load(Path("/nonexistent/verified.json")).kernel is None


def test_example_rejects_config_that_does_not_fit() -> None:
    with pytest.raises(ValueError, match="no upper"):
        Example(id="x", title="x", rule="r", config="no-upper",
                spec=layers([reg(b"a")], [reg(b"b")]), program=[], expect={})  # fmt: skip
    with pytest.raises(ValueError, match="unknown config"):
        Example(id="x", title="x", rule="r", config="nope", spec=layers([reg(b"a")]),
                program=[], expect={})  # fmt: skip


# ---- promote ------------------------------------------------------------------------------


def _saved_case(tmp: Path, divergence: bool = False) -> Path:
    from difftest.example import run_program
    from difftest.report import record_to_json
    from difftest.session import PRESETS, Session

    rc = PRESETS["default"]
    spec = layers([dir_(b"d"), reg(b"d/f", b"x")])
    record = run_program(Session(rc, [], None), spec, [ops.Unlink(b"/d/f"), ops.Rmdir(b"/d")])
    data = record_to_json(record, rc, ["kernel"])
    if divergence:
        data["divergence"] = {"kind": "errno differs", "target": "kernel", "step": 2,
                              "expected": "ok", "actual": "ENOTEMPTY"}  # fmt: skip
    report = tmp / "20260101-000000-default-kernel"
    report.mkdir()
    (report / "report.json").write_text(json.dumps(data))
    return report


@pytest.fixture
def scratch_area(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Area]:
    pkg = tmp_path / "docs_promote_scratch"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "area.py").write_text(
        "from difftest import ops\n"
        "from difftest.docs.schema import Example\n\n"
        "EXAMPLES: list[Example] = [\n" + PROMOTE_MARKER + "\n]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield Area("scratch", "docs_promote_scratch.area", "Scratch", "intro")
    for name in [m for m in sys.modules if m.startswith("docs_promote_scratch")]:
        del sys.modules[name]


def test_promote_a_saved_case(tmp_path: Path, scratch_area: Area) -> None:
    report = _saved_case(tmp_path)
    path, eid, warnings = promote(report, scratch_area, "Removing a directory emptied first")
    assert (
        eid
        == "removing-a-directory-emptied-first"
        == example_id_from("Removing a directory emptied first")
    )
    assert warnings == []
    (ex,) = scratch_area.examples()
    assert ex.id == eid and ex.expect["results"] == ["ok", "ok"]
    assert ex.expect["upper"][b"/d"] == "whiteout"
    assert check_example(ex) == []
    text = path.read_text()
    assert "from difftest.docs.schema import Example, dir_, layers, reg\n" in text
    ruff = Path(sys.executable).with_name("ruff")
    if ruff.exists():  # the promoted entry is lint-clean as written
        run = subprocess.run(
            [
                str(ruff),
                "check",
                "--isolated",
                "--select",
                "E,F,W,I",
                "--line-length",
                "100",
                str(path),
            ],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stdout
    with pytest.raises(PromoteError, match="already used"):
        promote(report, scratch_area, "Removing a directory emptied first")


def test_promote_a_divergence_warns(tmp_path: Path, scratch_area: Area) -> None:
    report = _saved_case(tmp_path, divergence=True)
    path, _eid, warnings = promote(report, scratch_area, "Harvested divergence", notes="n")
    assert warnings and "divergence" in warnings[0]
    assert "# harvested from a divergence" in path.read_text()
