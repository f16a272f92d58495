#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: uuid=on (uuid=on; 2 lower(s), upper, an upper root of earlier mounts)
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
cd /
cd "$T/u"
printf '%b' '' > $'\xff\xfe'
chown -h 0:0 $'\xff\xfe'
chmod 644 $'\xff\xfe'
ln $'\xff\xfe' hl
ln $'\xff\xfe' hl2
cd /
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,uuid=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rename(old=b'"'"'/hl'"'"', new=b'"'"'/hl2'"'"', flags=4)  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'EINVAL'"'"'})'
(cd "$M" && python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),4); print("ok" if r==0 else ctypes.get_errno())' "$M"/hl "$M"/hl2) || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
