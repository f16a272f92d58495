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
printf '%b' '' > "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 644 "$T/l1"/d
ln "$T/l1"/d "$T/l1"/hl
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Statfs(path=b'"'"'/.wh.x'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
stat -f -c 'type=%T namelen=%l' "$M"/.wh.x || echo "failed: $?"
echo '--- step 2: Removexattr(path=b'"'"'/d'"'"', name=b'"'"'trusted.t'"'"')  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENODATA'"'"'})'
setfattr -x trusted.t "$M"/d || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
