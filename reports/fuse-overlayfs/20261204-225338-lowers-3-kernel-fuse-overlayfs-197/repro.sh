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
mkdir "$T/l2"/a
chown -h 1000:1000 "$T/l2"/a
chmod 755 "$T/l2"/a
ln -s x "$T/l2"/a/y
printf '%b' $'\x5c0000\x5c0001' > "$T/l2"/a/z
chown -h 1001:1000 "$T/l2"/a/z
chmod 444 "$T/l2"/a/z
printf '%b' $'hello\x5c0012' > "$T/l2"/b
chown -h 0:0 "$T/l2"/b
chmod 755 "$T/l2"/b
ln "$T/l2"/a/z "$T/l2"/hl
ln "$T/l2"/a/z "$T/l2"/hl2
mkdir "$T/u"/a
chown -h 1000:1000 "$T/u"/a
chmod 755 "$T/u"/a
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/a
ln -s x "$T/u"/a/y
printf '%b' $'\x5c0000\x5c0001' > "$T/u"/a/z
chown -h 1001:1000 "$T/u"/a/z
chmod 444 "$T/u"/a/z
printf '%b' $'hello\x5c0012' > "$T/u"/b
chown -h 0:0 "$T/u"/b
chmod 755 "$T/u"/b
ln "$T/u"/a/z "$T/u"/hl
ln "$T/u"/a/z "$T/u"/hl2
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Chmod(path=b'"'"'/'"'"', mode=416)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 640 "$M"/ || echo "failed: $?"
echo '--- step 2: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 3: Open(path=b'"'"'/a/y'"'"', flags=131072)  (model: ELOOP; recorded: {'"'"'kernel'"'"': '"'"'ELOOP'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ELOOP'"'"'})'
# Open(path=b'/a/y', flags=131072): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 4: Mknod(path=b'"'"'/'"'"', mode=4516)  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
# Mknod(path=b'/', mode=4516): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 5: Unlink(path=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"', uid=1000, gid=1000)  (model: EACCES; recorded: {'"'"'kernel'"'"': '"'"'EACCES'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EACCES'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups unlink "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
