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
cd /
cd "$T/l1"
printf '%b' $'hello\x5c0012' > .wh.a
chown -h 1000:1000 .wh.a
chmod 6755 .wh.a
cd /
cd "$T/u"
mkdir a
chown -h 1001:1000 a
chmod 1777 a
setfattr -h -n trusted.overlay.opaque -v 0x78 a
cd /
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Link(old=b'"'"'/.wh.a'"'"', new=b'"'"'/a/new'"'"', uid=1000, gid=1000)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"', '"'"'fuse'"'"': '"'"'ok'"'"'})'
(cd "$M" && setpriv --reuid=1000 --regid=1000 --clear-groups ln "$M"/.wh.a "$M"/a/new) || echo "failed: $?"
echo '--- step 2: Open(path=b'"'"'/.wh.a'"'"', flags=514, uid=1000, gid=1000)  (model: '"'"'handle'"'"'; recorded: {'"'"'kernel'"'"': "'"'"'handle'"'"'", '"'"'fuse'"'"': "'"'"'handle'"'"'"})'
# Open(path=b'/.wh.a', flags=514, uid=1000, gid=1000): needs an open handle or a syscall the shell lacks; see repro.py

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
