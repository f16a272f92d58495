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
printf '%b' '' > "$T/l0"/b
chown -h 1001:1000 "$T/l0"/b
chmod 444 "$T/l0"/b
printf '%b' $'\x5c0000\x5c0001' > "$T/l0"/c
truncate -s 5368709120 "$T/l0"/c
chown -h 0:0 "$T/l0"/c
chmod 644 "$T/l0"/c
mknod "$T/l0"/d c 0 0
chown -h 0:0 "$T/l0"/d
chmod 0 "$T/l0"/d
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 4755 "$T/l1"/b
setfattr -h -n user.b -v 0x74776f "$T/l1"/b
mkdir "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 555 "$T/l1"/c
setfattr -h -n user.a -v 0x31 "$T/l1"/c
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l1"/c
mkfifo "$T/l1"/c/x
chown -h 0:0 "$T/l1"/c/x
chmod 644 "$T/l1"/c/x
mkdir "$T/l1"/c/z
chown -h 0:0 "$T/l1"/c/z
chmod 755 "$T/l1"/c/z
setfattr -h -n user.b -v 0x74776f "$T/l1"/c/z
mkdir "$T/l1"/c/z/x
chown -h 0:0 "$T/l1"/c/z/x
chmod 755 "$T/l1"/c/z/x
mkfifo "$T/l1"/c/z/y
chown -h 1001:1000 "$T/l1"/c/z/y
chmod 644 "$T/l1"/c/z/y
mknod "$T/l1"/d c 0 0
chown -h 0:0 "$T/l1"/d
chmod 0 "$T/l1"/d
ln "$T/l1"/b "$T/l1"/hl
ln "$T/l1"/b "$T/l1"/hl2
printf '%b' $'\x5c0000\x5c0001' > "$T/l2"/b
chown -h 0:0 "$T/l2"/b
chmod 4755 "$T/l2"/b
setfattr -h -n user.b -v 0x74776f "$T/l2"/b
mkdir "$T/l2"/c
chown -h 0:0 "$T/l2"/c
chmod 555 "$T/l2"/c
setfattr -h -n user.a -v 0x31 "$T/l2"/c
mkfifo "$T/l2"/c/x
chown -h 0:0 "$T/l2"/c/x
chmod 644 "$T/l2"/c/x
mkdir "$T/l2"/c/z
chown -h 0:0 "$T/l2"/c/z
chmod 755 "$T/l2"/c/z
setfattr -h -n user.b -v 0x74776f "$T/l2"/c/z
mkdir "$T/l2"/c/z/x
chown -h 0:0 "$T/l2"/c/z/x
chmod 755 "$T/l2"/c/z/x
mkfifo "$T/l2"/c/z/y
chown -h 1001:1000 "$T/l2"/c/z/y
chmod 644 "$T/l2"/c/z/y
ln "$T/l2"/b "$T/l2"/hl
ln "$T/l2"/b "$T/l2"/hl2
mkdir "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 755 "$T/u"/a
mkdir "$T/u"/a/y
chown -h 1000:1000 "$T/u"/a/y
chmod 755 "$T/u"/a/y
setfattr -h -n user.b -v 0x74776f "$T/u"/a/y
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/a/y
mkdir "$T/u"/a/y/x
chown -h 0:0 "$T/u"/a/y/x
chmod 777 "$T/u"/a/y/x
setfattr -h -n user.b -v 0x74776f "$T/u"/a/y/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/a/y/x
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/a/y/y
chown -h 0:0 "$T/u"/a/y/y
chmod 644 "$T/u"/a/y/y
setfattr -h -n user.b -v 0x74776f "$T/u"/a/y/y
printf '%b' $'hello\x5c0012' > "$T/u"/a/z
chown -h 0:0 "$T/u"/a/z
chmod 640 "$T/u"/a/z
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/b
chown -h 1000:1000 "$T/u"/b
chmod 600 "$T/u"/b
mkdir "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 555 "$T/u"/d
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/d
mkdir "$T/u"/d/x
chown -h 1001:1000 "$T/u"/d/x
chmod 755 "$T/u"/d/x
setfattr -h -n user.a -v 0x31 "$T/u"/d/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/d/x
ln -s c "$T/u"/d/x/x
printf '%b' $'lower\x5c0040data' > "$T/u"/d/x/y
chown -h 1000:1000 "$T/u"/d/x/y
chmod 755 "$T/u"/d/x/y
setfattr -h -n user.a -v 0x31 "$T/u"/d/x/y
mkdir "$T/u"/d/y
chown -h 0:0 "$T/u"/d/y
chmod 555 "$T/u"/d/y
ln -s ../b "$T/u"/d/y/y
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"


echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
