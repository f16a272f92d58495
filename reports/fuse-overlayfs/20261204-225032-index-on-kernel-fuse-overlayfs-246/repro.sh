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
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/b
chown -h 1000:1000 "$T/l1"/b
chmod 644 "$T/l1"/b
setfattr -h -n user.a -v 0x31 "$T/l1"/b
ln "$T/l1"/b "$T/l1"/hl
ln "$T/l1"/b "$T/l1"/hl2
mkdir "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 755 "$T/u"/a
printf '%b' '' > "$T/u"/a/y
chown -h 0:0 "$T/u"/a/y
chmod 644 "$T/u"/a/y
printf '%b' '' > "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 644 "$T/u"/c
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Getxattr(path=b'"'"'/c'"'"', name=b'"'"'trusted.overlay.x'"'"')  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENODATA'"'"'})'
getfattr -n trusted.overlay.x --absolute-names "$M"/c || echo "failed: $?"
echo '--- step 3: Symlink(target=b'"'"'a'"'"', path=b'"'"'/c/z'"'"', uid=1000, gid=1000)  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups ln -s a "$M"/c/z || echo "failed: $?"
echo '--- step 4: Rename(old=b'"'"'/a'"'"', new=b'"'"'/c/z'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
mv -T "$M"/a "$M"/c/z || echo "failed: $?"
echo '--- step 5: Rename(old=b'"'"'/c'"'"', new=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"', flags=4)  (model: EINVAL; recorded: {'"'"'kernel'"'"': '"'"'EINVAL'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENAMETOOLONG'"'"'})'
python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),4); print("ok" if r==0 else ctypes.get_errno())' "$M"/c "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
