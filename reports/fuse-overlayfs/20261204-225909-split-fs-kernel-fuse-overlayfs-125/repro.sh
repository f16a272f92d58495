#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: split-fs (defaults; 2 lower(s), upper, each layer on its own filesystem)
set -u
T=$(mktemp -d /tmp/ovl-repro.XXXXXX)
mount -t tmpfs tmpfs "$T"
M="$T/m"
cleanup() { umount "$M" 2>/dev/null; umount "$T"; rmdir "$T"; }
trap cleanup EXIT
mkdir "$M" $T/l0 $T/l1 "$T/u" "$T/w"
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Open(path=b'"'"'/'"'"')  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'", '"'"'fuse-overlayfs'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Setxattr(path=b'"'"'/a/b'"'"', name=b'"'"'trusted.t'"'"', value=b'"'"'v'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -n trusted.t -v 0x76 "$M"/a/b || echo "failed: $?"
echo '--- step 3: Mknod(path=b'"'"'/'"'"', mode=8612, rdev=259)  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
# Mknod(path=b'/', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 4: Pread(h=0, size=4096, offset=5368709118)  (model: EISDIR; recorded: {'"'"'kernel'"'"': '"'"'EISDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EISDIR'"'"'})'
# Pread(h=0, size=4096, offset=5368709118): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 5: Link(old=b'"'"'/a/a'"'"', new=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"/a/a "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm || echo "failed: $?"
echo '--- step 6: Chmod(path=b'"'"'/'"'"', mode=384)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 600 "$M"/ || echo "failed: $?"
echo '--- step 7: Pread(h=0, size=16, offset=0)  (model: EISDIR; recorded: {'"'"'kernel'"'"': '"'"'EISDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EISDIR'"'"'})'
# Pread(h=0, size=16, offset=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 8: Pwrite(h=0, data=b'"'"'new'"'"', offset=1048576)  (model: EBADF; recorded: {'"'"'kernel'"'"': '"'"'EBADF'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EBADF'"'"'})'
# Pwrite(h=0, data=b'new', offset=1048576): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 9: Rmdir(path=b'"'"'/a/b'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
rmdir "$M"/a/b || echo "failed: $?"
echo '--- step 10: Truncate(path=b'"'"'/a/x'"'"', length=0)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
truncate -s 0 "$M"/a/x || echo "failed: $?"
echo '--- step 11: Removexattr(path=b'"'"'/new'"'"', name=b'"'"'trusted.t'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -x trusted.t "$M"/new || echo "failed: $?"
echo '--- step 12: Read(h=0, size=4)  (model: EISDIR; recorded: {'"'"'kernel'"'"': '"'"'EISDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EISDIR'"'"'})'
# Read(h=0, size=4): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 13: Pread(h=0, size=4, offset=2)  (model: EISDIR; recorded: {'"'"'kernel'"'"': '"'"'EISDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EISDIR'"'"'})'
# Pread(h=0, size=4, offset=2): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 14: Unlink(path=b'"'"'/.wh.x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
unlink "$M"/.wh.x || echo "failed: $?"
echo '--- step 15: Fstat(h=0)  (model: ('"'"'drw-------'"'"', 0, 0, 0, 1, 0); recorded: {'"'"'kernel'"'"': "('"'"'drw-------'"'"', 0, 0, 0, 1, 0)", '"'"'fuse-overlayfs'"'"': "('"'"'drw-------'"'"', 0, 0, 0, 2, 0)"})'
# Fstat(h=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
