#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot-time benchmark, Vireo against QEMU+KVM (issue 3, "Benchmark"). Runs
# inside the test VM as root from the repository root (`make bench` gets it
# there through scripts/vm-run.sh --mode bench and scripts/in-vm.sh bench).
#
#   bench-boot.sh [--runs N] [--vcpus "1 2"] [--retries N] [--out FILE]
#
# Both hypervisors boot the same kernel (/boot/vmlinuz-$(uname -r)), the same
# guest initramfs (scripts/mk-guest-initramfs.sh, built once), the same
# command line and 256 MiB. Each run is timed from the start of the VMM
# process (`vireod --run`, or `qemu-system-x86_64 -enable-kvm`) to the moment
# the guest's "VIREO-GUEST-INIT-OK" line arrives on the VMM's stdout. Only one
# of vireo.ko and kvm_amd is loaded at a time. Vireo's per-reason exit counts
# are the VM's final ones, carried by the module's VM_DESTROYED event, which
# `vireoctl --json events` receives; it starts before the timed boot and only
# waits (polling `vireoctl vms` during the boot cost Vireo about 1 s in 8).
#
# A boot that does not reach the marker is reported with its console tail and
# tried again, up to RETRIES more times (the nested emulator has rare faults of
# its own, see docs/testing.md); the table counts those failed attempts.
#
# Prints a table and writes it to FILE (default /tmp/vireo-bench.txt).
# It is a measurement, not a test: the exit status is 0 when every run
# reached the marker in the end, whatever the ratio; 1 if something could not
# run.
#
# Environment: VIREO_BENCH_RUNS (default 3), VIREO_BENCH_VCPUS (default "1 2"),
# VIREO_BENCH_TIMEOUT (seconds per boot, default 60: four times a QEMU+KVM
# boot here), VIREO_BENCH_RETRIES (default 2).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1

runs=${VIREO_BENCH_RUNS:-3}
vcpu_list=${VIREO_BENCH_VCPUS:-1 2}
out_file=/tmp/vireo-bench.txt
boot_timeout=${VIREO_BENCH_TIMEOUT:-60}
retries=${VIREO_BENCH_RETRIES:-2}
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=${2:?--runs needs a value}; shift 2 ;;
	--vcpus) vcpu_list=${2:?--vcpus needs a value}; shift 2 ;;
	--retries) retries=${2:?--retries needs a value}; shift 2 ;;
	--out) out_file=${2:?--out needs a value}; shift 2 ;;
	-h | --help) sed -n '4,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-boot: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

# Progress goes to stderr: run_vireo and run_qemu print their result on stdout.
say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number, not '$runs'"
[[ "$retries" =~ ^[0-9]+$ ]] || die "--retries wants a number, not '$retries'"
for n in $vcpu_list; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "--vcpus wants positive numbers, not '$n'"
done

KO=kmod/vireo.ko
VIREOD=daemon/vireod
VIREOCTL=daemon/vireoctl
KERNEL=/boot/vmlinuz-$(uname -r)
MEM_MIB=256
MARKER=VIREO-GUEST-INIT-OK

[ "$(id -u)" = 0 ] || die "needs root"
[ -f "$KO" ] || die "$KO not built"
[ -x "$VIREOD" ] && [ -x "$VIREOCTL" ] || die "$VIREOD / $VIREOCTL not built"
[ -r "$KERNEL" ] || die "no $KERNEL"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found"
command -v python3 >/dev/null || die "python3 not found"
grep -qw svm /proc/cpuinfo || die "no SVM on this CPU"

