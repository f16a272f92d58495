#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: index=on (index=on; 2 lower(s), upper)
set -u
T=$(mktemp -d /tmp/ovl-repro.XXXXXX)
mount -t tmpfs tmpfs "$T"
M="$T/m"
cleanup() { umount "$M" 2>/dev/null; umount "$T"; rmdir "$T"; }
trap cleanup EXIT
mkdir "$M" $T/l0 $T/l1 "$T/u" "$T/w"
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
printf '%b' $'hello\x5c0012' > "$T/u"/a/x
chown -h 0:0 "$T/u"/a/x
chmod 4755 "$T/u"/a/x
ln -s x "$T/u"/a/z
mkdir "$T/u"/b
chown -h 1001:1000 "$T/u"/b
chmod 755 "$T/u"/b
setfattr -h -n user.a -v 0x31 "$T/u"/b
printf '%b' '' > "$T/u"/b/y
chown -h 1000:1000 "$T/u"/b/y
chmod 644 "$T/u"/b/y
setfattr -h -n user.b -v 0x74776f "$T/u"/b/y
mkdir "$T/u"/b/z
chown -h 0:0 "$T/u"/b/z
chmod 555 "$T/u"/b/z
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/b/z
printf '%b' $'lower\x5c0040data' > "$T/u"/b/z/x
chown -h 0:0 "$T/u"/b/z/x
chmod 644 "$T/u"/b/z/x
setfattr -h -n user.a -v 0x31 "$T/u"/b/z/x
printf '%b' $'hello\x5c0012' > "$T/u"/b/z/y
chown -h 1000:1000 "$T/u"/b/z/y
chmod 4755 "$T/u"/b/z/y
setfattr -h -n user.b -v 0x74776f "$T/u"/b/z/y
printf '%b' $'hello\x5c0012' > "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 644 "$T/u"/c
mknod "$T/u"/d c 0 0
chown -h 0:0 "$T/u"/d
chmod 0 "$T/u"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Open(path=b'"'"'/'"'"')  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'", '"'"'fuse-overlayfs'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Pwrite(h=0, data=b'"'"'new'"'"', offset=1048576)  (model: EBADF; recorded: {'"'"'kernel'"'"': '"'"'EBADF'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EBADF'"'"'})'
# Pwrite(h=0, data=b'new', offset=1048576): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
