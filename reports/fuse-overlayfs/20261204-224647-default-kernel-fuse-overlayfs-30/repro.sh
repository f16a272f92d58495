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
printf '%b' '' > "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 644 "$T/u"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Stat(path=b'"'"'/'"'"')  (model: ('"'"'drwxr-xr-x'"'"', 0, 0, 0, 1, 0); recorded: {'"'"'kernel'"'"': "('"'"'drwxr-xr-x'"'"', 0, 0, 0, 1, 0)", '"'"'fuse-overlayfs'"'"': "('"'"'drwxr-xr-x'"'"', 0, 0, 0, 2, 0)"})'
stat -L -c '%A %u:%g size=%s nlink=%h ino=%i' "$M"/ || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
