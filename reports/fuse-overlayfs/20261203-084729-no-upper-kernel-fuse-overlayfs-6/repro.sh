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
mkdir "$T/l1"/a
chown -h 0:0 "$T/l1"/a
chmod 755 "$T/l1"/a
mkdir "$T/l1"/a/z
chown -h 0:0 "$T/l1"/a/z
chmod 755 "$T/l1"/a/z
printf '%b' '' > "$T/l1"/a/z/x
chown -h 0:0 "$T/l1"/a/z/x
chmod 644 "$T/l1"/a/z/x
printf '%b' '' > "$T/l1"/a/z/y
chown -h 0:0 "$T/l1"/a/z/y
chmod 644 "$T/l1"/a/z/y
mkdir "$T/l1"/c
chown -h 0:0 "$T/l1"/c
chmod 755 "$T/l1"/c
mkdir "$T/l1"/c/x
chown -h 0:0 "$T/l1"/c/x
chmod 755 "$T/l1"/c/x
printf '%b' '' > "$T/l1"/c/x/y
chown -h 0:0 "$T/l1"/c/x/y
chmod 644 "$T/l1"/c/x/y
printf '%b' '' > "$T/l1"/c/y
chown -h 0:0 "$T/l1"/c/y
chmod 644 "$T/l1"/c/y
mkdir "$T/l1"/c/z
chown -h 0:0 "$T/l1"/c/z
chmod 755 "$T/l1"/c/z
printf '%b' '' > "$T/l1"/c/z/x
chown -h 0:0 "$T/l1"/c/z/x
chmod 644 "$T/l1"/c/z/x
printf '%b' '' > "$T/l1"/d
chown -h 0:0 "$T/l1"/d
chmod 644 "$T/l1"/d
OPTS="lowerdir=$T/l0:$T/l1,ro"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Getxattr(path=b'"'"'/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm'"'"', name=b'"'"'user.a'"'"')  (model: ENAMETOOLONG; recorded: {'"'"'kernel'"'"': '"'"'ENAMETOOLONG'"'"', '"'"'fuse-overlayfs'"'"': '"'"'ENOENT'"'"'})'
getfattr -n user.a --absolute-names "$M"/mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
