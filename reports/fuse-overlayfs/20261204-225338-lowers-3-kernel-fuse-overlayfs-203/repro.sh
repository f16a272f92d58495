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
printf '%b' $'\x5c0000\x5c0001' > "$T/l2"/a
chown -h 0:0 "$T/l2"/a
chmod 644 "$T/l2"/a
setfattr -h -n user.b -v 0x74776f "$T/l2"/a
ln "$T/l2"/a "$T/l2"/hl
ln "$T/l2"/a "$T/l2"/hl2
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Removexattr(path=b'"'"'/x'"'"', name=b'"'"'trusted.overlay.x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -x trusted.overlay.x "$M"/x || echo "failed: $?"
echo '--- step 3: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 4: Open(path=b'"'"'/hl'"'"', flags=66048)  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
# Open(path=b'/hl', flags=66048): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 5: Truncate(path=b'"'"'/a/new'"'"', length=0)  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
truncate -s 0 "$M"/a/new || echo "failed: $?"
echo '--- step 6: Lstat(path=b'"'"'/a'"'"')  (model: ('"'"'-rw-r--r--'"'"', 0, 0, 2, 3, 0); recorded: {'"'"'kernel'"'"': "('"'"'-rw-r--r--'"'"', 0, 0, 2, 3, 0)", '"'"'fuse-overlayfs'"'"': "('"'"'-rw-r--r--'"'"', 0, 0, 2, 3, 0)"})'
stat -c '%A %u:%g size=%s nlink=%h ino=%i' "$M"/a || echo "failed: $?"
echo '--- step 7: Rename(old=b'"'"'/a'"'"', new=b'"'"'/hl'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
mv -T "$M"/a "$M"/hl || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
