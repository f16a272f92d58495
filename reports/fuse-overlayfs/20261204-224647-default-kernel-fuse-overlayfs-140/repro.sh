#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: default (defaults; 2 lower(s), upper)
set -u
T=$(mktemp -d /tmp/ovl-repro.XXXXXX)
mount -t tmpfs tmpfs "$T"
M="$T/m"
cleanup() { umount "$M" 2>/dev/null; umount "$T"; rmdir "$T"; }
trap cleanup EXIT
mkdir "$M" $T/l0 $T/l1 "$T/u" "$T/w"
printf '%b' $'hello\x5c0012' > "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 644 "$T/l1"/b
setfattr -h -n user.a -v 0x31 "$T/l1"/b
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 755 "$T/l1"/d
setfattr -h -n user.a -v 0x31 "$T/l1"/d
mkdir "$T/l1"/d/x
chown -h 0:0 "$T/l1"/d/x
chmod 777 "$T/l1"/d/x
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/d/x/x
chown -h 1000:1000 "$T/l1"/d/x/x
chmod 600 "$T/l1"/d/x/x
mkdir "$T/l1"/d/x/y
chown -h 0:0 "$T/l1"/d/x/y
chmod 777 "$T/l1"/d/x/y
printf '%b' $'hello\x5c0012' > "$T/l1"/d/z
chown -h 1001:1000 "$T/l1"/d/z
chmod 600 "$T/l1"/d/z
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/$'e\x20f'
truncate -s 5368709120 "$T/l1"/$'e\x20f'
chown -h 1001:1000 "$T/l1"/$'e\x20f'
chmod 644 "$T/l1"/$'e\x20f'
setfattr -h -n user.b -v 0x74776f "$T/l1"/$'e\x20f'
mkdir "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 755 "$T/u"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Open(path=b'"'"'/'"'"')  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'", '"'"'fuse-overlayfs'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Lseek(h=0, offset=0, whence=2)  (model: EINVAL; recorded: {'"'"'kernel'"'"': '"'"'EINVAL'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EINVAL'"'"'})'
# Lseek(h=0, offset=0, whence=2): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
