"""podman with ovlfuse as containers-storage's ``mount_program`` builds the images that the
kernel's native overlay driver builds (issue 18).

Two storage roots of their own, under the test's scratch tmpfs: "kernel" (the native overlay
driver) and "ovlfuse" (``mount_program = .venv/bin/ovlfuse-containers``).  The base image is a
busybox root imported with ``podman import``, plus a layer that the kernel store builds (its
tar carries the kernel's ``.wh..wh..opq`` marker) and the ovlfuse store loads, as any pulled
image would arrive.  Both stores build one Containerfile on it whose steps depend on what the
steps before deleted, made opaque or renamed; the images, saved and applied layer by layer,
must hold the same names, types, modes, owners, sizes, contents, symlink targets and hard-link
groups.  No network is used (``--network none``, local images only).

``--uidmap 0:100000:65536``: a container run with that mapping and committed on ovlfuse gives
the image the same run gives without a mapping on the kernel's driver (IDs in an image are the
container's).  The kernel driver itself is no reference there: podman 4.3's containers-storage
idmaps the lower layers and then stores the host IDs (100000...) of new files in the committed
layer.  ``podman build --userns-uid-map`` is not tested: with a mount program that podman
diffs a build container through its own mapped mount, and commits host IDs (fuse-overlayfs
cannot even run the step there).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ovlfuse_testlib import scratch
from podman_lib import (
    CONTAINERS_CONF,
    RUN,
    Image,
    Namespace,
    Store,
    link_groups,
    make_rootfs,
    tar_rootfs,
    without_groups,
)

pytestmark = [pytest.mark.privileged, pytest.mark.slow]

BASE2 = """\
FROM localhost/base
RUN rm -rf /data/opq && mkdir /data/opq && echo k > /data/opq/k && rm /data/del.txt \\
    && rm /data/mvdir/m
"""

# Each step reads what the one before changed: a deleted name must stay deleted, an opaque
# directory must not merge, and a directory moved (a copy, as `mv` falls back to on EXDEV)
# must not carry whiteouts as files.
CONTAINERFILE = """\
FROM localhost/base2
RUN test ! -e /data/del.txt && test ! -e /data/mvdir/m && test ! -e /data/opq/o1 \\
    && rm /data/del2.txt && rm -rf /data/gone && rm -rf /data/opq2 && mkdir /data/opq2 \\
    && echo new > /data/opq2/n && echo changed >> /data/base.txt
RUN mv /data/mvdir /data/moved && cp -a /data/opq /data/opqcopy \\
    && cp -a /data/opq2 /data/opq2copy && echo hl > /data/h1 && ln /data/h1 /data/h2 \\
    && ln -s ../data/base.txt /data/sym && chmod 600 /data/keep/k && chown 12:34 /data/keep/k \\
    && ls -A /data /data/opq /data/opq2 /data/moved > /data/listing
