#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: no-upper (defaults; 2 lower(s), no upper)
set -u
T=$(mktemp -d /tmp/ovl-repro.XXXXXX)
mount -t tmpfs tmpfs "$T"
M="$T/m"
cleanup() { umount "$M" 2>/dev/null; umount "$T"; rmdir "$T"; }
trap cleanup EXIT
mkdir "$M" $T/l0 $T/l1
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/b
truncate -s 5368709120 "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 644 "$T/l1"/b
mkdir "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 1777 "$T/l1"/c
mkdir "$T/l1"/c/x
chown -h 0:0 "$T/l1"/c/x
chmod 755 "$T/l1"/c/x
setfattr -h -n user.b -v 0x74776f "$T/l1"/c/x
mkdir "$T/l1"/c/x/x
chown -h 0:0 "$T/l1"/c/x/x
chmod 755 "$T/l1"/c/x/x
ln -s x "$T/l1"/c/x/y
mkfifo "$T/l1"/c/z
chown -h 1000:1000 "$T/l1"/c/z
chmod 644 "$T/l1"/c/z
printf '%b' $'\x5c0000\x5c0001' > "$T/l1"/$'e\x20f'
truncate -s 5368709120 "$T/l1"/$'e\x20f'
chown -h 0:0 "$T/l1"/$'e\x20f'
chmod 755 "$T/l1"/$'e\x20f'
OPTS="lowerdir=$T/l0:$T/l1,ro"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Statfs(path=b'"'"'/new'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
stat -f -c 'type=%T namelen=%l' "$M"/new || echo "failed: $?"
echo '--- step 2: Rmdir(path=b'"'"'/c/z'"'"', uid=1000, gid=1000)  (model: EROFS; recorded: {'"'"'kernel'"'"': '"'"'EROFS'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EROFS'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups rmdir "$M"/c/z || echo "failed: $?"
echo '--- step 3: Utimens(path=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
