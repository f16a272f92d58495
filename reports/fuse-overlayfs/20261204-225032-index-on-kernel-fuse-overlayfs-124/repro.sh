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
printf '%b' $'hello\x5c0012' > "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 644 "$T/l1"/b
setfattr -h -n user.a -v 0x31 "$T/l1"/b
printf '%b' '' > "$T/l1"/c
chown -h 1000:1000 "$T/l1"/c
chmod 755 "$T/l1"/c
printf '%b' '' > "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 755 "$T/l1"/d
setfattr -h -n user.b -v 0x74776f "$T/l1"/d
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/$'e\x20f'
truncate -s 5368709120 "$T/l1"/$'e\x20f'
chown -h 1001:1000 "$T/l1"/$'e\x20f'
chmod 644 "$T/l1"/$'e\x20f'
setfattr -h -n user.b -v 0x74776f "$T/l1"/$'e\x20f'
mkdir "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 755 "$T/u"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Open(path=b'"'"'/'"'"')  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'", '"'"'fuse-overlayfs'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Fstat(h=0)  (model: ('"'"'drwxr-xr-x'"'"', 0, 0, 0, 1, 0); recorded: {'"'"'kernel'"'"': "('"'"'drwxr-xr-x'"'"', 0, 0, 0, 1, 0)", '"'"'fuse-overlayfs'"'"': "('"'"'drwxr-xr-x'"'"', 0, 0, 0, 3, 0)"})'
# Fstat(h=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
