#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Linux guest's console takes input, and its timer keeps time.  The
# test VM's Debian kernel and the busybox initramfs (as in linux_boot.sh)
# boot under `vireod --run --console-stdin` with 1 vCPU and without
# vireo.poweroff=1, so /init ends in a shell on ttyS0.  This script types
# into vireod's stdin (a FIFO): the bytes reach the guest through COM1's
# receive FIFO and IRQ 4.  Checks:
#   - a typed `echo typed-$((6*7))` prints typed-42 (the shell reads input);
#   - `sleep 2` in the guest takes 1.5-6 s of host time (loose: a
#     correctness check, not a benchmark) and 1.8-3 s of guest uptime;
#   - the guest has AVX, SMEP, SMAP, FSGSBASE and UMIP iff the host has;
#   - a typed `poweroff -f` ends the VM and vireod exits with status 0;
#   - the same VM started on a management socket (`vireod --socket`,
#     `vireoctl vm start --config`): `vireoctl console` with commands on its
#     stdin runs them (vm-console-input) and exits 0 when the guest powers off.
# Run as root from the repository root.

cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh
. tests/lib/linux_guest.sh

TIMEOUT=240		# vireod --timeout: the whole run

linux_guest_setup
linux_guest_prepare linux-console 1

tap_plan 10
kmsg_mark linux_console

# 1. Boot to the shell.
linux_guest_boot_to_shell $TIMEOUT
# The shell prints its prompt once it has started; give it a moment.
sleep 1

# 2. A typed command runs.
type_line 'echo typed-$((6*7))'
wait_count $CMD_WAIT '^typed-42$' 1
st=$?
tap_result "a command typed on the console runs (typed-42 printed)" $st
[ $st = 0 ] || console_tail

# 3-4. sleep 2 in the guest, timed on both sides.
type_line 'echo "UP1 $(cat /proc/uptime)"; sleep 2; echo "UP2 $(cat /proc/uptime)"'
# Each line is seen by a poll some time after it appeared, so the host
# time of the sleep is known to lie between two bounds; the check passes
# if that range meets 1.5-6 s.
t1a= t1s= t2a= t2s=
wait_count $CMD_WAIT '^UP1 [0-9]' 1 && t1a=$WAIT_AFTER t1s=$WAIT_SEEN
wait_count $CMD_WAIT '^UP2 [0-9]' 1 && t2a=$WAIT_AFTER t2s=$WAIT_SEEN
up1=$(console | sed -n 's/^UP1 \([0-9.]*\) .*/\1/p' | head -n 1)
up2=$(console | sed -n 's/^UP2 \([0-9.]*\) .*/\1/p' | head -n 1)
host_dt=$(awk -v a="$t1a" -v A="$t1s" -v b="$t2a" -v B="$t2s" 'BEGIN {
	if (a == "" || b == "") print "none"; else printf "%.3f..%.3f", b - A, B - a }')
guest_dt=$(awk -v a="$up1" -v b="$up2" 'BEGIN { if (a == "" || b == "") print "none"; else printf "%.3f", b - a }')
tap_diag "guest sleep 2: host wall time ${host_dt} s, guest uptime difference ${guest_dt} s"
awk -v d="$host_dt" 'BEGIN { split(d, r, /\.\./); exit !(d != "none" && r[2] >= 1.5 && r[1] <= 6) }'
tap_result "guest sleep 2 takes 1.5-6 s of host time (${host_dt} s)" $?
awk -v d="$guest_dt" 'BEGIN { exit !(d != "none" && d >= 1.8 && d <= 3) }'
tap_result "guest uptime advances 1.8-3 s over sleep 2 (${guest_dt} s)" $?

# 5. XSAVE for the guest: with AVX in the test VM's CPU, the guest kernel
#    enables it (CPUID leaf 1/0xD and XSETBV through the module) and finds
#    CPUID's XSAVE sizes consistent with its own (no "XSAVE consistency
#    problem" warning).
want=0
grep -qw avx /proc/cpuinfo && want=1
type_line 'echo "FPU $(grep -c -w avx /proc/cpuinfo) $(dmesg | grep -c "XSAVE consistency")"; dmesg | grep "x86/fpu: Enabled"'
wait_count $CMD_WAIT '^FPU [0-9]+ [0-9]+' 1
fpu=$(console | sed -n 's/^FPU \([0-9]*\) \([0-9]*\).*/\1 \2/p' | head -n 1)
console | grep -a 'x86/fpu: Enabled' | tail -n 1 | tap_diag_file
[ "$fpu" = "$want 0" ]
tap_result "the guest has AVX iff the host has (want $want) and consistent XSAVE sizes (avx, problems: ${fpu:-none})" $?

