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
mknod "$T/u"/a c 0 0
chown -h 0:0 "$T/u"/a
chmod 0 "$T/u"/a
mkdir "$T/u"/b
chown -h 0:0 "$T/u"/b
chmod 755 "$T/u"/b
setfattr -h -n user.b -v 0x74776f "$T/u"/b
mkdir "$T/u"/b/z
chown -h 0:0 "$T/u"/b/z
chmod 755 "$T/u"/b/z
setfattr -h -n user.b -v 0x74776f "$T/u"/b/z
mkfifo "$T/u"/b/z/x
chown -h 0:0 "$T/u"/b/z/x
chmod 644 "$T/u"/b/z/x
mkfifo "$T/u"/b/z/y
chown -h 0:0 "$T/u"/b/z/y
chmod 644 "$T/u"/b/z/y
printf '%b' '' > "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 444 "$T/u"/c
ln "$T/u"/c "$T/u"/b/z/hl
ln "$T/u"/c "$T/u"/b/z/hl2
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Getxattr(path=b'"'"'/.wh.x'"'"', name=b'"'"'user.a'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-cached'"'"': '"'"'ENOENT'"'"'})'
getfattr -n user.a --absolute-names "$M"/.wh.x || echo "failed: $?"
echo '--- step 2: Chmod(path=b'"'"'/.wh.x'"'"', mode=416)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-cached'"'"': '"'"'ENOENT'"'"'})'
chmod 640 "$M"/.wh.x || echo "failed: $?"
echo '--- step 3: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-cached'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 4: Open(path=b'"'"'/b/z/hl2'"'"', flags=1)  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'", '"'"'fuse-cached'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/b/z/hl2', flags=1): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 5: Lseek(h=0, offset=0)  (model: 0; recorded: {'"'"'kernel'"'"': '"'"'0'"'"', '"'"'fuse-cached'"'"': '"'"'0'"'"'})'
# Lseek(h=0, offset=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 6: Readlink(path=b'"'"'/'"'"')  (model: EINVAL; recorded: {'"'"'kernel'"'"': '"'"'EINVAL'"'"', '"'"'fuse-cached'"'"': '"'"'EINVAL'"'"'})'
readlink "$M"/ || echo "failed: $?"
echo '--- step 7: Pwrite(h=0, data=b'"'"'\x00\x00z'"'"', offset=0)  (model: 3; recorded: {'"'"'kernel'"'"': '"'"'3'"'"', '"'"'fuse-cached'"'"': '"'"'3'"'"'})'
# Pwrite(h=0, data=b'\x00\x00z', offset=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
