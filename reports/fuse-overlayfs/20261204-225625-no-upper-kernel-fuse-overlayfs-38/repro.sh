#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: no-upper (defaults; 2 lower(s), no upper)
set -u
T=$(mktemp -d /tmp/ovl-repro.XXXXXX)
mount -t tmpfs tmpfs "$T"
M="$T/m"
cleanup() { umount "$M" 2>/dev/null; umount "$T"; rmdir "$T"; }
trap cleanup EXIT
mkdir "$M" $T/l0 $T/l1
OPTS="lowerdir=$T/l0:$T/l1,ro"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Symlink(target=b'"'"'a'"'"', path=b'"'"'/'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
ln -s a "$M"/ || echo "failed: $?"
echo '--- step 2: Lstat(path=b'"'"'/'"'"', uid=1000, gid=1000)  (model: ('"'"'drwxr-xr-x'"'"', 0, 0, 0, 1, 0); recorded: {'"'"'kernel'"'"': "('"'"'drwxr-xr-x'"'"', 0, 0, 0, 1, 0)", '"'"'fuse-overlayfs'"'"': "('"'"'drwxr-xr-x'"'"', 0, 0, 0, 2, 0)"})'
setpriv --reuid=1000 --regid=1000 --clear-groups stat -c '%A %u:%g size=%s nlink=%h ino=%i' "$M"/ || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
