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
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/a
truncate -s 5368709120 "$T/l1"/a
chown -h 1001:1000 "$T/l1"/a
chmod 4755 "$T/l1"/a
mkdir "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 555 "$T/l1"/c
setfattr -h -n user.b -v 0x74776f "$T/l1"/c
mkdir "$T/l1"/c/z
chown -h 1001:1000 "$T/l1"/c/z
chmod 755 "$T/l1"/c/z
mkdir "$T/l1"/c/z/y
chown -h 0:0 "$T/l1"/c/z/y
chmod 755 "$T/l1"/c/z/y
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 755 "$T/l1"/d
mkdir "$T/l1"/d/z
chown -h 1000:1000 "$T/l1"/d/z
chmod 700 "$T/l1"/d/z
setfattr -h -n user.b -v 0x74776f "$T/l1"/d/z
printf '%b' '' > "$T/l1"/d/z/x
chown -h 0:0 "$T/l1"/d/z/x
chmod 644 "$T/l1"/d/z/x
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rename(old=b'"'"'/b'"'"', new=b'"'"'/a/a'"'"', flags=4, uid=1000, gid=1000)  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),4); print("ok" if r==0 else ctypes.get_errno())' "$M"/b "$M"/a/a || echo "failed: $?"
echo '--- step 2: Chown(path=b'"'"'/a'"'"', owner=-1, group=1000)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ECONNABORTED'"'"'})'
# Chown(path=b'/a', owner=-1, group=1000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
