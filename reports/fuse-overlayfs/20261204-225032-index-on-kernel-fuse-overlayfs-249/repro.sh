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
mkdir "$T/l0"/d/x
chown -h 0:0 "$T/l0"/d/x
chmod 755 "$T/l0"/d/x
printf '%b' '' > "$T/l0"/d/x/x
chown -h 0:0 "$T/l0"/d/x/x
chmod 644 "$T/l0"/d/x/x
printf '%b' '' > "$T/l0"/d/x/y
chown -h 0:0 "$T/l0"/d/x/y
chmod 644 "$T/l0"/d/x/y
printf '%b' '' > "$T/l0"/d/y
chown -h 0:0 "$T/l0"/d/y
chmod 644 "$T/l0"/d/y
mkfifo "$T/l0"/d/z
chown -h 0:0 "$T/l0"/d/z
chmod 644 "$T/l0"/d/z
mkdir "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 755 "$T/l1"/c
mkdir "$T/l1"/c/y
chown -h 0:0 "$T/l1"/c/y
chmod 755 "$T/l1"/c/y
printf '%b' '' > "$T/l1"/c/y/x
chown -h 0:0 "$T/l1"/c/y/x
chmod 644 "$T/l1"/c/y/x
mkdir "$T/l1"/c/z
chown -h 0:0 "$T/l1"/c/z
chmod 755 "$T/l1"/c/z
printf '%b' '' > "$T/l1"/c/z/x
chown -h 0:0 "$T/l1"/c/z/x
chmod 644 "$T/l1"/c/z/x
mkdir "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 755 "$T/u"/a
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Statfs(path=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
stat -f -c 'type=%T namelen=%l' "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm || echo "failed: $?"
echo '--- step 2: Rename(old=b'"'"'/d/x/y'"'"', new=b'"'"'/a/a'"'"', flags=4)  (model: EINVAL; recorded: {'"'"'kernel'"'"': '"'"'EINVAL'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),4); print("ok" if r==0 else ctypes.get_errno())' "$M"/d/x/y "$M"/a/a || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