work=$(mktemp -d /tmp/vireo-bench.XXXXXX)
cleanup() {
	[ -d /sys/module/vireo ] && rmmod vireo 2>/dev/null
	[ -d /sys/module/kvm_amd ] && rmmod kvm_amd 2>/dev/null
	[ -d /sys/module/kvm ] && rmmod kvm 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# Unload a module, retrying while its last user goes away.
unload() {
	local m
	for m in "$@"; do
		[ -d "/sys/module/$m" ] || continue
		for _ in $(seq 50); do
			rmmod "$m" 2>/dev/null && break
			sleep 0.1
		done
		[ ! -d "/sys/module/$m" ] || die "cannot unload $m"
	done
}

wait_file() { # wait_file TEST-FLAG PATH: up to 5 s
	for _ in $(seq 50); do
		test "$1" "$2" && return 0
		sleep 0.1
	done
	return 1
}

# The timer: starts a command, timestamps the marker as it arrives on the
# command's stdout, waits for the command to end (or ends it GRACE seconds
# after the marker: QEMU without ACPI only halts), optionally runs a listener
# started and ready before the timed command (`vireoctl --json events`) and
# keeps what it printed. Prints one JSON object: marker_s, exit_s, rc, killed,
# events (the listener's lines, parsed).
cat >"$work/timer.py" <<'PY'
import json, os, selectors, signal, subprocess, sys, time

args = json.loads(sys.argv[1])
marker = args["marker"].encode()
log = open(args["log"], "wb")
listener = None
if args.get("listen"):
    # A command that prints one JSON object a line and says on stderr when it
    # listens; it starts before the timed command, and costs nothing while
    # it waits.
    listener = subprocess.Popen(args["listen"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ready_by = time.monotonic() + 10
    said = b""
    lsel = selectors.DefaultSelector()
    lsel.register(listener.stderr.fileno(), selectors.EVENT_READ)
    while b"listening" not in said:
        left = ready_by - time.monotonic()
        if left <= 0 or not lsel.select(left):
            sys.exit("timer: the listener did not say it listens within 10 s")
        chunk = os.read(listener.stderr.fileno(), 4096)
        if not chunk:
            sys.exit("timer: the listener ended: " + said.decode(errors="replace"))
        said += chunk

start = time.monotonic()
proc = subprocess.Popen(args["cmd"], stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=open(args["errlog"], "wb"))

timer_deadline = start + args["timeout"]
marker_s = None
killed = False
buf = b""
fd = proc.stdout.fileno()
sel = selectors.DefaultSelector()
sel.register(fd, selectors.EVENT_READ)
kill_at = timer_deadline
eof = False
while not eof:
    now = time.monotonic()
    if now >= kill_at:
        killed = True
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        break
    for _key, _ev in sel.select(min(0.1, kill_at - now)):
        chunk = os.read(fd, 65536)
        if not chunk:
            eof = True
            break
        if marker_s is None:
            buf = (buf + chunk)[-4096:]
            if marker in buf:
                marker_s = time.monotonic() - start
                kill_at = min(kill_at, time.monotonic() + args["grace"])
        log.write(chunk)
rc = proc.wait()
exit_s = time.monotonic() - start
events = []
if listener:
    try:
        out, _ = listener.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        listener.kill()
        out, _ = listener.communicate()
    for line in out.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            pass
print(json.dumps({"marker_s": marker_s, "exit_s": exit_s, "rc": rc,
                  "killed": killed, "events": events}))
PY

say "kernel $KERNEL, ${MEM_MIB} MiB, vCPUs: $vcpu_list, $runs run(s) each"

# No hypervisor module may be loaded at the start: vireo and kvm_amd both own SVM.
unload vireo kvm_amd kvm

initrd=$work/initrd.cpio.gz
scripts/mk-guest-initramfs.sh "$initrd" >"$work/mk.log" 2>&1 ||
	{ cat "$work/mk.log" >&2; die "guest initramfs build failed"; }

# The TSC frequency the Vireo guest is told; QEMU gets the same line.
insmod "$KO" || die "insmod $KO failed"
wait_file -c /dev/vireo || die "vireo is loaded but /dev/vireo is missing"
khz=$(python3 -c 'import fcntl,os; fd=os.open("/dev/vireo",os.O_RDWR); print(fcntl.ioctl(fd,0xb703))' 2>/dev/null) || khz=0
unload vireo
[[ "$khz" =~ ^[0-9]+$ ]] || khz=0
cmdline="console=ttyS0 acpi=off io_delay=none no_timer_check vireo.poweroff=1"
[ "$khz" -gt 0 ] && cmdline="$cmdline tsc_early_khz=$khz"
say "guest command line: $cmdline"

results=$work/results # one line per run: vcpus run vireo_s qemu_s
: >"$results"
failed_file=$work/failed # one line per failed attempt: vireo|qemu vcpus run
: >"$failed_file"
stats_file=$work/stats # vcpus run reason count

# json_field JSON KEY: one top-level field, "" for null.
json_field() {
	python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}

# show_tails BASE: the last lines of a failed boot's BASE.out (console) and
# BASE.err (the VMM's stderr), on stderr.
show_tails() {
	tail -n 15 "$1.out" | tr -d '\r' | awk '{ print "bench:   console| " $0 }' >&2
	tail -n 10 "$1.err" | awk '{ print "bench:   stderr| " $0 }' >&2
}

# never_reached: true if some run in $results never reached the marker.
never_reached() {
	awk '$3 == "-" || $4 == "-" { bad = 1 } END { exit !bad }' "$results"
}

# run_vireo VCPUS RUN: prints seconds to the marker, or fails; the VM's final
# exit counts go to $stats_file.
run_vireo() {
	local vcpus=$1 run=$2 cfg=$work/vireo-$1-$2.json res marker rc
	insmod "$KO" || { say "insmod $KO failed"; return 1; }
	wait_file -c /dev/vireo || { say "/dev/vireo missing"; unload vireo; return 1; }
	cat >"$cfg" <<JSON
{ "name": "bench", "memory_mib": $MEM_MIB, "vcpus": $vcpus,
  "kernel": "$KERNEL", "initrd": "$initrd", "cmdline": "$cmdline" }
JSON
	res=$(python3 "$work/timer.py" 2>>"$work/timer.err" "$(python3 -c 'import json,sys; print(json.dumps({
		"cmd": [sys.argv[1], "--run", sys.argv[2], "--timeout", sys.argv[3]],
		"listen": [sys.argv[4], "--json", "events", "--type", "destroyed",
			   "--count", "1", "--timeout", str(int(sys.argv[3]) + 20)],
		"marker": sys.argv[5], "log": sys.argv[6], "errlog": sys.argv[7],
		"timeout": int(sys.argv[3]) + 10, "grace": int(sys.argv[3])}))' \
		"$VIREOD" "$cfg" "$boot_timeout" "$VIREOCTL" "$MARKER" \
		"$work/vireo-$vcpus-$run.out" "$work/vireo-$vcpus-$run.err")")
	unload vireo
	[ -n "$res" ] || { say "vireo run $run: the timer failed"; cat "$work/timer.err" >&2; return 1; }
	marker=$(json_field "$res" marker_s)
	rc=$(json_field "$res" rc)
	if [ -z "$marker" ]; then
		say "vireo ($vcpus vCPU, run $run): no marker (vireod status $rc); last console lines:"
		show_tails "$work/vireo-$vcpus-$run"
		return 1
	fi
	[ "$rc" = 0 ] || say "vireo ($vcpus vCPU, run $run): vireod exited with status $rc after the marker"
	# The final exit counts, from the VM_DESTROYED event.
	python3 -c '
import json, sys
res = json.loads(sys.argv[1])
for ev in res.get("events") or []:
    for st in ev.get("exit_stats") or []:
        if st.get("count"):
            print(sys.argv[2], sys.argv[3], st.get("name"), st.get("count"))
' "$res" "$vcpus" "$run" >>"$stats_file"
	grep -q "^$vcpus $run " "$stats_file" ||
		say "vireo ($vcpus vCPU, run $run): no VM_DESTROYED event with exit counts (see $work/timer.err)"
	printf '%.3f\n' "$marker"
}

run_qemu() { # run_qemu VCPUS RUN: prints seconds to the marker, or fails
	local vcpus=$1 run=$2 res marker
	modprobe kvm_amd || { say "modprobe kvm_amd failed"; return 1; }
	wait_file -c /dev/kvm || { say "/dev/kvm missing"; unload kvm_amd kvm; return 1; }
	res=$(python3 "$work/timer.py" 2>>"$work/timer.err" "$(python3 -c 'import json,sys; print(json.dumps({
		"cmd": ["qemu-system-x86_64", "-enable-kvm", "-cpu", "host",
			"-m", sys.argv[1], "-smp", sys.argv[2],
			"-nodefaults", "-no-user-config", "-nographic", "-display", "none",
			"-monitor", "none", "-serial", "stdio", "-no-reboot",
			"-kernel", sys.argv[3], "-initrd", sys.argv[4], "-append", sys.argv[5]],
		"marker": sys.argv[6], "log": sys.argv[7], "errlog": sys.argv[8],
		"timeout": int(sys.argv[9]), "grace": 3}))' \
		"$MEM_MIB" "$vcpus" "$KERNEL" "$initrd" "$cmdline" "$MARKER" \
		"$work/qemu-$vcpus-$run.out" "$work/qemu-$vcpus-$run.err" "$boot_timeout")")
	unload kvm_amd kvm
	[ -n "$res" ] || { say "qemu run $run: the timer failed"; cat "$work/timer.err" >&2; return 1; }
	marker=$(json_field "$res" marker_s)
	if [ -z "$marker" ]; then
		say "qemu+kvm ($vcpus vCPU, run $run): no marker; last console lines:"
		show_tails "$work/qemu-$vcpus-$run"
		return 1
	fi
	[ "$(json_field "$res" killed)" = False ] ||
		say "qemu+kvm ($vcpus vCPU, run $run): the guest halted without powering off (acpi=off); QEMU stopped 3 s after the marker"
	printf '%.3f\n' "$marker"
}

