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
cd "$T/l0"
cd /
cd "$T/l1"
printf '%b' '' > d
chown -h 0:0 d
chmod 644 d
ln d hl
cd /
cd "$T/u"
cd /
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Chmod(path=b'"'"'/d'"'"', mode=416)  (model: ok; recorded: {'"'"'fuse-cached'"'"': '"'"'ok'"'"'})'
(cd "$M" && chmod 640 "$M"/d) || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
