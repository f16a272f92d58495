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
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 1777 "$T/l1"/d
ln -s x "$T/l1"/d/x
mkdir "$T/l1"/d/z
chown -h 1000:1000 "$T/l1"/d/z
chmod 700 "$T/l1"/d/z
setfattr -h -n user.b -v 0x74776f "$T/l1"/d/z
printf '%b' $'lower\x5c0040data' > "$T/l1"/d/z/x
chown -h 1001:1000 "$T/l1"/d/z/x
chmod 755 "$T/l1"/d/z/x
setfattr -h -n user.b -v 0x74776f "$T/l1"/d/z/x
mkdir "$T/l1"/d/z/y
chown -h 1001:1000 "$T/l1"/d/z/y
chmod 700 "$T/l1"/d/z/y
setfattr -h -n user.b -v 0x74776f "$T/l1"/d/z/y
ln "$T/l1"/d/z/x "$T/l1"/hl
ln "$T/l1"/d/z/x "$T/l1"/d/z/y/hl2
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"


echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
