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
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 755 "$T/l1"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rmdir(path=b'"'"'/d'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
rmdir "$M"/d || echo "failed: $?"
echo '--- step 2: Utimens(path=b'"'"'/a'"'"', mtime_ns=1000000000000000000)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Utimens(path=b'/a', mtime_ns=1000000000000000000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 3: Chown(path=b'"'"'/a'"'"', owner=-1, group=-1, uid=1000, gid=1000)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Chown(path=b'/a', owner=-1, group=-1, uid=1000, gid=1000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 4: Symlink(target=b'"'"'nowhere'"'"', path=b'"'"'/.wh.x'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
ln -s nowhere "$M"/.wh.x || echo "failed: $?"
echo '--- step 5: Link(old=b'"'"'/\xe9'"'"', new=b'"'"'/new'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"$'/\xe9' "$M"/new || echo "failed: $?"
echo '--- step 6: Rename(old=b'"'"'/x'"'"', new=b'"'"'/d'"'"', flags=1)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
mv -T --no-clobber "$M"/x "$M"/d  # RENAME_NOREPLACE || echo "failed: $?"
echo '--- step 7: Link(old=b'"'"'/a'"'"', new=b'"'"'/x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"/a "$M"/x || echo "failed: $?"
echo '--- step 8: Removexattr(path=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"', name=b'"'"'user.b'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -x user.b "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm || echo "failed: $?"
echo '--- step 9: Mknod(path=b'"'"'/a'"'"', mode=8612, rdev=259)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Mknod(path=b'/a', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 10: Utimens(path=b'"'"'/.wh.x'"'"', mtime_ns=1000000000000000000, uid=1000, gid=1000)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Utimens(path=b'/.wh.x', mtime_ns=1000000000000000000, uid=1000, gid=1000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 11: Symlink(target=b'"'"'x/y'"'"', path=b'"'"'/x'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
ln -s x/y "$M"/x || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
