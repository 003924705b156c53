#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Vireo end-to-end demo.  Runs inside the nested test VM, as root, from the
# repository root, after `make`:
#
#   1. loads kmod/vireo.ko (unless it is loaded already);
#   2. `vireod --run daemon/examples/hello.json`: one real-mode guest whose
#      serial console is vireod's stdout; then the long-mode guest;
#   3. the management socket: vireod --socket ... --config
#      daemon/examples/vms.json in the background, driven by vireoctl
#      (version, vm start, vm console, vm list, vms over netlink, vm stop of
#      a guest that never halts), then vireod is stopped by its PID;
#   4. unloads the module if this script loaded it.
#
# Exit status: 0 if the greeting "Hello from a Vireo guest!" appeared both
# from `vireod --run` and through `vireoctl vm console`; 1 otherwise.  The
# other steps are reported as PASS/FAIL in the summary without changing
# the status.
set -u

VIREOD=daemon/vireod
VIREOCTL=daemon/vireoctl
SOCK=/run/vireo/vireod.sock
GREETING="Hello from a Vireo guest!"
tmp=$(mktemp -d /tmp/vireo-demo.XXXXXX)
daemon_pid=
loaded_here=0
required_failed=0
summary=""

banner() {
	printf '\n======================================================================\n'
	printf '== %s\n' "$*"
	printf '======================================================================\n'
}
note() { summary="$summary$1: $2\n"; }
required() {	# required NAME CONDITION-EXIT-STATUS
	if [ "$2" -eq 0 ]; then note PASS "$1"; else note FAIL "$1"; required_failed=1; fi
}
optional() {
	if [ "$2" -eq 0 ]; then note PASS "$1"; else note "FAIL (not fatal)" "$1"; fi
}
ctl() {
	printf '$ vireoctl %s\n' "$*"
	"$VIREOCTL" --socket "$SOCK" "$@"
}

cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		wait "$daemon_pid" 2>/dev/null
	fi
	if [ "$loaded_here" = 1 ] && grep -q '^vireo ' /proc/modules; then
		rmmod vireo || echo "demo: rmmod vireo failed" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$VIREOD" "$VIREOCTL" daemon/guests/hello.bin kmod/vireo.ko; do
	if [ ! -e "$f" ]; then
		echo "demo: $f is missing: run make first (cwd must be the repo root)" >&2
		exit 1
	fi
done

banner "Loading the Vireo module"
if grep -q '^vireo ' /proc/modules; then
	echo "vireo is already loaded; leaving it loaded afterwards"
else
	insmod kmod/vireo.ko || { echo "demo: insmod kmod/vireo.ko failed" >&2; exit 1; }
	loaded_here=1
	echo "insmod kmod/vireo.ko: ok"
