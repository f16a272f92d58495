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
mkdir "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 777 "$T/u"/a
printf '%b' '' > "$T/u"/a/z
chown -h 0:0 "$T/u"/a/z
chmod 644 "$T/u"/a/z
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rename(old=b'"'"'/a/z'"'"', new=b'"'"'/a/a'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
mv -T "$M"/a/z "$M"/a/a || echo "failed: $?"
echo '--- step 2: Truncate(path=b'"'"'/.wh.x'"'"', length=5368709121)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
truncate -s 5368709121 "$M"/.wh.x || echo "failed: $?"
echo '--- step 3: Getxattr(path=b'"'"'/a/b'"'"', name=b'"'"'trusted.t'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
getfattr -n trusted.t --absolute-names "$M"/a/b || echo "failed: $?"
echo '--- step 4: Link(old=b'"'"'/a/a'"'"', new=b'"'"'/x'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
ln "$M"/a/a "$M"/x || echo "failed: $?"
echo '--- step 5: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
