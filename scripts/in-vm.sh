#!/bin/bash
# Runs inside the Vireo test VM, as root, with the project directory as the
# working directory (the host's root is the VM's root, overlaid by a tmpfs, so
# every write here is thrown away at power-off). Started by the VM's /init
# (scripts/vm-init.sh); its exit status is reported back as VIREO-VM-EXIT.
#
#   in-vm.sh check [TEST]  run tests/run_tests.sh [TEST]; its TAP 13 stream
#                          goes to the second serial port (the host's
#                          build/tap.log) and is echoed on the console
#   in-vm.sh demo          run scripts/demo-in-vm.sh on the console
#   in-vm.sh shell         an interactive shell on the console
#   in-vm.sh bench         run scripts/bench-boot.sh (boot time, Vireo
#                          against QEMU+KVM) on the console
set -uo pipefail

mode=${1:-}
arg=${2:-}

# Copy a TAP stream to the console; also log each top-level result through
# /dev/kmsg. printk output survives a crash that follows within microseconds
# (it is flushed at panic), while tty output may still sit in a buffer, and
# the timestamps place each result among the kernel's own messages. One open
# per line: /dev/kmsg rate-limits writes per open file.
mirror_results() {
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case "$line" in
		"ok "* | "not ok "* | "Bail out!"*) printf '<4>vireo-tap: %s\n' "$line" >/dev/kmsg ;;
		esac
	done
}

# The test VM's loopback starts down; tests use 127.0.0.1.
ip link set lo up

case "$mode" in
check)
	tap=/dev/ttyS1
	# No output post-processing on the TAP port: lines end in \n, not \r\n.
	stty -F "$tap" raw -echo
	if [ ! -x tests/run_tests.sh ]; then
		echo "in-vm: tests/run_tests.sh is missing or not executable" >&2
		printf 'TAP version 13\nBail out! tests/run_tests.sh is missing\n' >"$tap"
		exit 2
	fi
	# stdin from /dev/null: nobody types on the console in check mode, and a
	# test reading its input must see EOF rather than wait for ever.
	tests/run_tests.sh ${arg:+"$arg"} </dev/null | tee "$tap" | mirror_results
	exit "${PIPESTATUS[0]}"
	;;
demo)
	if [ ! -x scripts/demo-in-vm.sh ]; then
		echo "in-vm: scripts/demo-in-vm.sh is missing or not executable" >&2
		exit 2
	fi
	scripts/demo-in-vm.sh </dev/null
	;;
bench)
	if [ ! -x scripts/bench-boot.sh ]; then
		echo "in-vm: scripts/bench-boot.sh is missing or not executable" >&2
		exit 2
	fi
	scripts/bench-boot.sh </dev/null
	;;
shell)
	if [ -n "${VIREO_VM_COLS:-}" ] && [ -n "${VIREO_VM_ROWS:-}" ]; then
		stty -F /dev/ttyS0 cols "$VIREO_VM_COLS" rows "$VIREO_VM_ROWS"
	fi
	echo "in-vm: shell in $(pwd); 'exit' powers the VM off"
	# setsid -c: a new session whose controlling terminal is ttyS0, so job
	# control and ^C work (/dev/console cannot be a controlling terminal).
	setsid -w -c bash -l <>/dev/ttyS0 >&0 2>&0
	;;
*)
	echo "in-vm: unknown mode '$mode' (check|demo|bench|shell)" >&2
	exit 2
	;;
esac
