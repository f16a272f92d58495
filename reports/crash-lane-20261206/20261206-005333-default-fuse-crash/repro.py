#!/usr/bin/env python3
"""Reproducer written by difftest: run as root on Linux with overlayfs.

Config: default (defaults; 2 lower(s), upper)
"""
# Each entry: (path, kind, mode, uid, gid, data, size, target, rdev, xattrs)
LOWERS = [
    [(b'a', 'dir', 511, 0, 0, b'', None, b'', 0, ((b'trusted.overlay.priv', b'p'),)), (b'a/y', 'whiteout', 0, 0, 0, b'', None, b'', 0, ()), (b'c', 'reg', 420, 0, 0, b'hello\n', None, b'', 0, ((b'user.a', b'1'),))],
    [(b'a', 'dir', 511, 0, 0, b'', None, b'', 0, ((b'trusted.overlay.priv', b'p'),)), (b'c', 'reg', 420, 0, 0, b'hello\n', None, b'', 0, ((b'user.a', b'1'),))],
]
UPPER = [(b'a', 'dir', 511, 0, 0, b'', None, b'', 0, ((b'trusted.overlay.priv', b'p'),)), (b'a/y', 'whiteout', 0, 0, 0, b'', None, b'', 0, ()), (b'c', 'reg', 420, 0, 0, b'hello\n', None, b'', 0, ((b'user.a', b'1'),))]
# data-only lower layers (lowerdir=...::data0)
DATA = [
]
OPTIONS = []
# Each step: (syscall, args, uid, gid, expected by the model, recorded results)
STEPS = [
    ('remount', {}, 0, 0, 'ok', {'fuse-crash': 'ok'}),
    ('link', {'old': b'/a/y', 'new': b'/a'}, 0, 0, 'ENOENT', {'fuse-crash': 'ENOENT'}),
    ('symlink', {'target': b'a', 'path': b'/a/x'}, 0, 0, 'ok', {'fuse-crash': 'ok'}),
    ('symlink', {'target': b'a', 'path': b'/a/x'}, 0, 0, 'EEXIST', {'fuse-crash': 'EEXIST'}),
    ('symlink', {'target': b'a', 'path': b'/a/x'}, 1000, 1000, 'EEXIST', {'fuse-crash': 'EEXIST'}),
    ('symlink', {'target': b'b', 'path': b'/\xe9'}, 0, 0, 'ok', {'fuse-crash': 'ok'}),
    ('symlink', {'target': b'', 'path': b'/x'}, 0, 0, 'ENOENT', {'fuse-crash': 'ENOENT'}),
    ('symlink', {'target': b'a', 'path': b'/a/x'}, 0, 0, 'EEXIST', {'fuse-crash': 'EEXIST'}),
    ('symlink', {'target': b'', 'path': b'/'}, 0, 0, 'ENOENT', {'fuse-crash': 'ENOENT'}),
    ('symlink', {'target': b'a', 'path': b'/\xe9'}, 1000, 1000, 'EEXIST', {'fuse-crash': 'EEXIST'}),
    ('symlink', {'target': b'a', 'path': b'/new'}, 0, 0, 'ok', {'fuse-crash': 'ok'}),
    ('symlink', {'target': b'a', 'path': b'/a/new'}, 1000, 1000, 'ok', {'fuse-crash': 'ECONNABORTED'}),
]

import ctypes
import errno
import os
import shutil
import stat
import sys
import tempfile

libc = ctypes.CDLL(None, use_errno=True)


def check(ret):
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ret


MS_RDONLY, MS_REMOUNT = 1, 32


def mount(src, target, fstype, flags, data):
    f = libc.mount
    p = ctypes.c_char_p
    f.argtypes = [p, p, p, ctypes.c_ulong, p]
    check(f(src, target, fstype, flags, data))


def umount(target):
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    check(libc.umount2(target, 0))


def build(root, entries):
    # paths relative to the layer, from inside it: a path below a layer may be up to
    # PATH_MAX - 1 bytes long on its own
    back = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    os.chdir(root)
    try:
        for entry in entries:
            make(*entry)
    finally:
        os.fchdir(back)
        os.close(back)


