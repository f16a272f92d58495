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
mkdir "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 755 "$T/l1"/b
printf '%b' $'lower\x5c0040data' > "$T/l1"/b/z
chown -h 0:0 "$T/l1"/b/z
chmod 444 "$T/l1"/b/z
setfattr -h -n user.b -v 0x74776f "$T/l1"/b/z
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/c
truncate -s 5368709120 "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 600 "$T/l1"/c
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Chown(path=b'"'"'/.wh.x'"'"', owner=-1, group=-1)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Chown(path=b'/.wh.x', owner=-1, group=-1): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Unlink(path=b'"'"'/c'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ECONNABORTED'"'"'})'
unlink "$M"/c || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
