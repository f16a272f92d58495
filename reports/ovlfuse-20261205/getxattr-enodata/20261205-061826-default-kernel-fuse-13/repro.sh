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
cd /
cd "$T/u"
cd /
OPTS="lowerdir=$T/l0:$T/l1,upperdir=$T/u,workdir=$T/w"
mount -t overlay overlay -o "$OPTS" "$M"

echo '--- step 1: Getxattr(path=b'"'"'/'"'"', name=b'"'"'system.x'"'"', uid=1000, gid=1000)  (model: ENOTSUP; recorded: {'"'"'kernel'"'"': '"'"'ENOTSUP'"'"', '"'"'fuse'"'"': '"'"'ENODATA'"'"'})'
(cd "$M" && setpriv --reuid=1000 --regid=1000 --clear-groups getfattr -n system.x --absolute-names "$M"/) || echo "failed: $?"

echo '--- upper layer'
find "$T/u" -printf "%y %m %U:%G %s %p\n" 2>/dev/null | sort
getfattr -R -d -m - -e hex --absolute-names "$T/u" 2>/dev/null
