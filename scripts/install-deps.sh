#!/bin/bash
# Install what building Vireo and running its test VM needs (Debian 12).
#
# Idempotent and quick: one dpkg-query call and a few file tests decide
# whether anything is missing; apt-get runs (update, then install) only then.
# Needs root only when something has to be installed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

# One package per line: why it is here.
packages=(
	build-essential     # gcc, make, libc headers
	kmod                # modprobe/insmod/depmod, also used inside the test VM
	xz-utils            # .ko.xz modules, linux-source tarball
	linux-image-amd64   # the kernel the test VM boots (matching headers below)
	linux-headers-amd64 # the tree the module is built against
	linux-source-6.1    # kselftest_harness.h for the test suite
	qemu-system-x86     # the nested test VM (TCG with SVM + NPT), and KVM peer
	busybox-static      # the test VM's initramfs
	cpio                # packs the initramfs
	libnl-genl-3-dev    # daemon: generic netlink management plane
	libjansson-dev      # daemon: JSON management socket
	libzstd-dev         # daemon: stream compression
	liblz4-dev          # daemon: stream compression
	libxxhash-dev       # daemon: stream checksums and page hashing
	pkg-config          # daemon/tests find the libraries above
	iproute2            # `ip` inside the test VM (loopback, netns, TAP)
	python3             # helper scripts of the test suite
	bochs               # the VMX test VM (make check-vmx): Bochs emulates VMX+EPT
	bochsbios           # Bochs' BIOS
	vgabios             # the VGA ROM Bochs loads (else a dangling link)
	isolinux            # boots the Bochs VM's CD image
	syslinux-common     # ldlinux.c32, which isolinux.bin loads
	xorriso             # makes that CD image
)

log() { printf 'deps: %s\n' "$*"; }

missing_packages() {
	# Prints the names from "$@" that are not fully installed.
	local installed
	installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null |
		awk '$2 == "ii" { print $1 }') || true
	local p
	for p in "$@"; do
		grep -qxF "$p" <<<"$installed" || printf '%s\n' "$p"
	done
}

# True when the chosen kernel version has both headers and a bootable image.
kernel_pair_ok() {
	local kv
	kv=$("$here/kver.sh") || return 1
	[ -f "/boot/vmlinuz-$kv" ] && [ -d "/lib/modules/$kv/kernel" ]
}

files_ok() {
	[ -f /usr/src/linux-source-6.1.tar.xz ] &&
		[ -x /bin/busybox ] &&
		kernel_pair_ok
}

newest_image_version() {
	local f v=
	for f in /boot/vmlinuz-*; do
		[ -f "$f" ] && v="$v${f#/boot/vmlinuz-}"$'\n'
	done
	printf '%s' "$v" | sort -V | tail -n 1
}

apt_updated=0
apt_install() {
	if [ "$(id -u)" -ne 0 ]; then
		log "missing: $*"
		log "run 'make deps' (or this script) as root to install them"
		exit 1
	fi
	if [ "$apt_updated" -eq 0 ]; then
		log "apt-get update"
		apt-get update -q
		apt_updated=1
	fi
	log "installing: $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

mapfile -t missing < <(missing_packages "${packages[@]}")

if [ "${#missing[@]}" -eq 0 ] && files_ok; then
	log "all present (kernel $("$here/kver.sh"))"
	exit 0
fi

if [ "${#missing[@]}" -gt 0 ]; then
	# linux-image-amd64 and linux-headers-amd64 are installed in one
	# transaction, so apt takes both from the same archive snapshot and their
	# ABI versions match.
	apt_install "${missing[@]}"
fi

# The metapackages may still disagree with what is on disk (an image from an
# older point release, headers from a newer one). Add the missing half of the
# newest pair: headers for the newest image first (the image is what already
# boots), else the image for the newest headers.
if ! kernel_pair_ok; then
	img=$(newest_image_version)
	hdr=$("$here/kver.sh" || true)
	if [ -n "$img" ] && [ ! -f "/lib/modules/$img/build/Makefile" ]; then
		apt_install "linux-headers-$img" || true
	fi
	if ! kernel_pair_ok && [ -n "$hdr" ]; then
		apt_install "linux-image-$hdr"
	fi
fi

if ! files_ok; then
	kernel_pair_ok || log "no kernel version has both /lib/modules/V/build and /boot/vmlinuz-V"
	[ -f /usr/src/linux-source-6.1.tar.xz ] || log "missing /usr/src/linux-source-6.1.tar.xz"
	[ -x /bin/busybox ] || log "missing /bin/busybox"
	exit 1
fi
log "ready (kernel $("$here/kver.sh"))"
