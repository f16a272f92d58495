"""The implementations compared: the raw tree, the kernel overlay and three FUSE overlays.

Each :class:`Impl` mounts one lower layer (with a fresh empty upper and workdir) on a fresh
mount point and takes it down again.  FUSE daemons run in the foreground as children of the
benchmark (``-f``), so the benchmark knows their pid, can pin them to a CPU, profile them,
and wait for them to exit after the unmount (``umount`` returns before a FUSE daemon has
closed its files in the layers).

``raw`` is no overlay at all: the workload runs on the lower tree itself (tmpfs), the
limit every overlay is measured against.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from bench.space import Space, SpaceError, fstype_at, stop_process, wait_until

MOUNT_TIMEOUT = 30.0


def ovlfuse_program() -> str:
    """The ovlfuse console script of this environment (next to the running python)."""
    here = os.path.join(os.path.dirname(sys.executable), "ovlfuse")
    return here if os.path.exists(here) else shutil.which("ovlfuse") or here


@dataclass(frozen=True)
class Impl:
    """One implementation: how to mount it."""

    name: str  # key used in the JSON and on the command line
    title: str  # column heading
    kind: str  # raw | kernel | fuse
    argv: tuple[str, ...] = ()  # FUSE: program and fixed options (before -o layers)
    extra_opts: str = ""  # FUSE: appended to the -o layer options
    doc: str = ""
    default: bool = True  # in the default run (variants are only run when asked for)

    def command(self, lower: str, upper: str, work: str, mnt: str) -> list[str]:
        opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
        if self.extra_opts:
            opts += "," + self.extra_opts
        return [*self.argv, "-f", "-o", opts, mnt]


@dataclass
class Mounted:
    """A live mount: where the workload runs, and what to take down."""

    impl: Impl
    root: str
    base: str
    proc: subprocess.Popen[bytes] | None = None
    log: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None


def all_impls() -> dict[str, Impl]:
    ovl = ovlfuse_program()
    fo = shutil.which("fuse-overlayfs") or "fuse-overlayfs"
    impls = [
        Impl("raw", "raw tmpfs", "raw", doc="no overlay: the workload runs on the lower tree"),
        Impl("kernel", "kernel overlay", "kernel", doc="mount -t overlay, default options"),
        Impl("ovlfuse", "ovlfuse", "fuse", (ovl,), doc="ovlfuse -f (default mode: caching)"),
        Impl("ovlfuse-exact", "ovlfuse exact", "fuse", (ovl,), "exact",
             doc="ovlfuse -f -o exact (no caching: timeouts 0)"),
        Impl("fuse-overlayfs", "fuse-overlayfs", "fuse", (fo,),
             doc="fuse-overlayfs -f (its default: single-threaded)"),
        Impl("fuse-overlayfs-mt", "fuse-overlayfs threaded", "fuse", (fo,), "threaded=1",
             doc="fuse-overlayfs -f -o threaded=1"),
    ]
    from bench.variants import VARIANTS

    for v in (*VARIANTS, "gc+quietlog"):
        impls.append(variant_impl(v))
    return {i.name: i for i in impls}


def mount(space: Space, impl: Impl, base: str, lower: str, cpu: int | None = None) -> Mounted:
    """Mount ``lower`` (inside ``base``) with a fresh upper/work under ``base``."""
    if impl.kind == "raw":
        return Mounted(impl, lower, base)
    upper, work, mnt = (os.path.join(base, n) for n in ("upper", "work", "mnt"))
    for d in (upper, work, mnt):
        if os.path.lexists(d):  # a retry after a failed mount: start clean
            space.unmount_beneath(d)
            shutil.rmtree(d)
        os.mkdir(d, 0o755)
    if impl.kind == "kernel":
        opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, mnt], check=True,
                       capture_output=True)
        return Mounted(impl, mnt, base)
    cmd = impl.command(lower, upper, work, mnt)
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    log = os.path.join(base, "daemon.log")
    with open(log, "wb") as logf:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                start_new_session=True)
    space.track(proc)
    m = Mounted(impl, mnt, base, proc, log)
    if not wait_until(lambda: (fstype_at(mnt) or "").startswith("fuse"), MOUNT_TIMEOUT, proc):
        status = proc.poll()
        unmount(space, m)
        with open(log, errors="replace") as f:
            tail = f.read()[-2000:]
        why = f"exit status {status}" if status is not None else f"not mounted after " \
            f"{MOUNT_TIMEOUT:.0f} s"
        raise SpaceError(f"{impl.name} did not mount {mnt} ({why}): {' '.join(cmd)}\n{tail}")
    return m


def unmount(space: Space, m: Mounted) -> None:
    """Unmount, wait for the daemon to exit, leave ``m.base`` ready for removal."""
    if m.impl.kind == "raw":
        return
    mnt = os.path.join(m.base, "mnt")
    space.unmount_beneath(mnt)
    if m.proc is not None:
        stop_process(m.proc)
        space.untrack(m.proc)


def variant_impl(variants: str) -> Impl:
    """ovlfuse run through bench/variants.py with ``variants`` (``a+b+c``) applied."""
    return Impl(f"ovlfuse+{variants}", f"ovlfuse +{variants}", "fuse",
                (sys.executable, "-m", "bench.variants", variants),
                doc=f"ovlfuse with the experimental variant(s) {variants} (bench/variants.py)",
                default=False)


def lookup_impl(name: str, known: dict[str, Impl] | None = None) -> Impl | None:
    """The implementation called ``name``, including any ``ovlfuse+a+b`` variant mix."""
    known = known if known is not None else all_impls()
    if name in known:
        return known[name]
    from bench.variants import VARIANTS

    parts = name.split("+")
    if parts[0] == "ovlfuse" and len(parts) > 1 and all(p in VARIANTS for p in parts[1:]):
        return variant_impl("+".join(parts[1:]))
    return None
