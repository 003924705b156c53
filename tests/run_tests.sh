#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/run_tests.sh [NAME...]
#
# Runs the Vireo selftests (all, or the ones called NAME...) as root from the
# repository root, inside the test VM, and prints one TAP 13 stream on
# stdout.  Without arguments, VIREO_TESTS (names separated by spaces or
# commas) chooses the subset, if set; the VMX runner (scripts/bochs-run.sh)
# passes its subset that way.  The tests run in the order of tests.list
# whatever the order of the names:
#
#   TAP version 13
#   1..N
#   # <output of the test program, every line prefixed with "# ">
#   ok 1 guest_sync
#   ...
#   not ok 5 mmio_decode # exit=1
#   ok 9 demo_greeting # SKIP daemon/vireod not built
#   ok N vireo_unload
#
# The C tests need vireo.ko, which is loaded from kmod/vireo.ko before them
# and unloaded at the end ("vireo_unload" is then the last test: a module
# that cannot be unloaded has leaked a reference).  Shell tests that need
# another module state set it up themselves and restore it; kvm_conflict
# always runs last.  Each program has a time limit (timeout(1)).
# After a failure, the kernel log lines about vireo are printed on stderr.  A
# "vireo-tests: P passed, F failed, S skipped" line closes the run on
# stderr.  Exit status: 0 if nothing failed.

cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh

BUILD=tests/build
LIST=$BUILD/tests.list
KO=kmod/vireo.ko
LAST=kvm_conflict
DEFAULT_TIMEOUT=${VIREO_TEST_TIMEOUT:-120}
declare -A TIMEOUT=([vm_leak]=500 [module_load]=300 [kvm_conflict]=400
		    [demo_greeting]=150 [signal_interrupt]=200
		    [linux_boot]=300 [linux_boot_smp]=300 [linux_boot_smp4]=300
		    [linux_console]=300
		    [linux_reboot]=300)

bail() {
	echo "TAP version 13"
	echo "Bail out! $*"
	exit 1
}

[ -r "$LIST" ] || bail "$LIST missing: build the tests first (make -C tests)"
[ "$(id -u)" = 0 ] || echo "# warning: not root, most tests will skip" >&2

# The names asked for, as " a b c " (empty: all).
wanted=
if [ $# -gt 0 ]; then
	wanted=" $* "
elif [ -n "${VIREO_TESTS:-}" ]; then
	wanted=" ${VIREO_TESTS//,/ } "
fi
names=() kinds=() last_kind=
while read -r name kind; do
	[ -n "$name" ] || continue
	if [ -n "$wanted" ] && [[ "$wanted" != *" $name "* ]]; then
		continue
	fi
	if [ "$name" = "$LAST" ]; then
		last_kind=$kind
		continue
	fi
	names+=("$name")
	kinds+=("$kind")
done < "$LIST"
if [ -n "$last_kind" ]; then
	names+=("$LAST")
	kinds+=("$last_kind")
fi
# A name that is not in the list is a typo, not a smaller run.
for want in $wanted; do
	cut -d' ' -f1 "$LIST" | grep -qxF -- "$want" || bail "no test called '$want' in $LIST"
done
[ ${#names[@]} -gt 0 ] || bail "no test to run in $LIST"

ulimit -c 0
# Nested kselftest programs then leave out their own "TAP version 13".
export KSFT_TAP_LEVEL=1

# Load vireo.ko for the C tests.
need_module=0
for kind in "${kinds[@]}"; do
	[ "$kind" = c ] && need_module=1
done
loaded_here=0
module_error=
if [ $need_module = 1 ]; then
	if vireo_loaded; then
		echo "# vireo already loaded: using it" >&2
	elif ! grep -qwE 'svm|vmx' /proc/cpuinfo; then
		echo "# no SVM/VMX on this CPU: not loading vireo.ko" >&2
	elif [ ! -f "$KO" ]; then
		echo "# $KO not built: tests that need /dev/vireo will skip" >&2
	elif err=$(insmod "$KO" 2>&1); then
		loaded_here=1
	else
		module_error="insmod $KO failed: $err"
		echo "# $module_error" >&2
		dmesg | tail -n 20 | grep -i vireo >&2
	fi
	vireo_loaded && vireo_wait_dev
fi

total=${#names[@]}
[ $loaded_here = 1 ] && total=$((total + 1))
echo "TAP version 13"
echo "1..$total"

n=0 passed=0 failed=0 skipped=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

report() {	# report ok|not_ok|skip NAME [DIRECTIVE]
	n=$((n + 1))
	case $1 in
	ok)	echo "ok $n $2"; passed=$((passed + 1)) ;;
	skip)	echo "ok $n $2 # SKIP $3"; skipped=$((skipped + 1)) ;;
	*)	echo "not ok $n $2${3:+ # $3}"; failed=$((failed + 1)) ;;
	esac
}

for i in "${!names[@]}"; do
	name=${names[$i]}
	kind=${kinds[$i]}
	limit=${TIMEOUT[$name]:-$DEFAULT_TIMEOUT}
	if [ "$kind" = c ]; then
		cmd=("$BUILD/$name")
	else
		cmd=(bash "tests/$name.sh")
	fi
	if [ "$kind" = c ] && [ -n "$module_error" ] && [ "$name" != lib_selftest ]; then
		report not_ok "$name" "vireo.ko did not load"
		continue
	fi
	if [ ! -e "${cmd[-1]}" ]; then
		report not_ok "$name" "${cmd[-1]} missing"
		continue
	fi

	kmsg_mark "start $name"
	timeout -k 10 "$limit" "${cmd[@]}" </dev/null >"$out" 2>&1
	rc=$?
	sed 's/^/# /' "$out"
	case $rc in
	0)	report ok "$name" ;;
	4)	reason=$(sed -n 's/^1\.\.0 # SKIP //p' "$out" | head -n 1)
		report skip "$name" "${reason:-skipped}" ;;
	124|137) report not_ok "$name" "TIMEOUT ${limit}s" ;;
	*)	report not_ok "$name" "exit=$rc" ;;
	esac
	if [ $rc -ne 0 ] && [ $rc -ne 4 ]; then
		{
			echo "---- kernel log about vireo since $name started ----"
			kmsg_since | grep -i -E 'vireo|BUG:|WARNING:|Oops|Call Trace' |
				tail -n 100
			echo "---- end of kernel log for $name ----"
		} >&2
	fi
done

if [ $loaded_here = 1 ]; then
	if ! vireo_loaded; then
		report not_ok vireo_unload "vireo was unloaded by a test and not restored"
	elif wait_for 10 rmmod vireo 2>/dev/null; then
		report ok vireo_unload
	else
		report not_ok vireo_unload "rmmod vireo refused: a reference leaked"
		cat /sys/module/vireo/refcnt >&2 2>/dev/null
	fi
fi

echo "vireo-tests: $passed passed, $failed failed, $skipped skipped" >&2
[ $failed -eq 0 ]
