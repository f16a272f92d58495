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
mkdir "$T/u"/b
chown -h 0:0 "$T/u"/b
chmod 755 "$T/u"/b
mkdir "$T/u"/b/z
chown -h 0:0 "$T/u"/b/z
chmod 755 "$T/u"/b/z
mkfifo "$T/u"/b/z/x
chown -h 0:0 "$T/u"/b/z/x
chmod 644 "$T/u"/b/z/x
printf '%b' '' > "$T/u"/b/z/y
chown -h 0:0 "$T/u"/b/z/y
chmod 644 "$T/u"/b/z/y
ln -s a "$T/u"/c
ln "$T/u"/b/z/y "$T/u"/b/hl
ln "$T/u"/b/z/y "$T/u"/b/hl2
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Link(old=b'"'"'/b/z/x'"'"', new=b'"'"'/.wh.x'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-cached'"'"': '"'"'ok'"'"'})'
ln "$M"/b/z/x "$M"/.wh.x || echo "failed: $?"
echo '--- step 2: Chmod(path=b'"'"'/.wh.x'"'"', mode=416)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-cached'"'"': '"'"'ok'"'"'})'
chmod 640 "$M"/.wh.x || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
