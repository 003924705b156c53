#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Loading and unloading vireo.ko: 20 clean insmod/rmmod cycles, /dev/vireo
# (0600) appearing and disappearing with the module, and rmmod refused while
# anything still references a VM (its fd, a vCPU fd, the RAM mapping, the
# exit-record mapping), then allowed once the holder is gone.
#
# Run as root from the repository root.  Leaves the module loaded or not,
# as it found it.

cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh

KO=kmod/vireo.ko
HOLDER=tests/build/vm_holder
CYCLES=20
HOLD_MODES="fd vcpu ram run"

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
[ -f "$KO" ] || tap_skip_all "$KO not built"
[ -x "$HOLDER" ] || tap_skip_all "$HOLDER not built (make -C tests)"
grep -qwE 'svm|vmx' /proc/cpuinfo || tap_skip_all "no SVM/VMX on this CPU"

was_loaded=0
vireo_loaded && was_loaded=1
holder_pid=
out=$(mktemp)

cleanup() {
	if [ -n "$holder_pid" ]; then
		kill "$holder_pid" 2>/dev/null
		wait "$holder_pid" 2>/dev/null
	fi
	if [ $was_loaded = 1 ] && ! vireo_loaded; then
		insmod "$KO" || echo "# could not reload vireo" >&2
	elif [ $was_loaded = 0 ] && vireo_loaded; then
		wait_for 5 rmmod vireo 2>/dev/null
	fi
	rm -f "$out"
}
trap cleanup EXIT

devtmpfs=0
grep -qE '^devtmpfs /dev ' /proc/mounts && devtmpfs=1

tap_plan $((5 + $(echo $HOLD_MODES | wc -w)))

if [ $was_loaded = 1 ] && ! rmmod vireo; then
	echo "Bail out! vireo is loaded and in use; cannot test loading"
	exit 1
fi

# 1-3: cycles
kmsg_mark cycles
load_ok=0 node_ok=0 cycle=0
for cycle in $(seq $CYCLES); do
	if ! insmod "$KO" 2>"$out"; then
		tap_diag "insmod #$cycle failed: $(cat "$out")"
		load_ok=1
		break
	fi
	if ! wait_for 5 test -e /sys/class/misc/vireo; then
		tap_diag "cycle $cycle: /sys/class/misc/vireo missing after insmod"
		node_ok=1
	fi
	if [ $devtmpfs = 1 ] && ! wait_for 5 test -c /dev/vireo; then
		tap_diag "cycle $cycle: /dev/vireo missing after insmod"
		node_ok=1
	fi
	if ! rmmod vireo 2>"$out"; then
		tap_diag "rmmod #$cycle failed: $(cat "$out")"
		load_ok=1
		break
	fi
	if vireo_loaded || [ -e /sys/class/misc/vireo ]; then
		tap_diag "cycle $cycle: still registered after rmmod"
		node_ok=1
	fi
	if [ $devtmpfs = 1 ] && ! wait_for 5 test ! -e /dev/vireo; then
		tap_diag "cycle $cycle: /dev/vireo still present after rmmod"
		node_ok=1
	fi
done
tap_result "insmod/rmmod $CYCLES times" $load_ok
[ $devtmpfs = 1 ] || tap_diag "/dev is not devtmpfs: checked sysfs only"
tap_result "misc device appears with the module and goes with it" $node_ok

if insmod "$KO" && vireo_wait_dev; then
	[ $devtmpfs = 1 ] || tap_diag "no devtmpfs: the node was made by this test"
	mode=$(stat -c %a /dev/vireo)
	[ "$mode" = 600 ]
	tap_result "/dev/vireo is a character device with mode 0600 (is $mode)" $?
else
	tap_not_ok "/dev/vireo is a character device with mode 0600"
fi

errors=$(kmsg_errors)
[ -z "$errors" ]
tap_result "no kernel errors logged during the cycles" $?
[ -n "$errors" ] && echo "$errors" | tap_diag_file

# 4..: a live reference pins the module
kmsg_mark refcount
for mode in $HOLD_MODES; do
	vireo_loaded || insmod "$KO"
	vireo_wait_dev
	"$HOLDER" "$mode" >"$out" 2>&1 &
	holder_pid=$!
	res=0
	if ! wait_for 10 grep -q '^ready' "$out"; then
		tap_diag "vm_holder $mode did not get ready: $(cat "$out")"
		res=1
	else
		if rmmod vireo 2>/dev/null; then
			tap_diag "rmmod succeeded while vm_holder $mode held a VM"
			res=1
		fi
		refcnt=$(cat /sys/module/vireo/refcnt 2>/dev/null || echo 0)
		if [ "$refcnt" -lt 1 ]; then
			tap_diag "refcnt is $refcnt while a VM is held"
			res=1
		fi
	fi
	kill "$holder_pid" 2>/dev/null
	wait "$holder_pid" 2>/dev/null
	holder_pid=
	# Teardown may finish shortly after the process is gone.
	if vireo_loaded && ! wait_for 5 rmmod vireo 2>/dev/null; then
		tap_diag "rmmod still refused after vm_holder $mode exited"
		res=1
	fi
	tap_result "rmmod refused while a VM is held by its $mode, allowed after" $res
done

errors=$(kmsg_errors)
[ -z "$errors" ]
tap_result "no kernel errors logged during the refcount checks" $?
[ -n "$errors" ] && echo "$errors" | tap_diag_file

tap_done
