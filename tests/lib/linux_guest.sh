# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# The Linux guest the whole-system tests boot on Vireo (sourced after
# tap.sh): the test VM's own Debian kernel and a busybox initramfs from
# scripts/mk-guest-initramfs.sh.  Callers set KERNEL and MEM_MIB.

# linux_guest_prepare WORK NAME VCPUS [CMDLINE-EXTRA]: builds WORK/initrd.cpio.gz
# and writes the VM config WORK/linux.json.  Bails out of the test on failure.
linux_guest_prepare() {
	local work=$1 name=$2 vcpus=$3 extra=${4:-} khz

	scripts/mk-guest-initramfs.sh "$work/initrd.cpio.gz" >"$work/mk.log" 2>&1 ||
		{ tap_diag_file "$work/mk.log"; echo "Bail out! guest initramfs build failed"; exit 1; }
	# VIREO_GET_TSC_KHZ: Linux cannot calibrate its TSC against the PIT
	# under nested TCG, so it is told the rate.
	khz=$(python3 -c 'import fcntl,os; fd=os.open("/dev/vireo",os.O_RDWR); print(fcntl.ioctl(fd,0xb703))' 2>/dev/null || echo 0)
	cat >"$work/linux.json" <<JSON
{ "name": "$name", "memory_mib": $MEM_MIB, "vcpus": $vcpus,
  "kernel": "$KERNEL", "initrd": "$work/initrd.cpio.gz",
  "cmdline": "console=ttyS0 acpi=off io_delay=none no_timer_check tsc_early_khz=$khz${extra:+ $extra}" }
JSON
}
