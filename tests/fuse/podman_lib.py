"""Helpers for tests/fuse/test_podman.py: podman stores of their own, and images as trees.

Every podman command runs inside one private mount namespace (a holder process made with
``unshare --mount``) whose /var/lib and /run are tmpfs of its own: podman's blob cache and
runtime directories never reach the machine's, and whatever podman mounts stays in there,
where :meth:`Namespace.mounts_under` can see it.  The stores (graph root, run root, tmp dir,
configuration) all live under the test's scratch tmpfs, which is mounted before the
namespace is made; the run roots (podman refuses one longer than 50 characters) live in the
namespace's /run.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

CONTAINERS_CONF = """\
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{base}/events.log"
[containers]
netns = "none"
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
"""

STORAGE_CONF = """\
[storage]
driver = "overlay"
graphroot = "{root}/graph"
runroot = "{runroot}"
[storage.options.overlay]
skip_mount_home = "true"
{mount_program}
"""

RUN = Path("/run/podman-test")  # in the namespace's own /run: podman wants a short runroot

BUSYBOX_APPLETS = ("sh", "ls", "cat", "echo", "rm", "mkdir", "mv", "cp", "ln", "touch",
                   "chmod", "chown", "test", "id", "true")


class Namespace:
    """A private mount namespace held open by a sleeping process."""

    def __init__(self) -> None:
        script = ("mount -t tmpfs -o size=64m tmpfs /var/lib && "
                  "mount -t tmpfs -o size=64m tmpfs /run && echo ready && exec sleep 3600")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.close()
            raise RuntimeError("could not make the private mount namespace")

    def command(self, *args: str) -> list[str]:
        return ["nsenter", "-t", str(self.proc.pid), "-m", "--", *args]

    def mounts_under(self, base: Path) -> list[str]:
        """Mount points strictly below *base*, as the namespace sees them."""
        out = subprocess.run(self.command("findmnt", "-rn", "-o", "TARGET,FSTYPE"),
                             capture_output=True, text=True, check=True).stdout
        prefix = str(base) + "/"
        return [line for line in out.splitlines() if line.split()[0].startswith(prefix)]

    def unmount_under(self, base: Path) -> None:
        for line in sorted(self.mounts_under(base), key=len, reverse=True):
            subprocess.run(self.command("umount", "-l", line.split()[0]), check=False)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


@dataclass
class Store:
    """One podman storage root with a graph driver configuration of its own."""

    name: str
    root: Path
    ns: Namespace
    env: dict[str, str]

    @classmethod
    def make(cls, ns: Namespace, base: Path, name: str, mount_program: str | None) -> Store:
        root = base / name
        (root / "tmp").mkdir(parents=True)
        program = f'mount_program = "{mount_program}"' if mount_program else ""
        conf = root / "storage.conf"
        conf.write_text(STORAGE_CONF.format(root=root, runroot=RUN / name / "run",
                                            mount_program=program))
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
               "CONTAINERS_STORAGE_CONF": str(conf),
               "CONTAINERS_CONF": str(base / "containers.conf"),
               "TMPDIR": str(root / "tmp"), "HOME": str(root)}
        return cls(name, root, ns, env)

    def podman(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # the roots come from storage.conf: with --root podman drops its driver options
        argv = self.ns.command("podman", "--tmpdir", str(RUN / self.name / "libpod"), *args)
        res = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=300,
                             check=False)
        if check and res.returncode != 0:
            raise AssertionError(f"{self.name}: podman {' '.join(args)} failed "
                                 f"({res.returncode}):\n{res.stderr[-3000:]}")
        return res

    def graph_options(self) -> dict[str, object]:
        info = json.loads(self.podman("info", "--format", "json").stdout)
        return dict(info["store"]["graphOptions"])

    def timed(self, *args: str) -> float:
        start = time.monotonic()
        self.podman(*args)
        return time.monotonic() - start

    def remove_container(self, name: str) -> None:
        """podman rm, again while conmon's cleanup still holds the container's shm mount."""
        for _ in range(20):
            if self.podman("rm", "-f", name, check=False).returncode == 0:
                return
            time.sleep(0.25)
        self.podman("rm", "-f", name)

    def save(self, image: str, dest: Path) -> Image:
        self.podman("save", "-q", "--format", "oci-dir", "-o", str(dest), image)
        return Image(dest)


def make_rootfs(root: Path, busybox: str = "/bin/busybox") -> None:
    """A busybox root with the directories a runtime mounts on, and a /data tree."""
    for d in ("bin", "proc", "sys", "dev", "run", "etc", "tmp"):
        (root / d).mkdir(parents=True)
    (root / "bin" / "busybox").write_bytes(Path(busybox).read_bytes())
    os.chmod(root / "bin" / "busybox", 0o755)
    for applet in BUSYBOX_APPLETS:
        os.symlink("busybox", root / "bin" / applet)
    files = {"base.txt": "base\n", "del.txt": "del\n", "del2.txt": "del2\n",
             "keep/k": "k\n", "gone/g": "g\n", "opq/o1": "o1\n", "opq/sub/o2": "o2\n",
             "opq2/p1": "p1\n", "mvdir/m": "m\n", "mvdir/inner/i": "i\n", "hl/a": "hard\n"}
    for rel, text in files.items():
        path = root / "data" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    os.link(root / "data" / "hl" / "a", root / "data" / "hl" / "b")
    os.symlink("base.txt", root / "data" / "link")


def tar_rootfs(root: Path, dest: Path) -> None:
    subprocess.run(["tar", "-C", str(root), "-cf", str(dest), "."], check=True)


Entry = tuple[object, ...]


class Image:
    """An image saved as an OCI layout, read back by applying its layers in order."""

    def __init__(self, layout: Path):
        self.layout = layout
        index = json.loads((layout / "index.json").read_text())
        manifest = json.loads(self._blob(index["manifests"][0]["digest"]).read_text())
        self.layers = [self._blob(layer["digest"]) for layer in manifest["layers"]]

    def _blob(self, digest: str) -> Path:
        algo, hexd = digest.split(":")
        return self.layout / "blobs" / algo / hexd

    def layer_names(self, index: int) -> list[str]:
        with tarfile.open(self.layers[index]) as tar:
            return [m.name.lstrip("./") for m in tar]

    def tree(self) -> dict[str, Entry]:
        """path → (type, permission bits, uid, gid, size, sha256 or link target, link group)."""
        files: dict[str, Entry] = {}
        groups: dict[str, str] = {}
        for blob in self.layers:
            with tarfile.open(blob) as tar:
                for member in tar:
                    _apply(tar, member, files, groups)
        return {path: (*entry, groups.get(path)) for path, entry in files.items()}


def _apply(tar: tarfile.TarFile, m: tarfile.TarInfo, files: dict[str, Entry],
           groups: dict[str, str]) -> None:
    """One tar entry of a layer, with the OCI whiteout rules."""
    path = "/" + os.path.normpath(m.name).lstrip("./") if m.name.strip("./") else "/"
    parent, base = os.path.split(path)
    if base == ".wh..wh..opq":
        _drop(files, groups, parent, keep_top=True)
        return
    if base.startswith(".wh."):
        _drop(files, groups, os.path.join(parent, base[4:]), keep_top=False)
        return
    if m.islnk():
        target = "/" + os.path.normpath(m.linkname).lstrip("./")
        files[path] = files[target]
        group = groups.setdefault(target, target)
        groups[path] = group
        return
    if not (m.isdir() and path in files):
        _drop(files, groups, path, keep_top=False)
    content: object = None
    if m.isfile():
        data = tar.extractfile(m)
        assert data is not None
        content = hashlib.sha256(data.read()).hexdigest()[:16]
    elif m.issym():
        content = m.linkname
    kind = "dir" if m.isdir() else "file" if m.isfile() else "symlink" if m.issym() else m.type
    files[path] = (kind, oct(m.mode & 0o7777), m.uid, m.gid, m.size if m.isfile() else None,
                   content)


def _drop(files: dict[str, Entry], groups: dict[str, str], path: str, keep_top: bool) -> None:
    doomed = [p for p in files if p.startswith(path.rstrip("/") + "/")
              or (p == path and not keep_top)]
    for p in doomed:
        del files[p]
        groups.pop(p, None)


def link_groups(tree: dict[str, Entry]) -> set[frozenset[str]]:
    """The hard-link groups of more than one name."""
    by_group: dict[object, set[str]] = {}
    for path, entry in tree.items():
        if entry[-1] is not None:
            by_group.setdefault(entry[-1], set()).add(path)
    return {frozenset(names) for names in by_group.values() if len(names) > 1}


def without_groups(tree: dict[str, Entry]) -> dict[str, Entry]:
    """The tree with the link-group names left out (they name the first path seen)."""
    return {path: entry[:-1] for path, entry in tree.items()}
