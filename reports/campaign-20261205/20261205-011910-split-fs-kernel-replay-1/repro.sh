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
cd /
cd "$T/l1"
printf '%b' '' > b
chown -h 0:0 b
chmod 644 b
printf '%b' '' > c
chown -h 0:0 c
chmod 644 c
printf '%b' '' > d
chown -h 0:0 d
chmod 644 d
printf '%b' '' > .wh.a
chown -h 0:0 .wh.a
chmod 644 .wh.a
cd /
cd "$T/u"
mkdir c
chown -h 0:0 c
chmod 755 c
printf '%b' '' > c/x
chown -h 0:0 c/x
chmod 644 c/x
mkdir c/y
chown -h 0:0 c/y
chmod 755 c/y
printf '%b' '' > c/y/x
chown -h 0:0 c/y/x
chmod 644 c/y/x
mkdir c/y/y
chown -h 0:0 c/y/y
chmod 755 c/y/y
printf '%b' '' > c/z
chown -h 0:0 c/z
chmod 644 c/z
printf '%b' '' > $'\xff\xfe'
chown -h 0:0 $'\xff\xfe'
chmod 644 $'\xff\xfe'
cd /
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Truncate(path=b'"'"'/.wh.a'"'"', length=3)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && truncate -s 3 "$M"/.wh.a) || echo "failed: $?"
echo '--- step 2: Rename(old=b'"'"'/.wh.a'"'"', new=b'"'"'/c/y/y'"'"', flags=2)  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
(cd "$M" && python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); r=l.syscall(316,-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),2); print("ok" if r==0 else ctypes.get_errno())' "$M"/.wh.a "$M"/c/y/y) || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
