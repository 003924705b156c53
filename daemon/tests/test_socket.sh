#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end test of the management socket without the module: starts
# `vireod --no-module` on a private socket and drives it with vireoctl,
# including malformed and oversize requests, then checks clean shutdown by
# `quit` and by SIGTERM, and the command-line errors of both programs.
# TAP 13.  Run from anywhere; needs no root and no /dev/vireo.
set -u
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
sock=$tmp/vireod.sock
n=0
failed=0
daemon_pid=

cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	[ -f "$tmp/out" ] && sed 's/^/# /' "$tmp/out"
}
# expect DESCRIPTION STATUS PATTERN -- COMMAND...: exit status and output.
expect() {
	desc=$1 status=$2 pattern=$3
	shift 4
	"$@" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq "$status" ] && grep -q -- "$pattern" "$tmp/out"; then
		pass "$desc"
	else
		echo "# exit status $rc, wanted $status; pattern '$pattern'" >>"$tmp/out"
		fail "$desc"
	fi
}
ctl() { ./vireoctl --socket "$sock" "$@"; }

start_daemon() {
	./vireod --no-module --socket "$sock" --config examples/vms.json \
		2>>"$tmp/vireod.log" &
	daemon_pid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}

# holds DESCRIPTION COMMAND...: passes if COMMAND succeeds.
holds() {
	desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

alive() {
	if kill -0 "$daemon_pid" 2>/dev/null; then pass "$1"; else fail "$1"; fi
}

echo "TAP version 13"
start_daemon
holds "vireod --no-module listens" test -S "$sock"
mode=$(stat -c %a "$sock" 2>/dev/null)
holds "socket is mode 0600 (got $mode)" test "$mode" = 600

expect "version without the module" 0 "module not in use" -- ctl version
expect "version --json" 0 '"daemon": "0.1.0"' -- ctl --json version
expect "vm list shows both defined VMs" 0 "hello64 *defined" -- ctl vm list
expect "vm start by name needs the module" 1 "ModuleUnavailable" -- ctl vm start hello
expect "vm start --config needs the module" 1 "ModuleUnavailable" -- ctl vm start --config examples/hello.json
expect "vm start of an unknown name" 1 "NotFound: no VM named 'ghost'" -- ctl vm start ghost
expect "vm stop of a defined, unstarted VM" 1 "InvalidState" -- ctl vm stop hello
expect "vm console of an unknown VM" 1 "NotFound" -- ctl vm console ghost
expect "commands lists vm-console" 0 "vm-console" -- ctl commands
expect "commands lists vm-console-input" 0 "vm-console-input" -- ctl commands
expect "vm-console-input to an unknown VM" 0 '"NotFound"' -- \
	ctl raw '{"execute":"vm-console-input","arguments":{"name":"ghost","data":"x"}}'
expect "vm-console-input to an unstarted VM" 0 '"InvalidState"' -- \
	ctl raw '{"execute":"vm-console-input","arguments":{"name":"hello","data":"x"}}'
expect "vm-console-input without data" 0 "argument 'data' is missing" -- \
	ctl raw '{"execute":"vm-console-input","arguments":{"name":"hello"}}'
expect "vm-console-input with non-string data" 0 "argument 'data' must be a string" -- \
	ctl raw '{"execute":"vm-console-input","arguments":{"name":"hello","data":[1]}}'
python3 -c 'import json; print(json.dumps({"execute": "vm-console-input", "arguments": {"name": "hello", "data": "a" * 4097}}))' >"$tmp/long"
expect "vm-console-input over 4096 bytes" 0 "at most 4096" -- ctl raw - <"$tmp/long"
expect "vireoctl console of an unknown VM" 1 "NotFound" -- ctl console ghost --timeout 1
expect "vireoctl console of an unstarted VM" 1 "not running" -- ctl console hello --timeout 1
expect "raw: invalid JSON" 0 '"class":"GenericError","desc":"invalid JSON' -- ctl raw '{"execute":'
expect "raw: unknown command, id echoed" 0 '"CommandNotFound".*"id":"abc"' -- ctl raw '{"execute":"reboot","id":"abc"}'
expect "raw: ill-typed argument" 0 '"InvalidParameter"' -- ctl raw '{"execute":"vm-stop","arguments":{"name":5}}'
expect "raw: missing argument" 0 "argument 'name' is missing" -- ctl raw '{"execute":"vm-console"}'
expect "raw: bad VM config" 0 "memory_mib" -- ctl raw '{"execute":"vm-start","arguments":{"config":{"name":"x","image":"y","memory_mib":0}}}'
head -c 100000 /dev/zero | tr '\0' 'x' >"$tmp/big"
expect "raw: oversize request refused" 0 "request exceeds 65536 bytes" -- ctl raw - <"$tmp/big"
alive "vireod survived all of that"
expect "and still answers" 0 "vireod 0.1.0" -- ctl version

expect "a second vireod refuses the live socket" 1 "another vireod is listening" -- \
	./vireod --no-module --socket "$sock"
expect "quit" 0 "stopping" -- ctl quit
wait "$daemon_pid"
rc=$?
daemon_pid=
holds "vireod exits 0 after quit (got $rc)" test $rc -eq 0
holds "socket removed on exit" test ! -e "$sock"

start_daemon
kill -TERM "$daemon_pid"
wait "$daemon_pid"
rc=$?
daemon_pid=
holds "vireod exits 0 on SIGTERM (got $rc)" test $rc -eq 0

expect "vireoctl without a daemon" 1 "cannot connect" -- ctl version
expect "vireoctl usage error" 2 "usage" -- ./vireoctl vm frobnicate
if grep -q '^vireo ' /proc/modules 2>/dev/null; then
	n=$((n + 1)); echo "ok $n - # SKIP vireo.ko is loaded"
else
	expect "vireoctl vms without the module fails clearly" 1 "family 'vireo' not found" -- ./vireoctl vms
fi
expect "vireod --run with a bad config" 2 "memory_mib" -- \
	sh -c "echo '{\"name\":\"a\",\"image\":\"b\",\"memory_mib\":-1}' >$tmp/bad.json && ./vireod --run $tmp/bad.json"
expect "vireod --run without the device" 1 "cannot open /nonexistent" -- \
	./vireod --run examples/hello.json --device /nonexistent
expect "vireod rejects --run with --socket" 2 "cannot be combined" -- \
	./vireod --run examples/hello.json --socket "$sock"
expect "vireod rejects --console-stdin without --run" 2 "only applies to --run" -- \
	./vireod --console-stdin --socket "$sock"

echo "1..$n"
[ $failed -eq 0 ]
