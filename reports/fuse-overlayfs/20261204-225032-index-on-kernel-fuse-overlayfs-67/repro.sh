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
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 755 "$T/l1"/d
setfattr -h -n user.a -v 0x31 "$T/l1"/d
mkdir "$T/l1"/d/x
chown -h 0:0 "$T/l1"/d/x
chmod 777 "$T/l1"/d/x
printf '%b' $'hello\x5c0012' > "$T/l1"/d/x/x
chown -h 1001:1000 "$T/l1"/d/x/x
chmod 640 "$T/l1"/d/x/x
setfattr -h -n user.b -v 0x74776f "$T/l1"/d/x/x
mkfifo "$T/l1"/d/y
chown -h 0:0 "$T/l1"/d/y
chmod 644 "$T/l1"/d/y
mkfifo "$T/l1"/d/z
chown -h 0:0 "$T/l1"/d/z
chmod 644 "$T/l1"/d/z
ln "$T/l1"/d/x/x "$T/l1"/d/x/hl
ln "$T/l1"/d/x/x "$T/l1"/hl2
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Open(path=b'"'"'/'"'"')  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'", '"'"'fuse-overlayfs'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Rmdir(path=b'"'"'/x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
rmdir "$M"/x || echo "failed: $?"
echo '--- step 3: Symlink(target=b'"'"'loop'"'"', path=b'"'"'/a/x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
ln -s loop "$M"/a/x || echo "failed: $?"
echo '--- step 4: Utimens(path=b'"'"'/d/z'"'"', atime_ns=-1, mtime_ns=-1)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EIO'"'"'})'
# Utimens(path=b'/d/z', atime_ns=-1, mtime_ns=-1): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
