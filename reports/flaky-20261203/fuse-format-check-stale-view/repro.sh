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
ln -s x "$T/l0"/a
mkdir "$T/l0"/b
chown -h 0:0 "$T/l0"/b
chmod 1777 "$T/l0"/b
setfattr -h -n user.a -v 0x31 "$T/l0"/b
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/b
mkdir "$T/l0"/b/y
chown -h 1001:1000 "$T/l0"/b/y
chmod 1777 "$T/l0"/b/y
mkdir "$T/l0"/b/y/x
chown -h 0:0 "$T/l0"/b/y/x
chmod 755 "$T/l0"/b/y/x
printf '%b' $'lower\x5c0040data' > "$T/l0"/b/y/y
chown -h 0:0 "$T/l0"/b/y/y
chmod 444 "$T/l0"/b/y/y
setfattr -h -n user.b -v 0x74776f "$T/l0"/b/y/y
mkfifo "$T/l0"/b/z
chown -h 0:0 "$T/l0"/b/z
chmod 644 "$T/l0"/b/z
printf '%b' '' > "$T/l0"/c
chown -h 0:0 "$T/l0"/c
chmod 644 "$T/l0"/c
mkdir "$T/l0"/d
chown -h 1000:1000 "$T/l0"/d
chmod 755 "$T/l0"/d
setfattr -h -n user.b -v 0x74776f "$T/l0"/d
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/d
mknod "$T/l0"/d/x c 0 0
chown -h 0:0 "$T/l0"/d/x
chmod 0 "$T/l0"/d/x
mkdir "$T/l0"/d/y
chown -h 1001:1000 "$T/l0"/d/y
chmod 777 "$T/l0"/d/y
setfattr -h -n user.b -v 0x74776f "$T/l0"/d/y
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/d/y
mkdir "$T/l0"/d/y/x
chown -h 0:0 "$T/l0"/d/y/x
chmod 755 "$T/l0"/d/y/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/d/y/x
mkdir "$T/l0"/d/y/y
chown -h 1001:1000 "$T/l0"/d/y/y
chmod 700 "$T/l0"/d/y/y
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/d/y/y
mkdir "$T/l0"/d/z
chown -h 0:0 "$T/l0"/d/z
chmod 555 "$T/l0"/d/z
setfattr -h -n user.a -v 0x31 "$T/l0"/d/z
printf '%b' $'\x5c0000\x5c0001' > "$T/l0"/d/z/x
chown -h 0:0 "$T/l0"/d/z/x
chmod 640 "$T/l0"/d/z/x
mknod "$T/l0"/d/z/y c 0 0
chown -h 0:0 "$T/l0"/d/z/y
chmod 0 "$T/l0"/d/z/y
ln -s x "$T/l1"/a
mkdir "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 1777 "$T/l1"/b
setfattr -h -n user.a -v 0x31 "$T/l1"/b
mkdir "$T/l1"/b/y
chown -h 1001:1000 "$T/l1"/b/y
chmod 1777 "$T/l1"/b/y
mkdir "$T/l1"/b/y/x
chown -h 0:0 "$T/l1"/b/y/x
chmod 755 "$T/l1"/b/y/x
printf '%b' $'lower\x5c0040data' > "$T/l1"/b/y/y
chown -h 0:0 "$T/l1"/b/y/y
chmod 444 "$T/l1"/b/y/y
setfattr -h -n user.b -v 0x74776f "$T/l1"/b/y/y
mkfifo "$T/l1"/b/z
chown -h 0:0 "$T/l1"/b/z
chmod 644 "$T/l1"/b/z
printf '%b' '' > "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 644 "$T/l1"/c
mkdir "$T/l1"/d
chown -h 1000:1000 "$T/l1"/d
chmod 755 "$T/l1"/d
setfattr -h -n user.b -v 0x74776f "$T/l1"/d
mkdir "$T/l1"/d/y
chown -h 1001:1000 "$T/l1"/d/y
chmod 777 "$T/l1"/d/y
setfattr -h -n user.b -v 0x74776f "$T/l1"/d/y
mkdir "$T/l1"/d/y/x
chown -h 0:0 "$T/l1"/d/y/x
chmod 755 "$T/l1"/d/y/x
mkdir "$T/l1"/d/y/y
chown -h 1001:1000 "$T/l1"/d/y/y
chmod 700 "$T/l1"/d/y/y
mkdir "$T/l1"/d/z
chown -h 0:0 "$T/l1"/d/z
chmod 555 "$T/l1"/d/z
setfattr -h -n user.a -v 0x31 "$T/l1"/d/z
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/d/z/x
chown -h 0:0 "$T/l1"/d/z/x
chmod 640 "$T/l1"/d/z/x
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 600 "$T/u"/a
mkdir "$T/u"/b
chown -h 0:0 "$T/u"/b
chmod 755 "$T/u"/b
printf '%b' $'lower\x5c0040data' > "$T/u"/b/x
chown -h 1001:1000 "$T/u"/b/x
chmod 644 "$T/u"/b/x
mkdir "$T/u"/b/y
chown -h 1000:1000 "$T/u"/b/y
chmod 777 "$T/u"/b/y
mkdir "$T/u"/b/y/y
chown -h 1000:1000 "$T/u"/b/y/y
chmod 755 "$T/u"/b/y/y
setfattr -h -n user.b -v 0x74776f "$T/u"/b/y/y
printf '%b' $'hello\x5c0012' > "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 644 "$T/u"/c
setfattr -h -n user.a -v 0x31 "$T/u"/c
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Statfs(path=b'"'"'/a/b'"'"')  (model: ENOTDIR; recorded: {'"'"'fuse'"'"': '"'"'ENOTDIR'"'"'})'
stat -f -c 'type=%T namelen=%l' "$M"/a/b || echo "failed: $?"
echo '--- step 2: Symlink(target=b'"'"'nowhere'"'"', path=b'"'"'/b/y/y'"'"')  (model: EEXIST; recorded: {'"'"'fuse'"'"': '"'"'EEXIST'"'"'})'
ln -s nowhere "$M"/b/y/y || echo "failed: $?"
echo '--- step 3: Rmdir(path=b'"'"'/a/new'"'"')  (model: ENOTDIR; recorded: {'"'"'fuse'"'"': '"'"'ENOTDIR'"'"'})'
rmdir "$M"/a/new || echo "failed: $?"
echo '--- step 4: Rmdir(path=b'"'"'/d/y/x'"'"')  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
rmdir "$M"/d/y/x || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
