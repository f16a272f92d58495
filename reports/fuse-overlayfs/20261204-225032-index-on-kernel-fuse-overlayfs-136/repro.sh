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
printf '%b' '' > "$T/u"/.wh.a
chown -h 0:0 "$T/u"/.wh.a
chmod 644 "$T/u"/.wh.a
ln "$T/u"/.wh.a "$T/u"/hl
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rmdir(path=b'"'"'/'"'"')  (model: EBUSY; recorded: {'"'"'kernel'"'"': '"'"'EBUSY'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EBUSY'"'"'})'
rmdir "$M"/ || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
