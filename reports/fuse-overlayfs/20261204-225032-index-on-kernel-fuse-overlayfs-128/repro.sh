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
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 755 "$T/l1"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rmdir(path=b'"'"'/'"'"')  (model: EBUSY; recorded: {'"'"'kernel'"'"': '"'"'EBUSY'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EBUSY'"'"'})'
rmdir "$M"/ || echo "failed: $?"
echo '--- step 2: Truncate(path=b'"'"'/a/a'"'"', length=0)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
truncate -s 0 "$M"/a/a || echo "failed: $?"
echo '--- step 3: Link(old=b'"'"'/a'"'"', new=b'"'"'/x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"/a "$M"/x || echo "failed: $?"
echo '--- step 4: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 5: Open(path=b'"'"'/d'"'"', flags=2)  (model: EISDIR; recorded: {'"'"'kernel'"'"': '"'"'EISDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EISDIR'"'"'})'
# Open(path=b'/d', flags=2): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 6: Removexattr(path=b'"'"'/x'"'"', name=b'"'"'user.b'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -x user.b "$M"/x || echo "failed: $?"
echo '--- step 7: Unlink(path=b'"'"'/a/new'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
unlink "$M"/a/new || echo "failed: $?"
echo '--- step 8: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 9: Rmdir(path=b'"'"'/d'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
rmdir "$M"/d || echo "failed: $?"
echo '--- step 10: Statfs(path=b'"'"'/.wh.x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
stat -f -c 'type=%T namelen=%l' "$M"/.wh.x || echo "failed: $?"
echo '--- step 11: Mknod(path=b'"'"'/.wh.x'"'"', mode=8612, rdev=259)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Mknod(path=b'/.wh.x', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 12: Statfs(path=b'"'"'/.wh.x'"'"')  (model: ('"'"'0x794c7630'"'"', 255, False); recorded: {'"'"'kernel'"'"': "('"'"'0x794c7630'"'"', 255, False)", '"'"'fuse-overlayfs'"'"': "('"'"'0x794c7630'"'"', 251, False)"})'
stat -f -c 'type=%T namelen=%l' "$M"/.wh.x || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
