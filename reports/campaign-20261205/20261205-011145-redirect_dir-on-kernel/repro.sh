#!/bin/bash
# Reproducer written by difftest. Run as root; needs attr (setfattr) and util-linux.
# Config: redirect_dir=on (redirect_dir=on; 2 lower(s), upper)
set -u
T=$(mktemp -d /tmp/ovl-repro.XXXXXX)
mount -t tmpfs tmpfs "$T"
M="$T/m"
cleanup() { umount "$M" 2>/dev/null; umount "$T"; rmdir "$T"; }
trap cleanup EXIT
mkdir "$M" $T/l0 $T/l1 "$T/u" "$T/w"
cd "$T/l0"
printf '%b' $'\x5c0000\x5c0001' > a
truncate -s 5368709120 a
chown -h 0:0 a
chmod 640 a
printf '%b' '' > b
chown -h 1001:1000 b
chmod 644 b
setfattr -h -n user.b -v 0x74776f b
mkdir c
chown -h 0:0 c
chmod 555 c
setfattr -h -n user.a -v 0x31 c
setfattr -h -n trusted.overlay.opaque -v 0x79 c
ln -s dangling c/y
printf '%b' $'lower\x5c0040data' > c/z
chown -h 1000:1000 c/z
chmod 4755 c/z
mkdir d
chown -h 0:0 d
chmod 1777 d
setfattr -h -n user.b -v 0x74776f d
setfattr -h -n trusted.overlay.opaque -v 0x79 d
mkdir d/x
chown -h 1001:1000 d/x
chmod 1777 d/x
setfattr -h -n trusted.overlay.opaque -v 0x79 d/x
mkdir d/x/x
chown -h 0:0 d/x/x
chmod 777 d/x/x
setfattr -h -n user.a -v 0x31 d/x/x
setfattr -h -n trusted.overlay.opaque -v 0x79 d/x/x
mkdir d/x/y
chown -h 0:0 d/x/y
chmod 700 d/x/y
setfattr -h -n user.a -v 0x31 d/x/y
setfattr -h -n trusted.overlay.opaque -v 0x79 d/x/y
mknod d/y c 0 0
chown -h 0:0 d/y
chmod 0 d/y
mkdir d/z
chown -h 1000:1000 d/z
chmod 777 d/z
setfattr -h -n user.a -v 0x31 d/z
ln -s dangling d/z/x
mkdir d/z/y
chown -h 0:0 d/z/y
chmod 700 d/z/y
setfattr -h -n user.a -v 0x31 d/z/y
setfattr -h -n trusted.overlay.opaque -v 0x79 d/z/y
cd /
cd "$T/l1"
printf '%b' $'hello\x5c0012' > b
chown -h 0:0 b
chmod 755 b
setfattr -h -n user.a -v 0x31 b
mkdir c
chown -h 0:0 c
chmod 555 c
mkdir c/y
chown -h 1000:1000 c/y
chmod 755 c/y
setfattr -h -n user.b -v 0x74776f c/y
mkdir c/y/x
chown -h 1001:1000 c/y/x
chmod 1777 c/y/x
setfattr -h -n user.b -v 0x74776f c/y/x
ln -s ../b c/z
cd /
cd "$T/u"
mkdir c
chown -h 0:0 c
chmod 755 c
printf '%b' $'\x5c0000\x5c0001' > c/x
chown -h 1001:1000 c/x
chmod 444 c/x
mknod c/y c 0 0
chown -h 0:0 c/y
chmod 0 c/y
mkdir c/z
chown -h 1000:1000 c/z
chmod 1777 c/z
setfattr -h -n trusted.overlay.opaque -v 0x79 c/z
mkdir c/z/y
chown -h 1000:1000 c/z/y
chmod 777 c/z/y
setfattr -h -n user.b -v 0x74776f c/z/y
mkdir d
chown -h 0:0 d
chmod 1777 d
setfattr -h -n trusted.overlay.opaque -v 0x79 d
ln -s dangling d/y
printf '%b' $'hello\x5c0012' > d/z
chown -h 0:0 d/z
chmod 444 d/z
printf '%b' '' > $'\xff\xfe'
chown -h 1000:1000 $'\xff\xfe'
chmod 755 $'\xff\xfe'
cd /
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,redirect_dir=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rmdir(path=b'"'"'/c/x'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"'})'
(cd "$M" && rmdir "$M"/c/x) || echo "failed: $?"
echo '--- step 2: Removexattr(path=b'"'"'/a'"'"', name=b'"'"'user.new'"'"')  (model: ENODATA; recorded: {'"'"'kernel'"'"': '"'"'ENODATA'"'"'})'
(cd "$M" && setfattr -x user.new "$M"/a) || echo "failed: $?"
echo '--- step 3: Mknod(path=b'"'"'/a/a'"'"', mode=8612, rdev=259)  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"'})'
# Mknod(path=b'/a/a', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py
echo '--- step 4: Removexattr(path=b'"'"'/c/y/x'"'"', name=b'"'"'user.new'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"'})'
(cd "$M" && setfattr -x user.new "$M"/c/y/x) || echo "failed: $?"
echo '--- step 5: Unlink(path=b'"'"'/c/x'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && unlink "$M"/c/x) || echo "failed: $?"
echo '--- step 6: Rmdir(path=b'"'"'/c/z'"'"')  (model: ENOTEMPTY; recorded: {'"'"'kernel'"'"': '"'"'ENOTEMPTY'"'"'})'
(cd "$M" && rmdir "$M"/c/z) || echo "failed: $?"
echo '--- step 7: Rmdir(path=b'"'"'/c'"'"')  (model: ENOTEMPTY; recorded: {'"'"'kernel'"'"': '"'"'ENOTEMPTY'"'"'})'
(cd "$M" && rmdir "$M"/c) || echo "failed: $?"
echo '--- step 8: Symlink(target=b'"'"'loop'"'"', path=b'"'"'/a/x'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"'})'
(cd "$M" && ln -s loop "$M"/a/x) || echo "failed: $?"
echo '--- step 9: Setxattr(path=b'"'"'/'"'"', name=b'"'"'user.new'"'"', value=b'"'"'v'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && setfattr -n user.new -v 0x76 "$M"/) || echo "failed: $?"
echo '--- step 10: Remount()  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 11: Rename(old=b'"'"'/d'"'"', new=b'"'"'/a'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"'})'
(cd "$M" && python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),0); print("ok" if r==0 else ctypes.get_errno())' "$M"/d "$M"/a) || echo "failed: $?"
echo '--- step 12: Statfs(path=b'"'"'/a/a'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"'})'
(cd "$M" && stat -f -c 'type=%T namelen=%l' "$M"/a/a) || echo "failed: $?"
echo '--- step 13: Rename(old=b'"'"'/d'"'"', new=b'"'"'/a'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"'})'
(cd "$M" && python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),0); print("ok" if r==0 else ctypes.get_errno())' "$M"/d "$M"/a) || echo "failed: $?"
echo '--- step 14: Open(path=b'"'"'/b'"'"', flags=1025)  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/b', flags=1025): needs an open handle or a syscall the shell lacks; see repro.py
echo '--- step 15: Symlink(target=b'"'"'x/y'"'"', path=b'"'"'/new'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && ln -s x/y "$M"/new) || echo "failed: $?"
echo '--- step 16: Utimens(path=b'"'"'/d'"'"', mtime_ns=1000000000000000000)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
# Utimens(path=b'/d', mtime_ns=1000000000000000000): needs an open handle or a syscall the shell lacks; see repro.py
echo '--- step 17: Rmdir(path=b'"'"'/c/z/y'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && rmdir "$M"/c/z/y) || echo "failed: $?"
echo '--- step 18: Mknod(path=b'"'"'/c'"'"', mode=8612, rdev=259)  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"'})'
# Mknod(path=b'/c', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py
echo '--- step 19: Statfs(path=b'"'"'/a/a'"'"')  (model: ENOTDIR; recorded: {'"'"'kernel'"'"': '"'"'ENOTDIR'"'"'})'
(cd "$M" && stat -f -c 'type=%T namelen=%l' "$M"/a/a) || echo "failed: $?"
echo '--- step 20: Chmod(path=b'"'"'/b'"'"', mode=384)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && chmod 600 "$M"/b) || echo "failed: $?"
echo '--- step 21: Pread(h=0, size=16, offset=0)  (model: EBADF; recorded: {'"'"'kernel'"'"': '"'"'EBADF'"'"'})'
# Pread(h=0, size=16, offset=0): needs an open handle or a syscall the shell lacks; see repro.py
echo '--- step 22: Mknod(path=b'"'"'/c'"'"', mode=8612, rdev=259)  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"'})'
# Mknod(path=b'/c', mode=8612, rdev=259): needs an open handle or a syscall the shell lacks; see repro.py
echo '--- step 23: Close(h=0)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
# Close(h=0): needs an open handle or a syscall the shell lacks; see repro.py
echo '--- step 24: Symlink(target=b'"'"'loop'"'"', path=b'"'"'/d'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"'})'
(cd "$M" && ln -s loop "$M"/d) || echo "failed: $?"
echo '--- step 25: Statfs(path=b'"'"'/b'"'"')  (model: ('"'"'0x794c7630'"'"', 255, False); recorded: {'"'"'kernel'"'"': "('"'"'0x794c7630'"'"', 255, False)"})'
(cd "$M" && stat -f -c 'type=%T namelen=%l' "$M"/b) || echo "failed: $?"
echo '--- step 26: Open(path=b'"'"'/a'"'"', flags=1025)  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/a', flags=1025): needs an open handle or a syscall the shell lacks; see repro.py
echo '--- step 27: Unlink(path=b'"'"'/d/y'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && unlink "$M"/d/y) || echo "failed: $?"
echo '--- step 28: Unlink(path=b'"'"'/d/z'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && unlink "$M"/d/z) || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
