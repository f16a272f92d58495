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
ln -s a "$T/l2"/a
mkdir "$T/l2"/c
chown -h 0:0 "$T/l2"/c
chmod 700 "$T/l2"/c
mkdir "$T/l2"/c/z
chown -h 0:0 "$T/l2"/c/z
chmod 755 "$T/l2"/c/z
ln -s a "$T/u"/a
mkdir "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 700 "$T/u"/c
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c
mkdir "$T/u"/c/z
chown -h 0:0 "$T/u"/c/z
chmod 755 "$T/u"/c/z
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Getxattr(path=b'"'"'/new'"'"', name=b'"'"'user.a'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
getfattr -n user.a --absolute-names "$M"/new || echo "failed: $?"
echo '--- step 3: Getxattr(path=b'"'"'/c'"'"', name=b'"'"'trusted.t'"'"')  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENODATA'"'"'})'
getfattr -n trusted.t --absolute-names "$M"/c || echo "failed: $?"
echo '--- step 4: Rename(old=b'"'"'/c'"'"', new=b'"'"'/x'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
mv -T "$M"/c "$M"/x || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
