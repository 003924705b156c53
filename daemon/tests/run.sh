#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs the daemon's host tests (each a TAP 13 producer), passes their
# output through, and ends with one line "daemon: N passed, M failed".
# Exit status 0 only if every test point passed and every program exited 0.
# Usage: tests/run.sh TEST...   (paths relative to daemon/)
cd "$(dirname "$0")/.." || exit 1
passed=0
failed=0
status=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for t in "$@"; do
	echo "# $t"
	"./$t" >"$out"
	rc=$?
	cat "$out"
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ $rc -ne 0 ]; then
		echo "# $t exited with status $rc"
		status=1
		[ "$f" -eq 0 ] && failed=$((failed + 1))
	fi
done
echo "daemon: $passed passed, $failed failed"
[ $failed -eq 0 ] && exit $status
exit 1
