"""mount(8) helper: ``mount.fuse.ovlfuse SOURCE MOUNTPOINT [-o OPTIONS] [-n] [-s] [-f] [-v]``.

``mount -t fuse.ovlfuse overlay -o lowerdir=...,upperdir=...,workdir=... MNT`` and fstab
lines of type ``fuse.ovlfuse`` run this program (mount(8) looks for
``/sbin/mount.fuse.ovlfuse``; install it there, e.g. as a symlink to the venv's console
script, which needs no PATH).  SOURCE becomes the mount's fsname.  ``-f`` (fake) does
nothing, ``-n``, ``-s`` and ``-v`` are accepted and ignored.  The mount runs in the
background; the helper exits 0 once it is live, as mount(8) expects.
"""

from __future__ import annotations

import sys

from .main import run

USAGE = "usage: mount.fuse.ovlfuse SOURCE MOUNTPOINT [-o OPTIONS] [-n] [-s] [-f] [-v]"


def parse(argv: list[str]) -> tuple[list[str], list[str], bool]:
    """(positional args, option strings, fake) from a helper command line."""
    positional: list[str] = []
    options: list[str] = []
    fake = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-o" and i + 1 < len(argv):
            options.append(argv[i + 1])
            i += 1
        elif arg.startswith("-o") and len(arg) > 2:
            options.append(arg[2:])
        elif arg == "-f":
            fake = True
        elif arg in ("-n", "-s", "-v"):
            pass
        else:
            positional.append(arg)
        i += 1
    return positional, options, fake


def main() -> int:
    positional, options, fake = parse(sys.argv[1:])
    if len(positional) != 2:
        print(f"mount.fuse.ovlfuse: {USAGE}", file=sys.stderr)
        return 2
    if fake:
        return 0
    source, mountpoint = positional
    argv: list[str] = []
    for text in options:
        argv += ["-o", text]
    return run([*argv, source, mountpoint] if source else [*argv, mountpoint])


if __name__ == "__main__":
    sys.exit(main())
