"""What the state machine's rules draw their arguments from: flags, modes, callers, data,
names.  Each list is drawn as one index (see :mod:`difftest.swarm`), so repeating an element
gives it weight."""

from __future__ import annotations

import os

from hypothesis import strategies as st

from difftest import ops

OPEN_FLAGS = [
    os.O_RDONLY,
    os.O_RDONLY,
    os.O_WRONLY,
    os.O_RDWR,
    os.O_RDONLY | os.O_TRUNC,
    os.O_WRONLY | os.O_TRUNC,
    os.O_WRONLY | os.O_CREAT,
    os.O_RDWR | os.O_CREAT | os.O_EXCL,
    os.O_WRONLY | os.O_APPEND,
    os.O_RDONLY | os.O_DIRECTORY,
    os.O_RDONLY | os.O_DIRECTORY,
    os.O_RDONLY | os.O_NOFOLLOW,
]
CALLERS = [(0, 0), (0, 0), (0, 0), (0, 0), (1000, 1000)]
# (mode, rdev): a FIFO, a whiteout (EPERM through the overlay), the null device, a socket,
# the type bits of no file (EINVAL), a directory (EPERM) and type 0 (a regular file)
# relative targets only (see difftest.strategies); "": ENOENT; PATH_MAX bytes: ENAMETOOLONG
SYMLINK_DESTS = [b"a", b"b", b"nowhere", b"x/y", b"loop", b"", b"t" * 4096]
MKNOD_KINDS = [(0o010644, 0), (0o020644, 0), (0o020644, 0x103), (0o140644, 0), (0o170644, 0),
               (0o040755, 0), (0o000644, 0)]  # fmt: skip
DATA = [b"", b"new", b"x" * 10, b"\x00\x00z", b"y" * 70000]  # one write longer than 64 KiB
# 128 MiB: a file past model.content.LARGE that does not reach 4 GiB
LENGTHS = [0, 0, 3, 100, 5 * 1024**3 + 1, -1, 128 << 20]
MODES = [0o644, 0o600, 0o755, 0o777, 0o4755, 0o000, 0o1777, 0o2775]
# Rule arguments are drawn by the state machine itself (no st.data() draws: each of those
# costs a copy of the random state): a path is an index into the example's known paths.
PATH = st.sampled_from(range(240))  # uniform, unlike integers(), which favours small values
WHO = st.sampled_from(CALLERS)
XATTR_NAMES = [b"user.a", b"user.b", b"user.new", b"trusted.overlay.x", b"trusted.t"]
# The names the ordinary xattr rules leave out: the overlay's private namespace as a caller
# gives it (stored escaped since 6.7, as ``trusted.overlay.overlay.*``; an escaped name past
# 255 bytes is EOPNOTSUPP), an escaped name given again, security.*, namespaces the layers'
# filesystem has no handler for, and names of no or too many bytes.
# a private name of 251 bytes: its escaped form (trusted.overlay.overlay.*) is past 255
LONG_PRIVATE_NAME = b"trusted.overlay." + b"l" * 235
ODD_XATTR_NAMES = [
    b"trusted.overlay.overlay.x",
    b"trusted.overlay.opaque",
    LONG_PRIVATE_NAME,
    b"security.s",
    b"system.x",
    b"other.x",
    b"",
    b"user." + b"u" * 251,
    b"user.a",
]
XATTR_SIZE_MAX = 65536
ODD_XATTR_VALUES = [b"v", b"", b"w" * (XATTR_SIZE_MAX + 1)]
ODD_XATTR_FLAGS = [0, ops.XATTR_CREATE, ops.XATTR_REPLACE, 3, 4]  # 3: both; 4: no such flag
# Suffixes that make a path odd: a trailing slash (a directory is demanded), "." and ".."
# as the last component, a doubled slash.  ".." is never put after the root: it would leave
# the mount.
ODD_SUFFIXES = [b"/", b"/.", b"/..", b"//", b"/./", b"./"]  # "./": "." before the last name
# Modes with the special bits, for the rule that copies such a file up (sgid without
# group-exec is not a "setgid executable": nobody clears it)
SPECIAL_MODES = [0o4755, 0o2755, 0o6755, 0o2745, 0o1755, 0o4744]
