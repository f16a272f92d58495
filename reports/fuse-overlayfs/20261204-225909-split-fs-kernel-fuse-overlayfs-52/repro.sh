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
mkdir "$T/l1"/a
chown -h 0:0 "$T/l1"/a
chmod 700 "$T/l1"/a
printf '%b' $'hello\x5c0012' > "$T/l1"/a/x
chown -h 0:0 "$T/l1"/a/x
chmod 4755 "$T/l1"/a/x
mkdir "$T/l1"/a/y
chown -h 0:0 "$T/l1"/a/y
chmod 555 "$T/l1"/a/y
mkdir "$T/l1"/a/y/y
chown -h 1000:1000 "$T/l1"/a/y/y
chmod 755 "$T/l1"/a/y/y
mkdir "$T/l1"/a/z
chown -h 1001:1000 "$T/l1"/a/z
chmod 1777 "$T/l1"/a/z
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/a/z/x
chown -h 0:0 "$T/l1"/a/z/x
chmod 4755 "$T/l1"/a/z/x
mkdir "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 555 "$T/l1"/c
setfattr -h -n user.b -v 0x74776f "$T/l1"/c
mkdir "$T/l1"/c/z
chown -h 1001:1000 "$T/l1"/c/z
chmod 755 "$T/l1"/c/z
mkfifo "$T/l1"/c/z/x
chown -h 0:0 "$T/l1"/c/z/x
chmod 644 "$T/l1"/c/z/x
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 777 "$T/l1"/d
ln -s x "$T/l1"/d/x
mkdir "$T/l1"/d/z
chown -h 0:0 "$T/l1"/d/z
chmod 755 "$T/l1"/d/z
setfattr -h -n user.a -v 0x31 "$T/l1"/d/z
mkdir "$T/l1"/d/z/y
chown -h 1001:1000 "$T/l1"/d/z/y
chmod 700 "$T/l1"/d/z/y
setfattr -h -n user.b -v 0x74776f "$T/l1"/d/z/y
ln "$T/l1"/a/z/x "$T/l1"/hl
ln "$T/l1"/a/z/x "$T/l1"/d/z/y/hl2
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rename(old=b'"'"'/a/y'"'"', new=b'"'"'/a/a'"'"', uid=1000, gid=1000)  (model: EACCES; recorded: {'"'"'kernel'"'"': '"'"'EACCES'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EACCES'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups mv -T "$M"/a/y "$M"/a/a || echo "failed: $?"
echo '--- step 2: Rmdir(path=b'"'"'/b'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
rmdir "$M"/b || echo "failed: $?"
echo '--- step 3: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
