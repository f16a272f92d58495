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
mkdir "$T/l0"/c
chown -h 0:0 "$T/l0"/c
chmod 777 "$T/l0"/c
setfattr -h -n user.a -v 0x31 "$T/l0"/c
mkdir "$T/l0"/c/y
chown -h 1001:1000 "$T/l0"/c/y
chmod 700 "$T/l0"/c/y
setfattr -h -n user.a -v 0x31 "$T/l0"/c/y
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/c/y
mkdir "$T/l0"/c/y/x
chown -h 1001:1000 "$T/l0"/c/y/x
chmod 777 "$T/l0"/c/y/x
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/c/y/x
printf '%b' $'hello\x5c0012' > "$T/l0"/c/y/y
chown -h 1000:1000 "$T/l0"/c/y/y
chmod 644 "$T/l0"/c/y/y
mknod "$T/l0"/c/z c 0 0
chown -h 0:0 "$T/l0"/c/z
chmod 0 "$T/l0"/c/z
mkdir "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 755 "$T/l1"/b
setfattr -h -n user.a -v 0x31 "$T/l1"/b
printf '%b' $'hello\x5c0012' > "$T/l1"/b/x
chown -h 0:0 "$T/l1"/b/x
chmod 644 "$T/l1"/b/x
setfattr -h -n user.a -v 0x31 "$T/l1"/b/x
mkdir "$T/l1"/b/z
chown -h 1000:1000 "$T/l1"/b/z
chmod 755 "$T/l1"/b/z
mkdir "$T/l1"/b/z/x
chown -h 0:0 "$T/l1"/b/z/x
chmod 555 "$T/l1"/b/z/x
mkdir "$T/l1"/b/z/y
chown -h 0:0 "$T/l1"/b/z/y
chmod 755 "$T/l1"/b/z/y
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/d
truncate -s 5368709120 "$T/l1"/d
chown -h 1001:1000 "$T/l1"/d
chmod 644 "$T/l1"/d
setfattr -h -n user.b -v 0x74776f "$T/l1"/d
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/$'e\x20f'
truncate -s 5368709120 "$T/l1"/$'e\x20f'
chown -h 1001:1000 "$T/l1"/$'e\x20f'
chmod 644 "$T/l1"/$'e\x20f'
setfattr -h -n user.b -v 0x74776f "$T/l1"/$'e\x20f'
ln "$T/l1"/$'e\x20f' "$T/l1"/b/z/y/hl
ln "$T/l1"/$'e\x20f' "$T/l1"/hl2
mkdir "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 755 "$T/u"/a
printf '%b' '' > "$T/u"/c
chown -h 0:0 "$T/u"/c
chmod 644 "$T/u"/c
printf '%b' '' > "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 644 "$T/u"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rmdir(path=b'"'"'/a'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
rmdir "$M"/a || echo "failed: $?"
echo '--- step 2: Symlink(target=b'"'"'nowhere'"'"', path=b'"'"'/b/z'"'"', uid=1000, gid=1000)  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups ln -s nowhere "$M"/b/z || echo "failed: $?"
echo '--- step 3: Utimens(path=b'"'"'/c/y/x'"'"', atime_ns=5, mtime_ns=5)  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
# Utimens(path=b'/c/y/x', atime_ns=5, mtime_ns=5): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 4: Rename(old=b'"'"'/b/z/x'"'"', new=b'"'"'/e f'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
mv -T "$M"/b/z/x "$M"$'/e\x20f' || echo "failed: $?"
echo '--- step 5: Chmod(path=b'"'"'/'"'"', mode=416)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 640 "$M"/ || echo "failed: $?"
echo '--- step 6: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 7: Removexattr(path=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"', name=b'"'"'user.new'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
setfattr -x user.new "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm || echo "failed: $?"
echo '--- step 8: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 9: Utimens(path=b'"'"'/\xe9'"'"', uid=1000, gid=1000)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/\xe9', uid=1000, gid=1000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 10: Setxattr(path=b'"'"'/b/z/y'"'"', name=b'"'"'trusted.overlay.x'"'"', value=b'"'"'v'"'"', flags=2)  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EPERM'"'"'})'
setfattr -n trusted.overlay.x -v 0x76 "$M"/b/z/y || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
