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
mkdir "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 755 "$T/l1"/c
printf '%b' '' > "$T/l1"/c/x
chown -h 0:0 "$T/l1"/c/x
chmod 644 "$T/l1"/c/x
printf '%b' '' > "$T/l1"/c/y
chown -h 0:0 "$T/l1"/c/y
chmod 644 "$T/l1"/c/y
printf '%b' '' > "$T/l1"/c/z
chown -h 0:0 "$T/l1"/c/z
chmod 644 "$T/l1"/c/z
printf '%b' '' > "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 644 "$T/l1"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Link(old=b'"'"'/d'"'"', new=b'"'"'/.wh.x'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-cached'"'"': '"'"'ok'"'"'})'
ln "$M"/d "$M"/.wh.x || echo "failed: $?"
echo '--- step 2: Truncate(path=b'"'"'/.wh.x'"'"', length=3)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-cached'"'"': '"'"'ok'"'"'})'
truncate -s 3 "$M"/.wh.x || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
