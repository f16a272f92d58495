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
printf '%b' $'\x5c0000\x5c0001' > "$T/l2"/b
chown -h 0:0 "$T/l2"/b
chmod 4755 "$T/l2"/b
mkdir "$T/l2"/c
chown -h 0:0 "$T/l2"/c
chmod 1777 "$T/l2"/c
mkdir "$T/l2"/c/z
chown -h 1001:1000 "$T/l2"/c/z
chmod 777 "$T/l2"/c/z
printf '%b' $'hello\x5c0012' > "$T/l2"/d
chown -h 1000:1000 "$T/l2"/d
chmod 640 "$T/l2"/d
ln "$T/l2"/d "$T/l2"/c/z/hl
ln "$T/l2"/d "$T/l2"/c/z/hl2
mknod "$T/u"/a c 0 0
chown -h 0:0 "$T/u"/a
chmod 0 "$T/u"/a
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/b
chown -h 0:0 "$T/u"/b
chmod 4755 "$T/u"/b
mkdir "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 1777 "$T/u"/c
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c
mkdir "$T/u"/c/z
chown -h 1001:1000 "$T/u"/c/z
chmod 777 "$T/u"/c/z
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c/z
printf '%b' $'hello\x5c0012' > "$T/u"/d
chown -h 1000:1000 "$T/u"/d
chmod 640 "$T/u"/d
ln "$T/u"/d "$T/u"/c/z/hl
ln "$T/u"/d "$T/u"/c/z/hl2
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rmdir(path=b'"'"'/c/z'"'"')  (model: ENOTEMPTY; recorded: {'"'"'kernel'"'"': '"'"'ENOTEMPTY'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTEMPTY'"'"'})'
rmdir "$M"/c/z || echo "failed: $?"
echo '--- step 2: Rmdir(path=b'"'"'/c'"'"')  (model: ENOTEMPTY; recorded: {'"'"'kernel'"'"': '"'"'ENOTEMPTY'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTEMPTY'"'"'})'
rmdir "$M"/c || echo "failed: $?"
echo '--- step 3: Rename(old=b'"'"'/c'"'"', new=b'"'"'/new'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EXDEV'"'"'})'
mv -T "$M"/c "$M"/new || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
