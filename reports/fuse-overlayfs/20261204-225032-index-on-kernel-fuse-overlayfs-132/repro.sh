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
mkdir "$T/l0"/d
chown -h 0:0 "$T/l0"/d
chmod 755 "$T/l0"/d
printf '%b' $'hello\x5c0012' > "$T/l0"/$'\xff\xfe'
chown -h 0:0 "$T/l0"/$'\xff\xfe'
chmod 640 "$T/l0"/$'\xff\xfe'
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Setxattr(path=b'"'"'/\xff\xfe'"'"', name=b'"'"'trusted.overlay.x'"'"', value=b'"'"'v'"'"', flags=1)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EPERM'"'"'})'
setfattr -n trusted.overlay.x -v 0x76 "$M"$'/\xff\xfe' || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
