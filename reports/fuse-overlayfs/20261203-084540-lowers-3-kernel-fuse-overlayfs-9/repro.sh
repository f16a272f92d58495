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
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/a
truncate -s 5368709120 "$T/l1"/a
chown -h 1000:1000 "$T/l1"/a
chmod 644 "$T/l1"/a
setfattr -h -n user.b -v 0x74776f "$T/l1"/a
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/b
chown -h 1001:1000 "$T/l1"/b
chmod 644 "$T/l1"/b
setfattr -h -n user.b -v 0x74776f "$T/l1"/b
mknod "$T/l1"/c c 0 0
chown -h 0:0 "$T/l1"/c
chmod 0 "$T/l1"/c
printf '%b' $'hello\x5c0012' > "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 600 "$T/l1"/d
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/$'e\x20f'
truncate -s 5368709120 "$T/l1"/$'e\x20f'
chown -h 0:0 "$T/l1"/$'e\x20f'
chmod 444 "$T/l1"/$'e\x20f'
setfattr -h -n user.a -v 0x31 "$T/l1"/$'e\x20f'
mkdir "$T/l2"/d
chown -h 1001:1000 "$T/l2"/d
chmod 555 "$T/l2"/d
setfattr -h -n user.b -v 0x74776f "$T/l2"/d
mkfifo "$T/l2"/d/x
chown -h 0:0 "$T/l2"/d/x
chmod 644 "$T/l2"/d/x
printf '%b' $'lower\x5c0040data' > "$T/l2"/d/y
chown -h 0:0 "$T/l2"/d/y
chmod 644 "$T/l2"/d/y
setfattr -h -n user.a -v 0x31 "$T/l2"/d/y
ln "$T/l2"/d/y "$T/l2"/d/hl
mkdir "$T/u"/a
chown -h 1000:1000 "$T/u"/a
chmod 755 "$T/u"/a
setfattr -h -n user.b -v 0x74776f "$T/u"/a
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/a
mknod "$T/u"/a/x c 0 0
chown -h 0:0 "$T/u"/a/x
chmod 0 "$T/u"/a/x
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/a/y
truncate -s 5368709120 "$T/u"/a/y
chown -h 0:0 "$T/u"/a/y
chmod 600 "$T/u"/a/y
mkdir "$T/u"/b
chown -h 1000:1000 "$T/u"/b
chmod 777 "$T/u"/b
mkdir "$T/u"/b/x
chown -h 1000:1000 "$T/u"/b/x
chmod 777 "$T/u"/b/x
mknod "$T/u"/b/x/x c 0 0
chown -h 0:0 "$T/u"/b/x/x
chmod 0 "$T/u"/b/x/x
printf '%b' $'hello\x5c0012' > "$T/u"/b/z
chown -h 1001:1000 "$T/u"/b/z
chmod 640 "$T/u"/b/z
setfattr -h -n user.a -v 0x31 "$T/u"/b/z
mkdir "$T/u"/d
chown -h 1000:1000 "$T/u"/d
chmod 755 "$T/u"/d
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/d
mkdir "$T/u"/d/x
chown -h 1001:1000 "$T/u"/d/x
chmod 755 "$T/u"/d/x
setfattr -h -n user.a -v 0x31 "$T/u"/d/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/d/x
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/d/x/x
chown -h 1001:1000 "$T/u"/d/x/x
chmod 600 "$T/u"/d/x/x
setfattr -h -n user.a -v 0x31 "$T/u"/d/x/x
mkdir "$T/u"/d/x/y
chown -h 0:0 "$T/u"/d/x/y
chmod 755 "$T/u"/d/x/y
setfattr -h -n user.a -v 0x31 "$T/u"/d/x/y
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/d/x/y
mknod "$T/u"/d/y c 0 0
chown -h 0:0 "$T/u"/d/y
chmod 0 "$T/u"/d/y
printf '%b' $'lower\x5c0040data' > "$T/u"/d/z
chown -h 1001:1000 "$T/u"/d/z
chmod 755 "$T/u"/d/z
setfattr -h -n user.b -v 0x74776f "$T/u"/d/z
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Chmod(path=b'"'"'/e f'"'"', mode=420)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 644 "$M"$'/e\x20f' || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
