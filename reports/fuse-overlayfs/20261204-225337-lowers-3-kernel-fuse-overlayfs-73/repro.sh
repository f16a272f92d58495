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
chown -h 1001:1000 "$T/l2"/b
chmod 4755 "$T/l2"/b
setfattr -h -n user.a -v 0x31 "$T/l2"/b
ln -s dangling "$T/l2"/c
printf '%b' '' > "$T/l2"/$'\xff\xfe'
chown -h 0:0 "$T/l2"/$'\xff\xfe'
chmod 755 "$T/l2"/$'\xff\xfe'
setfattr -h -n user.b -v 0x74776f "$T/l2"/$'\xff\xfe'
ln "$T/l2"/$'\xff\xfe' "$T/l2"/hl
mknod "$T/u"/a c 0 0
chown -h 0:0 "$T/u"/a
chmod 0 "$T/u"/a
printf '%b' $'lower\x5c0040data' > "$T/u"/b
chown -h 1001:1000 "$T/u"/b
chmod 4755 "$T/u"/b
setfattr -h -n user.a -v 0x31 "$T/u"/b
ln -s dangling "$T/u"/c
printf '%b' '' > "$T/u"/$'\xff\xfe'
chown -h 0:0 "$T/u"/$'\xff\xfe'
chmod 755 "$T/u"/$'\xff\xfe'
setfattr -h -n user.b -v 0x74776f "$T/u"/$'\xff\xfe'
ln "$T/u"/$'\xff\xfe' "$T/u"/hl
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Rename(old=b'"'"'/a/new'"'"', new=b'"'"'/x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
mv -T "$M"/a/new "$M"/x || echo "failed: $?"
echo '--- step 3: Utimens(path=b'"'"'/c'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/c'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 4: Link(old=b'"'"'/\xe9'"'"', new=b'"'"'/a/b'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"$'/\xe9' "$M"/a/b || echo "failed: $?"
echo '--- step 5: Utimens(path=b'"'"'/a/a'"'"', atime_ns=5, mtime_ns=5)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Utimens(path=b'/a/a', atime_ns=5, mtime_ns=5): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 6: Setxattr(path=b'"'"'/\xe9'"'"', name=b'"'"'trusted.t'"'"', value=b'"'"''"'"', flags=1, uid=1000, gid=1000)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups setfattr -n trusted.t -v 0x00 "$M"$'/\xe9' || echo "failed: $?"
echo '--- step 7: Readdir(path=b'"'"'/hl'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
ls -a1 "$M"/hl || echo "failed: $?"
echo '--- step 8: Chmod(path=b'"'"'/a/b'"'"', mode=0)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
chmod 0 "$M"/a/b || echo "failed: $?"
echo '--- step 9: Truncate(path=b'"'"'/new'"'"', length=0)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
truncate -s 0 "$M"/new || echo "failed: $?"
echo '--- step 10: Rename(old=b'"'"'/\xff\xfe'"'"', new=b'"'"'/\xe9'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
mv -T "$M"$'/\xff\xfe' "$M"$'/\xe9' || echo "failed: $?"
echo '--- step 11: Open(path=b'"'"'/x'"'"', flags=512)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Open(path=b'/x', flags=512): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 12: Symlink(target=b'"'"'loop'"'"', path=b'"'"'/a/a'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln -s loop "$M"/a/a || echo "failed: $?"
echo '--- step 13: Link(old=b'"'"'/\xff\xfe'"'"', new=b'"'"'/\xff\xfe'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln "$M"$'/\xff\xfe' "$M"$'/\xff\xfe' || echo "failed: $?"
echo '--- step 14: Mkdir(path=b'"'"'/\xe9'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
mkdir -m 755 "$M"$'/\xe9' || echo "failed: $?"
echo '--- step 15: Mkdir(path=b'"'"'/a/x'"'"', mode=448)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
mkdir -m 700 "$M"/a/x || echo "failed: $?"
echo '--- step 16: Symlink(target=b'"'"'loop'"'"', path=b'"'"'/.wh.x'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
ln -s loop "$M"/.wh.x || echo "failed: $?"
echo '--- step 17: Mknod(path=b'"'"'/.wh.x'"'"', mode=8612, rdev=259)  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Mknod(path=b'/.wh.x', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
