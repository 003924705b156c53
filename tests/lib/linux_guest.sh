# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# The Linux guest the whole-system tests boot on Vireo (sourced after
# tap.sh): the test VM's own Debian kernel and a busybox initramfs from
# scripts/mk-guest-initramfs.sh, run by vireod.  A test sets what differs
# from the defaults below, calls linux_guest_setup, then
# linux_guest_prepare, and uses the console helpers.

KO=kmod/vireo.ko
VIREOD=daemon/vireod
VIREOCTL=daemon/vireoctl
KERNEL=/boot/vmlinuz-$(uname -r)
MEM_MIB=256
BOOT_WAIT=180		# seconds to an init marker
CMD_WAIT=30		# seconds for a typed command's output
LINUX_MARKER='^VIREO-GUEST-INIT-OK '

# Set by linux_guest_setup / the helpers below; the cleanup ends whatever
# of them is still there.
work=
loaded_here=0
vireod_pid=
daemon_pid=

linux_guest_cleanup() {
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
	[ -n "$work" ] && rm -rf "$work"
}

# linux_guest_setup: skips the test when it cannot run here, makes the
# work directory $work, loads vireo.ko unless it is loaded (and unloads it
# at exit), and waits for /dev/vireo.  Run from the repository root.
linux_guest_setup() {
	[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
	[ -x "$VIREOD" ] || tap_skip_all "$VIREOD not built"
	[ -r "$KERNEL" ] || tap_skip_all "no $KERNEL to boot"
	grep -qwE 'svm|vmx' /proc/cpuinfo || tap_skip_all "no SVM/VMX on this CPU"

	work=$(mktemp -d)
	trap linux_guest_cleanup EXIT
	vireo_load_for_test "$KO"
}

# linux_guest_prepare NAME VCPUS [CMDLINE-EXTRA]: builds $work/initrd.cpio.gz
# and writes the VM config $work/linux.json.  Bails out of the test on failure.
linux_guest_prepare() {
	local name=$1 vcpus=$2 extra=${3:-} khz

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

# linux_guest_start_console TIMEOUT: starts `vireod --run --console-stdin`
# on $work/linux.json in the background ($vireod_pid), its console in
# $work/out and its log in $work/err.  Lines typed with type_line reach
# the guest's COM1.  The FIFO is opened read-write on fd 3, so that opening
# never blocks and vireod sees no EOF before the test closes fd 3.
linux_guest_start_console() {
	[ -p "$work/in" ] || mkfifo "$work/in"
	exec 3<>"$work/in"
	timeout -k 5 $(($1 + 30)) "$VIREOD" --run "$work/linux.json" --timeout "$1" \
		--console-stdin <"$work/in" >"$work/out" 2>"$work/err" &
	vireod_pid=$!
}

# The console with CRs removed (the guest's tty writes CRLF).
console() { tr -d '\r' <"$work/out"; }
# type_line TEXT: types TEXT and Enter on the guest console.
type_line() { printf '%s\n' "$1" >&3; }
console_tail() {
	tap_diag "last lines of the guest console:"
	console | tail -n 30 | tap_diag_file
}

vireod_gone() { ! kill -0 "$vireod_pid" 2>/dev/null; }

# wait_count SECONDS ERE N: until N console lines match ERE.  Fails on
# time-out or when vireod has exited.  On success, the Nth line appeared
# between the host times WAIT_AFTER and WAIT_SEEN (the poll before, and
# the poll that saw it): polling is slow on a loaded or emulated host.
wait_count() {
	local deadline=$(($(date +%s) + $1)) now

	WAIT_AFTER=$(date +%s.%N)
	while :; do
		now=$(date +%s.%N)
		if [ "$(console | grep -acE -- "$2")" -ge "$3" ]; then
			WAIT_SEEN=$(date +%s.%N)
			return 0
		fi
		WAIT_AFTER=$now
		vireod_gone && return 1
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# linux_guest_wait_exit SECONDS: waits that long at most for vireod to end
# (after a typed poweroff -f); sets rc to its exit status, or to "none".
linux_guest_wait_exit() {
	rc=none
	wait_for "$1" vireod_gone || return 0
	wait "$vireod_pid"
	rc=$?
	vireod_pid=
}

# linux_guest_report: what a failed test leaves for the reader: the end of
# the console, vireod's log and the module's log lines since kmsg_mark.
linux_guest_report() {
	console_tail
	tap_diag "vireod log:"
	tail -n 20 "$work/err" | tap_diag_file
	tap_diag "kernel log since the boot started:"
	kmsg_since | grep -i vireo | tail -n 30 | tap_diag_file
}

# linux_guest_crashed LOG: true when vireod's log LOG shows the guest ended
# in a triple fault, or the module stopped it because an exit left no guest
# state, after reporting it in full as a KNOWN BUG diagnostic.
# The Linux-guest tests boot once more when the first boot ends this way:
# a rare guest crash not understood yet (docs/testing.md, "Known problems")
# should not hide what the test is about; a second crash fails the test.
linux_guest_crashed() {
	grep -q 'SHUTDOWN exit\|guest state lost' "$1" || return 1
	tap_diag "KNOWN BUG: the guest ended in a triple fault or lost its state; vireod said:"
	grep -a 'error:' "$1" | tap_diag_file
	tap_diag "kernel log:"
	kmsg_since | grep -i vireo | tail -n 12 | tap_diag_file
	tap_diag "retrying the boot once"
}

# linux_guest_boot_to_shell TIMEOUT: starts the console guest
# (linux_guest_start_console TIMEOUT), waits for its init marker -- once
# more after a known crash (linux_guest_crashed) -- and reports the result
# as one TAP check.  Returns that check's status.
linux_guest_boot_to_shell() {
	local st

	linux_guest_start_console "$1"
	wait_count $BOOT_WAIT "$LINUX_MARKER" 1
	st=$?
	if [ $st != 0 ] && linux_guest_crashed "$work/err"; then
		wait "$vireod_pid" 2>/dev/null
		linux_guest_start_console "$1"
		wait_count $BOOT_WAIT "$LINUX_MARKER" 1
		st=$?
	fi
	tap_result "the guest reaches its /init shell (marker: $(console | grep -a -m1 -o 'VIREO-GUEST-INIT-OK.*'))" $st
	[ $st = 0 ] || console_tail
	return $st
}
