# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# TAP 13 helpers for the shell tests (sourced, bash).  A shell test prints
# its own stream: tap_plan N, then one tap_ok/tap_not_ok/tap_skip per
# check, and ends with tap_done (exit 0 if nothing failed, 1 otherwise).
# tap_skip_all prints "1..0 # SKIP reason" and exits 4 (KSFT_SKIP).

TAP_N=0
TAP_FAILED=0

# Under run_tests.sh (KSFT_TAP_LEVEL set) the version line is left out,
# as kselftest programs do.
tap_plan() {
	[ -n "${KSFT_TAP_LEVEL:-}" ] || echo "TAP version 13"
	echo "1..$1"
}
tap_ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N $*"; }
tap_not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=1; echo "not ok $TAP_N $*"; }
tap_skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N $1 # SKIP $2"; }
tap_diag() { echo "# $*"; }
tap_done() { exit $TAP_FAILED; }

tap_skip_all() {
	[ -n "${KSFT_TAP_LEVEL:-}" ] || echo "TAP version 13"
	echo "1..0 # SKIP $*"
	exit 4
}

# tap_result DESCRIPTION CONDITION-EXIT-STATUS
tap_result() {
	if [ "$2" -eq 0 ]; then tap_ok "$1"; else tap_not_ok "$1"; fi
}

# Print a file (or stdin) as diagnostics.
tap_diag_file() { sed 's/^/# /' "$@"; }

# wait_for SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds.
wait_for() {
	local deadline=$(($(date +%s) + $1))
	shift
	while ! "$@"; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
	return 0
}

# Kernel log markers: kmsg_mark TAG writes a unique line; kmsg_since TAG
# prints the log from that line on.
kmsg_mark() {
	KMSG_TAG="vireo-tests: $1 $$.$(date +%s%N)"
	echo "$KMSG_TAG" > /dev/kmsg 2>/dev/null || true
}
kmsg_since() {
	dmesg 2>/dev/null | awk -v tag="$KMSG_TAG" 'index($0, tag) { on = 1 } on'
}
# Lines after the marker that show kernel trouble.
kmsg_errors() {
	kmsg_since | grep -E -i 'BUG:|WARNING:|Oops|general protection|Call Trace|UBSAN|KASAN|kmemleak|refcount_t|list_(add|del) corruption|vireo.*(error|fail|leak|bad)'
}

vireo_loaded() { [ -d /sys/module/vireo ]; }

# Wait for /dev/vireo after insmod; without devtmpfs or udev, make the node
# from sysfs (mode 0600, as the module asks for).
vireo_wait_dev() {
	local major minor
	wait_for 5 test -c /dev/vireo && return 0
	[ -r /sys/class/misc/vireo/dev ] || return 1
	IFS=: read -r major minor < /sys/class/misc/vireo/dev
	mknod -m 600 /dev/vireo c "$major" "$minor" || return 1
	echo "# created /dev/vireo ($major:$minor) by hand" >&2
}

# vireo_load_for_test KO: loads vireo.ko unless it is loaded (then sets
# loaded_here=1, for the test's cleanup to unload it) and waits for
# /dev/vireo.  Skips the test when the module is neither loaded nor built;
# bails out when loading fails.
vireo_load_for_test() {
	if ! vireo_loaded; then
		[ -f "$1" ] || tap_skip_all "vireo not loaded and $1 not built"
		insmod "$1" || { echo "Bail out! insmod $1 failed"; exit 1; }
		loaded_here=1
	fi
	vireo_wait_dev || { echo "Bail out! vireo is loaded but /dev/vireo is missing"; exit 1; }
}
