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
mkdir "$T/l0"/c
chown -h 0:0 "$T/l0"/c
chmod 777 "$T/l0"/c
setfattr -h -n user.a -v 0x31 "$T/l0"/c
mkdir "$T/l0"/c/y
chown -h 1001:1000 "$T/l0"/c/y
chmod 700 "$T/l0"/c/y
setfattr -h -n user.a -v 0x31 "$T/l0"/c/y
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/c/y
mkdir "$T/l0"/c/y/x
chown -h 1001:1000 "$T/l0"/c/y/x
chmod 777 "$T/l0"/c/y/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/c/y/x
printf '%b' $'hello\x5c0012' > "$T/l0"/c/y/y
chown -h 1000:1000 "$T/l0"/c/y/y
chmod 644 "$T/l0"/c/y/y
mknod "$T/l0"/c/z c 0 0
chown -h 0:0 "$T/l0"/c/z
chmod 0 "$T/l0"/c/z
printf '%b' '' > "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 644 "$T/l1"/d
mkdir "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 755 "$T/u"/a
printf '%b' '' > "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 644 "$T/u"/c
printf '%b' '' > "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 644 "$T/u"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Link(old=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"', new=b'"'"'/d'"'"')  (model: ENAMETOOLONG; recorded: {'"'"'kernel'"'"': '"'"'ENAMETOOLONG'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm "$M"/d || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
