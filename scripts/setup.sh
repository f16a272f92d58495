#!/usr/bin/env bash
# Install everything the project needs: Debian packages and a virtual environment in .venv.
# Safe to rerun: packages already present and an up-to-date venv are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# podman, buildah, busybox-static: tests/fuse/test_podman.py; runc: crun (podman's default
# runtime on Debian) refuses machines with cgroup v1+v2 controllers, runc runs there.
# redis-server: the campaign tests start one of their own (a shared example database);
# chromium, chromium-driver: a test renders the committed campaign report headless.
for pkg in fuse3 libfuse3-dev pkg-config attr fuse-overlayfs podman buildah busybox-static runc \
           redis-server chromium chromium-driver; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${need[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
    echo "setup: installing the project into .venv"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e '.[dev]'
    rm -f .venv/.installed-*
    touch "$stamp"
fi
