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
printf '%b' $'lower\x5c0040data' > a
chown -h 0:0 a
chmod 755 a
setfattr -h -n user.a -v 0x31 a
mkdir b
chown -h 0:0 b
chmod 2775 b
setfattr -h -n trusted.overlay.redirect -v 0x2f6e6f77686572652f78 b
ln -s c b/y
mknod c c 0 0
chown -h 0:0 c
chmod 0 c
ln -s a d
ln a hl
cd /
cd "$T/l1"
mkdir a
chown -h 1000:1000 a
chmod 700 a
setfattr -h -n trusted.t -v 0x74 a
mkdir a/y
chown -h 1000:1000 a/y
chmod 2775 a/y
mkdir a/y/x
chown -h 0:0 a/y/x
chmod 2775 a/y/x
setfattr -h -n user.a -v 0x31 a/y/x
mkdir a/y/y
chown -h 1000:1000 a/y/y
chmod 755 a/y/y
setfattr -h -n trusted.overlay.overlay.x -v 0x657363 a/y/y
ln -s x a/z
printf '%b' $'\x5c0000\x5c0001' > b
truncate -s 5368709120 b
chown -h 0:0 b
chmod 4755 b
setfattr -h -n user.a -v 0x31 b
mkdir c
chown -h 0:0 c
chmod 2775 c
printf '%b' '' > c/y
chown -h 0:0 c/y
chmod 644 c/y
setfattr -h -n user.b -v 0x74776f c/y
mkfifo c/z
chown -h 1001:1000 c/z
chmod 644 c/z
mkdir d
chown -h 1001:1000 d
chmod 777 d
setfattr -h -n user.a -v 0x31 d
printf '%b' $'hello\x5c0012' > d/x
chown -h 0:0 d/x
chmod 644 d/x
setfattr -h -n user.a -v 0x31 d/x
mkdir d/y
chown -h 0:0 d/y
chmod 555 d/y
ln -s x d/y/x
mkdir d/y/y
chown -h 1001:1000 d/y/y
chmod 1777 d/y/y
printf '%b' $'hello\x5c0012' > .wh.a
chown -h 0:0 .wh.a
chmod 600 .wh.a
setfattr -h -n trusted.overlay.priv -v 0x70 .wh.a
ln b hl
cd /
cd "$T/u"
mknod a c 0 0
chown -h 0:0 a
chmod 0 a
printf '%b' $'\x5c0000\x5c0001' > c
truncate -s 5368709120 c
chown -h 0:0 c
chmod 2755 c
mkdir d
chown -h 0:0 d
chmod 555 d
mkdir d/x
chown -h 1001:1000 d/x
chmod 2775 d/x
setfattr -h -n user.a -v 0x31 d/x
setfattr -h -n trusted.overlay.opaque -v 0x79 d/x
mkdir d/x/x
chown -h 1000:1000 d/x/x
chmod 777 d/x/x
setfattr -h -n trusted.overlay.opaque -v 0x78 d/x/x
ln -s y d/y
mknod d/z c 0 0
chown -h 0:0 d/z
chmod 0 d/z
cd /
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w,redirect_dir=on"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Getxattr(path=b'"'"'/a/new'"'"', name=b'"'"'user.b'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"'})'
(cd "$M" && getfattr -n user.b --absolute-names "$M"/a/new) || echo "failed: $?"
echo '--- step 2: Link(old=b'"'"'/.wh.a'"'"', new=b'"'"'/hl'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"'})'
(cd "$M" && ln "$M"/.wh.a "$M"/hl) || echo "failed: $?"
echo '--- step 3: Link(old=b'"'"'/d/x'"'"', new=b'"'"'/d/x/x'"'"')  (model: EEXIST; recorded: {'"'"'kernel'"'"': '"'"'EEXIST'"'"'})'
(cd "$M" && ln "$M"/d/x "$M"/d/x/x) || echo "failed: $?"
echo '--- step 4: Open(path=b'"'"'/hl/'"'"', flags=65)  (model: EISDIR; recorded: {'"'"'kernel'"'"': '"'"'EISDIR'"'"'})'
# Open(path=b'/hl/', flags=65): needs an open handle or a syscall the shell lacks; see repro.py
echo '--- step 5: Chmod(path=b'"'"'/a/y/y'"'"', mode=1023)  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"'})'
(cd "$M" && chmod 1777 "$M"/a/y/y) || echo "failed: $?"
echo '--- step 6: Chmod(path=b'"'"'/hl'"'"', mode=2532)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && chmod 4744 "$M"/hl) || echo "failed: $?"
echo '--- step 7: Open(path=b'"'"'/hl'"'"', flags=514, uid=1001, gid=1000)  (model: EACCES; recorded: {'"'"'kernel'"'"': '"'"'EACCES'"'"'})'
# Open(path=b'/hl', flags=514, uid=1001, gid=1000): needs an open handle or a syscall the shell lacks; see repro.py
echo '--- step 8: Link(old=b'"'"'/a/b'"'"', new=b'"'"'/a/a'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"'})'
(cd "$M" && ln "$M"/a/b "$M"/a/a) || echo "failed: $?"
echo '--- step 9: Rmdir(path=b'"'"'/\xe9'"'"')  (model: ENOENT; recorded: {'"'"'kernel'"'"': '"'"'ENOENT'"'"'})'
(cd "$M" && rmdir "$M"$'/\xe9') || echo "failed: $?"
echo '--- step 10: Rename(old=b'"'"'/b'"'"', new=b'"'"'/d/z'"'"', flags=1)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),1); print("ok" if r==0 else ctypes.get_errno())' "$M"/b "$M"/d/z) || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
