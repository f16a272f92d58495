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
mkdir "$T/l2"/a
chown -h 1000:1000 "$T/l2"/a
chmod 755 "$T/l2"/a
printf '%b' $'lower\x5c0040data' > "$T/l2"/c
chown -h 0:0 "$T/l2"/c
chmod 644 "$T/l2"/c
ln "$T/l2"/c "$T/l2"/a/hl
ln "$T/l2"/c "$T/l2"/a/hl2
mkdir "$T/u"/a
chown -h 1000:1000 "$T/u"/a
chmod 755 "$T/u"/a
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/a
printf '%b' $'lower\x5c0040data' > "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 644 "$T/u"/c
ln "$T/u"/c "$T/u"/a/hl
ln "$T/u"/c "$T/u"/a/hl2
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Rename(old=b'"'"'/a/hl'"'"', new=b'"'"'/.wh.x'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
mv -T "$M"/a/hl "$M"/.wh.x || echo "failed: $?"
echo '--- step 3: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