def make(p, kind, mode, uid, gid, data, size, target, rdev, xattrs):
    p = p or b"."
    if kind == "dir":
        if p != b".":
            os.mkdir(p)
    elif kind == "reg":
        with open(p, "wb") as f:
            f.write(data)
            if size is not None:
                f.truncate(size)
    elif kind == "lnk":
        os.symlink(target, p)
    elif kind == "whiteout":
        os.mknod(p, stat.S_IFCHR | 0, 0)
    elif kind == "hardlink":
        os.link(target, p, follow_symlinks=False)
    elif kind in ("chr", "blk"):
        os.mknod(p, (stat.S_IFCHR if kind == "chr" else stat.S_IFBLK) | mode, rdev)
    elif kind == "fifo":
        os.mkfifo(p, mode)
    elif kind == "sock":
        os.mknod(p, stat.S_IFSOCK | mode)
    if kind not in ("lnk", "hardlink"):
        os.lchown(p, uid, gid)
        os.chmod(p, mode)
    for k, v in xattrs:
        os.setxattr(p, k, v, follow_symlinks=False)


def getdents(fd):
    buf = ctypes.create_string_buffer(65536)
    out = []
    while True:
        n = check(libc.syscall(217, fd, buf, len(buf)))
        if n == 0:
            return sorted(out)
        pos = 0
        while pos < n:
            reclen = int.from_bytes(buf.raw[pos + 16:pos + 18], "little")
            dtype = buf.raw[pos + 18]
            name = buf.raw[pos + 19:pos + reclen].split(b"\0", 1)[0]
            out.append((name, dtype))
            pos += reclen


def show_stat(st):
    size = 0 if stat.S_ISDIR(st.st_mode) else st.st_size
    mode = stat.filemode(st.st_mode)
    return "%s %d:%d size=%d nlink=%d" % (mode, st.st_uid, st.st_gid, size, st.st_nlink)


class FileHandle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * 128)]


