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
mkdir c
chown -h 0:0 c
chmod 700 c
mkdir c/y
chown -h 1000:1000 c/y
chmod 2775 c/y
printf '%b' $'\x5c0000\x5c0001' > c/y/y
chown -h 1001:1000 c/y/y
chmod 2745 c/y/y
setfattr -h -n user.b -v 0x74776f c/y/y
ln c/y/y c/y/hl2
cd /
cd "$T/l1"
cd /
cd "$T/u"
cd /
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rename(old=b'"'"'/c/y/y'"'"', new=b'"'"'/y'"'"')  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
(cd "$M" && python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),0); print("ok" if r==0 else ctypes.get_errno())' "$M"/c/y/y "$M"/y) || echo "failed: $?"
echo '--- step 2: Setxattr(path=b'"'"'/c/y/hl2'"'"', name=b'"'"'user.new'"'"', value=b'"'"'v'"'"')  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
(cd "$M" && setfattr -n user.new -v 0x76 "$M"/c/y/hl2) || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
