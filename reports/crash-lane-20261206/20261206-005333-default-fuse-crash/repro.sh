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
cd "$T/l0"
mkdir a
chown -h 0:0 a
chmod 777 a
setfattr -h -n trusted.overlay.priv -v 0x70 a
mknod a/y c 0 0
chown -h 0:0 a/y
chmod 0 a/y
printf '%b' $'hello\x5c0012' > c
chown -h 0:0 c
chmod 644 c
setfattr -h -n user.a -v 0x31 c
cd /
cd "$T/l1"
mkdir a
chown -h 0:0 a
chmod 777 a
setfattr -h -n trusted.overlay.priv -v 0x70 a
printf '%b' $'hello\x5c0012' > c
chown -h 0:0 c
chmod 644 c
setfattr -h -n user.a -v 0x31 c
cd /
cd "$T/u"
mkdir a
chown -h 0:0 a
chmod 777 a
setfattr -h -n trusted.overlay.priv -v 0x70 a
mknod a/y c 0 0
chown -h 0:0 a/y
chmod 0 a/y
printf '%b' $'hello\x5c0012' > c
chown -h 0:0 c
chmod 644 c
setfattr -h -n user.a -v 0x31 c
cd /
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: ArmCrash(after=10)  (model: ok; recorded: {'"'"'fuse-crash'"'"': '"'"'ok'"'"'})'
umount "$M" && mount -t overlay overlay -o "$OPTS" "$M" || echo "failed: $?"
echo '--- step 2: Link(old=b'"'"'/a/y'"'"', new=b'"'"'/a'"'"')  (model: ENOENT; recorded: {'"'"'fuse-crash'"'"': '"'"'ENOENT'"'"'})'
(cd "$M" && ln "$M"/a/y "$M"/a) || echo "failed: $?"
echo '--- step 3: Symlink(target=b'"'"'a'"'"', path=b'"'"'/a/x'"'"')  (model: ok; recorded: {'"'"'fuse-crash'"'"': '"'"'ok'"'"'})'
(cd "$M" && ln -s a "$M"/a/x) || echo "failed: $?"
echo '--- step 4: Symlink(target=b'"'"'a'"'"', path=b'"'"'/a/x'"'"')  (model: EEXIST; recorded: {'"'"'fuse-crash'"'"': '"'"'EEXIST'"'"'})'
(cd "$M" && ln -s a "$M"/a/x) || echo "failed: $?"
echo '--- step 5: Symlink(target=b'"'"'a'"'"', path=b'"'"'/a/x'"'"', uid=1000, gid=1000)  (model: EEXIST; recorded: {'"'"'fuse-crash'"'"': '"'"'EEXIST'"'"'})'
(cd "$M" && setpriv --reuid=1000 --regid=1000 --clear-groups ln -s a "$M"/a/x) || echo "failed: $?"
echo '--- step 6: Symlink(target=b'"'"'b'"'"', path=b'"'"'/\xe9'"'"')  (model: ok; recorded: {'"'"'fuse-crash'"'"': '"'"'ok'"'"'})'
(cd "$M" && ln -s b "$M"$'/\xe9') || echo "failed: $?"
echo '--- step 7: Symlink(target=b'"'"''"'"', path=b'"'"'/x'"'"')  (model: ENOENT; recorded: {'"'"'fuse-crash'"'"': '"'"'ENOENT'"'"'})'
(cd "$M" && ln -s '' "$M"/x) || echo "failed: $?"
echo '--- step 8: Symlink(target=b'"'"'a'"'"', path=b'"'"'/a/x'"'"')  (model: EEXIST; recorded: {'"'"'fuse-crash'"'"': '"'"'EEXIST'"'"'})'
(cd "$M" && ln -s a "$M"/a/x) || echo "failed: $?"
echo '--- step 9: Symlink(target=b'"'"''"'"', path=b'"'"'/'"'"')  (model: ENOENT; recorded: {'"'"'fuse-crash'"'"': '"'"'ENOENT'"'"'})'
(cd "$M" && ln -s '' "$M"/) || echo "failed: $?"
echo '--- step 10: Symlink(target=b'"'"'a'"'"', path=b'"'"'/\xe9'"'"', uid=1000, gid=1000)  (model: EEXIST; recorded: {'"'"'fuse-crash'"'"': '"'"'EEXIST'"'"'})'
(cd "$M" && setpriv --reuid=1000 --regid=1000 --clear-groups ln -s a "$M"$'/\xe9') || echo "failed: $?"
echo '--- step 11: Symlink(target=b'"'"'a'"'"', path=b'"'"'/new'"'"')  (model: ok; recorded: {'"'"'fuse-crash'"'"': '"'"'ok'"'"'})'
(cd "$M" && ln -s a "$M"/new) || echo "failed: $?"
echo '--- step 12: Symlink(target=b'"'"'a'"'"', path=b'"'"'/a/new'"'"', uid=1000, gid=1000)  (model: ok; recorded: {'"'"'fuse-crash'"'"': '"'"'ECONNABORTED'"'"'})'
(cd "$M" && setpriv --reuid=1000 --regid=1000 --clear-groups ln -s a "$M"/a/new) || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