fi
# Without udev, create the device node from sysfs (misc or own class).
if [ ! -c /dev/vireo ]; then
	for dev in /sys/class/*/vireo/dev; do
		[ -r "$dev" ] || continue
		IFS=: read -r major minor <"$dev"
		mknod /dev/vireo c "$major" "$minor" && echo "created /dev/vireo ($major:$minor)"
		break
	done
fi
ls -l /dev/vireo

banner "vireod --run daemon/examples/hello.json   (guest console below)"
"$VIREOD" --run daemon/examples/hello.json --timeout 30 >"$tmp/run.out" 2>"$tmp/run.err"
rc=$?
cat "$tmp/run.out"
printf -- '-- vireod log (stderr), exit status %d --\n' "$rc"
cat "$tmp/run.err"
grep -q "$GREETING" "$tmp/run.out" && [ "$rc" -eq 0 ]
required "greeting from vireod --run (real mode), clean HLT exit" $?
grep -q "Hypervisor: VireoVireoVi" "$tmp/run.out"
optional "guest sees the VireoVireoVi CPUID signature" $?

banner "vireod --run daemon/examples/hello64.json   (64-bit long-mode entry)"
"$VIREOD" --run daemon/examples/hello64.json --timeout 30 >"$tmp/run64.out" 2>"$tmp/run64.err"
rc=$?
cat "$tmp/run64.out"
printf -- '-- vireod log (stderr), exit status %d --\n' "$rc"
cat "$tmp/run64.err"
grep -q "Hello from 64-bit long mode on vCPU 0!" "$tmp/run64.out" && [ "$rc" -eq 0 ]
optional "long-mode guest greets and halts" $?

banner "Management socket: vireod --socket $SOCK --config daemon/examples/vms.json"
"$VIREOD" --socket "$SOCK" --config daemon/examples/vms.json 2>"$tmp/vireod.log" &
daemon_pid=$!
i=0
while [ ! -S "$SOCK" ] && [ $i -lt 50 ] && kill -0 "$daemon_pid" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
echo "vireod running as PID $daemon_pid"

ctl version
ctl vm list
ctl vm start hello
# The guest halts within milliseconds; wait until vm-list says so.
i=0
while [ $i -lt 50 ] && ! "$VIREOCTL" --socket "$SOCK" vm list | grep -q '^hello  *halted'; do
	sleep 0.1
	i=$((i + 1))
done
ctl vm console hello | tee "$tmp/console.out"
grep -q "$GREETING" "$tmp/console.out"
required "greeting through vireoctl vm console" $?

ctl vm start --config daemon/examples/hello64.json
optional "vm start with an inline config" $?

ctl vm start spin
sleep 1
ctl vms
optional "vireoctl vms (generic netlink dump)" $?
ctl vm console spin
ctl vm stop spin
optional "vm stop of a spinning guest (kick, EINTR)" $?
ctl vm list

banner "Stopping vireod (SIGTERM to PID $daemon_pid)"
kill -TERM "$daemon_pid"
wait "$daemon_pid"
rc=$?
daemon_pid=
echo "vireod exited with status $rc"
echo "-- vireod log --"
cat "$tmp/vireod.log"
[ "$rc" -eq 0 ] && [ ! -e "$SOCK" ]
optional "vireod shuts down cleanly and removes its socket" $?

banner "A stock Linux guest on Vireo: Debian's $(uname -r) kernel, 2 vCPUs"
# The test VM's own kernel and a busybox initramfs; the console is shown as
# it comes; commands are typed into the guest shell through the emulated
# 16550 (interrupt-driven), then the guest powers off.
linux_kernel=/boot/vmlinuz-$(uname -r)
if [ -r "$linux_kernel" ] && scripts/mk-guest-initramfs.sh "$tmp/initrd.cpio.gz" >"$tmp/mk.log" 2>&1; then
	khz=$(python3 -c 'import fcntl,os; fd=os.open("/dev/vireo",os.O_RDWR); print(fcntl.ioctl(fd,0xb703))' 2>/dev/null || echo 0)
	cat >"$tmp/linux.json" <<JSON
{ "name": "linux", "memory_mib": 256, "vcpus": 2,
  "kernel": "$linux_kernel", "initrd": "$tmp/initrd.cpio.gz",
  "cmdline": "console=ttyS0 acpi=off io_delay=none no_timer_check tsc_early_khz=$khz quiet" }
JSON
	mkfifo "$tmp/linux.in"
	exec 3<>"$tmp/linux.in"
	: >"$tmp/linux.out"
	"$VIREOD" --run "$tmp/linux.json" --timeout 240 --console-stdin \
		<"$tmp/linux.in" >"$tmp/linux.out" 2>"$tmp/linux.err" &
	linux_pid=$!
	tail -f --pid=$linux_pid "$tmp/linux.out" &
	tail_pid=$!
	# until LINE appears on the guest console (or vireod ends / 200 s pass)
	wait_console() {
		local deadline=$(($(date +%s) + 200))

		until tr -d '\r' <"$tmp/linux.out" | grep -aq -- "$1"; do
			kill -0 "$linux_pid" 2>/dev/null || return 1
			[ "$(date +%s)" -ge "$deadline" ] && return 1
			sleep 0.2
		done
	}
	wait_console 'VIREO-GUEST-INIT-OK'
	required "Linux boots on Vireo to its init" $?
	sleep 1
	printf '%s\n' 'uname -sr; echo "cpus: $(nproc)"; grep MemTotal /proc/meminfo' >&3
	printf '%s\n' 'echo "the guest computes: 6*7=$((6*7))"' >&3
	wait_console 'the guest computes: 6\*7=42'
	optional "commands typed into the Linux guest's shell run" $?
	printf '%s\n' 'poweroff -f' >&3
	wait "$linux_pid"
	rc=$?
	kill "$tail_pid" 2>/dev/null
	wait "$tail_pid" 2>/dev/null
	exec 3>&-
	echo "-- vireod log --"
	cat "$tmp/linux.err"
	[ "$rc" -eq 0 ]
	optional "the Linux guest powers off and vireod exits 0" $?
else
	echo "no $linux_kernel or the guest initramfs could not be built: skipping"
	note SKIP "Linux guest (no kernel image or initramfs)"
fi

if [ "$loaded_here" = 1 ]; then
	banner "Unloading the Vireo module"
	rmmod vireo && loaded_here=0 && echo "rmmod vireo: ok"
fi

banner "Summary"
printf "%b" "$summary"
if [ "$required_failed" -ne 0 ]; then
	echo "DEMO FAILED: the guest greeting did not appear"
	exit 1
fi
echo "DEMO OK"
