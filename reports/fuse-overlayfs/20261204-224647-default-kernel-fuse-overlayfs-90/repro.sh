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
mkdir "$T/l0"/b
chown -h 0:0 "$T/l0"/b
chmod 755 "$T/l0"/b
mkdir "$T/l0"/b/z
chown -h 0:0 "$T/l0"/b/z
chmod 755 "$T/l0"/b/z
printf '%b' $'\x5c0000\x5c0001' > "$T/l0"/c
truncate -s 5368709120 "$T/l0"/c
chown -h 0:0 "$T/l0"/c
chmod 600 "$T/l0"/c
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Symlink(target=b'"'"'a'"'"', path=b'"'"'/\xe9'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
ln -s a "$M"$'/\xe9' || echo "failed: $?"
echo '--- step 2: Open(path=b'"'"'/c'"'"')  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'", '"'"'fuse-overlayfs'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/c'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 3: Pwrite(h=0, data=b'"'"'\x00\x00z'"'"', offset=1048576)  (model: EBADF; recorded: {'"'"'kernel'"'"': '"'"'EBADF'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EBADF'"'"'})'
# Pwrite(h=0, data=b'\x00\x00z', offset=1048576): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 4: Mkdir(path=b'"'"'/b/z'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
mkdir -m 755 "$M"/b/z || echo "failed: $?"
echo '--- step 5: Read(h=0, size=4096)  (model: b'"'"'\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'"'"'… (4096 bytes); recorded: {'"'"'kernel'"'"': "b'"'"'\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'"'"'… (4096 bytes)", '"'"'fuse-overlayfs'"'"': "b'"'"'\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'"'"'… (4096 bytes)"})'
# Read(h=0, size=4096): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 6: Listxattr(path=b'"'"'/a/x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
getfattr -d -m - --absolute-names "$M"/a/x || echo "failed: $?"
echo '--- step 7: Pread(h=0, size=4096, offset=2)  (model: b'"'"'\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'"'"'… (4096 bytes); recorded: {'"'"'kernel'"'"': "b'"'"'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'"'"'… (4096 bytes)", '"'"'fuse-overlayfs'"'"': "b'"'"'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'"'"'… (4096 bytes)"})'
# Pread(h=0, size=4096, offset=2): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 8: Ftruncate(h=0, length=3)  (model: EINVAL; recorded: {'"'"'kernel'"'"': '"'"'EINVAL'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EINVAL'"'"'})'
# Ftruncate(h=0, length=3): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 9: Open(path=b'"'"'/x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Open(path=b'/x'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 10: Link(old=b'"'"'/c'"'"', new=b'"'"'/.wh.x'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
ln "$M"/c "$M"/.wh.x || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
