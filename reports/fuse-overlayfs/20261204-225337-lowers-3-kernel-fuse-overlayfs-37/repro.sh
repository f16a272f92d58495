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
mkdir "$T/l2"/c
chown -h 0:0 "$T/l2"/c
chmod 755 "$T/l2"/c
ln -s a "$T/l2"/c/y
mknod "$T/u"/a c 0 0
chown -h 0:0 "$T/u"/a
chmod 0 "$T/u"/a
mkdir "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 700 "$T/u"/c
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c
printf '%b' '' > "$T/u"/c/y
chown -h 0:0 "$T/u"/c/y
chmod 644 "$T/u"/c/y
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Unlink(path=b'"'"'/c/y'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
unlink "$M"/c/y || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
