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
printf '%b' '' > "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 600 "$T/u"/a
mkdir "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 755 "$T/u"/c
setfattr -h -n user.b -v 0x74776f "$T/u"/c
mkfifo "$T/u"/c/x
chown -h 0:0 "$T/u"/c/x
chmod 644 "$T/u"/c/x
ln -s a "$T/u"/c/y
mkdir "$T/u"/c/z
chown -h 1001:1000 "$T/u"/c/z
chmod 777 "$T/u"/c/z
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/c/z
printf '%b' $'hello\x5c0012' > "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 600 "$T/u"/d
setfattr -h -n user.a -v 0x31 "$T/u"/d
ln "$T/u"/d "$T/u"/c/z/hl
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Link(old=b'"'"'/a/b'"'"', new=b'"'"'/a/x'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
ln "$M"/a/b "$M"/a/x || echo "failed: $?"
echo '--- step 2: Truncate(path=b'"'"'/b'"'"', length=100)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
truncate -s 100 "$M"/b || echo "failed: $?"
echo '--- step 3: Mkdir(path=b'"'"'/a/new'"'"', mode=448, uid=1000, gid=1000)  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups mkdir -m 700 "$M"/a/new || echo "failed: $?"
echo '--- step 4: Chown(path=b'"'"'/a/b'"'"', owner=-1, group=-1)  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
# Chown(path=b'/a/b', owner=-1, group=-1): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 5: Removexattr(path=b'"'"'/'"'"', name=b'"'"'trusted.overlay.x'"'"')  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENODATA'"'"'})'
setfattr -x trusted.overlay.x "$M"/ || echo "failed: $?"
echo '--- step 6: Removexattr(path=b'"'"'/c/x'"'"', name=b'"'"'trusted.t'"'"')  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENODATA'"'"'})'
setfattr -x trusted.t "$M"/c/x || echo "failed: $?"
echo '--- step 7: Chmod(path=b'"'"'/c'"'"', mode=511)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 777 "$M"/c || echo "failed: $?"
echo '--- step 8: Truncate(path=b'"'"'/c/x'"'"', length=5368709121)  (model: EINVAL; recorded: {'"'"'kernel'"'"': '"'"'EINVAL'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EINVAL'"'"'})'
truncate -s 5368709121 "$M"/c/x || echo "failed: $?"
echo '--- step 9: Symlink(target=b'"'"'x/y'"'"', path=b'"'"'/a'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
ln -s x/y "$M"/a || echo "failed: $?"
echo '--- step 10: Removexattr(path=b'"'"'/b'"'"', name=b'"'"'user.new'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -x user.new "$M"/b || echo "failed: $?"
echo '--- step 11: Mkdir(path=b'"'"'/a'"'"', mode=1023)  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
mkdir -m 1777 "$M"/a || echo "failed: $?"
echo '--- step 12: Removexattr(path=b'"'"'/c/x'"'"', name=b'"'"'user.new'"'"')  (model: EPERM; recorded: {'"'"'kernel'"'"': '"'"'EPERM'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EPERM'"'"'})'
setfattr -x user.new "$M"/c/x || echo "failed: $?"
echo '--- step 13: Chown(path=b'"'"'/x'"'"', owner=-1, group=1000)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Chown(path=b'/x', owner=-1, group=1000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 14: Rename(old=b'"'"'/c'"'"', new=b'"'"'/a/a'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
mv -T "$M"/c "$M"/a/a || echo "failed: $?"
echo '--- step 15: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 16: Rmdir(path=b'"'"'/a/x'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
rmdir "$M"/a/x || echo "failed: $?"
echo '--- step 17: Chmod(path=b'"'"'/.wh.x'"'"', mode=1023)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
chmod 1777 "$M"/.wh.x || echo "failed: $?"
echo '--- step 18: Rename(old=b'"'"'/c/z'"'"', new=b'"'"'/b'"'"', flags=4)  (model: EINVAL; recorded: {'"'"'kernel'"'"': '"'"'EINVAL'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),4); print("ok" if r==0 else ctypes.get_errno())' "$M"/c/z "$M"/b || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
