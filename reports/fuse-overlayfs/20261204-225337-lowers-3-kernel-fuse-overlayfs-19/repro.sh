#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: lowers=3 (defaults; 3 lower(s), upper)
set -u
T=$(mktemp -d /tmp/ovl-repro.XXXXXX)
mount -t tmpfs tmpfs "$T"
M="$T/m"
cleanup() { umount "$M" 2>/dev/null; umount "$T"; rmdir "$T"; }
trap cleanup EXIT
mkdir "$M" $T/l0 $T/l1 $T/l2 "$T/u" "$T/w"
printf '%b' '' > "$T/u"/.wh.a
chown -h 0:0 "$T/u"/.wh.a
chmod 644 "$T/u"/.wh.a
OPTS="lowerdir=$T/l0:$T/l1:$T/l2,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"


echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
