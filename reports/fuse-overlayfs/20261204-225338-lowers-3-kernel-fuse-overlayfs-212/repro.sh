#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: lowers=3 (defaults; 3 lower(s), upper)
set -u
T=$(mktemp -d /tmp/ovl-repro.XXXXXX)
mount -t tmpfs tmpfs "$T"
M="$T/m"
cleanup() { umount "$M" 2>/dev/null; umount "$T"; rmdir "$T"; }
trap cleanup EXIT
mkdir "$M" $T/l0 $T/l1 $T/l2 "$T/u" "$T/w"
printf '%b' '' > "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 644 "$T/u"/c
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Setxattr(path=b'"'"'/a/a'"'"', name=b'"'"'user.a'"'"', value=b'"'"'v'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -n user.a -v 0x76 "$M"/a/a || echo "failed: $?"
echo '--- step 2: Stat(path=b'"'"'/\xe9'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
stat -L -c '%A %u:%g size=%s nlink=%h ino=%i' "$M"$'/\xe9' || echo "failed: $?"
echo '--- step 3: Rename(old=b'"'"'/.wh.x'"'"', new=b'"'"'/a'"'"', flags=1)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
mv -T --no-clobber "$M"/.wh.x "$M"/a  # RENAME_NOREPLACE || echo "failed: $?"
echo '--- step 4: Chown(path=b'"'"'/a'"'"', owner=1000, group=1000)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Chown(path=b'/a', owner=1000, group=1000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 5: Setxattr(path=b'"'"'/x'"'"', name=b'"'"'trusted.overlay.x'"'"', value=b'"'"'v'"'"', flags=2)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -n trusted.overlay.x -v 0x76 "$M"/x || echo "failed: $?"
echo '--- step 6: Readlink(path=b'"'"'/a/a'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
readlink "$M"/a/a || echo "failed: $?"
echo '--- step 7: Stat(path=b'"'"'/a/a'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
stat -L -c '%A %u:%g size=%s nlink=%h ino=%i' "$M"/a/a || echo "failed: $?"
echo '--- step 8: Truncate(path=b'"'"'/a/b'"'"', length=100)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
truncate -s 100 "$M"/a/b || echo "failed: $?"
echo '--- step 9: Mkdir(path=b'"'"'/a/a'"'"', mode=1023)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
mkdir -m 1777 "$M"/a/a || echo "failed: $?"
echo '--- step 10: Chown(path=b'"'"'/a/b'"'"', owner=1000, group=1000)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Chown(path=b'/a/b', owner=1000, group=1000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 11: Mknod(path=b'"'"'/.wh.x'"'"', mode=4516)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Mknod(path=b'/.wh.x', mode=4516): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 12: Setxattr(path=b'"'"'/x'"'"', name=b'"'"'trusted.overlay.x'"'"', value=b'"'"''"'"', flags=1)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -n trusted.overlay.x -v 0x00 "$M"/x || echo "failed: $?"
echo '--- step 13: Mknod(path=b'"'"'/.wh.x'"'"', mode=8612, rdev=259)  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Mknod(path=b'/.wh.x', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
