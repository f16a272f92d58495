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
mkdir "$T/u"/a/x
chown -h 0:0 "$T/u"/a/x
chmod 755 "$T/u"/a/x
ln -s a "$T/u"/a/x/x
mkdir "$T/u"/a/x/y
chown -h 0:0 "$T/u"/a/x/y
chmod 1777 "$T/u"/a/x/y
setfattr -h -n user.a -v 0x31 "$T/u"/a/x/y
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/a/y
chown -h 0:0 "$T/u"/a/y
chmod 444 "$T/u"/a/y
setfattr -h -n user.b -v 0x74776f "$T/u"/a/y
printf '%b' $'lower\x5c0040data' > "$T/u"/b
chown -h 0:0 "$T/u"/b
chmod 644 "$T/u"/b
setfattr -h -n user.a -v 0x31 "$T/u"/b
mkdir "$T/u"/c
chown -h 1001:1000 "$T/u"/c
chmod 755 "$T/u"/c
setfattr -h -n user.b -v 0x74776f "$T/u"/c
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c
mkdir "$T/u"/c/x
chown -h 1001:1000 "$T/u"/c/x
chmod 700 "$T/u"/c/x
setfattr -h -n user.b -v 0x74776f "$T/u"/c/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c/x
mkdir "$T/u"/c/x/x
chown -h 1001:1000 "$T/u"/c/x/x
chmod 755 "$T/u"/c/x/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c/x/x
mkdir "$T/u"/c/x/y
chown -h 1000:1000 "$T/u"/c/x/y
chmod 555 "$T/u"/c/x/y
setfattr -h -n user.a -v 0x31 "$T/u"/c/x/y
mkdir "$T/u"/c/y
chown -h 1001:1000 "$T/u"/c/y
chmod 755 "$T/u"/c/y
setfattr -h -n user.b -v 0x74776f "$T/u"/c/y
mkfifo "$T/u"/c/y/x
chown -h 0:0 "$T/u"/c/y/x
chmod 644 "$T/u"/c/y/x
printf '%b' $'lower\x5c0040data' > "$T/u"/c/z
chown -h 1001:1000 "$T/u"/c/z
chmod 640 "$T/u"/c/z
mkdir "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 555 "$T/u"/d
setfattr -h -n user.b -v 0x74776f "$T/u"/d
mknod "$T/u"/d/x c 0 0
chown -h 0:0 "$T/u"/d/x
chmod 0 "$T/u"/d/x
mkdir "$T/u"/d/y
chown -h 1000:1000 "$T/u"/d/y
chmod 755 "$T/u"/d/y
setfattr -h -n user.b -v 0x74776f "$T/u"/d/y
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/d/y
mkdir "$T/u"/d/y/x
chown -h 0:0 "$T/u"/d/y/x
chmod 777 "$T/u"/d/y/x
setfattr -h -n user.b -v 0x74776f "$T/u"/d/y/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/d/y/x
printf '%b' '' > "$T/u"/d/y/y
chown -h 0:0 "$T/u"/d/y/y
chmod 4755 "$T/u"/d/y/y
mkdir "$T/u"/d/z
chown -h 1001:1000 "$T/u"/d/z
chmod 700 "$T/u"/d/z
mkdir "$T/u"/d/z/x
chown -h 0:0 "$T/u"/d/z/x
chmod 755 "$T/u"/d/z/x
mkfifo "$T/u"/d/z/y
chown -h 0:0 "$T/u"/d/z/y
chmod 644 "$T/u"/d/z/y
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rmdir(path=b'"'"'/a/x'"'"')  (model: ENOTEMPTY; recorded: {'"'"'kernel'"'"': '"'"'ENOTEMPTY'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTEMPTY'"'"'})'
rmdir "$M"/a/x || echo "failed: $?"
echo '--- step 2: Unlink(path=b'"'"'/a/y'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
unlink "$M"/a/y || echo "failed: $?"
echo '--- step 3: Rmdir(path=b'"'"'/a'"'"')  (model: ENOTEMPTY; recorded: {'"'"'kernel'"'"': '"'"'ENOTEMPTY'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTEMPTY'"'"'})'
rmdir "$M"/a || echo "failed: $?"
echo '--- step 4: Rename(old=b'"'"'/c/x/x'"'"', new=b'"'"'/a/y'"'"', flags=4)  (model: EINVAL; recorded: {'"'"'kernel'"'"': '"'"'EINVAL'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),4); print("ok" if r==0 else ctypes.get_errno())' "$M"/c/x/x "$M"/a/y || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
