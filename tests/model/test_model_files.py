"""Open files: data, handles across copy-up and unlink, FIFOs, remount (catalogue §2.1,
§2.3, §2.4)."""

from __future__ import annotations

import errno
import os

import pytest
from ovl_helpers import D, F, errno_of, mount, up

from model.content import content_digest
from model.errors import OvlError
from model.spec import Entry


def test_read_write_pread_pwrite_and_append() -> None:
    o = mount([F(b"f", b"hello")])
    fd = o.open(b"/f", os.O_RDWR)
    assert o.read(fd, 2) == b"he"
    assert o.write(fd, b"XY") == 2
    assert o.pread(fd, 10, 0) == b"heXYo"
    o.pwrite(fd, b"!", 10)
    assert o.fstat(fd).size == 11
    ap = o.open(b"/f", os.O_WRONLY | os.O_APPEND)
    o.pwrite(ap, b"end", 0)  # Linux: O_APPEND wins over the offset
    assert o.pread(fd, 3, 11) == b"end"


def test_write_on_read_only_handle_is_ebadf_and_read_on_write_only_ebadf() -> None:
    o = mount([], upper=[F(b"f")])
    ro = o.open(b"/f", os.O_RDONLY)
    wo = o.open(b"/f", os.O_WRONLY)
    assert errno_of(o.write, ro, b"x") == errno.EBADF
    assert errno_of(o.read, wo, 1) == errno.EBADF


def test_ftruncate_needs_a_writable_handle() -> None:
    o = mount([F(b"f", b"abc")])
    ro = o.open(b"/f", os.O_RDONLY)
    assert errno_of(o.ftruncate, ro, 0) == errno.EINVAL
    rw = o.open(b"/f", os.O_RDWR)
    o.ftruncate(rw, 1)
    assert o.content_digest(b"/f") == content_digest(1, [(0, b"a")])


def test_unlinked_open_lower_file_stays_readable_with_nlink_1() -> None:
    o = mount([F(b"f", b"data")])
    fd = o.open(b"/f", os.O_RDONLY)
    o.unlink(b"/f")
    assert o.read(fd, 10) == b"data"
    assert o.fstat(fd).nlink == 1


def test_unlinked_open_upper_file_shows_nlink_0() -> None:
    o = mount([], upper=[F(b"f", b"data")])
    fd = o.open(b"/f", os.O_RDWR)
    o.unlink(b"/f")
    o.write(fd, b"D")
    assert o.fstat(fd).nlink == 0


def test_o_trunc_changes_mtime_even_on_an_empty_file() -> None:
    o = mount([], upper=[F(b"f")])
    m = o.lstat(b"/f").mtime
    o.close(o.open(b"/f", os.O_WRONLY | os.O_TRUNC))
    assert o.lstat(b"/f").mtime != m


def test_truncate_to_the_same_size_changes_mtime_only_when_the_file_has_data() -> None:
    o = mount([], upper=[F(b"empty"), F(b"full", b"abc")])
    m_empty, m_full = o.lstat(b"/empty").mtime, o.lstat(b"/full").mtime
    o.truncate(b"/empty", 0)
    o.truncate(b"/full", 3)
    assert o.lstat(b"/empty").mtime == m_empty
    assert o.lstat(b"/full").mtime != m_full


def test_empty_write_changes_nothing() -> None:
    o = mount([], upper=[F(b"f")])
    m = o.lstat(b"/f").mtime
    fd = o.open(b"/f", os.O_WRONLY)
    assert o.write(fd, b"") == 0
    assert o.lstat(b"/f").mtime == m


def test_lseek_on_a_file() -> None:
    o = mount([F(b"f", b"abcdef")])
    fd = o.open(b"/f", os.O_RDONLY)
    assert o.lseek(fd, 0, os.SEEK_END) == 6
    assert o.lseek(fd, 2, os.SEEK_SET) == 2
    assert o.read(fd, 2) == b"cd"
    assert errno_of(o.lseek, fd, -10, os.SEEK_CUR) == errno.EINVAL


