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
mkdir "$T/l1"/c
chown -h 1001:1000 "$T/l1"/c
chmod 755 "$T/l1"/c
setfattr -h -n user.a -v 0x31 "$T/l1"/c
mkdir "$T/l1"/c/x
chown -h 0:0 "$T/l1"/c/x
chmod 1777 "$T/l1"/c/x
mkdir "$T/l1"/c/x/y
chown -h 1000:1000 "$T/l1"/c/x/y
chmod 700 "$T/l1"/c/x/y
setfattr -h -n user.b -v 0x74776f "$T/l1"/c/x/y
ln -s y "$T/l1"/c/y
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 644 "$T/l1"/d
setfattr -h -n user.b -v 0x74776f "$T/l1"/d
mkdir "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 777 "$T/u"/a
setfattr -h -n user.b -v 0x74776f "$T/u"/a
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/a
mkfifo "$T/u"/a/x
chown -h 0:0 "$T/u"/a/x
chmod 644 "$T/u"/a/x
printf '%b' '' > "$T/u"/a/y
chown -h 1001:1000 "$T/u"/a/y
chmod 4755 "$T/u"/a/y
mkdir "$T/u"/a/z
chown -h 0:0 "$T/u"/a/z
chmod 1777 "$T/u"/a/z
setfattr -h -n user.a -v 0x31 "$T/u"/a/z
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/a/z
mknod "$T/u"/a/z/x c 0 0
chown -h 0:0 "$T/u"/a/z/x
chmod 0 "$T/u"/a/z/x
mkfifo "$T/u"/a/z/y
chown -h 0:0 "$T/u"/a/z/y
chmod 644 "$T/u"/a/z/y
mkdir "$T/u"/c
chown -h 1000:1000 "$T/u"/c
chmod 755 "$T/u"/c
mkdir "$T/u"/c/y
chown -h 1000:1000 "$T/u"/c/y
chmod 1777 "$T/u"/c/y
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c/y
mknod "$T/u"/c/y/x c 0 0
chown -h 0:0 "$T/u"/c/y/x
chmod 0 "$T/u"/c/y/x
mkfifo "$T/u"/c/z
chown -h 1001:1000 "$T/u"/c/z
chmod 644 "$T/u"/c/z
ln -s dangling "$T/u"/d
ln "$T/u"/a/y "$T/u"/a/hl
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Link(old=b'"'"'/'"'"', new=b'"'"'/.wh.x'"'"')  (model: EPERM; recorded: {'"'"'kernel'"'"': '"'"'EPERM'"'"', '"'"'fuse-cached'"'"': '"'"'EPERM'"'"'})'
ln "$M"/ "$M"/.wh.x || echo "failed: $?"
echo '--- step 2: Chown(path=b'"'"'/.wh.x'"'"', owner=1000, group=1000)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-cached'"'"': '"'"'ENOENT'"'"'})'
# Chown(path=b'/.wh.x', owner=1000, group=1000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 3: Utimens(path=b'"'"'/a/y'"'"', atime_ns=5, mtime_ns=5, uid=1000, gid=1000)  (model: EPERM; recorded: {'"'"'kernel'"'"': '"'"'EPERM'"'"', '"'"'fuse-cached'"'"': '"'"'EPERM'"'"'})'
# Utimens(path=b'/a/y', atime_ns=5, mtime_ns=5, uid=1000, gid=1000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 4: Removexattr(path=b'"'"'/x'"'"', name=b'"'"'trusted.t'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-cached'"'"': '"'"'ENOENT'"'"'})'
setfattr -x trusted.t "$M"/x || echo "failed: $?"
echo '--- step 5: Rename(old=b'"'"'/a/x'"'"', new=b'"'"'/a/y'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-cached'"'"': '"'"'ok'"'"'})'
mv -T "$M"/a/x "$M"/a/y || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
