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
mkdir "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 700 "$T/l1"/b
mkdir "$T/l1"/b/y
chown -h 0:0 "$T/l1"/b/y
chmod 755 "$T/l1"/b/y
setfattr -h -n user.b -v 0x74776f "$T/l1"/b/y
printf '%b' '' > "$T/l1"/b/y/y
chown -h 0:0 "$T/l1"/b/y/y
chmod 4755 "$T/l1"/b/y/y
mkdir "$T/l1"/b/z
chown -h 1000:1000 "$T/l1"/b/z
chmod 700 "$T/l1"/b/z
setfattr -h -n user.b -v 0x74776f "$T/l1"/b/z
mkfifo "$T/l1"/b/z/x
chown -h 1001:1000 "$T/l1"/b/z/x
chmod 644 "$T/l1"/b/z/x
printf '%b' $'lower\x5c0040data' > "$T/l1"/b/z/y
chown -h 0:0 "$T/l1"/b/z/y
chmod 444 "$T/l1"/b/z/y
setfattr -h -n user.b -v 0x74776f "$T/l1"/b/z/y
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 755 "$T/l1"/d
mkdir "$T/l1"/d/z
chown -h 1000:1000 "$T/l1"/d/z
chmod 700 "$T/l1"/d/z
setfattr -h -n user.b -v 0x74776f "$T/l1"/d/z
printf '%b' '' > "$T/l1"/.wh.a
chown -h 1000:1000 "$T/l1"/.wh.a
chmod 644 "$T/l1"/.wh.a
setfattr -h -n user.b -v 0x74776f "$T/l1"/.wh.a
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rename(old=b'"'"'/.wh.a'"'"', new=b'"'"'/.wh.x'"'"', flags=4)  (model: EINVAL; recorded: {'"'"'kernel'"'"': '"'"'EINVAL'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),4); print("ok" if r==0 else ctypes.get_errno())' "$M"/.wh.a "$M"/.wh.x || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
