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
mkdir "$T/l0"/b
chown -h 1000:1000 "$T/l0"/b
chmod 700 "$T/l0"/b
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/l0"/b
mkdir "$T/l0"/b/x
chown -h 1000:1000 "$T/l0"/b/x
chmod 555 "$T/l0"/b/x
mkfifo "$T/l0"/b/x/x
chown -h 0:0 "$T/l0"/b/x/x
chmod 644 "$T/l0"/b/x/x
mkdir "$T/l0"/b/x/y
chown -h 0:0 "$T/l0"/b/x/y
chmod 755 "$T/l0"/b/x/y
setfattr -h -n user.b -v 0x74776f "$T/l0"/b/x/y
printf '%b' '' > "$T/l0"/c
chown -h 1000:1000 "$T/l0"/c
chmod 640 "$T/l0"/c
setfattr -h -n user.b -v 0x74776f "$T/l0"/c
mkdir "$T/l0"/d
chown -h 1000:1000 "$T/l0"/d
chmod 755 "$T/l0"/d
printf '%b' $'\x5c0000\x5c0001' > "$T/l0"/d/x
truncate -s 5368709120 "$T/l0"/d/x
chown -h 0:0 "$T/l0"/d/x
chmod 600 "$T/l0"/d/x
setfattr -h -n user.b -v 0x74776f "$T/l0"/d/x
printf '%b' '' > "$T/l0"/d/y
chown -h 0:0 "$T/l0"/d/y
chmod 444 "$T/l0"/d/y
mkfifo "$T/l0"/d/z
chown -h 0:0 "$T/l0"/d/z
chmod 644 "$T/l0"/d/z
printf '%b' '' > "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 644 "$T/l1"/c
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 1777 "$T/l1"/d
setfattr -h -n user.b -v 0x74776f "$T/l1"/d
mkdir "$T/l1"/d/x
chown -h 1001:1000 "$T/l1"/d/x
chmod 777 "$T/l1"/d/x
setfattr -h -n user.b -v 0x74776f "$T/l1"/d/x
mkdir "$T/l1"/d/x/y
chown -h 0:0 "$T/l1"/d/x/y
chmod 755 "$T/l1"/d/x/y
setfattr -h -n user.b -v 0x74776f "$T/l1"/d/x/y
mkdir "$T/l1"/d/y
chown -h 0:0 "$T/l1"/d/y
chmod 755 "$T/l1"/d/y
ln -s dangling "$T/l1"/d/y/x
printf '%b' $'lower\x5c0040data' > "$T/u"/a
chown -h 0:0 "$T/u"/a
chmod 644 "$T/u"/a
setfattr -h -n user.a -v 0x31 "$T/u"/a
mkdir "$T/u"/b
chown -h 0:0 "$T/u"/b
chmod 1777 "$T/u"/b
setfattr -h -n user.a -v 0x31 "$T/u"/b
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/b
mkdir "$T/u"/b/x
chown -h 0:0 "$T/u"/b/x
chmod 1777 "$T/u"/b/x
mknod "$T/u"/b/x/x c 0 0
chown -h 0:0 "$T/u"/b/x/x
chmod 0 "$T/u"/b/x/x
mkdir "$T/u"/b/x/y
chown -h 1000:1000 "$T/u"/b/x/y
chmod 700 "$T/u"/b/x/y
mkdir "$T/u"/b/y
chown -h 0:0 "$T/u"/b/y
chmod 755 "$T/u"/b/y
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/b/y
ln -s x "$T/u"/b/y/x
mkdir "$T/u"/b/y/y
chown -h 1001:1000 "$T/u"/b/y/y
chmod 1777 "$T/u"/b/y/y
setfattr -h -n user.b -v 0x74776f "$T/u"/b/y/y
setfattr -h -n trusted.overlay.opaque -v 0x79 "$T/u"/b/y/y
mknod "$T/u"/b/z c 0 0
chown -h 0:0 "$T/u"/b/z
chmod 0 "$T/u"/b/z
mkdir "$T/u"/d
chown -h 1000:1000 "$T/u"/d
chmod 755 "$T/u"/d
ln -s x "$T/u"/d/x
mkdir "$T/u"/d/y
chown -h 0:0 "$T/u"/d/y
chmod 755 "$T/u"/d/y
mkfifo "$T/u"/d/y/x
chown -h 0:0 "$T/u"/d/y/x
chmod 644 "$T/u"/d/y/x
mkdir "$T/u"/d/z
chown -h 1001:1000 "$T/u"/d/z
chmod 555 "$T/u"/d/z
mkdir "$T/u"/d/z/x
chown -h 1001:1000 "$T/u"/d/z/x
chmod 555 "$T/u"/d/z/x
setfattr -h -n user.a -v 0x31 "$T/u"/d/z/x
printf '%b' $'hello\x5c0012' > "$T/u"/d/z/y
chown -h 0:0 "$T/u"/d/z/y
chmod 640 "$T/u"/d/z/y
setfattr -h -n user.b -v 0x74776f "$T/u"/d/z/y
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Utimens(path=b'"'"'/'"'"', atime_ns=-1, mtime_ns=-1)  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/', atime_ns=-1, mtime_ns=-1): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Utimens(path=b'"'"'/d/z/x'"'"', atime_ns=5, mtime_ns=5)  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/d/z/x', atime_ns=5, mtime_ns=5): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 3: Utimens(path=b'"'"'/c'"'"', mtime_ns=1000000000000000000)  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/c', mtime_ns=1000000000000000000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 4: Utimens(path=b'"'"'/a/a'"'"', mtime_ns=1000000000000000000)  (model: ENOTDIR; recorded: {'"'"'fuse'"'"': '"'"'ENOTDIR'"'"'})'
# Utimens(path=b'/a/a', mtime_ns=1000000000000000000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 5: Utimens(path=b'"'"'/\xe9'"'"')  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/\xe9'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 6: Utimens(path=b'"'"'/a/x'"'"', atime_ns=5, mtime_ns=5)  (model: ENOTDIR; recorded: {'"'"'fuse'"'"': '"'"'ENOTDIR'"'"'})'
# Utimens(path=b'/a/x', atime_ns=5, mtime_ns=5): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 7: Utimens(path=b'"'"'/x'"'"', atime_ns=5, mtime_ns=5, uid=1000, gid=1000)  (model: ENOENT; recorded: {'"'"'fuse'"'"': '"'"'ENOENT'"'"'})'
# Utimens(path=b'/x', atime_ns=5, mtime_ns=5, uid=1000, gid=1000): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 8: Utimens(path=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"', atime_ns=-1, mtime_ns=-1)  (model: ENOENT; recorded: {'"'"'fuse'"'"': '"'"'ENOENT'"'"'})'
# Utimens(path=b'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm', atime_ns=-1, mtime_ns=-1): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 9: Utimens(path=b'"'"'/b/y/y'"'"', atime_ns=5, mtime_ns=5)  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/b/y/y', atime_ns=5, mtime_ns=5): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 10: Utimens(path=b'"'"'/b/y/y'"'"')  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/b/y/y'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 11: Utimens(path=b'"'"'/a'"'"', atime_ns=-1, mtime_ns=-1)  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/a', atime_ns=-1, mtime_ns=-1): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 12: Utimens(path=b'"'"'/a'"'"', atime_ns=-1, mtime_ns=-1)  (model: ok; recorded: {'"'"'fuse'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/a', atime_ns=-1, mtime_ns=-1): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
