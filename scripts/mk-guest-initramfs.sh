#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mk-guest-initramfs.sh OUT.cpio.gz [--modules m1,m2,...] [--kver KVER]
#
# Builds the initramfs that Linux guests boot with (docs/boot.md): a static
# busybox with its applet links, kernel modules if asked for, and an /init
# that mounts devtmpfs, proc and sysfs, prints on the console
#
#	VIREO-GUEST-INIT-OK cpus=<online CPUs> mem_kb=<MemTotal>
#
# then loads the modules (one "VIREO-GUEST-MODULE-OK name" or "...-FAIL name"
# line each), and either powers off (`poweroff -f`) when the kernel command
# line holds vireo.poweroff=1, or runs a shell on the console.
#
# --modules  module names as modprobe knows them; each one's dependencies
#            (from modules.dep) are added before it. Compressed modules
#            (.ko.xz, .ko.zst, .ko.gz) are stored decompressed.
# --kver     the kernel version the modules come from (default: scripts/kver.sh)
# BUSYBOX    environment: the static busybox to use (default /bin/busybox,
#            Debian's busybox-static)
#
# Cache-friendly: the output is reproducible (fixed owners and times, gzip
# -n), and OUT is left alone when OUT.key records the same inputs.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-/bin/busybox}
out=
modules=
kver=

usage() {
	echo "usage: $0 OUT.cpio.gz [--modules m1,m2,...] [--kver KVER]" >&2
	exit 2
}
die() {
	echo "mk-guest-initramfs: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--modules) [ $# -ge 2 ] || usage; modules=$2; shift 2 ;;
	--modules=*) modules=${1#*=}; shift ;;
	--kver) [ $# -ge 2 ] || usage; kver=$2; shift 2 ;;
	--kver=*) kver=${1#*=}; shift ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) [ -z "$out" ] || usage; out=$1; shift ;;
	esac
done
[ -n "$out" ] || usage

# Whether an ELF64 file has a PT_INTERP program header (is dynamically
# linked): e_phoff at 32, e_phentsize at 54, e_phnum at 56, p_type first.
elf_dynamic() {
	[ "$(od -An -c -N4 "$1" | tr -d ' ')" = '177ELF' ] || return 2
	phoff=$(od -An -tu8 -j32 -N8 "$1" | tr -d ' ')
	phentsize=$(od -An -tu2 -j54 -N2 "$1" | tr -d ' ')
	phnum=$(od -An -tu2 -j56 -N2 "$1" | tr -d ' ')
	i=0
	while [ "$i" -lt "$phnum" ]; do
		[ "$(od -An -tu4 -j$((phoff + i * phentsize)) -N4 "$1" | tr -d ' ')" = 3 ] && return 0
		i=$((i + 1))
	done
	return 1
}

[ -x "$busybox" ] || die "$busybox not found: install busybox-static"
# The initramfs has no libc: busybox must be static.
if elf_dynamic "$busybox"; then
	die "$busybox is dynamically linked: install busybox-static"
fi
modules=$(printf '%s' "$modules" | tr ',' ' ')
if [ -n "$modules" ]; then
	[ -n "$kver" ] || kver=$("$here/kver.sh") || die "no kernel version found; pass --kver"
	[ -f "/lib/modules/$kver/modules.dep" ] || die "/lib/modules/$kver/modules.dep not found"
fi

# The module files to store, dependencies first, each once.
module_files() {
	dep=/lib/modules/$kver/modules.dep
	for m in $modules; do
		want=$(printf '%s' "$m" | tr '-' '_')
		line=$(awk -v want="$want" -F: '{
			n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n); gsub(/-/, "_", n)
			if (n == want) { print; exit }
		}' "$dep")
		[ -n "$line" ] || die "module $m not found in $dep"
		# modprobe loads the last-listed dependency first.
		deps=$(printf '%s' "${line#*:}" | tr ' ' '\n' | sed '/^$/d' | awk '{ l[NR] = $0 } END { for (i = NR; i > 0; i--) print l[i] }')
		for f in $deps "${line%%:*}"; do
			echo "$f"
		done
	done | awk '!seen[$0]++'
}

files=
[ -z "$modules" ] || files=$(module_files)

# The cache key: this script, busybox, and every module file's identity.
key=$({
	cat "$0"
	ls -lL --time-style=+%s "$busybox"
	echo "kver=$kver modules=$modules"
	for f in $files; do ls -lL --time-style=+%s "/lib/modules/$kver/$f"; done
} | sha256sum | cut -d' ' -f1)
if [ -f "$out" ] && [ -f "$out.key" ] && [ "$(cat "$out.key")" = "$key" ]; then
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" \
	"$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root" "$root/lib/modules"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

: >"$root/etc/vireo-modules"
for f in $files; do
	src=/lib/modules/$kver/$f
	name=$(basename "$f")
	case $name in
	*.ko.xz) xz -dc "$src" >"$root/lib/modules/${name%.xz}" ;;
	*.ko.zst) zstd -qdc "$src" >"$root/lib/modules/${name%.zst}" ;;
	*.ko.gz) gzip -dc "$src" >"$root/lib/modules/${name%.gz}" ;;
	*) cp "$src" "$root/lib/modules/$name" ;;
	esac || die "cannot unpack $src"
	echo "${name%.ko*}.ko" >>"$root/etc/vireo-modules"
done

cat >"$root/init" <<'EOF'
#!/bin/sh
# Vireo guest init, from scripts/mk-guest-initramfs.sh.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo)
echo "VIREO-GUEST-INIT-OK cpus=$(nproc) mem_kb=$mem_kb"
while read -r m; do
	if insmod "/lib/modules/$m"; then
		echo "VIREO-GUEST-MODULE-OK ${m%.ko}"
	else
		echo "VIREO-GUEST-MODULE-FAIL ${m%.ko}"
	fi
done </etc/vireo-modules
case " $(cat /proc/cmdline) " in
*" vireo.poweroff=1 "*)
	echo "VIREO-GUEST-POWEROFF"
	poweroff -f
	;;
esac
hostname vireo-guest
exec setsid cttyhack sh
EOF
chmod 755 "$root/init"

# One newc entry: the /dev/console node the kernel opens for /init, which
# cpio cannot archive without root (mknod); then the trailer.  The kernel
# accepts archives concatenated like this.
newc() { # name mode rdevmajor rdevminor
	namesize=$((${#1} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		0 "$2" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0 "$1"
	pad=$(((4 - (110 + namesize) % 4) % 4))
	[ $pad -eq 0 ] || head -c $pad /dev/zero
}

find "$root" -exec touch -h -d @0 {} +
(
	cd "$root"
	find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet
	newc dev/console $((0020600)) 5 1
	newc 'TRAILER!!!' 0 0 0
) | gzip -n -6 >"$out.tmp.$$"
mv "$out.tmp.$$" "$out"
echo "$key" >"$out.key"