"""

RUN_SCRIPT = ("rm /data/del2.txt && rm -rf /data/opq2 && mkdir /data/opq2 && echo n > "
              "/data/opq2/n && echo x >> /data/base.txt && mkdir /data/new && echo y > "
              "/data/new/f && chown 5:6 /data/new/f && ln /data/new/f /data/new/g && ls -ln /data")
UIDMAP = ["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"]


def mount_program() -> str:
    """The venv's ovlfuse-containers; ``OVLFUSE_MOUNT_PROGRAM`` names another one (to see
    what an older ovlfuse or fuse-overlayfs does here)."""
    default = str(Path(sys.executable).parent / "ovlfuse-containers")
    return os.environ.get("OVLFUSE_MOUNT_PROGRAM", default)


@dataclass
class Stores:
    base: Path
    kernel: Store
    fuse: Store
    ns: Namespace


@pytest.fixture(scope="module")
def stores() -> Iterator[Stores]:
    with scratch(size="2g") as base:
        (base / "containers.conf").write_text(CONTAINERS_CONF.format(base=base))
        make_rootfs(base / "rootfs")
        tar_rootfs(base / "rootfs", base / "base.tar")
        ns = Namespace()
        program = mount_program()
        try:
            yield Stores(base, Store.make(ns, base, "kernel", None),
                         Store.make(ns, base, "ovlfuse", program), ns)
        finally:
            for where in (base, RUN):  # after a failure; test_podman_leaves_no_mount_behind
                ns.unmount_under(where)
            ns.close()


def _base_images(s: Stores) -> Image:
    """localhost/base (imported) in both stores; localhost/base2 built by the kernel store
    and loaded into the ovlfuse one.  Returns base2 as saved."""
    for store in (s.kernel, s.fuse):
        store.podman("import", "-q", str(s.base / "base.tar"), "localhost/base")
    (s.base / "base2.Containerfile").write_text(BASE2)
    s.kernel.podman("build", "-q", "--pull=never", "--network", "none", "-t", "localhost/base2",
                    "-f", str(s.base / "base2.Containerfile"), str(s.base))
    archive = s.base / "base2.tar"
    s.kernel.podman("save", "-q", "-o", str(archive), "localhost/base2")
    s.fuse.podman("load", "-q", "-i", str(archive))
    return s.kernel.save("localhost/base2", s.base / "base2-layout")


def test_the_stores_use_the_drivers_they_are_named_after(stores: Stores) -> None:
    program = mount_program()
    assert "overlay.mount_program" not in stores.kernel.graph_options()
    assert program in str(stores.fuse.graph_options()["overlay.mount_program"])


def test_podman_build_on_ovlfuse_equals_the_kernel_drivers(stores: Stores) -> None:
    base2 = _base_images(stores)
    assert "data/opq/.wh..wh..opq" in base2.layer_names(-1)  # the kernel's opaque marker
    (stores.base / "Containerfile").write_text(CONTAINERFILE)
    build = ["build", "-q", "--pull=never", "--network", "none", "--no-cache", "-t",
             "localhost/test", "-f", str(stores.base / "Containerfile"), str(stores.base)]
    seconds = {store.name: store.timed(*build) for store in (stores.kernel, stores.fuse)}
    print(f"podman build seconds: {seconds}")
    kernel = stores.kernel.save("localhost/test", stores.base / "kernel-test").tree()
    fuse = stores.fuse.save("localhost/test", stores.base / "ovlfuse-test").tree()
    assert without_groups(fuse) == without_groups(kernel)
    assert link_groups(fuse) == link_groups(kernel)
    assert link_groups(kernel) == {frozenset({"/data/h1", "/data/h2"}),
                                   frozenset({"/data/hl/a", "/data/hl/b"})}
    expected_absent = ("/data/del.txt", "/data/del2.txt", "/data/gone", "/data/mvdir",
                       "/data/moved/m", "/data/opq/o1", "/data/opqcopy/o1", "/data/opq2/p1")
    assert not [path for path in expected_absent if path in kernel]
    assert sorted(p for p in kernel if p.startswith("/data/opqcopy/")) == ["/data/opqcopy/k"]


def test_podman_run_commit_and_save_on_ovlfuse(stores: Stores) -> None:
    out = stores.fuse.podman("run", "--rm", "--network", "none", "localhost/test", "sh", "-c",
                             "cat /data/base.txt /data/sym; ls -A /data/opq; ls -A /data/moved")
    assert out.stdout.split() == ["base", "changed", "base", "changed", "k", "inner"]
    listing = stores.fuse.podman("run", "--rm", "localhost/test", "cat", "/data/listing").stdout
    assert ".wh." not in listing
    trees = {}
    for store in (stores.kernel, stores.fuse):
        store.podman("run", "--name", "c1", "--network", "none", "localhost/base2", "sh", "-c",
                     RUN_SCRIPT)
        store.podman("commit", "-q", "c1", "localhost/committed")
        store.remove_container("c1")
        trees[store.name] = store.save("localhost/committed", stores.base / f"{store.name}-c1")
    kernel, fuse = (trees[name].tree() for name in ("kernel", "ovlfuse"))
    assert without_groups(fuse) == without_groups(kernel)
    assert link_groups(fuse) == link_groups(kernel)
    assert kernel["/data/new/f"][2:4] == (5, 6)


def test_podman_run_with_a_uidmap_on_ovlfuse_commits_container_ids(stores: Stores) -> None:
    """The mapping is invisible in the image: same tree as the kernel's unmapped run."""
    out = stores.fuse.podman("run", "--name", "u1", "--network", "none", *UIDMAP,
                             "localhost/base2", "sh", "-c", "id -u; " + RUN_SCRIPT).stdout
    assert out.split()[0] == "0" and " 100000 " not in out
    stores.fuse.podman("commit", "-q", "u1", "localhost/mapped")
    stores.fuse.remove_container("u1")
    mapped = stores.fuse.save("localhost/mapped", stores.base / "ovlfuse-u1").tree()
    unmapped = Image(stores.base / "kernel-c1").tree()
    assert without_groups(mapped) == without_groups(unmapped)
    assert link_groups(mapped) == link_groups(unmapped)
    owners = {entry[2:4] for entry in mapped.values()}
    assert owners == {(0, 0), (5, 6)}, owners


def test_podman_leaves_no_mount_behind(stores: Stores) -> None:
    for store in (stores.kernel, stores.fuse):
        store.podman("rm", "-a", "-f")
        store.podman("image", "prune", "-a", "-f")
    assert stores.ns.mounts_under(stores.base) + stores.ns.mounts_under(RUN) == []