# 6. The protections the CPUID policy passes through (CR4 bits the guest
#    owns): the guest kernel finds SMEP, SMAP, FSGSBASE and UMIP exactly
#    where the test VM's CPU has them, and boots with them on.
prot_flags() { for f in smep smap fsgsbase umip; do grep -qw $f /proc/cpuinfo && printf 1 || printf 0; done; }
want=$(prot_flags)
type_line 'echo "PROT $(for f in smep smap fsgsbase umip; do grep -qw $f /proc/cpuinfo && printf 1 || printf 0; done)"'
wait_count $CMD_WAIT '^PROT [01]{4}' 1
prot=$(console | sed -n 's/^PROT \([01]\{4\}\).*/\1/p' | head -n 1)
[ "$prot" = "$want" ]
tap_result "the guest has SMEP, SMAP, FSGSBASE, UMIP iff the host has (host $want, guest ${prot:-none})" $?

# 7-8. poweroff -f ends the VM cleanly.
type_line 'poweroff -f'
exec 3>&-
linux_guest_wait_exit $CMD_WAIT
[ "$rc" != none ]
tap_result "vireod exits within ${CMD_WAIT} s of a typed poweroff -f" $?
[ "$rc" = 0 ]
tap_result "the guest powers off and vireod exits with status 0 (status $rc)" $?

# 9-10. vireoctl console against vireod's management socket.
sock=$work/vireod.sock
ctl() { "$VIREOCTL" --socket "$sock" "$@"; }
ctl_marker() { ctl vm console linux-console 2>/dev/null | grep -aq 'VIREO-GUEST-INIT-OK'; }
"$VIREOD" --socket "$sock" >"$work/daemon.out" 2>"$work/daemon.err" &
daemon_pid=$!
ok=1
wait_for 10 test -S "$sock" && ctl vm start --config "$work/linux.json" >"$work/ctl.log" 2>&1 &&
	wait_for $BOOT_WAIT ctl_marker && ok=0
if [ $ok != 0 ] && linux_guest_crashed "$work/daemon.err"; then
	# vm-start replaces a VM of the same name that has ended.
	ctl vm start --config "$work/linux.json" >>"$work/ctl.log" 2>&1 &&
		wait_for $BOOT_WAIT ctl_marker && ok=0
fi
if [ $ok = 0 ]; then
	sleep 1
	printf 'echo ctl-$((5*5))\npoweroff -f\n' |
		timeout -k 5 $((CMD_WAIT + 30)) "$VIREOCTL" --socket "$sock" \
			console linux-console --timeout $((CMD_WAIT + 20)) >"$work/ctl.out" 2>>"$work/ctl.log"
	ctl_rc=$?
	tr -d '\r' <"$work/ctl.out" | grep -aq '^ctl-25$'
	ok=$?
fi
tap_result "vireoctl console runs a command piped to it (ctl-25 printed)" $ok
[ "${ctl_rc:-none}" = 0 ]
tap_result "vireoctl console exits 0 when the guest powers off (status ${ctl_rc:-none})" $?
if [ $ok != 0 ] || [ "${ctl_rc:-none}" != 0 ]; then
	tap_diag "vireoctl output:"
	tail -n 20 "$work/ctl.out" 2>/dev/null | tap_diag_file
	tail -n 10 "$work/ctl.log" | tap_diag_file
	tap_diag "vireod (socket) log:"
	tail -n 20 "$work/daemon.err" | tap_diag_file
fi
ctl quit >/dev/null 2>&1
wait_for 10 sh -c "! kill -0 $daemon_pid 2>/dev/null"
wait "$daemon_pid" 2>/dev/null
daemon_pid=

[ $TAP_FAILED = 1 ] && linux_guest_report
tap_done
