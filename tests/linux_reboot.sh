#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A Linux guest reboots: the guest's reset request (with acpi=off, Linux's
# `reboot -f` pulses the i8042 reset line, command 0xFE on port 0x64) makes
# vireod rebuild the VM from its config -- fresh RAM, the kernel and the
# initramfs loaded again, new devices -- and boot it again, keeping the
# console.  As in linux_console.sh, the test VM's Debian kernel and the
# busybox initramfs boot with 1 vCPU to a shell on ttyS0.  Checks:
#   - `vireod --run --console-stdin`: the init marker is seen, a typed
#     `reboot -f` brings the marker a second time (the guest is back in its
#     /init), vireod logs the reboot, a command typed after the reboot runs
#     (the new UART takes input), and a typed `poweroff -f` ends vireod with
#     status 0;
# (vm-list's "reboots" count and the socket path are covered on the fake
# device by daemon/tests/test_lifecycle.sh: two boots here already take
# most of the runner's 120 s.)
# Run as root from the repository root.

cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh
. tests/lib/linux_guest.sh

KO=kmod/vireo.ko
VIREOD=daemon/vireod
KERNEL=/boot/vmlinuz-$(uname -r)
TIMEOUT=400		# vireod --timeout: the whole run, two boots
BOOT_WAIT=180		# seconds to an init marker
CMD_WAIT=30		# seconds for a typed command's output
MEM_MIB=256
MARKER='^VIREO-GUEST-INIT-OK '

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
[ -x "$VIREOD" ] || tap_skip_all "$VIREOD not built"
[ -r "$KERNEL" ] || tap_skip_all "no $KERNEL to boot"
grep -qwE 'svm|vmx' /proc/cpuinfo || tap_skip_all "no SVM/VMX on this CPU"

t0=$(date +%s)
work=$(mktemp -d)
loaded_here=0
vireod_pid=
daemon_pid=
cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	exec 3>&- 2>/dev/null
	if [ -n "$vireod_pid" ] && kill -0 "$vireod_pid" 2>/dev/null; then
		kill -TERM "$vireod_pid" 2>/dev/null
		wait "$vireod_pid" 2>/dev/null
	fi
	[ $loaded_here = 1 ] && wait_for 5 rmmod vireo 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

if ! vireo_loaded; then
	[ -f "$KO" ] || tap_skip_all "vireo not loaded and $KO not built"
	insmod "$KO" || { echo "Bail out! insmod $KO failed"; exit 1; }
	loaded_here=1
fi
vireo_wait_dev || { echo "Bail out! vireo is loaded but /dev/vireo is missing"; exit 1; }

linux_guest_prepare "$work" linux-reboot 1

# The console with CRs removed (the guest's tty writes CRLF).
console() { tr -d '\r' <"$work/out"; }
markers() { console | grep -acE -- "$MARKER"; }
# wait_count SECONDS ERE N: until N console lines match ERE.  Fails on
# time-out or when vireod has exited.
wait_count() {
	local deadline=$(($(date +%s) + $1))

	while :; do
		[ "$(console | grep -acE -- "$2")" -ge "$3" ] && return 0
		kill -0 "$vireod_pid" 2>/dev/null || return 1
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}
progress() { tap_diag "$(($(date +%s) - t0)) s: $*"; }
# type_line TEXT: types TEXT and Enter on the guest console.
type_line() { printf '%s\n' "$1" >&3; }
console_tail() {
	tap_diag "last lines of the guest console:"
	console | tail -n 30 | tap_diag_file
}

tap_plan 5
kmsg_mark linux_reboot
progress "initramfs built"
mkfifo "$work/in"
# Read-write, so that opening never blocks and vireod never sees EOF early.
exec 3<>"$work/in"
start_vireod() {
	timeout -k 5 $((TIMEOUT + 30)) "$VIREOD" --run "$work/linux.json" --timeout $TIMEOUT \
		--console-stdin <"$work/in" >"$work/out" 2>"$work/err" &
	vireod_pid=$!
}
start_vireod

# 1. Boot to the shell.
# (The status is taken first: a $(...) in tap_result's arguments resets $?.)
wait_count $BOOT_WAIT "$MARKER" 1
st=$?
# KNOWN BUG, not understood yet (docs/testing.md, "Known problems"): now
# and then this first boot ends in a guest triple fault -- an interrupt
# finds the IDT's page (cpu_entry_area) not present.  It is reported here
# in full, then the boot is tried once more, so that the reboot path this
# test is about stays covered; a second crash fails the test.
if [ $st != 0 ] && grep -q 'SHUTDOWN exit' "$work/err"; then
	tap_diag "KNOWN BUG: the first boot ended in a guest triple fault; vireod said:"
	grep -a 'error:' "$work/err" | tap_diag_file
	tap_diag "kernel log:"
	kmsg_since | grep -i vireo | tail -n 5 | tap_diag_file
	wait "$vireod_pid" 2>/dev/null
	tap_diag "retrying the boot once"
	start_vireod
	wait_count $BOOT_WAIT "$MARKER" 1
	st=$?
fi
tap_result "the guest reaches its /init shell (marker: $(console | grep -a -m1 -o 'VIREO-GUEST-INIT-OK.*'))" $st
progress "first init marker"
[ $st = 0 ] || console_tail
# The shell prints its prompt once it has started; give it a moment.
sleep 1

# 2. reboot -f: the guest comes back to its /init.
type_line 'reboot -f'
wait_count $BOOT_WAIT "$MARKER" 2
st=$?
tap_result "after a typed reboot -f the init marker appears a second time ($(markers) seen)" $st
progress "second init marker"
[ $st = 0 ] || console_tail
grep -q 'vm linux-reboot: rebooted (reboot 1' "$work/err"
tap_result "vireod logs the reboot and keeps running" $?
sleep 1

# 3. The rebooted guest takes console input.
type_line 'echo after-$((3*4))'
wait_count $CMD_WAIT '^after-12$' 1
tap_result "a command typed after the reboot runs (after-12 printed)" $?

# 4. poweroff -f ends the VM cleanly.
type_line 'poweroff -f'
exec 3>&-
rc=none
deadline=$(($(date +%s) + CMD_WAIT))
while [ "$(date +%s)" -lt "$deadline" ]; do
	if ! kill -0 "$vireod_pid" 2>/dev/null; then
		wait "$vireod_pid"
		rc=$?
		vireod_pid=
		break
	fi
	sleep 0.1
done
[ "$rc" = 0 ]
tap_result "poweroff -f after the reboot: vireod exits with status 0 (status $rc)" $?

if [ $TAP_FAILED = 1 ]; then
	console_tail
	tap_diag "vireod log:"
	tail -n 20 "$work/err" | tap_diag_file
	tap_diag "kernel log since the boot started:"
	kmsg_since | grep -i vireo | tail -n 30 | tap_diag_file
fi
tap_done
