"""Entering a user namespace, as rootless container engines run the kernel overlay.

:func:`enter` moves the calling process into a new user namespace and a new mount namespace.
Its uid and gid maps are written from outside by a child forked beforehand, as
``newuidmap``/``newgidmap`` do for rootless podman: id 0 inside is the caller's own id
outside (root's child keeps owning what root owns, so reports and the scratch stay
writable), and ids 1..65535 map to a subordinate range far from any real user.  Inside, the
process is root of the namespace: it may mount tmpfs and overlay (both ``FS_USERNS_MOUNT``)
and change the owners of files whose ids are mapped, but it holds no capability in the
initial namespace.  So ``trusted.*`` xattrs are out of reach (``xattr_permission`` asks
``capable(CAP_SYS_ADMIN)``), device nodes other than whiteouts cannot be made (``vfs_mknod``
asks ``capable(CAP_MKNOD)``), and the overlay must keep its own xattrs in ``user.overlay.*``
(``userxattr``).

The mount namespace dies with its last process: whatever the process mounted there goes
with it, so nothing can be left mounted outside.  Mounts propagate neither in nor out (a
mount namespace owned by a less privileged user namespace receives its mounts as slaves).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from difftest import realfs

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
SUBORDINATE = 100_000  # outside id of inside id 1, as /etc/subuid's usual first range
COUNT = 65_536  # ids 0..65535 exist inside

class UsernsError(OSError):
    """A user namespace could not be entered (no ``CLONE_NEWUSER``, or a map refused)."""


def maps(own: int) -> bytes:
    """The uid_map (and gid_map) lines: 0 is ``own``, 1..65535 the subordinate range."""
    return f"0 {own} 1\n1 {SUBORDINATE + 1} {COUNT - 1}\n".encode()


def _write_maps(pid: int, uid: int, gid: int) -> None:
    with open(f"/proc/{pid}/uid_map", "wb") as f:
        f.write(maps(uid))
    with open(f"/proc/{pid}/gid_map", "wb") as f:
        f.write(maps(gid))


def enter() -> None:
    """Move this process into a new user and mount namespace, ids mapped as above (needs
    root outside, to write a map of more than the caller's own id).  Irreversible: call
    it in a process of its own (a forked worker).  Raises :class:`UsernsError`."""
    uid, gid, me = os.getuid(), os.getgid(), os.getpid()
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the map writer, runs in the child
        code = 1
        try:
            os.close(ready_w)
            os.close(done_r)
            if os.read(ready_r, 1) == b"u":
                _write_maps(me, uid, gid)
                code = 0
        except BaseException:
            code = 1
        finally:
            os.write(done_w, bytes([code]))
            os._exit(code)
    os.close(ready_r)
    os.close(done_w)
    try:
        try:
            realfs.unshare(CLONE_NEWUSER | CLONE_NEWNS)
        except OSError as e:
            os.write(ready_w, b"x")
            why = f"unshare(CLONE_NEWUSER|CLONE_NEWNS): {e.strerror}"
            raise UsernsError(e.errno, why) from None
        os.write(ready_w, b"u")
        answer = os.read(done_r, 1)
    finally:
        os.close(ready_w)
        os.close(done_r)
        os.waitpid(pid, 0)
    if answer != b"\0":
        raise UsernsError(1, "the uid/gid maps of the new user namespace were refused")
    # the ids inside are now 0 (the caller's own); take them for real, with all groups gone
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    # keep our mounts to ourselves even where / is shared (the slave copy already does)
    realfs.mount(b"none", b"/", None, realfs.MS_REC | realfs.MS_PRIVATE, None)


def inside() -> bool:
    """This process is in a user namespace other than the initial one (its uid_map is not
    the identity over all ids)."""
    try:
        with open("/proc/self/uid_map") as f:
            lines = f.read().split()
    except OSError:  # pragma: no cover - no /proc
        return False
    return lines != ["0", "0", "4294967295"]


def run_inside(body: Callable[[], int]) -> int:
    """``body()`` in a forked child that entered a user namespace; its exit code (1 if it
    raised, after printing the traceback; 128 + N if signal N killed it)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            enter()
            code = body()
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
