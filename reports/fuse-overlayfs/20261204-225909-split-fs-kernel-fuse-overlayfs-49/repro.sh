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
printf '%b' '' > "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 644 "$T/l1"/c
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 755 "$T/l1"/d
mkfifo "$T/l1"/d/x
chown -h 0:0 "$T/l1"/d/x
chmod 644 "$T/l1"/d/x
printf '%b' $'lower\x5c0040data' > "$T/l1"/d/z
chown -h 0:0 "$T/l1"/d/z
chmod 640 "$T/l1"/d/z
setfattr -h -n user.a -v 0x31 "$T/l1"/d/z
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Statfs(path=b'"'"'/new'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
stat -f -c 'type=%T namelen=%l' "$M"/new || echo "failed: $?"
echo '--- step 2: Chown(path=b'"'"'/d'"'"', owner=-1, group=-1)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Chown(path=b'/d', owner=-1, group=-1): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
