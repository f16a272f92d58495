#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: index=on (index=on; 2 lower(s), upper)
set -u
T=$(mktemp -d /tmp/ovl-repro.XXXXXX)
mount -t tmpfs tmpfs "$T"
M="$T/m"
cleanup() { umount "$M" 2>/dev/null; umount "$T"; rmdir "$T"; }
trap cleanup EXIT
mkdir "$M" $T/l0 $T/l1 "$T/u" "$T/w"
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Open(path=b'"'"'/b'"'"', flags=65)  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'", '"'"'fuse-overlayfs'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/b', flags=65): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Chmod(path=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"', mode=0)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
chmod 0 "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm || echo "failed: $?"
echo '--- step 3: Pwrite(h=0, data=b'"'"'new'"'"', offset=3)  (model: 3; recorded: {'"'"'kernel'"'"': '"'"'3'"'"', '"'"'fuse-overlayfs'"'"': '"'"'3'"'"'})'
# Pwrite(h=0, data=b'new', offset=3): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 4: Chmod(path=b'"'"'/b'"'"', mode=384)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 600 "$M"/b || echo "failed: $?"
echo '--- step 5: Pread(h=0, size=16, offset=0)  (model: EBADF; recorded: {'"'"'kernel'"'"': '"'"'EBADF'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EBADF'"'"'})'
# Pread(h=0, size=16, offset=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 6: Removexattr(path=b'"'"'/x'"'"', name=b'"'"'user.a'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -x user.a "$M"/x || echo "failed: $?"
echo '--- step 7: Chmod(path=b'"'"'/b'"'"', mode=384)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 600 "$M"/b || echo "failed: $?"
echo '--- step 8: Pread(h=0, size=16, offset=0)  (model: EBADF; recorded: {'"'"'kernel'"'"': '"'"'EBADF'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EBADF'"'"'})'
# Pread(h=0, size=16, offset=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 9: Open(path=b'"'"'/new'"'"', flags=1)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Open(path=b'/new', flags=1): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 10: Link(old=b'"'"'/a/new'"'"', new=b'"'"'/x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"/a/new "$M"/x || echo "failed: $?"
echo '--- step 11: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
