#!/bin/sh
# Print the kernel version the project builds against and boots in the test VM.
#
# `uname -r` is not used: the machines run a kernel that has no headers. We
# take the newest version (sort -V) that has both a build tree
# (/lib/modules/V/build/Makefile) and a bootable image (/boot/vmlinuz-V),
# because the test VM boots exactly the kernel the module was built for. If no
# version has both, fall back to the newest one that has a build tree (enough
# to compile; vm-run.sh then reports the missing image). Prints nothing and
# exits 1 when there is no build tree at all.
set -u

with_build=
with_both=
for dir in /lib/modules/*/; do
	ver=${dir%/}
	ver=${ver##*/}
	[ -f "/lib/modules/$ver/build/Makefile" ] || continue
	with_build="$with_build$ver
"
	[ -f "/boot/vmlinuz-$ver" ] && with_both="$with_both$ver
"
done

newest() { printf '%s' "$1" | sort -V | tail -n 1; }

if [ -n "$with_both" ]; then
	newest "$with_both"
elif [ -n "$with_build" ]; then
	newest "$with_build"
else
	exit 1
fi