def test_fifo_without_a_reader_cannot_be_opened_for_writing() -> None:
    o = mount([D(b"d"), Entry(b"d/p", "fifo", 0o644)])
    assert errno_of(o.open, b"/d/p", os.O_WRONLY) == errno.ENXIO
    r = o.open(b"/d/p", os.O_RDONLY)
    assert o.read(r, 10) == b""  # no writer: end of file
    w = o.open(b"/d/p", os.O_WRONLY)
    assert errno_of(o.read, r, 10) == errno.EAGAIN
    o.write(w, b"hi")
    assert o.read(r, 10) == b"hi"
    assert up(o, b"/d") is None  # special files are not copied up on open


def test_socket_cannot_be_opened() -> None:
    o = mount([Entry(b"s", "sock", 0o644)])
    assert errno_of(o.open, b"/s", os.O_RDONLY) == errno.ENXIO


def test_close_twice_is_ebadf() -> None:
    o = mount([F(b"f")])
    fd = o.open(b"/f", os.O_RDONLY)
    o.close(fd)
    assert errno_of(o.close, fd) == errno.EBADF


def test_remount_keeps_layers_and_needs_closed_handles() -> None:
    o = mount([F(b"f", b"x")])
    fd = o.open(b"/f", os.O_WRONLY)
    o.write(fd, b"Y")
    with pytest.raises(OvlError):
        o.remount()
    o.close(fd)
    o.remount()
    assert o.content_digest(b"/f") == content_digest(1, [(0, b"Y")])
    assert up(o, b"/f") is not None


def test_fifo_has_no_positioned_io_and_no_fsync() -> None:
    o = mount([Entry(b"p", "fifo", 0o644)])
    r = o.open(b"/p", os.O_RDONLY)
    assert errno_of(o.pwrite, r, b"x", 0) == errno.ESPIPE  # before EBADF
    assert errno_of(o.pread, r, 1, 0) == errno.ESPIPE
    assert errno_of(o.lseek, r, 0, os.SEEK_SET) == errno.ESPIPE
    assert errno_of(o.fsync, r) == errno.EINVAL


def test_fsync_of_lower_file_and_dir_succeeds_without_copy_up() -> None:
    o = mount([D(b"d"), F(b"d/f")])
    o.fsync(o.open(b"/d/f", os.O_RDONLY))
    o.fsync(o.open(b"/d", os.O_RDONLY))
    assert up(o, b"/d") is None


def test_a_whence_past_seek_max_is_einval_before_the_file_is_looked_at() -> None:
    """``ksys_lseek`` (fs/read_write.c) refuses a whence past SEEK_MAX itself, before
    ``vfs_llseek``: EINVAL on a FIFO too, where any known whence is ESPIPE (checked on 6.18)."""
    o = mount([Entry(b"p", "fifo", 0o644), F(b"f", b"abc")])
    r = o.open(b"/p", os.O_RDONLY)
    assert errno_of(o.lseek, r, 0, 5) == errno.EINVAL
    assert errno_of(o.lseek, r, 0, os.SEEK_CUR) == errno.ESPIPE
    f = o.open(b"/f", os.O_RDONLY)
    assert errno_of(o.lseek, f, 0, 5) == errno.EINVAL
    assert o.lseek(f, 1, os.SEEK_CUR) == 1


def test_a_fifo_holds_sixteen_pages_and_merges_only_a_writes_last_partial_page() -> None:
    """``pipe_write`` (fs/pipe.c): a write's last ``len % PAGE_SIZE`` bytes go into the last
    buffer when they fit after its data, the rest into new pages, one per free slot of 16;
    a full pipe is EAGAIN with O_NONBLOCK (checked on 6.18: "new" then 70,000 bytes writes
    368 + 15 * 4096 = 61,808 of them, and then "new" is EAGAIN)."""
    o = mount([Entry(b"p", "fifo", 0o644)])
    fd = o.open(b"/p", os.O_RDWR)
    assert o.write(fd, b"new") == 3
    assert o.write(fd, b"y" * 70000) == 368 + 15 * 4096
    assert errno_of(o.write, fd, b"new") == errno.EAGAIN
    assert o.read(fd, 5) == b"newyy"
    assert errno_of(o.write, fd, b"new") == errno.EAGAIN  # the first page is not empty yet
    assert len(o.read(fd, 4096)) == 4096  # empties the first page, frees its slot
    assert o.write(fd, b"new") == 3
