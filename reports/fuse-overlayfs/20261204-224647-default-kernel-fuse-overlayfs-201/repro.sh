#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: default (defaults; 2 lower(s), upper)
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
printf '%b' '' > "$T/l1"/d/z
chown -h 0:0 "$T/l1"/d/z
chmod 644 "$T/l1"/d/z
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Mknod(path=b'"'"'/b'"'"', mode=8612, rdev=259)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Mknod(path=b'/b', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 3: Rmdir(path=b'"'"'/b'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
rmdir "$M"/b || echo "failed: $?"
echo '--- step 4: Rename(old=b'"'"'/a'"'"', new=b'"'"'/d'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
mv -T "$M"/a "$M"/d || echo "failed: $?"
echo '--- step 5: Open(path=b'"'"'/a'"'"', flags=1025)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Open(path=b'/a', flags=1025): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 6: Setxattr(path=b'"'"'/a/a'"'"', name=b'"'"'user.new'"'"', value=b'"'"''"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -n user.new -v 0x00 "$M"/a/a || echo "failed: $?"
echo '--- step 7: Link(old=b'"'"'/a/new'"'"', new=b'"'"'/.wh.x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"/a/new "$M"/.wh.x || echo "failed: $?"
echo '--- step 8: Link(old=b'"'"'/b'"'"', new=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENAMETOOLONG'"'"'})'
ln "$M"/b "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
