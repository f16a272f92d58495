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
mkdir "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 755 "$T/u"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rename(old=b'"'"'/d'"'"', new=b'"'"'/a/b'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
mv -T "$M"/d "$M"/a/b || echo "failed: $?"
echo '--- step 2: Stat(path=b'"'"'/'"'"', uid=1000, gid=1000)  (model: ('"'"'drwxr-xr-x'"'"', 0, 0, 0, 1, 0); recorded: {'"'"'kernel'"'"': "('"'"'drwxr-xr-x'"'"', 0, 0, 0, 1, 0)", '"'"'fuse-overlayfs'"'"': "('"'"'drwxr-xr-x'"'"', 0, 0, 0, 3, 0)"})'
setpriv --reuid=1000 --regid=1000 --clear-groups stat -L -c '%A %u:%g size=%s nlink=%h ino=%i' "$M"/ || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
