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
printf '%b' '' > "$T/l1"/a
chown -h 0:0 "$T/l1"/a
chmod 644 "$T/l1"/a
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 640 "$T/l1"/b
mkdir "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 755 "$T/l1"/c
setfattr -h -n user.b -v 0x74776f "$T/l1"/c
printf '%b' $'lower\x5c0040data' > "$T/l1"/c/x
chown -h 1000:1000 "$T/l1"/c/x
chmod 644 "$T/l1"/c/x
setfattr -h -n user.b -v 0x74776f "$T/l1"/c/x
mkdir "$T/l1"/d
chown -h 1001:1000 "$T/l1"/d
chmod 755 "$T/l1"/d
mkfifo "$T/l1"/d/x
chown -h 0:0 "$T/l1"/d/x
chmod 644 "$T/l1"/d/x
mkdir "$T/l1"/d/z
chown -h 0:0 "$T/l1"/d/z
chmod 700 "$T/l1"/d/z
setfattr -h -n user.a -v 0x31 "$T/l1"/d/z
mkdir "$T/l1"/d/z/x
chown -h 0:0 "$T/l1"/d/z/x
chmod 755 "$T/l1"/d/z/x
setfattr -h -n user.a -v 0x31 "$T/l1"/d/z/x
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Chmod(path=b'"'"'/a/b'"'"', mode=416)  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
chmod 640 "$M"/a/b || echo "failed: $?"
echo '--- step 2: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 3: Removexattr(path=b'"'"'/d/x'"'"', name=b'"'"'trusted.t'"'"')  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENODATA'"'"'})'
setfattr -x trusted.t "$M"/d/x || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
