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
mkdir "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 755 "$T/u"/a
printf '%b' '' > "$T/u"/a/x
chown -h 1001:1000 "$T/u"/a/x
chmod 4755 "$T/u"/a/x
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/a/z
truncate -s 5368709120 "$T/u"/a/z
chown -h 0:0 "$T/u"/a/z
chmod 755 "$T/u"/a/z
setfattr -h -n user.b -v 0x74776f "$T/u"/a/z
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/b
truncate -s 5368709120 "$T/u"/b
chown -h 1001:1000 "$T/u"/b
chmod 4755 "$T/u"/b
mkdir "$T/u"/d
chown -h 1001:1000 "$T/u"/d
chmod 777 "$T/u"/d
setfattr -h -n user.b -v 0x74776f "$T/u"/d
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/d
mkdir "$T/u"/d/x
chown -h 1001:1000 "$T/u"/d/x
chmod 777 "$T/u"/d/x
mkfifo "$T/u"/d/x/x
chown -h 1000:1000 "$T/u"/d/x/x
chmod 644 "$T/u"/d/x/x
mkdir "$T/u"/d/y
chown -h 0:0 "$T/u"/d/y
chmod 777 "$T/u"/d/y
mkdir "$T/u"/d/y/x
chown -h 0:0 "$T/u"/d/y/x
chmod 1777 "$T/u"/d/y/x
mkdir "$T/u"/d/y/y
chown -h 0:0 "$T/u"/d/y/y
chmod 700 "$T/u"/d/y/y
setfattr -h -n user.b -v 0x74776f "$T/u"/d/y/y
printf '%b' $'hello\x5c0012' > "$T/u"/d/z
chown -h 1001:1000 "$T/u"/d/z
chmod 444 "$T/u"/d/z
setfattr -h -n user.b -v 0x74776f "$T/u"/d/z
printf '%b' '' > "$T/u"/$'\xff\xfe'
chown -h 0:0 "$T/u"/$'\xff\xfe'
chmod 755 "$T/u"/$'\xff\xfe'
setfattr -h -n user.b -v 0x74776f "$T/u"/$'\xff\xfe'
ln "$T/u"/d/z "$T/u"/d/y/y/hl
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Open(path=b'"'"'/b'"'"', flags=65536)  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
# Open(path=b'/b', flags=65536): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Mknod(path=b'"'"'/a/b'"'"', mode=8612, rdev=259)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Mknod(path=b'/a/b', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 3: Getxattr(path=b'"'"'/a/a'"'"', name=b'"'"'user.a'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
getfattr -n user.a --absolute-names "$M"/a/a || echo "failed: $?"
echo '--- step 4: Rmdir(path=b'"'"'/a/a'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
rmdir "$M"/a/a || echo "failed: $?"
echo '--- step 5: Symlink(target=b'"'"'a'"'"', path=b'"'"'/d/x/x'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
ln -s a "$M"/d/x/x || echo "failed: $?"
echo '--- step 6: Removexattr(path=b'"'"'/a/b'"'"', name=b'"'"'user.new'"'"')  (model: EPERM; recorded: {'"'"'kernel'"'"': '"'"'EPERM'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EPERM'"'"'})'
setfattr -x user.new "$M"/a/b || echo "failed: $?"
echo '--- step 7: Removexattr(path=b'"'"'/d'"'"', name=b'"'"'user.a'"'"')  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENODATA'"'"'})'
setfattr -x user.a "$M"/d || echo "failed: $?"
echo '--- step 8: Link(old=b'"'"'/d/x/x'"'"', new=b'"'"'/a/new'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
ln "$M"/d/x/x "$M"/a/new || echo "failed: $?"
echo '--- step 9: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 10: Getxattr(path=b'"'"'/d'"'"', name=b'"'"'user.a'"'"')  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENODATA'"'"'})'
getfattr -n user.a --absolute-names "$M"/d || echo "failed: $?"
echo '--- step 11: Readlink(path=b'"'"'/b'"'"')  (model: EINVAL; recorded: {'"'"'kernel'"'"': '"'"'EINVAL'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EINVAL'"'"'})'
readlink "$M"/b || echo "failed: $?"
echo '--- step 12: Rename(old=b'"'"'/'"'"', new=b'"'"'/.wh.x'"'"', flags=1)  (model: EXDEV; recorded: {'"'"'kernel'"'"': '"'"'EXDEV'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EXDEV'"'"'})'
mv -T --no-clobber "$M"/ "$M"/.wh.x  # RENAME_NOREPLACE || echo "failed: $?"
echo '--- step 13: Unlink(path=b'"'"'/\xe9'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
unlink "$M"$'/\xe9' || echo "failed: $?"
echo '--- step 14: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
