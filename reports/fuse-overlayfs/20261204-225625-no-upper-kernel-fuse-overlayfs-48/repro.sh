#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: no-upper (defaults; 2 lower(s), no upper)
set -u
T=$(mktemp -d /tmp/ovl-repro.XXXXXX)
mount -t tmpfs tmpfs "$T"
M="$T/m"
cleanup() { umount "$M" 2>/dev/null; umount "$T"; rmdir "$T"; }
trap cleanup EXIT
mkdir "$M" $T/l0 $T/l1
mkdir "$T/l1"/a
chown -h 0:0 "$T/l1"/a
chmod 755 "$T/l1"/a
printf '%b' '' > "$T/l1"/a/y
chown -h 0:0 "$T/l1"/a/y
chmod 644 "$T/l1"/a/y
printf '%b' '' > "$T/l1"/a/z
chown -h 0:0 "$T/l1"/a/z
chmod 644 "$T/l1"/a/z
mkdir "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 755 "$T/l1"/b
printf '%b' '' > "$T/l1"/b/y
chown -h 0:0 "$T/l1"/b/y
chmod 644 "$T/l1"/b/y
OPTS="lowerdir=$T/l0:$T/l1,ro"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Link(old=b'"'"'/a/z'"'"', new=b'"'"'/.wh.x'"'"')  (model: EROFS; recorded: {'"'"'kernel'"'"': '"'"'EROFS'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EROFS'"'"'})'
ln "$M"/a/z "$M"/.wh.x || echo "failed: $?"
echo '--- step 3: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 4: Link(old=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"', new=b'"'"'/b'"'"')  (model: ENAMETOOLONG; recorded: {'"'"'kernel'"'"': '"'"'ENAMETOOLONG'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm "$M"/b || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
