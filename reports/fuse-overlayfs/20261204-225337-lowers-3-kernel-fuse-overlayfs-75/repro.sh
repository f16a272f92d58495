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
printf '%b' $'lower\x5c0040data' > "$T/l2"/b
chown -h 0:0 "$T/l2"/b
chmod 755 "$T/l2"/b
ln -s b "$T/l2"/c
printf '%b' $'\x5c0000\x5c0001' > "$T/l2"/d
chown -h 1000:1000 "$T/l2"/d
chmod 640 "$T/l2"/d
setfattr -h -n user.b -v 0x74776f "$T/l2"/d
ln "$T/l2"/d "$T/l2"/hl
mknod "$T/u"/a c 0 0
chown -h 0:0 "$T/u"/a
chmod 0 "$T/u"/a
printf '%b' $'lower\x5c0040data' > "$T/u"/b
chown -h 0:0 "$T/u"/b
chmod 755 "$T/u"/b
ln -s b "$T/u"/c
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/d
chown -h 1000:1000 "$T/u"/d
chmod 640 "$T/u"/d
setfattr -h -n user.b -v 0x74776f "$T/u"/d
ln "$T/u"/d "$T/u"/hl
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Truncate(path=b'"'"'/\xe9'"'"', length=0)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
truncate -s 0 "$M"$'/\xe9' || echo "failed: $?"
echo '--- step 3: Mknod(path=b'"'"'/\xe9'"'"', mode=8612, rdev=259)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Mknod(path=b'/\xe9', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 4: Mknod(path=b'"'"'/c'"'"', mode=8612, rdev=259)  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
# Mknod(path=b'/c', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 5: Symlink(target=b'"'"'b'"'"', path=b'"'"'/\xe9'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
ln -s b "$M"$'/\xe9' || echo "failed: $?"
echo '--- step 6: Rmdir(path=b'"'"'/a/new'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
rmdir "$M"/a/new || echo "failed: $?"
echo '--- step 7: Mkdir(path=b'"'"'/a/x'"'"', mode=1023)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
mkdir -m 1777 "$M"/a/x || echo "failed: $?"
echo '--- step 8: Getxattr(path=b'"'"'/a'"'"', name=b'"'"'trusted.t'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
getfattr -n trusted.t --absolute-names "$M"/a || echo "failed: $?"
echo '--- step 9: Rmdir(path=b'"'"'/.wh.x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
rmdir "$M"/.wh.x || echo "failed: $?"
echo '--- step 10: Link(old=b'"'"'/x'"'"', new=b'"'"'/\xe9'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"/x "$M"$'/\xe9' || echo "failed: $?"
echo '--- step 11: Rename(old=b'"'"'/'"'"', new=b'"'"'/a/b'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
mv -T "$M"/ "$M"/a/b || echo "failed: $?"
echo '--- step 12: Removexattr(path=b'"'"'/c'"'"', name=b'"'"'user.new'"'"')  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENODATA'"'"'})'
setfattr -x user.new "$M"/c || echo "failed: $?"
echo '--- step 13: Chown(path=b'"'"'/.wh.x'"'"', owner=0, group=0)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Chown(path=b'/.wh.x', owner=0, group=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 14: Utimens(path=b'"'"'/a'"'"', mtime_ns=1000000000000000000)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Utimens(path=b'/a', mtime_ns=1000000000000000000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 15: Statfs(path=b'"'"'/c'"'"')  (model: ('"'"'0x794c7630'"'"', 255, False); recorded: {'"'"'kernel'"'"': "('"'"'0x794c7630'"'"', 255, False)", '"'"'fuse-overlayfs'"'"': "('"'"'0x794c7630'"'"', 251, False)"})'
stat -f -c 'type=%T namelen=%l' "$M"/c || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
