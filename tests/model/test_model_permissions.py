"""Permission checks on the overlay inode with the caller's credentials; copy-up with the
mounter's (catalogue §2.12, §6)."""

from __future__ import annotations

import errno
import os

from ovl_helpers import OTHER, USER, D, F, errno_of, mount, up


def test_search_permission_on_each_directory() -> None:
    o = mount([D(b"d", 0o700), F(b"d/f")])
    assert errno_of(o.lstat, b"/d/f", cred=USER) == errno.EACCES
    assert o.lstat(b"/d/f").size == 0


def test_create_needs_write_and_search_on_the_parent() -> None:
    o = mount([D(b"d", 0o755)])
    assert errno_of(o.mkdir, b"/d/x", 0o755, cred=USER) == errno.EACCES
    assert up(o, b"/d") is None  # a denied operation copies nothing up


def test_non_root_can_create_in_own_dir_even_when_upper_is_root_owned() -> None:
    o = mount([D(b"mine", 0o755, uid=1000, gid=1000)])
    o.mkdir(b"/mine/x", 0o700, cred=USER)
    assert up(o, b"/mine").uid == 1000  # type: ignore[union-attr]  # copy-up kept the owner
    assert (up(o, b"/mine/x").uid, up(o, b"/mine/x").gid) == (1000, 1000)  # type: ignore[union-attr]


def test_sticky_dir_protects_other_users_files() -> None:
    o = mount([D(b"t", 0o1777), F(b"t/f", uid=1001, gid=1001)])
    assert errno_of(o.unlink, b"/t/f", cred=USER) == errno.EPERM
    assert errno_of(o.rename, b"/t/f", b"/t/g", cred=USER) == errno.EPERM
    o.unlink(b"/t/f", cred=OTHER)


def test_chmod_needs_ownership() -> None:
    o = mount([F(b"f", mode=0o666)])
    assert errno_of(o.chmod, b"/f", 0o600, cred=USER) == errno.EPERM
    assert up(o, b"/f") is None


def test_chown_to_another_uid_needs_root() -> None:
    o = mount([F(b"f", uid=1000, gid=1000)])
    assert errno_of(o.chown, b"/f", 0, -1, cred=USER) == errno.EPERM
    o.chown(b"/f", 1000, 1000, cred=USER)  # no change is allowed


def test_chown_clears_setuid_even_for_root_and_minus_one() -> None:
    o = mount([F(b"f", mode=0o6755)])
    o.chown(b"/f", -1, -1)
    assert o.lstat(b"/f").mode & 0o7777 == 0o755


def test_chown_minus_one_by_a_non_owner_is_allowed_unless_it_would_clear_setuid() -> None:
    o = mount([F(b"plain", mode=0o644), F(b"suid", mode=0o4755)])
    o.chown(b"/plain", -1, -1, cred=USER)
    assert errno_of(o.chown, b"/suid", -1, -1, cred=USER) == errno.EPERM


def test_utimens_explicit_needs_ownership_now_needs_write() -> None:
    o = mount([F(b"w", mode=0o666), F(b"r", mode=0o644)])
    assert errno_of(o.utimens, b"/w", 5, 5, cred=USER) == errno.EPERM
    o.utimens(b"/w", -1, -1, cred=USER)
    assert errno_of(o.utimens, b"/r", -1, -1, cred=USER) == errno.EACCES


def test_open_for_write_without_permission_is_eacces_without_copy_up() -> None:
    o = mount([F(b"f", mode=0o644)])
    assert errno_of(o.open, b"/f", os.O_WRONLY, cred=USER) == errno.EACCES
    assert up(o, b"/f") is None


def test_write_by_a_non_root_caller_clears_setuid() -> None:
    o = mount([F(b"f", mode=0o4777)])
    fd = o.open(b"/f", os.O_WRONLY, cred=USER)
    o.write(fd, b"x")
    assert o.fstat(fd).mode & 0o7777 == 0o777


def test_truncate_needs_write_permission() -> None:
    o = mount([F(b"f", mode=0o644)])
    assert errno_of(o.truncate, b"/f", 0, cred=USER) == errno.EACCES


def test_readdir_needs_read_permission() -> None:
    o = mount([D(b"d", 0o711)])
    assert errno_of(o.readdir, b"/d", cred=USER) == errno.EACCES


def test_protected_hardlinks_refuse_a_file_the_caller_cannot_write() -> None:
    o = mount([D(b"d", 0o777), F(b"d/f", mode=0o644)])
    assert errno_of(o.link, b"/d/f", b"/d/g", cred=USER) == errno.EPERM
