#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo: `daemon/vireod --run daemon/examples/hello.json` boots the hello
# guest, whose greeting must reach vireod's stdout (the guest console), and
# vireod must end on its own with status 0 (every vCPU halted).  Then the
# crash guest (daemon/guests/crash.S) prints a line and triple faults:
# vireod must exit 1 with the triple fault in its log, and the line, which
# the module queued at COM1's fast ports, must still reach stdout, whole and
# exactly once.  Last, SIGUSR2 to a vireod running a spinning guest logs
# its registers and the guest runs on.  `vireoctl --json events` watches the
# crash guest's life: created, crashed, destroyed, the last with the final
# exit counts.  Run as root from the repository root; loads vireo.ko if
# needed and leaves the module state as it found it.

cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh

KO=kmod/vireo.ko
VIREOD=daemon/vireod
VIREOCTL=daemon/vireoctl
CONFIG=daemon/examples/hello.json
GREETING="Hello from a Vireo guest!"
LAST_WORDS="Last words before a triple fault"
CRASH_IMAGE=daemon/guests/crash.bin
TIMEOUT=60

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
[ -x "$VIREOD" ] && [ -x "$VIREOCTL" ] || tap_skip_all "$VIREOD or $VIREOCTL not built"
[ -f "$CONFIG" ] || tap_skip_all "$CONFIG missing"
grep -qwE 'svm|vmx' /proc/cpuinfo || tap_skip_all "no SVM/VMX on this CPU"

loaded_here=0
out=$(mktemp)
err=$(mktemp)
events=$(mktemp)
events_err=$(mktemp)
crash_cfg=$(mktemp --suffix=.json)
cleanup() {
	[ $loaded_here = 1 ] && wait_for 5 rmmod vireo 2>/dev/null
	rm -f "$out" "$err" "$events" "$events_err" "$crash_cfg"
}
trap cleanup EXIT

vireo_load_for_test "$KO"

tap_plan 10
kmsg_mark demo

# run_guest CONFIG: vireod --run CONFIG, console in $out, log in $err,
# status in $rc, both shown in the TAP diagnostics.  vireod stops the VM
# itself after --timeout (status 124); timeout(1) is only the backstop.
run_guest() {
	timeout -k 5 $((TIMEOUT + 30)) "$VIREOD" --run "$1" --timeout $TIMEOUT \
		>"$out" 2>"$err" </dev/null
	rc=$?
	tap_diag "vireod --run $1: exit status $rc; guest console (stdout):"
	head -n 100 "$out" | tap_diag_file
	tap_diag "vireod log (stderr):"
	tail -n 50 "$err" | tap_diag_file
}

run_guest "$CONFIG"
[ $rc -ne 124 ] && [ $rc -ne 137 ]
tap_result "vireod --run ends on its own within ${TIMEOUT}s" $?
grep -qF "$GREETING" "$out"
tap_result "the greeting \"$GREETING\" reaches vireod's stdout" $?
[ $rc -eq 0 ]
tap_result "vireod exits with status 0 (every vCPU halted)" $?

# The crash guest: its last words and a clean report.
printf '{ "name": "crash", "memory_mib": 16, "vcpus": 1, "image": "%s",\n  "entry": "real", "load_address": "0x10000" }\n' \
	"$CRASH_IMAGE" >"$crash_cfg"
"$VIREOCTL" --json events --count 3 --timeout $TIMEOUT >"$events" 2>"$events_err" &
events_pid=$!
wait_for 10 grep -q "listening for module events" "$events_err"
tap_result "vireoctl events subscribes to the module's events" $?
run_guest "$crash_cfg"
wait $events_pid
events_rc=$?
[ $rc -eq 1 ]
tap_result "a guest triple fault ends vireod --run with status 1 (status $rc)" $?
grep -qi "shutdown" "$err"
tap_result "vireod's log reports the triple fault (SHUTDOWN exit)" $?
[ "$(tr -d '\r' <"$out")" = "$LAST_WORDS" ]
tap_result "the guest's last words reach stdout whole, exactly once (queued at the fast ports)" $?
tap_diag "vireoctl --json events: exit status $events_rc; stdout, then stderr:"
tap_diag_file <"$events"
tap_diag_file <"$events_err"
# One compact JSON object a line, keys in the order vireoctl adds them.
[ $events_rc -eq 0 ] &&
	[ "$(grep -o '"event":"[a-z]*"' "$events" | tr '\n' ' ')" = '"event":"created" "event":"crashed" "event":"destroyed" ' ] &&
	[ "$(grep -o '"vm_id":[0-9]*' "$events" | sort -u | wc -l)" = 1 ] &&
	sed -n 1p "$events" | grep -qF '"exit_stats":[]' &&
	sed -n 3p "$events" | grep -qF '"state":"crashed"' &&
	sed -n 3p "$events" | grep -qF '"name":"shutdown","count":1}'
tap_result "vireoctl events: created, crashed, destroyed; the last with the final counts (1 shutdown)" $?

# A guest that never exits on its own: SIGUSR2 makes vireod log its vCPU's
# registers (pausing the VM for that), and the VM goes on until SIGTERM.
printf '{ "name": "spin", "memory_mib": 4, "vcpus": 1, "image": "%s",\n  "entry": "real" }\n' \
	daemon/guests/spin.bin >"$crash_cfg"
"$VIREOD" --run "$crash_cfg" --timeout $TIMEOUT >"$out" 2>"$err" </dev/null &
spin_pid=$!
wait_for 10 grep -q "vm spin: starting" "$err"
sleep 1
kill -USR2 $spin_pid
wait_for 10 grep -q "vm spin: vCPU 0: rip" "$err"
tap_result "SIGUSR2: vireod logs the running guest's registers" $?
sleep 1
kill -0 $spin_pid 2>/dev/null && grep -q "vm spin: resumed" "$err"
tap_result "the VM runs on after the register log" $?
kill -TERM $spin_pid
wait $spin_pid
tap_diag "vireod --run (spin, SIGUSR2, SIGTERM): exit status $?; log:"
tail -n 20 "$err" | tap_diag_file

if [ $TAP_FAILED = 1 ]; then
	tap_diag "kernel log since the demo started:"
	kmsg_since | grep -i vireo | tail -n 50 | tap_diag_file
fi
tap_done
