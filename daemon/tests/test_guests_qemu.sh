#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs the demo guests on QEMU's x86 model (TCG), with tests/qemu_stub.S
# recreating vireod's initial vCPU state, because the Vireo module cannot
# run on a host without SVM.  Checks the guests themselves and, for the
# long-mode one, the GDT and page tables vireod writes (dumped by
# tests/boot_dump): if they were wrong, the guest would triple-fault.
# TAP 13; skips when qemu-system-x86_64 is missing.
set -u
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

echo "TAP version 13"
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "1..0 # SKIP qemu-system-x86_64 not installed"
	exit 0
fi

# run_qemu SERIAL_OUT EXTRA_ARGS...: at most 20 s; the guests end in HLT
# with interrupts off, so QEMU is stopped once the expected text is there.
run_qemu() {
	out=$1
	shift
	: >"$out"
	qemu-system-x86_64 -accel tcg -cpu max -m 16 -display none -monitor none \
		-no-reboot -bios .build/tests/qemu_stub.bin \
		-serial "file:$out" "$@" 2>"$out.err" &
	pid=$!
	i=0
	while [ $i -lt 200 ] && ! grep -q 'CPU vendor\|Hypervisor' "$out" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 0.3
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

check() {
	n=$((n + 1))
	if grep -q "$2" "$1"; then
		echo "ok $n - $3"
	else
		echo "not ok $n - $3"
		sed 's/^/# /' "$1"
		failed=$((failed + 1))
	fi
}

printf 'R' >"$tmp/mode"
run_qemu "$tmp/real.txt" \
	-device loader,file="$tmp/mode",addr=0x500,force-raw=on \
	-device loader,file=guests/hello.bin,addr=0x10000,force-raw=on
check "$tmp/real.txt" "^Hello from a Vireo guest!" "hello.bin greets over COM1 in real mode"
check "$tmp/real.txt" "^Hypervisor: .*, max leaf 0x4000000" "hello.bin prints the hypervisor CPUID leaf"
check "$tmp/real.txt" "^CPU vendor: [A-Za-z]" "hello.bin prints the CPU vendor"

cat >"$tmp/long.json" <<JSON
{"name": "hello64", "memory_mib": 16, "image": "guests/hello64.bin", "entry": "long"}
JSON
n=$((n + 1))
if ./tests/boot_dump "$tmp/long.json" "$tmp/bootarea.bin"; then
	echo "ok $n - boot_dump wrote the long-mode boot area"
else
	echo "not ok $n - boot_dump failed"
	failed=$((failed + 1))
fi
printf 'L' >"$tmp/mode"
run_qemu "$tmp/long.txt" \
	-device loader,file="$tmp/mode",addr=0x500,force-raw=on \
	-device loader,file="$tmp/bootarea.bin",addr=0x1000,force-raw=on \
	-device loader,file=guests/hello64.bin,addr=0x100000,force-raw=on
check "$tmp/long.txt" "^Hello from 64-bit long mode on vCPU 0!" \
	"hello64.bin runs in 64-bit mode on vireod's GDT and page tables"
check "$tmp/long.txt" "^Hypervisor: " "hello64.bin reads the hypervisor leaf"

echo "1..$n"
[ $failed -eq 0 ]