class Runner:
    def __init__(self, mnt):
        self.mnt = mnt
        self.fds = {}
        self.label = 0
        self.handles = {}  # file handles (name_to_handle_at), by the path they were taken for

    def p(self, path):
        # a path too long to follow the mountpoint's own path is given relative to the
        # mount's root, from inside it (as difftest calls it); "/" stays mnt/, whose parent
        # is outside the mount
        if len(self.mnt) + len(path) < 4096:
            return self.mnt + path
        return path[1:]

    def call(self, name, a):
        p = self.p
        if name in ("lstat", "stat"):
            return show_stat(os.stat(p(a["path"]), follow_symlinks=(name == "stat")))
        if name == "fstat":
            return show_stat(os.fstat(self.fds[a["h"]]))
        if name == "readdir":
            fd = os.open(p(a["path"]), os.O_RDONLY | os.O_DIRECTORY)
            try:
                return getdents(fd)
            finally:
                os.close(fd)
        if name == "getdents":
            return getdents(self.fds[a["h"]])
        if name == "open":
            fd = os.open(p(a["path"]), a["flags"], a["mode"])
            self.fds[self.label] = fd
            self.label += 1
            return "handle"
        if name == "close":
            return os.close(self.fds.pop(a["h"]))
        if name == "read":
            return os.read(self.fds[a["h"]], a["size"])
        if name == "pread":
            return os.pread(self.fds[a["h"]], a["size"], a["offset"])
        if name == "write":
            return os.write(self.fds[a["h"]], a["data"])
        if name == "pwrite":
            return os.pwrite(self.fds[a["h"]], a["data"], a["offset"])
        if name == "ftruncate":
            return os.ftruncate(self.fds[a["h"]], a["length"])
        if name == "fsync":
            return os.fsync(self.fds[a["h"]])
        if name == "lseek":
            return os.lseek(self.fds[a["h"]], a["offset"], a["whence"])
        if name == "truncate":
            return os.truncate(p(a["path"]), a["length"])
        if name == "mkdir":
            return os.mkdir(p(a["path"]), a["mode"])
        if name == "mknod":
            return os.mknod(p(a["path"]), a["mode"], a["rdev"])
        if name == "symlink":
            return os.symlink(a["target"], p(a["path"]))
        if name == "readlink":
            return os.readlink(p(a["path"]))
        if name == "link":
            return os.link(p(a["old"]), p(a["new"]), follow_symlinks=False)
        if name == "unlink":
            return os.unlink(p(a["path"]))
        if name == "rmdir":
            return os.rmdir(p(a["path"]))
        if name == "rename":
            check(libc.syscall(316, -100, p(a["old"]), -100, p(a["new"]), a["flags"]))
            return None
        if name == "chmod":
            return os.chmod(p(a["path"]), a["mode"])
        if name == "chown":
            return os.chown(p(a["path"]), a["uid"], a["gid"])
        if name == "utimens":
            class TS(ctypes.Structure):
                _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]
            def ts(v):
                if v is None:
                    return TS(0, (1 << 30) - 2)  # UTIME_OMIT
                if v == -1:
                    return TS(0, (1 << 30) - 1)  # UTIME_NOW
                return TS(v // 10**9, v % 10**9)
            times = (TS * 2)(ts(a["atime_ns"]), ts(a["mtime_ns"]))
            check(libc.utimensat(-100, p(a["path"]), times, 0))
            return None
        if name == "setxattr":
            return os.setxattr(p(a["path"]), a["name"], a["value"], a["flags"])
        if name == "getxattr":
            return os.getxattr(p(a["path"]), a["name"])
        if name == "listxattr":
            return sorted(os.listxattr(p(a["path"])))
        if name == "removexattr":
            return os.removexattr(p(a["path"]), a["name"])
        if name == "statfs":
            sv = os.statvfs(p(a["path"]))
            return "namelen=%d ro=%s" % (sv.f_namemax, bool(sv.f_flag & os.ST_RDONLY))
        if name == "name_to_handle_at":  # the handle is kept under the path, as difftest does
            fh = FileHandle()
            fh.handle_bytes = 128
            mount_id = ctypes.c_int()
            check(libc.name_to_handle_at(-100, p(a["path"]), ctypes.byref(fh),
                                         ctypes.byref(mount_id), 0x400 if a["follow"] else 0))
            self.handles[a["path"]] = fh
            return None
        if name == "open_by_handle_at":
            if a["path"] not in self.handles:
                raise OSError(errno.EBADF, "no file handle was taken for this path")
            mfd = os.open(self.mnt, os.O_RDONLY | os.O_DIRECTORY)
            try:
                fd = check(libc.open_by_handle_at(mfd, ctypes.byref(self.handles[a["path"]]),
                                                  os.O_PATH))
            finally:
                os.close(mfd)
            st = os.fstat(fd)
            os.close(fd)
            return show_stat(st)
        if name == "reconfigure":  # mount -o remount,ro or remount,rw: handles stay open
            mount(None, self.mnt, None, MS_REMOUNT | (MS_RDONLY if a["ro"] else 0), None)
            return None
        if name == "remount":
            for fd in self.fds.values():
                os.close(fd)
            self.fds.clear()
            os.chdir("/")  # the working directory would keep the mount busy
            umount(self.mnt)
            # a volatile mount leaves work/incompat/volatile, and the next mount fails until
            # it is removed (after a clean umount, as here, that is allowed)
            incompat = os.path.join(os.path.dirname(self.mnt), b"w", b"work", b"incompat")
            left = sorted(map(os.fsdecode, os.listdir(incompat))) if os.path.isdir(incompat) else []
            shutil.rmtree(os.path.join(incompat, b"volatile"), ignore_errors=True)
            mount(b"overlay", self.mnt, b"overlay", MOUNT_FLAGS, MOUNT_DATA)
            os.chdir(self.mnt)
            return tuple(left) or None
        raise ValueError(name)

    def run(self, name, a, uid, gid):
        if uid == 0 and gid == 0:
            return self.call(name, a)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                os.setgroups([])
                os.setresgid(gid, gid, gid)
                os.setresuid(uid, uid, uid)
                res = repr(self.call(name, a))
            except OSError as e:
                res = errno.errorcode.get(e.errno, str(e.errno))
            os.write(w, res.encode())
            os._exit(0)
        os.close(w)
        data = b""
        while chunk := os.read(r, 4096):
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        return "(as %d:%d) %s" % (uid, gid, data.decode())


def dump_upper(root):
    for dirpath, dirnames, filenames, dirfd in os.fwalk(root):
        dirnames.sort()
        here = [(os.path.relpath(dirpath, root), ".", os.open(".", os.O_RDONLY, dir_fd=dirfd))]
        for name in sorted(filenames):
            here.append((os.path.join(os.path.relpath(dirpath, root), name), name, dirfd))
        for shown, name, fd in here:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            kind = stat.filemode(st.st_mode)[0]
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                kind = "whiteout"
            xs = {}
            path = "/proc/self/fd/%d/%s" % (fd, name)
            try:
                for x in os.listxattr(path, follow_symlinks=False):
                    if x.startswith("trusted.overlay."):
                        v = os.getxattr(path, x, follow_symlinks=False)
                        xs[x] = v if x != "trusted.overlay.origin" else b"<fh>"
            except OSError:
                pass
            print("  %-9s %s %s" % (kind, shown, xs or ""))
        os.close(here[0][2])


def main():
    if os.geteuid() != 0:
        sys.exit("repro.py: run as root")
    os.umask(0)
    global MOUNT_FLAGS, MOUNT_DATA
    top = tempfile.mkdtemp(prefix="ovl-repro-")
    mount(b"tmpfs", top.encode(), b"tmpfs", 0, b"")
    mnt = os.path.join(top, "m")
    runner = None
    try:
        os.mkdir(mnt)
        lowers = []
        for i, entries in enumerate(LOWERS):
            d = os.path.join(top, "l%d" % i)
            os.mkdir(d)
            build(d, entries)
            lowers.append(d)
        datas = []
        for i, entries in enumerate(DATA):
            d = os.path.join(top, "d%d" % i)
            os.mkdir(d)
            build(d, entries)
            datas.append(d)
        opts = ["lowerdir=" + ":".join(lowers) + "".join("::" + d for d in datas)]
        MOUNT_FLAGS = 0
        if UPPER is not None:
            for d in ("u", "w"):
                os.mkdir(os.path.join(top, d))
            build(os.path.join(top, "u"), UPPER)
            opts += ["upperdir=" + os.path.join(top, "u"), "workdir=" + os.path.join(top, "w")]
        else:
            MOUNT_FLAGS = 1  # MS_RDONLY
        opts += [o for o in OPTIONS if o != "ro"]
        if "ro" in OPTIONS:
            MOUNT_FLAGS = 1
        MOUNT_DATA = ",".join(opts).encode()
        mount(b"overlay", mnt.encode(), b"overlay", MOUNT_FLAGS, MOUNT_DATA)
        print("mounted overlay:", MOUNT_DATA.decode())
        runner = Runner(os.fsencode(mnt))
        os.chdir(mnt)
        for i, (name, a, uid, gid, expected, recorded) in enumerate(STEPS, 1):
            try:
                got = runner.run(name, a, uid, gid)
                got = "ok" if got is None else repr(got) if not isinstance(got, str) else got
            except OSError as e:
                got = errno.errorcode.get(e.errno, str(e.errno))
            except KeyError:  # a handle this script never opened
                got = "EBADF"
            print("step %d: %s(%s)" % (i, name, ", ".join("%s=%r" % kv for kv in a.items())))
            print("    now: %s" % got)
            print("    model expected: %s   recorded: %s" % (expected, recorded))
        if UPPER is not None:
            print("upper layer:")
            dump_upper(os.path.join(top, "u"))
        for fd in runner.fds.values():
            os.close(fd)
        runner.fds.clear()
    finally:
        os.chdir("/")
        for fd in runner.fds.values() if runner is not None else ():
            try:
                os.close(fd)
            except OSError:
                pass
        for target in (mnt.encode(), top.encode()):
            try:
                umount(target)
            except OSError:  # busy (a helper still holds it): detach, never leave it behind
                libc.umount2(target, 2)  # MNT_DETACH
        os.rmdir(top)


if __name__ == "__main__":
    main()
