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
chmod 1777 "$T/l2"/c
mkdir "$T/l2"/c/x
chown -h 0:0 "$T/l2"/c/x
chmod 555 "$T/l2"/c/x
mkdir "$T/l2"/c/x/x
chown -h 0:0 "$T/l2"/c/x/x
chmod 755 "$T/l2"/c/x/x
ln -s a "$T/l2"/c/x/y
mkfifo "$T/l2"/c/y
chown -h 1000:1000 "$T/l2"/c/y
chmod 644 "$T/l2"/c/y
mkdir "$T/l2"/c/z
chown -h 1001:1000 "$T/l2"/c/z
chmod 1777 "$T/l2"/c/z
mkfifo "$T/l2"/c/z/x
chown -h 0:0 "$T/l2"/c/z/x
chmod 644 "$T/l2"/c/z/x
mkdir "$T/l2"/c/z/y
chown -h 0:0 "$T/l2"/c/z/y
chmod 700 "$T/l2"/c/z/y
ln -s dangling "$T/l2"/d
mknod "$T/u"/a c 0 0
chown -h 0:0 "$T/u"/a
chmod 0 "$T/u"/a
mkdir "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 1777 "$T/u"/c
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c
mkdir "$T/u"/c/x
chown -h 0:0 "$T/u"/c/x
chmod 555 "$T/u"/c/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c/x
mkdir "$T/u"/c/x/x
chown -h 0:0 "$T/u"/c/x/x
chmod 755 "$T/u"/c/x/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c/x/x
ln -s a "$T/u"/c/x/y
mkfifo "$T/u"/c/y
chown -h 1000:1000 "$T/u"/c/y
chmod 644 "$T/u"/c/y
mkdir "$T/u"/c/z
chown -h 1001:1000 "$T/u"/c/z
chmod 1777 "$T/u"/c/z
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c/z
mkfifo "$T/u"/c/z/x
chown -h 0:0 "$T/u"/c/z/x
chmod 644 "$T/u"/c/z/x
mkdir "$T/u"/c/z/y
chown -h 0:0 "$T/u"/c/z/y
chmod 700 "$T/u"/c/z/y
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c/z/y
ln -s dangling "$T/u"/d
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rmdir(path=b'"'"'/c/x'"'"')  (model: ENOTEMPTY; recorded: {'"'"'kernel'"'"': '"'"'ENOTEMPTY'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTEMPTY'"'"'})'
rmdir "$M"/c/x || echo "failed: $?"
echo '--- step 2: Unlink(path=b'"'"'/c/y'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
unlink "$M"/c/y || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
