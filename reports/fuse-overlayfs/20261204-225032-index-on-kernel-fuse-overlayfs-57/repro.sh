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
mkdir "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 755 "$T/u"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Mknod(path=b'"'"'/.wh.x'"'"', mode=4516)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Mknod(path=b'/.wh.x', mode=4516): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Unlink(path=b'"'"'/x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
unlink "$M"/x || echo "failed: $?"
echo '--- step 3: Rmdir(path=b'"'"'/.wh.x'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
rmdir "$M"/.wh.x || echo "failed: $?"
echo '--- step 4: Symlink(target=b'"'"'x/y'"'"', path=b'"'"'/d'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
ln -s x/y "$M"/d || echo "failed: $?"
echo '--- step 5: Chown(path=b'"'"'/'"'"', owner=1000, group=1000)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Chown(path=b'/', owner=1000, group=1000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 6: Chmod(path=b'"'"'/'"'"', mode=0)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 0 "$M"/ || echo "failed: $?"
echo '--- step 7: Chown(path=b'"'"'/a'"'"', owner=0, group=0)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Chown(path=b'/a', owner=0, group=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 8: Symlink(target=b'"'"'x/y'"'"', path=b'"'"'/'"'"', uid=1000, gid=1000)  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups ln -s x/y "$M"/ || echo "failed: $?"
echo '--- step 9: Symlink(target=b'"'"'nowhere'"'"', path=b'"'"'/.wh.x'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
ln -s nowhere "$M"/.wh.x || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