# attempt WHAT VCPUS RUN [ARGS]: run_WHAT until it reaches the marker, at most
# 1 + $retries times; prints the seconds, counts each failed attempt.
attempt() {
	local what=$1 vcpus=$2 run=$3 t try
	shift 3
	for try in $(seq 0 "$retries"); do
		[ "$try" = 0 ] || say "$what ($vcpus vCPU, run $run): trying again ($try of $retries)"
		if t=$("run_$what" "$vcpus" "$run" "$@"); then
			printf '%s\n' "$t"
			return 0
		fi
		echo "$what $vcpus $run" >>"$failed_file"
	done
	return 1
}

for vcpus in $vcpu_list; do
	for run in $(seq "$runs"); do
		v=$(attempt vireo "$vcpus" "$run") || v=
		[ -z "$v" ] || say "vireo    ($vcpus vCPU, run $run): marker after ${v} s"
		q=$(attempt qemu "$vcpus" "$run") || q=
		[ -z "$q" ] || say "qemu+kvm ($vcpus vCPU, run $run): marker after ${q} s"
		echo "$vcpus $run ${v:--} ${q:--}" >>"$results"
	done
done

# --- the report ----------------------------------------------------------------

report() {
	local vcpus
	echo "VIREO-BENCH-BEGIN"
	echo "Boot to the guest's /init marker ($MARKER): kernel $(uname -r), ${MEM_MIB} MiB"
	echo "guest command line: $cmdline"
	echo "Target (issue 3): Vireo <= 0.6 x QEMU+KVM"
	echo
	printf '%-6s %-4s %10s %12s %14s\n' vCPUs run "Vireo s" "QEMU+KVM s" "Vireo/QEMU"
	awk -v list="$vcpu_list" '{
		r = ($3 != "-" && $4 != "-" && $4 > 0) ? sprintf("%.2f", $3 / $4) : "-"
		printf "%-6s %-4s %10s %12s %14s\n", $1, $2, $3, $4, r
		if ($3 != "-" && $4 != "-") { sv[$1] += $3; sq[$1] += $4; n[$1]++ }
	} END {
		nc = split(list, cs, " ")
		for (i = 1; i <= nc; i++) if ((c = cs[i]) in n)
			printf "%-6s %-4s %10.3f %12.3f %14.2f\n", c, "mean", sv[c] / n[c], sq[c] / n[c], (sv[c] / n[c]) / (sq[c] / n[c])
	}' "$results"
	for vcpus in $vcpu_list; do
		echo
		echo "Vireo exits by reason, $vcpus vCPU (the final counts, from VM_DESTROYED):"
		awk -v c="$vcpus" '$1 == c { runs[$2] = 1; cnt[$3, $2] = $4; reasons[$3] = 1 }
		END {
			hdr = sprintf("  %-24s", "reason")
			nr = 0
			for (r in runs) order[++nr] = r
			for (i = 1; i <= nr; i++) for (j = i + 1; j <= nr; j++)
				if (order[j] + 0 < order[i] + 0) { t = order[i]; order[i] = order[j]; order[j] = t }
			for (i = 1; i <= nr; i++) hdr = hdr sprintf(" %10s", "run " order[i])
			if (!nr) { print "  (no counts)"; exit }
			print hdr
			nx = 0
			for (x in reasons) names[++nx] = x
			for (i = 1; i <= nx; i++) for (j = i + 1; j <= nx; j++)
				if (names[j] < names[i]) { t = names[i]; names[i] = names[j]; names[j] = t }
			for (k = 1; k <= nx; k++) {
				x = names[k]
				line = sprintf("  %-24s", x)
				for (i = 1; i <= nr; i++) line = line sprintf(" %10s", ((x, order[i]) in cnt) ? cnt[x, order[i]] : 0)
				print line
			}
		}' "$stats_file"
	done
	if [ -s "$failed_file" ]; then
		echo
		echo "Boots that did not reach the marker (each was tried again; console tails are in the bench: lines above):"
		sort "$failed_file" | uniq -c | awk '{ printf "  %-8s %s vCPU, run %s: %d time(s)\n", $2, $3, $4, $1 }'
	fi
	if never_reached; then
		echo
		echo "Some runs never reached the marker, not even when tried again: their means leave them out"
	fi
	echo "VIREO-BENCH-END"
}
touch "$stats_file"
report | tee "$out_file"
say "results in $out_file"
! never_reached
