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
printf '%b' '' > "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 644 "$T/u"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Mknod(path=b'"'"'/b'"'"', mode=4516)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Mknod(path=b'/b', mode=4516): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Rmdir(path=b'"'"'/a/a'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
rmdir "$M"/a/a || echo "failed: $?"
echo '--- step 3: Setxattr(path=b'"'"'/d'"'"', name=b'"'"'user.new'"'"', value=b'"'"'v'"'"', flags=2)  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENODATA'"'"'})'
setfattr -n user.new -v 0x76 "$M"/d || echo "failed: $?"
echo '--- step 4: Removexattr(path=b'"'"'/d'"'"', name=b'"'"'user.new'"'"')  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENODATA'"'"'})'
setfattr -x user.new "$M"/d || echo "failed: $?"
echo '--- step 5: Truncate(path=b'"'"'/d'"'"', length=100)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
truncate -s 100 "$M"/d || echo "failed: $?"
echo '--- step 6: Link(old=b'"'"'/x'"'"', new=b'"'"'/new'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"/x "$M"/new || echo "failed: $?"
echo '--- step 7: Setxattr(path=b'"'"'/x'"'"', name=b'"'"'user.b'"'"', value=b'"'"''"'"', uid=1000, gid=1000)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups setfattr -n user.b -v 0x00 "$M"/x || echo "failed: $?"
echo '--- step 8: Stat(path=b'"'"'/a/b'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
stat -L -c '%A %u:%g size=%s nlink=%h ino=%i' "$M"/a/b || echo "failed: $?"
echo '--- step 9: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 10: Rmdir(path=b'"'"'/a/b'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
rmdir "$M"/a/b || echo "failed: $?"
echo '--- step 11: Chmod(path=b'"'"'/a/a'"'"', mode=384)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
chmod 600 "$M"/a/a || echo "failed: $?"
echo '--- step 12: Setxattr(path=b'"'"'/b'"'"', name=b'"'"'trusted.overlay.x'"'"', value=b'"'"''"'"', flags=2)  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EPERM'"'"'})'
setfattr -n trusted.overlay.x -v 0x00 "$M"/b || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
