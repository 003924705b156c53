#!/bin/bash
# Summarize a TAP 13 stream as written by tests/run_tests.sh in the test VM.
#
#   tap-summary.sh TAP_LOG
#
# Only top-level results count: "ok N name" / "not ok N name", with an
# optional directive ("# SKIP reason" skips; "# TODO" on a failure and
# "# XFAIL" on a pass are expected failures: skipped and passed). Nested
# output (the lines of one test binary, kselftest_harness's "# RUN" / "# OK" /
# "ok N sub" lines, prefixed with "#" or indented) is not counted; for a
# failed test its last lines are shown, since they hold the failing
# assertion. A plan "1..N" with fewer results than N counts the missing ones
# as failed (the run stopped early); "Bail out!" is a failure.
#
# Prints one line per test (PASS / FAIL / SKIP) and last, alone on its line,
# "N passed, N failed, N skipped". Exits 1 if anything failed or nothing ran.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 TAP_LOG" >&2; exit 2; }
log=$1
[ -f "$log" ] || log=/dev/null

awk '
BEGIN { passed = 0; failed = 0; skipped = 0; results = 0; plan = -1; nested_n = 0; keep = 15 }
{ sub(/\r$/, "") }
/^(#|[ \t])/ {
	nested[nested_n % keep] = $0
	nested_n++
	next
}
/^1\.\.[0-9]+/ {
	if (plan < 0) plan = substr($0, 4) + 0
	next
}
/^Bail out!/ {
	printf "FAIL  %s\n", $0
	failed++
	bailed = 1
	next
}
/^(not )?ok([ \t]|$)/ {
	results++
	ok = ($0 ~ /^ok/)
	line = $0
	sub(/^(not )?ok[ \t]*/, "", line)
	sub(/^[0-9]+[ \t]*/, "", line)
	sub(/^-[ \t]*/, "", line)
	name = line
	directive = ""
	if (match(line, /[ \t]*#[ \t]*/)) {
		name = substr(line, 1, RSTART - 1)
		directive = substr(line, RSTART + RLENGTH)
	}
	if (name == "") name = "(test " results ")"
	d = toupper(directive)
	if (d ~ /^SKIP/) {
		skipped++
		reason = directive
		sub(/^[A-Za-z]+[ \t:]*/, "", reason)
		printf "SKIP  %s%s\n", name, (reason != "" ? "  (" reason ")" : "")
	} else if (!ok && d ~ /^TODO/) {
		skipped++
		printf "SKIP  %s  (TODO: expected failure)\n", name
	} else if (ok) {
		passed++
		printf "PASS  %s\n", name
	} else {
		failed++
		printf "FAIL  %s\n", name
		from = (nested_n > keep) ? nested_n - keep : 0
		for (i = from; i < nested_n; i++)
			printf "        %s\n", nested[i % keep]
	}
	nested_n = 0
	next
}
END {
	if (plan > results && !bailed) {
		printf "FAIL  (no result for tests %d..%d: the run stopped early)\n", results + 1, plan
		failed += plan - results
	}
	if (passed + failed + skipped == 0)
		print "no test ran"
	printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped
	exit((failed > 0 || passed + failed + skipped == 0) ? 1 : 0)
}' "$log"
