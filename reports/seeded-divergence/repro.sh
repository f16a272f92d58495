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
mkdir "$T/l1"/b
chown -h 0:0 "$T/l1"/b
chmod 755 "$T/l1"/b
mkdir "$T/l1"/b/z
chown -h 0:0 "$T/l1"/b/z
chmod 755 "$T/l1"/b/z
printf '%b' '' > "$T/l1"/b/z/y
chown -h 0:0 "$T/l1"/b/z/y
chmod 644 "$T/l1"/b/z/y
mkdir "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 755 "$T/l1"/c
mkdir "$T/l1"/c/y
chown -h 0:0 "$T/l1"/c/y
chmod 755 "$T/l1"/c/y
printf '%b' '' > "$T/l1"/c/y/x
chown -h 0:0 "$T/l1"/c/y/x
chmod 644 "$T/l1"/c/y/x
printf '%b' '' > "$T/l1"/c/y/y
chown -h 0:0 "$T/l1"/c/y/y
chmod 644 "$T/l1"/c/y/y
mkdir "$T/l1"/c/z
chown -h 0:0 "$T/l1"/c/z
chmod 755 "$T/l1"/c/z
printf '%b' '' > "$T/l1"/c/z/y
chown -h 0:0 "$T/l1"/c/z/y
chmod 644 "$T/l1"/c/z/y
mkdir "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 755 "$T/l1"/d
mkdir "$T/u"/b
chown -h 0:0 "$T/u"/b
chmod 755 "$T/u"/b
mkdir "$T/u"/b/x
chown -h 0:0 "$T/u"/b/x
chmod 755 "$T/u"/b/x
printf '%b' '' > "$T/u"/b/x/x
chown -h 0:0 "$T/u"/b/x/x
chmod 644 "$T/u"/b/x/x
printf '%b' '' > "$T/u"/b/x/y
chown -h 0:0 "$T/u"/b/x/y
chmod 644 "$T/u"/b/x/y
mkdir "$T/u"/b/y
chown -h 0:0 "$T/u"/b/y
chmod 755 "$T/u"/b/y
printf '%b' '' > "$T/u"/b/y/x
chown -h 0:0 "$T/u"/b/y/x
chmod 644 "$T/u"/b/y/x
printf '%b' '' > "$T/u"/b/y/y
chown -h 0:0 "$T/u"/b/y/y
chmod 644 "$T/u"/b/y/y
printf '%b' '' > "$T/u"/$'\xff\xfe'
chown -h 0:0 "$T/u"/$'\xff\xfe'
chmod 644 "$T/u"/$'\xff\xfe'
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Rmdir(path=b'"'"'/d'"'"')  (model: ok; recorded: {'"'"'kernel'"'"': '"'"'ok'"'"'})'
rmdir "$M"/d || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
