#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Boots the Debian kernel from /boot with 2 vCPUs on QEMU's PC model (TCG)
# from exactly what vireod's Linux loader writes into guest RAM: boot_params
# with the e820 map and command line, the page tables and GDT, the MP table,
# the kernel at its load address and the initramfs (dumped by
# tests/linux_dump), entered at startup_64 by tests/qemu_stub.S in the
# register state vireod gives vCPU 0.  No BIOS runs, so every table the
# kernel reports using is ours.  The initramfs is scripts/mk-guest-initramfs.sh's.
#
# This checks the loader and the firmware tables against a real kernel and
# independent interrupt controllers until Vireo itself can boot Linux.
# TAP 13; skips without QEMU, the kernel or busybox-static.  About 10 s on
# the host.  Skipped inside the test VM (VIREO_VM=1, set by
# scripts/vm-init.sh): QEMU TCG inside the TCG-emulated VM needs minutes for
# this boot, more than the suite's time limit; VIREO_LINUX_QEMU_FORCE=1 runs
# it anyway.  Under slow emulation the boot may not finish within
# VIREO_LINUX_QEMU_BUDGET seconds (default 60): then whatever the kernel did
# not get to print is reported as skipped, not failed, while a panic, QEMU
# dying or a wrong value still fails.
set -u
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
n=0
failed=0
initrd=.build/tests/guest-initramfs.cpio.gz
budget=${VIREO_LINUX_QEMU_BUDGET:-60}
finished=0

echo "TAP version 13"
if [ "${VIREO_VM:-}" = 1 ] && [ "${VIREO_LINUX_QEMU_FORCE:-}" != 1 ]; then
	echo "1..0 # SKIP inside the test VM: QEMU TCG within TCG is too slow for a Linux boot (runs on the host: make -C daemon test)"
	exit 0
fi
kernel=$(ls /boot/vmlinuz-6.1.0-*-amd64 2>/dev/null | sort -V | tail -n 1)
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "1..0 # SKIP qemu-system-x86_64 not installed"
	exit 0
fi
if [ -z "$kernel" ]; then
	echo "1..0 # SKIP no /boot/vmlinuz-6.1.0-*-amd64"
	exit 0
fi
if ! ../scripts/mk-guest-initramfs.sh "$initrd" 2>"$tmp/mk.err"; then
	echo "1..0 # SKIP no guest initramfs: $(cat "$tmp/mk.err")"
	exit 0
fi

# check DESCRIPTION GREP-ARGS...: passes if the console has the line; if
# not, fails when the boot finished (or broke), is skipped when it ran out
# of time.
check() {
	desc=$1
	shift
	n=$((n + 1))
	if grep -q "$@" "$tmp/console.txt"; then
		echo "ok $n - $desc"
	elif [ $finished -eq 0 ]; then
		echo "ok $n - $desc # SKIP not reached within ${budget}s (slow emulation)"
	else
		echo "not ok $n - $desc"
		failed=$((failed + 1))
	fi
}

cmdline="console=ttyS0 vireo.poweroff=1 panic=-1"
cat >"$tmp/vm.json" <<JSON
{"name": "linux", "memory_mib": 128, "vcpus": 2, "kernel": "$kernel",
 "initrd": "$initrd", "cmdline": "$cmdline"}
JSON
n=$((n + 1))
if ./tests/linux_dump "$tmp/vm.json" "$tmp" >"$tmp/regions" 2>"$tmp/dump.err"; then
	echo "ok $n - linux_dump: vireod's loader accepted $kernel"
else
	echo "not ok $n - linux_dump failed: $(cat "$tmp/dump.err")"
	echo "1..$n"
	exit 1
fi
set --
while read -r addr file; do
	set -- "$@" -device "loader,file=$file,addr=$addr,force-raw=on"
done <"$tmp/regions"

: >"$tmp/console.txt"
qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 128 -nodefaults -display none \
	-no-reboot -bios .build/tests/qemu_stub.bin -serial "file:$tmp/console.txt" \
	"$@" 2>"$tmp/qemu.err" &
pid=$!
i=0
while [ $i -lt $((budget * 10)) ]; do
	if grep -q 'System halted\|Kernel panic\|reboot: Restarting\|MP-BIOS bug' "$tmp/console.txt" ||
	   ! kill -0 "$pid" 2>/dev/null; then
		finished=1	# the end, a failure, or QEMU gone: every verdict counts
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=

check "the kernel read our command line through cmd_line_ptr" -F "Command line: $cmdline"
check "e820: RAM below the firmware page" -F "BIOS-e820: [mem 0x0000000000000000-0x000000000009efff] usable"
check "e820: the firmware page reserved" -F "BIOS-e820: [mem 0x000000000009f000-0x000000000009ffff] reserved"
check "e820: RAM from 1 MiB to 128 MiB" -F "BIOS-e820: [mem 0x0000000000100000-0x0000000007ffffff] usable"
check "the kernel found our MP table at 0x9fc00" -F "found SMP MP-table at [mem 0x0009fc00-0x0009fc0f]"
check "MP table: 2 processors" -F "Processors: 2"
check "MP table: the IOAPIC at 0xfec00000 with 24 pins" -E "IOAPIC\[0\]: apic_id 2, version [0-9]+, address 0xfec00000, GSI 0-23"
check "MP table: the PIT found on IOAPIC pin 2" -E "\.\.TIMER: vector=0x[0-9a-f]+ apic1=0 pin1=2"
n=$((n + 1))
desc="the timer interrupt arrives through the IOAPIC as the MP table says"
if grep -q "MP-BIOS bug\|IO-APIC + timer doesn't work" "$tmp/console.txt"; then
	echo "not ok $n - $desc"
	failed=$((failed + 1))
elif [ $finished -eq 0 ] && ! grep -q "smp: Bringing up secondary CPUs" "$tmp/console.txt"; then
	echo "ok $n - $desc # SKIP not reached within ${budget}s (slow emulation)"
else
	echo "ok $n - $desc"
fi
check "the initramfs was found through ramdisk_image/size" -E "RAMDISK: \[mem 0x07[0-9a-f]+-0x07ffffff\]"
check "the second vCPU came up by INIT/SIPI" -F "smp: Brought up 1 node, 2 CPUs"
check "/init ran: 2 CPUs" -E "^VIREO-GUEST-INIT-OK cpus=2 mem_kb=[0-9]+"
n=$((n + 1))
mem_kb=$(sed -n 's/^VIREO-GUEST-INIT-OK cpus=[0-9]* mem_kb=\([0-9]*\).*/\1/p' "$tmp/console.txt")
if [ -n "$mem_kb" ] && [ "$mem_kb" -gt 65536 ] && [ "$mem_kb" -le 131072 ]; then
	echo "ok $n - the guest sees the e820 RAM (MemTotal $mem_kb kB of 128 MiB)"
elif [ -z "$mem_kb" ] && [ $finished -eq 0 ]; then
	echo "ok $n - the guest sees the e820 RAM # SKIP not reached within ${budget}s (slow emulation)"
else
	echo "not ok $n - MemTotal '$mem_kb' kB is not in (64, 128] MiB"
	failed=$((failed + 1))
fi
check "vireo.poweroff=1: init powered off (halt: there is no ACPI)" -F "reboot: System halted"

if [ $failed -ne 0 ]; then
	sed 's/^/# /' "$tmp/console.txt" | tail -n 60
	sed 's/^/# qemu: /' "$tmp/qemu.err"
fi
echo "1..$n"
[ $failed -eq 0 ]
