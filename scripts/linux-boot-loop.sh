#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots the test Linux guest again and again, to catch intermittent crashes
# (docs/testing.md, "Known problems").  Runs inside the test VM as root from
# the repository root (`make vm-shell`, then this script).
#
#   linux-boot-loop.sh [-n N] [-c VCPUS] [-x "CMDLINE EXTRA"] [-o DIR]
#
# Each boot is `vireod --run` of Debian's kernel with the busybox initramfs
# (scripts/mk-guest-initramfs.sh), 256 MiB and vireo.poweroff=1, as in
# `make bench`; it passes when /init printed its marker and vireod exited 0.
# A failed boot keeps its console and vireod log in DIR (default
# /tmp/linux-boot-loop) and prints the module's crash report from dmesg, the
# console from its first oops (90 lines) and its end and, for a boot that
# hangs, the module's view of the VM (`vireoctl vms`: exit counts per
# reason) before and after three samples of every vCPU's registers, LAPIC
# and last world switches (vireod's SIGUSR2), then vireod's time-out ends
# it.  With -x nokaslr the RIPs are named after the kernel's symbols.
# Exit status: 0 if every boot passed, 1 otherwise, 2 on a usage error.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
n=20 vcpus=1 extra= out=/tmp/linux-boot-loop
while getopts "n:c:x:o:h" opt; do
	case $opt in
	n) n=$OPTARG ;;
	c) vcpus=$OPTARG ;;
	x) extra=$OPTARG ;;
	o) out=$OPTARG ;;
	*) sed -n '4,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
	esac
done
[[ "$n" =~ ^[1-9][0-9]*$ && "$vcpus" =~ ^[1-9][0-9]*$ ]] ||
	{ echo "linux-boot-loop: -n and -c want positive numbers" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "linux-boot-loop: needs root" >&2; exit 2; }

mkdir -p "$out" || exit 2
lsmod | grep -q '^vireo ' || insmod kmod/vireo.ko || exit 1
scripts/mk-guest-initramfs.sh "$out/initrd.cpio.gz" >"$out/mk.log" 2>&1 ||
	{ echo "linux-boot-loop: initramfs build failed, see $out/mk.log" >&2; exit 1; }
# VIREO_GET_TSC_KHZ: the guest cannot calibrate its TSC under nested TCG.
khz=$(python3 -c 'import fcntl,os; fd=os.open("/dev/vireo",os.O_RDWR); print(fcntl.ioctl(fd,0xb703))') || exit 1
cat >"$out/linux.json" <<JSON
{ "name": "boot-loop", "memory_mib": 256, "vcpus": $vcpus,
  "kernel": "/boot/vmlinuz-$(uname -r)", "initrd": "$out/initrd.cpio.gz",
  "cmdline": "console=ttyS0 acpi=off io_delay=none no_timer_check vireo.poweroff=1 tsc_early_khz=$khz${extra:+ $extra}" }
JSON

# Names each "rip" in vireod's register lines after the kernel symbol at or
# below it.  Only with nokaslr: the guest runs the test VM's own kernel, so
# /proc/kallsyms applies once the test VM's own KASLR slide is taken off
# (a nokaslr guest's _text is at 0xffffffff81000000).  Kernel text lies in
# one 4 GiB region, so the low 32 bits suffice (awk numbers are doubles).
symbolize() {
	if [[ " $extra " != *" nokaslr "* || ! -r /proc/kallsyms ]]; then
		cat
		return
	fi
	awk '
		function hex32(s,  i, v) {
			v = 0; s = tolower(substr(s, length(s) - 7))
			for (i = 1; i <= 8; i++)
				v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return v
		}
		BEGIN {
			while ((getline line < "/proc/kallsyms") > 0) {
				split(line, f, " ")
				if (f[3] == "_text") slide = hex32(f[1]) - hex32("81000000")
				if (f[2] ~ /^[tT]$/) { n++; addr[n] = hex32(f[1]); name[n] = f[3] }
			}
		}
		function sym(h,  a, k, best) {
			a = hex32(h) + slide; best = 0
			for (k = 1; k <= n; k++)
				if (addr[k] <= a && (!best || addr[k] > addr[best])) best = k
			return best ? sprintf("<%s+0x%x>", name[best], a - addr[best]) : ""
		}
		/ stack:/ {
			out = $0; sub(/ stack:.*/, " stack:", out)
			for (i = 1; i <= NF; i++)
				if ($i ~ /^ffffffff[0-9a-f]+$/ && length($i) == 16) out = out "\n    " $i " " sym($i)
			print out
			next
		}
		{
			# Every "rip HEX" on the line, named in order at its end.
			out = $0; rest = $0; names = ""
			while (match(rest, /rip [0-9a-f]+/)) {
				names = names "  " sym(substr(rest, RSTART + 4, RLENGTH - 4))
				rest = substr(rest, RSTART + RLENGTH)
			}
			print out names
		}'
}

failed=0
for i in $(seq 1 "$n"); do
	dmesg -C
	start=$(date +%s.%N)
	timeout 150 daemon/vireod --run "$out/linux.json" --timeout 120 \
		>"$out/console.$i" 2>"$out/vireod.$i" </dev/null &
	pid=$!
	# A boot takes about 10 s; one still running at 100 s hangs.
	for _ in $(seq 200); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.5
	done
	if kill -0 $pid 2>/dev/null; then
		echo "boot $i: still running after 100 s; the module's view, 5 s apart:"
		daemon/vireoctl vms 2>&1 | head -n 30
		# SIGUSR2: vireod logs every vCPU's registers (3 samples).
		for _ in 1 2 3; do
			pkill -USR2 -x -P $pid vireod
			sleep 1.5
		done
		daemon/vireoctl vms 2>&1 | head -n 30
	fi
	wait $pid
	rc=$?
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	marker=$(grep -ac VIREO-GUEST-INIT-OK "$out/console.$i")
	# What the module said about this boot (emulator faults it worked around).
	dmesg | grep -a 'vireo: vm' | grep -av 'not emulated: #GP\|XCR0 changed' | head -n 5 |
		sed "s/^/boot $i: module: /"
	if [ "$rc" = 0 ] && [ "$marker" = 1 ]; then
		echo "boot $i: ok (${secs} s)"
		rm -f "$out/console.$i" "$out/vireod.$i"
		continue
	fi
	failed=$((failed + 1))
	echo "boot $i: FAILED (vireod status $rc, marker $marker, ${secs} s); logs in $out/*.$i"
	tail -n 5 "$out/vireod.$i"
	echo "--- where the vCPUs were:"
	grep -a 'vCPU [0-9]*: \(rip\|stack\|lapic\|switch\|last\)' "$out/vireod.$i" | symbolize
	# The test VM's file systems are gone when it powers off: what the
	# console says goes to stdout.  First the earliest oops, then the end.
	first=$(grep -an -m1 -E 'BUG:|Oops:|general protection fault|traps: |double fault|\[ cut here \]|Kernel panic|stack guard page|kernel stack overflow' \
		"$out/console.$i" | cut -d: -f1)
	if [ -n "$first" ]; then
		echo "--- console from the first oops (line $first):"
		tail -n "+$((first > 5 ? first - 5 : 1))" "$out/console.$i" | head -n 90
	fi
	echo "--- last console lines:"
	tail -n 25 "$out/console.$i"
	dmesg | grep -a -A16 'shutdown\|host state' | head -n 40
done
echo "linux-boot-loop: $failed of $n boots failed (${vcpus} vCPU, extra '${extra}')"
[ "$failed" = 0 ]
