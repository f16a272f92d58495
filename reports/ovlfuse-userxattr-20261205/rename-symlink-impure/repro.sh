#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: userxattr (userxattr; 2 lower(s), upper)
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
mkdir c
chown -h 0:0 c
chmod 755 c
mkdir c/y
chown -h 0:0 c/y
chmod 755 c/y
ln -s a c/y/y
cd /
cd "$T/u"
mkdir d
chown -h 0:0 d
chmod 755 d
cd /
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,userxattr"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rename(old=b'"'"'/c/y/y'"'"', new=b'"'"'/d/y'"'"')  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
(cd "$M" && python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),0); print("ok" if r==0 else ctypes.get_errno())' "$M"/c/y/y "$M"/d/y) || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
