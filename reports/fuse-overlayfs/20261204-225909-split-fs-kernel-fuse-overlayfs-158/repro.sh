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
mkdir "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 755 "$T/l1"/b
printf '%b' '' > "$T/l1"/b/z
chown -h 0:0 "$T/l1"/b/z
chmod 644 "$T/l1"/b/z
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 755 "$T/l1"/d
mkdir "$T/l1"/d/x
chown -h 0:0 "$T/l1"/d/x
chmod 755 "$T/l1"/d/x
mkfifo "$T/l1"/d/x/x
chown -h 0:0 "$T/l1"/d/x/x
chmod 644 "$T/l1"/d/x/x
printf '%b' '' > "$T/l1"/d/x/y
chown -h 0:0 "$T/l1"/d/x/y
chmod 644 "$T/l1"/d/x/y
mkdir "$T/l1"/d/z
chown -h 0:0 "$T/l1"/d/z
chmod 755 "$T/l1"/d/z
printf '%b' '' > "$T/l1"/d/z/x
chown -h 0:0 "$T/l1"/d/z/x
chmod 644 "$T/l1"/d/z/x
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Chmod(path=b'"'"'/'"'"', mode=420)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 644 "$M"/ || echo "failed: $?"
echo '--- step 3: Chmod(path=b'"'"'/d/x/x'"'"', mode=416)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EIO'"'"'})'
chmod 640 "$M"/d/x/x || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
