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
chown -h 1001:1000 "$T/l1"/c
chmod 644 "$T/l1"/c
setfattr -h -n user.b -v 0x74776f "$T/l1"/c
printf '%b' $'lower\x5c0040data' > "$T/l1"/$'e\x20f'
chown -h 0:0 "$T/l1"/$'e\x20f'
chmod 444 "$T/l1"/$'e\x20f'
setfattr -h -n user.b -v 0x74776f "$T/l1"/$'e\x20f'
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Utimens(path=b'"'"'/a'"'"', atime_ns=5, mtime_ns=5)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Utimens(path=b'/a', atime_ns=5, mtime_ns=5): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Link(old=b'"'"'/e f'"'"', new=b'"'"'/b'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
ln "$M"$'/e\x20f' "$M"/b || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
