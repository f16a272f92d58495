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
printf '%b' '' > "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 644 "$T/l1"/c
ln "$T/l1"/c "$T/l1"/hl
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Chmod(path=b'"'"'/a/new'"'"', mode=420)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
chmod 644 "$M"/a/new || echo "failed: $?"
echo '--- step 3: Removexattr(path=b'"'"'/x'"'"', name=b'"'"'user.new'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -x user.new "$M"/x || echo "failed: $?"
echo '--- step 4: Symlink(target=b'"'"'a'"'"', path=b'"'"'/a'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
ln -s a "$M"/a || echo "failed: $?"
echo '--- step 5: Rename(old=b'"'"'/b'"'"', new=b'"'"'/a/a'"'"', uid=1000, gid=1000)  (model: ELOOP; recorded: {'"'"'kernel'"'"': '"'"'ELOOP'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ELOOP'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups mv -T "$M"/b "$M"/a/a || echo "failed: $?"
echo '--- step 6: Getxattr(path=b'"'"'/b'"'"', name=b'"'"'trusted.overlay.x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
getfattr -n trusted.overlay.x --absolute-names "$M"/b || echo "failed: $?"
echo '--- step 7: Link(old=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"', new=b'"'"'/a'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm "$M"/a || echo "failed: $?"
echo '--- step 8: Getxattr(path=b'"'"'/a/b'"'"', name=b'"'"'user.new'"'"')  (model: ELOOP; recorded: {'"'"'kernel'"'"': '"'"'ELOOP'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ELOOP'"'"'})'
getfattr -n user.new --absolute-names "$M"/a/b || echo "failed: $?"
echo '--- step 9: Link(old=b'"'"'/a/b'"'"', new=b'"'"'/b'"'"')  (model: ELOOP; recorded: {'"'"'kernel'"'"': '"'"'ELOOP'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ELOOP'"'"'})'
ln "$M"/a/b "$M"/b || echo "failed: $?"
echo '--- step 10: Mkdir(path=b'"'"'/a/new'"'"', mode=448, uid=1000, gid=1000)  (model: ELOOP; recorded: {'"'"'kernel'"'"': '"'"'ELOOP'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ELOOP'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups mkdir -m 700 "$M"/a/new || echo "failed: $?"
echo '--- step 11: Mkdir(path=b'"'"'/a/new'"'"')  (model: ELOOP; recorded: {'"'"'kernel'"'"': '"'"'ELOOP'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ELOOP'"'"'})'
mkdir -m 755 "$M"/a/new || echo "failed: $?"
echo '--- step 12: Rename(old=b'"'"'/hl'"'"', new=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENAMETOOLONG'"'"'})'
mv -T "$M"/hl "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
