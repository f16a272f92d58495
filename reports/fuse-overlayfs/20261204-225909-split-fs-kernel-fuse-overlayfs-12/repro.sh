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
mknod "$T/l0"/b c 0 0
chown -h 0:0 "$T/l0"/b
chmod 0 "$T/l0"/b
mknod "$T/l0"/c c 0 0
chown -h 0:0 "$T/l0"/c
chmod 0 "$T/l0"/c
mkdir "$T/l0"/d
chown -h 0:0 "$T/l0"/d
chmod 755 "$T/l0"/d
setfattr -h -n user.a -v 0x31 "$T/l0"/d
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/d
mkdir "$T/l0"/d/x
chown -h 0:0 "$T/l0"/d/x
chmod 777 "$T/l0"/d/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/d/x
printf '%b' $'hello\x5c0012' > "$T/l0"/d/x/x
chown -h 1001:1000 "$T/l0"/d/x/x
chmod 640 "$T/l0"/d/x/x
setfattr -h -n user.b -v 0x74776f "$T/l0"/d/x/x
mknod "$T/l0"/d/x/y c 0 0
chown -h 0:0 "$T/l0"/d/x/y
chmod 0 "$T/l0"/d/x/y
mkfifo "$T/l0"/d/y
chown -h 0:0 "$T/l0"/d/y
chmod 644 "$T/l0"/d/y
mkfifo "$T/l0"/d/z
chown -h 0:0 "$T/l0"/d/z
chmod 644 "$T/l0"/d/z
ln "$T/l0"/d/x/x "$T/l0"/d/x/hl
ln "$T/l0"/d/x/x "$T/l0"/hl2
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 755 "$T/l1"/d
setfattr -h -n user.a -v 0x31 "$T/l1"/d
mkdir "$T/l1"/d/x
chown -h 0:0 "$T/l1"/d/x
chmod 777 "$T/l1"/d/x
printf '%b' $'hello\x5c0012' > "$T/l1"/d/x/x
chown -h 1001:1000 "$T/l1"/d/x/x
chmod 640 "$T/l1"/d/x/x
setfattr -h -n user.b -v 0x74776f "$T/l1"/d/x/x
mkfifo "$T/l1"/d/y
chown -h 0:0 "$T/l1"/d/y
chmod 644 "$T/l1"/d/y
mkfifo "$T/l1"/d/z
chown -h 0:0 "$T/l1"/d/z
chmod 644 "$T/l1"/d/z
ln "$T/l1"/d/x/x "$T/l1"/d/x/hl
ln "$T/l1"/d/x/x "$T/l1"/hl2
mkdir "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 755 "$T/u"/a
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/a
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/a/x
chown -h 1000:1000 "$T/u"/a/x
chmod 644 "$T/u"/a/x
setfattr -h -n user.a -v 0x31 "$T/u"/a/x
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/a/y
chown -h 0:0 "$T/u"/a/y
chmod 444 "$T/u"/a/y
setfattr -h -n user.b -v 0x74776f "$T/u"/a/y
printf '%b' $'lower\x5c0040data' > "$T/u"/b
chown -h 0:0 "$T/u"/b
chmod 644 "$T/u"/b
setfattr -h -n user.a -v 0x31 "$T/u"/b
printf '%b' $'hello\x5c0012' > "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 755 "$T/u"/c
setfattr -h -n user.b -v 0x74776f "$T/u"/c
mkdir "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 1777 "$T/u"/d
mkdir "$T/u"/d/x
chown -h 0:0 "$T/u"/d/x
chmod 555 "$T/u"/d/x
setfattr -h -n user.b -v 0x74776f "$T/u"/d/x
mkdir "$T/u"/d/x/x
chown -h 0:0 "$T/u"/d/x/x
chmod 555 "$T/u"/d/x/x
setfattr -h -n user.a -v 0x31 "$T/u"/d/x/x
printf '%b' $'lower\x5c0040data' > "$T/u"/d/x/y
chown -h 0:0 "$T/u"/d/x/y
chmod 644 "$T/u"/d/x/y
setfattr -h -n user.b -v 0x74776f "$T/u"/d/x/y
mknod "$T/u"/d/y c 0 0
chown -h 0:0 "$T/u"/d/y
chmod 0 "$T/u"/d/y
mkdir "$T/u"/d/z
chown -h 1001:1000 "$T/u"/d/z
chmod 700 "$T/u"/d/z
mkdir "$T/u"/d/z/x
chown -h 0:0 "$T/u"/d/z/x
chmod 755 "$T/u"/d/z/x
mkfifo "$T/u"/d/z/y
chown -h 0:0 "$T/u"/d/z/y
chmod 644 "$T/u"/d/z/y
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Chown(path=b'"'"'/d/x/hl'"'"', owner=0, group=0)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Chown(path=b'/d/x/hl', owner=0, group=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
