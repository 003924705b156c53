#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vireod's VM and vCPU-thread lifecycle, on a host without the module:
# vireod runs with tests/fake_vireo.so preloaded (a test double of the
# device, see that file) and `--device /fake/vireo`.  Guests are text
# scripts the double turns into exits.  Covers the --run exit statuses
# (halt, crash, timeout, signal), several vCPUs (halting together, one
# crash stopping the others), a Linux kernel config (entry at startup_64,
# other vCPUs held for SIPI, bad kernels refused), and
# vm-start/stop/console/list on live VMs.
# TAP 13.
set -u
cd "$(dirname "$0")/.." || exit 1
tmp=$(mktemp -d)
sock=$tmp/vireod.sock
n=0
failed=0
daemon_pid=
FAKE="LD_PRELOAD=$PWD/tests/fake_vireo.so"

cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	for f in "$tmp/out" "$tmp/err"; do [ -f "$f" ] && sed 's/^/# /' "$f"; done
}
holds() {
	desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# guest NAME VCPUS SCRIPT: writes a script image and a one-VM config.
guest() {
	printf '%b' "$3" >"$tmp/$1.txt"
	printf '{"name":"%s","memory_mib":2,"vcpus":%s,"image":"%s"}\n' \
		"$1" "$2" "$tmp/$1.txt" >"$tmp/$1.json"
}

# run NAME [ARGS...]: vireod --run on the fake device; sets $rc and $secs.
run() {
	name=$1
	shift
	start=$(date +%s)
	env "$FAKE" ./vireod --run "$tmp/$name.json" --device /fake/vireo "$@" \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	secs=$(($(date +%s) - start))
}

echo "TAP version 13"

guest hello 1 'out Hello from fake vCPU #\nlsr\nhypercall\nmmio\nhlt\n'
run hello
holds "--run: console on stdout, IN/hypercall/MMIO answers correct, exit 0 on HLT" \
	test $rc -eq 0 -a "$(cat "$tmp/out")" = "Hello from fake vCPU 0"
holds "--run: the unclaimed MMIO read is logged" grep -q "unclaimed address 0xfee00000" "$tmp/err"

# Four vCPUs share one UART, so their bytes interleave: compare the bytes
# as a multiset.
chars() { fold -w1 | sort | tr -d '\n'; }
guest smp 4 'out vCPU # up\nhlt\n'
run smp
holds "four vCPUs all print and halt: exit 0" \
	test $rc -eq 0 -a "$(chars <"$tmp/out")" = \
	"$(printf 'vCPU 0 up\nvCPU 1 up\nvCPU 2 up\nvCPU 3 up\n' | chars)"

guest crash 1 'out about to fail\nshutdown\n'
run crash
holds "SHUTDOWN exit: exit 1 with the report" \
	test $rc -eq 1 -a "$(cat "$tmp/out")" = "about to fail"
holds "the report has the hardware exit code and registers" \
	grep -q "SHUTDOWN exit.*hw_exit_code 0x7f" "$tmp/err"
holds "and the VM is reported crashed" grep -q "vm crash: crashed" "$tmp/err"

guest sibling 3 '@0 shutdown\nspin\n'
run sibling --timeout 20
holds "one vCPU crashing stops its spinning siblings (exit 1 in ${secs}s)" \
	test $rc -eq 1 -a "$secs" -lt 5

guest spin 2 '@0 out spinning\nspin\n'
run spin --timeout 1
holds "--timeout stops spinning vCPUs: exit 124 in ${secs}s" test $rc -eq 124 -a "$secs" -le 3

env "$FAKE" ./vireod --run "$tmp/spin.json" --device /fake/vireo >"$tmp/out" 2>"$tmp/err" &
pid=$!
# The guest prints, then spins: stop it once the line is out (at most 10 s,
# as a loaded machine may take more than a fixed pause to get there; if
# vireod held the line in a buffer, it would not show and the check below
# fails as it should).
for _ in $(seq 100); do
	grep -q spinning "$tmp/out" && break
	sleep 0.1
done
kill -TERM $pid
wait $pid
rc=$?
holds "SIGTERM stops a spinning VM: exit 143" test $rc -eq 143
holds "console output written before the stop is there" grep -q "spinning" "$tmp/out"

# Guest reboots: "reset N" pulses the i8042 reset line while fewer than N
# resets were done in the process.  The VM is rebuilt and its script runs
# again from the top, on the same console.
guest reboot 2 '@0 out boot #\n@0 reset 2\nhlt\n'
run reboot --timeout 20
holds "guest reset: the VM restarts twice, then halts: exit 0" \
	test $rc -eq 0 -a "$(cat "$tmp/out")" = "$(printf 'boot 0\nboot 0\nboot 0')"
holds "guest reset: vireod logs each reboot" \
	grep -q "vm reboot: rebooted (reboot 2," "$tmp/err"
printf '{"name":"rstop","memory_mib":2,"vcpus":1,"image":"%s","on_reboot":"stop"}\n' \
	"$tmp/reboot.txt" >"$tmp/rstop.json"
run rstop --timeout 20
holds "on_reboot stop: a guest reset ends the VM: exit 1, console once" \
	test $rc -eq 1 -a "$(cat "$tmp/out")" = "boot 0"
holds "on_reboot stop: the reason is the reset" \
	grep -q "vm rstop: stopped (reset requested by guest)" "$tmp/err"
printf '{"name":"rbad","memory_mib":2,"image":"%s","on_reboot":"again"}\n' \
	"$tmp/reboot.txt" >"$tmp/rbad.json"
run rbad
holds "on_reboot other than restart/stop: a config error, exit 2" \
	test $rc -eq 2 -a -n "$(grep "on_reboot" "$tmp/err")"

FAKE_VIREO_API=2 run hello
holds "module API version mismatch refused (exit 1)" \
	grep -q "module API version 2, vireod speaks version 1" "$tmp/err"

# A Linux "kernel" config: the synthetic bzImage of tests/fake_bzimage.h
# carries a script at its 64-bit entry point (load address + 0x200), which
# the double runs from vCPU 0's CS.base + RIP.  Linux VMs get the irqchip,
# so other vCPUs wait for a start-up IPI (the double never sends one).
./tests/linux_dump --fake-kernel "$tmp/bzImage" 'out Linux entry reached on vCPU #\nhlt\n'
printf '{"name":"lx","memory_mib":24,"vcpus":%s,"kernel":"%s","cmdline":"console=ttyS0"}\n' \
	1 "$tmp/bzImage" >"$tmp/lx.json"
run lx
holds "--run of a kernel config: loaded, vCPU 0 enters at startup_64, exit 0" \
	test $rc -eq 0 -a "$(cat "$tmp/out")" = "Linux entry reached on vCPU 0"
holds "the log names the kernel, its load address and entry point" \
	grep -q "Linux kernel .*bzImage at 0x1000000, entry 0x1000200" "$tmp/err"
printf '{"name":"lx2","memory_mib":24,"vcpus":2,"kernel":"%s"}\n' "$tmp/bzImage" >"$tmp/lx2.json"
run lx2 --timeout 1
holds "two vCPUs: only vCPU 0 runs the kernel, vCPU 1 waits for SIPI (exit 124)" \
	test $rc -eq 124 -a "$(cat "$tmp/out")" = "Linux entry reached on vCPU 0"
printf '{"name":"lx3","kernel":"%s"}\n' "$PWD/vireod" >"$tmp/lx3.json"
run lx3
holds "an ELF file as kernel: exit 2, not a bzImage" \
	test $rc -eq 2 -a -n "$(grep "not a bzImage" "$tmp/err")"
printf '{"name":"lx4","memory_mib":16,"kernel":"%s"}\n' "$tmp/bzImage" >"$tmp/lx4.json"
run lx4
holds "a kernel config with too little RAM: exit 2, says how much is needed" \
	test $rc -eq 2 -a -n "$(grep "raise memory_mib from 16 to at least 20" "$tmp/err")"

guest reb 1 'out boot\nreset 1\nspin\n'
printf '{"vms":[{"name":"hello","memory_mib":2,"image":"%s"},{"name":"spin","memory_mib":2,"vcpus":2,"image":"%s"},{"name":"reb","memory_mib":2,"image":"%s"}]}\n' \
	"$tmp/hello.txt" "$tmp/spin.txt" "$tmp/reb.txt" >"$tmp/vms.json"
env "$FAKE" ./vireod --socket "$sock" --device /fake/vireo --config "$tmp/vms.json" 2>"$tmp/daemon.log" &
daemon_pid=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ctl() { ./vireoctl --socket "$sock" "$@" >"$tmp/out" 2>&1; }
# poll PATTERN ARGS...: repeats `vireoctl ARGS` until its output matches
# PATTERN, for up to 10 s; the last output stays in $tmp/out.
poll() {
	pattern=$1
	shift
	i=0
	while [ $i -lt 100 ]; do
		ctl "$@"
		grep -q "$pattern" "$tmp/out" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

ctl vm start spin
holds "socket: vm start spin" grep -q "started spin" "$tmp/out"
ctl vm pause spin
holds "vm pause: both spinning vCPUs park" grep -q "vm-pause spin: paused" "$tmp/out"
ctl vm resume spin
holds "vm resume spin" grep -q "vm-resume spin: running" "$tmp/out"
ctl vm start spin
holds "starting a running VM: InvalidState" grep -q "InvalidState" "$tmp/out"
ctl vm list
holds "vm list: spin running with its VM id" grep -q "^spin  *running .* 1 " "$tmp/out"
holds "vm console of a running VM" poll "^spinning$" vm console spin
./vireoctl --socket "$sock" raw '{"execute":"vm-console-input","arguments":{"name":"spin","data":"hi\n"}}' >"$tmp/out"
holds "vm-console-input to a running VM" grep -q '"return":{.*"accepted":[1-9]' "$tmp/out"
ctl vm stop spin
holds "vm stop kicks both vCPUs out of the guest" grep -q "vm-stop spin: stopped" "$tmp/out"
ctl vm list
holds "vm list: spin stopped, with the reason" grep -q "^spin  *stopped .*stopped by vm-stop" "$tmp/out"
ctl vm start reb
two_boots() {
	i=0
	while [ $i -lt 100 ]; do
		ctl vm console reb
		[ "$(grep -c '^boot$' "$tmp/out")" -eq 2 ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
holds "socket: a guest reset reboots the VM: one console holds both boots" two_boots
ctl vm list
holds "vm list: reb running after one reboot" grep -q "^reb  *running .* 1  *$" "$tmp/out"
./vireoctl --socket "$sock" raw '{"execute":"vm-list"}' >"$tmp/out"
holds "vm-list: \"reboots\": 1 and \"on_reboot\": \"restart\"" \
	grep -q '"name":"reb".*"on_reboot":"restart".*"reboots":1\|"reboots":1.*"name":"reb"' "$tmp/out"
ctl vm pause reb
holds "vm pause: a spinning vCPU leaves the guest and waits" grep -q "vm-pause reb: paused" "$tmp/out"
ctl vm list
holds "vm list: reb paused" grep -q "^reb  *paused " "$tmp/out"
ctl vm pause reb
holds "pausing a paused VM: InvalidState" grep -q "InvalidState.*already paused" "$tmp/out"
ctl vm resume reb
holds "vm resume: running again" grep -q "vm-resume reb: running" "$tmp/out"
ctl vm resume reb
holds "resuming a running VM: InvalidState" grep -q "InvalidState.*not paused" "$tmp/out"
ctl vm pause reb
ctl vm stop reb
holds "vm stop of a paused VM releases its parked vCPU" grep -q "vm-stop reb: stopped" "$tmp/out"
ctl vm resume reb
holds "resuming a stopped VM: InvalidState" grep -q "InvalidState" "$tmp/out"
grep -q "vm reb: paused" "$tmp/daemon.log" && grep -q "vm reb: resumed" "$tmp/daemon.log"
holds "the daemon log shows the pause and the resume" test $? -eq 0
ctl vm start hello
holds "vm start hello: halted" poll "^hello  *halted" vm list
ctl vm console hello
holds "vm console hello" grep -q "^Hello from fake vCPU 0$" "$tmp/out"
./vireoctl --socket "$sock" raw '{"execute":"vm-console-input","arguments":{"name":"hello","data":"x"}}' >"$tmp/out"
holds "vm-console-input to a halted VM: InvalidState" grep -q '"InvalidState"' "$tmp/out"
./vireoctl --socket "$sock" raw '{"execute":"vm-console","arguments":{"name":"hello","offset":6}}' >"$tmp/out"
holds "vm console with an offset" grep -q '"data":"from fake vCPU 0\\n","offset":6,"next_offset":23' "$tmp/out"
ctl vm start hello
holds "an ended VM can be started again" grep -q "started hello" "$tmp/out"
ctl vm start spin
ctl quit
holds "quit with a spinning VM" grep -q "stopping" "$tmp/out"
wait "$daemon_pid"
rc=$?
daemon_pid=
holds "vireod stops the spinning VM and exits 0" test $rc -eq 0
holds "the daemon log shows the stop" grep -q "vm spin: stopped (vireod is shutting down)" "$tmp/daemon.log"

echo "1..$n"
[ $failed -eq 0 ]
