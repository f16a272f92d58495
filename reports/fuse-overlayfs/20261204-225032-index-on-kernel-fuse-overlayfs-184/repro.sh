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
printf '%b' '' > "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 644 "$T/l1"/d
printf '%b' '' > "$T/u"/d
chown -h 0:0 "$T/u"/d
chmod 644 "$T/u"/d
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,index=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Open(path=b'"'"'/'"'"')  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'", '"'"'fuse-overlayfs'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 2: Open(path=b'"'"'/a/b'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Open(path=b'/a/b'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 3: Chmod(path=b'"'"'/'"'"', mode=384)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 600 "$M"/ || echo "failed: $?"
echo '--- step 4: Pread(h=0, size=16, offset=0)  (model: EISDIR; recorded: {'"'"'kernel'"'"': '"'"'EISDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EISDIR'"'"'})'
# Pread(h=0, size=16, offset=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 5: Chmod(path=b'"'"'/'"'"', mode=384)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 600 "$M"/ || echo "failed: $?"
echo '--- step 6: Pread(h=0, size=16, offset=0)  (model: EISDIR; recorded: {'"'"'kernel'"'"': '"'"'EISDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EISDIR'"'"'})'
# Pread(h=0, size=16, offset=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 7: Open(path=b'"'"'/a/a'"'"', flags=65)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
# Open(path=b'/a/a', flags=65): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 8: Rename(old=b'"'"'/\xe9'"'"', new=b'"'"'/x'"'"', flags=1, uid=1000, gid=1000)  (model: EACCES; recorded: {'"'"'kernel'"'"': '"'"'EACCES'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EACCES'"'"'})'
setpriv --reuid=1000 --regid=1000 --clear-groups mv -T --no-clobber "$M"$'/\xe9' "$M"/x  # RENAME_NOREPLACE || echo "failed: $?"
echo '--- step 9: Mknod(path=b'"'"'/a'"'"', mode=8612, rdev=259)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Mknod(path=b'/a', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 10: Chmod(path=b'"'"'/'"'"', mode=384)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 600 "$M"/ || echo "failed: $?"
echo '--- step 11: Pread(h=0, size=16, offset=0)  (model: EISDIR; recorded: {'"'"'kernel'"'"': '"'"'EISDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EISDIR'"'"'})'
# Pread(h=0, size=16, offset=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 12: Mkdir(path=b'"'"'/'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EEXIST'"'"'})'
mkdir -m 755 "$M"/ || echo "failed: $?"
echo '--- step 13: Getxattr(path=b'"'"'/a/x'"'"', name=b'"'"'user.b'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
getfattr -n user.b --absolute-names "$M"/a/x || echo "failed: $?"
echo '--- step 14: Chmod(path=b'"'"'/'"'"', mode=420)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
chmod 644 "$M"/ || echo "failed: $?"
echo '--- step 15: Pread(h=0, size=16, offset=0)  (model: EISDIR; recorded: {'"'"'kernel'"'"': '"'"'EISDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EISDIR'"'"'})'
# Pread(h=0, size=16, offset=0): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 16: Read(h=0, size=4)  (model: EISDIR; recorded: {'"'"'kernel'"'"': '"'"'EISDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'EISDIR'"'"'})'
# Read(h=0, size=4): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 17: Truncate(path=b'"'"'/a/b'"'"', length=5368709121)  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOTDIR'"'"'})'
truncate -s 5368709121 "$M"/a/b || echo "failed: $?"
echo '--- step 18: Utimens(path=b'"'"'/a/b'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/a/b'): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"
echo '--- step 19: Open(path=b'"'"'/a'"'"', flags=512)  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'", '"'"'fuse-overlayfs'"'"': '"'"'EACCES'"'"'})'
# Open(path=b'/a', flags=512): needs an open handle or a syscall the shell lacks; see repro.py || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
