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
printf '%b' '' > "$T/l1"/.wh.a
chown -h 0:0 "$T/l1"/.wh.a
chmod 644 "$T/l1"/.wh.a
ln "$T/l1"/.wh.a "$T/l1"/hl
OPTS="lowerdir=$T/l0:$T/l1,ro"
mount -t overlay overlay -o "$OPTS" "$M"


echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
