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
cd "$T/l0"
printf '%b' $'hello\x5c0012' > a
chown -h 0:0 a
chmod 444 a
printf '%b' $'\x5c0000\x5c0001' > c
chown -h 0:0 c
chmod 600 c
setfattr -h -n user.b -v 0x74776f c
mknod d c 0 0
chown -h 0:0 d
chmod 0 d
printf '%b' '' > .wh.a
chown -h 0:0 .wh.a
chmod 444 .wh.a
setfattr -h -n user.a -v 0x31 .wh.a
cd /
cd "$T/l1"
cd /
cd "$T/u"
mkdir c
chown -h 0:0 c
chmod 755 c
setfattr -h -n user.b -v 0x74776f c
mkdir c/y
chown -h 1000:1000 c/y
chmod 777 c/y
setfattr -h -n trusted.overlay.opaque -v 0x79 c/y
mkdir c/y/y
chown -h 0:0 c/y/y
chmod 755 c/y/y
cd /
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Truncate(path=b'"'"'/.wh.a'"'"', length=100)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && truncate -s 100 "$M"/.wh.a) || echo "failed: $?"
echo '--- step 2: Rename(old=b'"'"'/c/y/y'"'"', new=b'"'"'/.wh.a'"'"', flags=2)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),2); print("ok" if r==0 else ctypes.get_errno())' "$M"/c/y/y "$M"/.wh.a) || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
