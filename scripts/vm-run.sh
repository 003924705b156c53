#!/bin/bash
# Boot the Vireo test VM: QEMU TCG emulating an AMD CPU with SVM and nested
# paging, booting the Debian kernel the module was built for, with the host's
# root file system as its own (read-only 9p + tmpfs overlay, see vm-init.sh).
#
#   vm-run.sh [--mode check|demo|bench|shell] [--test NAME] [--timeout SECONDS]
#   vm-run.sh --vmx [--test NAME] [--timeout SECONDS]
#
#   check  run the kselftest suite (or only NAME); TAP comes back on the
#          second serial port; prints a summary; fails on any failed test
#   demo   run scripts/demo-in-vm.sh; the VM console is shown on this terminal
#   bench  run scripts/bench-boot.sh; its progress is shown as it comes and
#          its results (from the console) at the end
#   shell  an interactive shell in the VM (debugging); no time-out by default
#   --vmx  check mode on an emulated Intel CPU with VMX instead: QEMU TCG has
#          no VMX, so this hands over to scripts/bochs-run.sh (Bochs), with
#          its CI subset unless --test names tests
#
# Environment: KVER (kernel version; default scripts/kver.sh), VIREO_VM_TIMEOUT
# (seconds; default 1500 for check, 600 for demo, 1200 for bench), VIREO_VM_OUT (where logs
# and the initramfs go; default build/), VIREO_VM_MEM (MiB, default 2048),
# VIREO_VM_SMP (default 2), VIREO_VM_TCG_THREAD (QEMU's TCG threading:
# "single", the default, runs every vCPU of the test VM on one host thread;
# "multi" gives each its own, about 10% faster, but QEMU 7.2 then races on
# CPU 0's nested-paging flag (any CPU's XRSTOR rewrites CPU 0's hflags2) and
# loses a guest's state, or the test VM's, in about one 4-vCPU Linux boot of
# five: docs/testing.md, "Known problems").
#
# VIREO_VM_BZIMAGE=1 boots /boot/vmlinuz-KVER as it is instead of its
# unpacked ELF image (see "kernel image" below).
#
# Outputs in $VIREO_VM_OUT: vm-console.log (the whole console, ttyS0),
# tap.log (check mode, ttyS1), vm-dmesg.log (dmesg at the end, ttyS2),
# qemu.log (QEMU's own messages); cached: initramfs-KVER.cpio.gz,
# vmlinux-KVER.
#
# Exit status is 0 only if the VM ran to its end marker within the time-out,
# the program run in it exited 0, the console shows no kernel problem and the
# kernel is not tainted by a warning/oops/lockup; for check mode also the TAP
# summary must be clean.
set -euo pipefail

scripts=$(cd "$(dirname "$0")" && pwd -P)
repo=$(dirname "$scripts")

# --vmx: the same check run, by scripts/bochs-run.sh under Bochs.
if [[ " $* " == *" --vmx "* ]]; then
	vmx_args=()
	while [ $# -gt 0 ]; do
		case "$1" in
		--vmx | --mode=check) shift ;;
		--mode) [ "${2:-}" = check ] || { echo "vm-run: --vmx runs check mode only" >&2; exit 2; }; shift 2 ;;
		--test) vmx_args+=(--tests "${2?--test needs a value}"); shift 2 ;;
		--test=*) vmx_args+=(--tests "${1#*=}"); shift ;;
		*) vmx_args+=("$1"); shift ;;
		esac
	done
	exec "$scripts/bochs-run.sh" "${vmx_args[@]}"
fi

mode=check
test_name=
timeout=${VIREO_VM_TIMEOUT:-}
while [ $# -gt 0 ]; do
	case "$1" in
	--mode) mode=${2:?--mode needs a value}; shift 2 ;;
	--mode=*) mode=${1#*=}; shift ;;
	--test) test_name=${2?--test needs a value}; shift 2 ;;
	--test=*) test_name=${1#*=}; shift ;;
	--timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
	--timeout=*) timeout=${1#*=}; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "vm-run: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

say() { printf 'vm-run: %s\n' "$*"; }
die() { printf 'vm-run: error: %s\n' "$*" >&2; exit 1; }

case "$mode" in
check) timeout=${timeout:-1500} ;;
demo) timeout=${timeout:-600} ;;
bench) timeout=${timeout:-1200} ;;
shell) timeout=${timeout:-0} ;;
*) die "unknown mode '$mode' (check|demo|bench|shell)" ;;
esac
tcg_thread=${VIREO_VM_TCG_THREAD:-single}
case "$tcg_thread" in
single | multi) ;;
*) die "VIREO_VM_TCG_THREAD must be single or multi, not '$tcg_thread'" ;;
esac
[[ "$timeout" =~ ^[0-9]+$ ]] || die "time-out must be whole seconds, got '$timeout'"
# Everything travels on the kernel command line, split at spaces.
[[ "$test_name" =~ ^[A-Za-z0-9_.:/+-]*$ ]] || die "bad test name '$test_name'"
[[ "$repo" =~ ^/[A-Za-z0-9_./+-]*$ ]] || die "the project path '$repo' must not contain spaces or special characters"
case "$repo/" in
/dev/* | /proc/* | /sys/*) die "the project must not live under /dev, /proc or /sys: the test VM mounts its own there" ;;
esac

kver=${KVER:-}
[ -n "$kver" ] || kver=$("$scripts/kver.sh") || die "no kernel headers found; run 'make deps'"
kernel=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[ -r "$kernel" ] || die "$kernel not found (the VM boots the kernel the module is built for); run 'make deps'"
[ -d "$moddir/kernel" ] || die "$moddir/kernel not found; run 'make deps'"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found; run 'make deps'"
[ -x /bin/busybox ] || die "/bin/busybox not found; run 'make deps'"

out=${VIREO_VM_OUT:-$repo/build}
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
console_log=$out/vm-console.log
tap_log=$out/tap.log
dmesg_log=$out/vm-dmesg.log
qemu_log=$out/qemu.log

# One VM per output directory at a time: they share the log files, and two
# TCG VMs on two cores would only slow each other down.
exec 9>"$out/.vm-run.lock"
if ! flock -n 9; then
	say "another vm-run uses $out; waiting for it"
	flock 9
fi

# --- initramfs ---------------------------------------------------------------

# What the VM needs to mount the host root over virtio-9p and overlay it,
# in load order (each after its dependencies).
modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
	netfs fscache 9pnet 9pnet_virtio 9p overlay)

find_module() {
	find "$moddir/kernel" -name "$1.ko" -o -name "$1.ko.*" | head -n 1
}

build_initramfs() {
	local stage=$1 m src applet
	mkdir -p "$stage"/{bin,dev,proc,sys,mnt,newroot,lib/modules}
	cp /bin/busybox "$stage/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
	done
	: >"$stage/modules.order"
	for m in "${modules[@]}"; do
		src=$(find_module "$m")
		if [ -z "$src" ]; then
			# Built into this kernel: nothing to load.
			grep -q "/$m\.ko\$" "$moddir/modules.builtin" 2>/dev/null && continue
			die "module $m not found under $moddir/kernel"
		fi
		# busybox insmod does not decompress.
		case "$src" in
		*.ko) cp "$src" "$stage/lib/modules/$m.ko" ;;
		*.ko.xz) xz -dc "$src" >"$stage/lib/modules/$m.ko" ;;
		*.ko.gz) gzip -dc "$src" >"$stage/lib/modules/$m.ko" ;;
		*.ko.zst) zstd -qdc "$src" >"$stage/lib/modules/$m.ko" ;;
		*) die "cannot unpack $src" ;;
		esac
		echo "$m" >>"$stage/modules.order"
	done
	install -m 0755 "$scripts/vm-init.sh" "$stage/init"
	# The kernel opens /dev/console for /init before /init can mount devtmpfs.
	if [ "$(id -u)" -eq 0 ]; then
		mknod -m 600 "$stage/dev/console" c 5 1
	fi
	(cd "$stage" && find . -print0 | cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1
}

initramfs=$out/initramfs-$kver.cpio.gz
# Rebuilt when anything that goes into it changes.
initramfs_key=$(
	{
		echo "$kver ${modules[*]}"
		stat -c '%s %Y %n' /bin/busybox
		for m in "${modules[@]}"; do f=$(find_module "$m"); [ -z "$f" ] || stat -c '%s %Y %n' "$f"; done
		cat "$scripts/vm-init.sh"
		sed -n '/^build_initramfs()/,/^}/p' "$0"
	} | sha256sum | cut -c1-16
)
if [ ! -s "$initramfs" ] || [ "$(cat "$initramfs.key" 2>/dev/null)" != "$initramfs_key" ]; then
	say "building $initramfs"
	stage=$(mktemp -d "$out/initramfs.XXXXXX")
	trap 'rm -rf "$stage"' EXIT
	build_initramfs "$stage/root" >"$stage/initramfs.cpio.gz"
	mv "$stage/initramfs.cpio.gz" "$initramfs"
	echo "$initramfs_key" >"$initramfs.key"
	rm -rf "$stage"
	trap - EXIT
fi

# --- kernel image --------------------------------------------------------------

# Under TCG the kernel's own decompressor (xz, for Debian) takes ~3.5 s of
# emulated time before the kernel prints a line. A kernel with CONFIG_PVH can
# instead be booted from its uncompressed ELF image through the PVH entry
# point, so we unpack the payload of the bzImage once on the host (cached) and
# hand QEMU the ELF. Same kernel, same code; only the boot path differs.
# VIREO_VM_BZIMAGE=1, or any failure here, boots /boot/vmlinuz as it is.
extract_vmlinux() {
	local bz=$1 dst=$2 tool off
	local -A magic=([xz]=$'\xfd7zXZ' [gzip]=$'\x1f\x8b\x08' [zstd]=$'\x28\xb5\x2f\xfd')
	for tool in xz gzip zstd; do
		command -v "$tool" >/dev/null || continue
		for off in $(LC_ALL=C grep -abo "${magic[$tool]}" "$bz" | cut -d: -f1); do
			tail -c +$((off + 1)) "$bz" | "$tool" -dc >"$dst" 2>/dev/null || true
			[ "$(head -c 4 "$dst" | od -An -c | tr -d ' ')" = '177ELF' ] && return 0
		done
	done
	rm -f "$dst"
	return 1
}

boot_image=$kernel
if [ "${VIREO_VM_BZIMAGE:-0}" != 1 ] && grep -qx 'CONFIG_PVH=y' "/boot/config-$kver" 2>/dev/null; then
	vmlinux=$out/vmlinux-$kver
	if [ ! -s "$vmlinux" ] || [ "$kernel" -nt "$vmlinux" ]; then
		say "unpacking $kernel for a direct (PVH) boot"
		if extract_vmlinux "$kernel" "$vmlinux.tmp"; then
			mv "$vmlinux.tmp" "$vmlinux"
		else
			say "could not unpack $kernel; booting it compressed"
		fi
	fi
	[ ! -s "$vmlinux" ] || boot_image=$vmlinux
fi

# --- QEMU --------------------------------------------------------------------

# shellcheck disable=SC2054 # commas belong to the values
append=(
	console=ttyS0,115200
	loglevel=5 # the console shows warnings and worse; dmesg has the rest
	log_buf_len=16M # dmesg keeps a whole run, for the scan at the end
	panic=-1   # a panic reboots, and -no-reboot turns that into QEMU exiting
	# Detectors, with margins for TCG on a busy two-core host. A stuck CPU
	# or task is still reported long before the run's time-out.
	sysctl.kernel.hung_task_timeout_secs=30
	rcupdate.rcu_cpu_stall_timeout=60
	watchdog_thresh=20
	"vireovm.mode=$mode"
	"vireovm.dir=$repo"
)
[ -z "$test_name" ] || append+=("vireovm.test=$test_name")
if [ "$mode" = shell ] && [ -t 0 ]; then
	read -r rows cols < <(stty size 2>/dev/null || echo "24 80")
	append+=("vireovm.cols=$cols" "vireovm.rows=$rows")
fi
append_line="${append[*]}"

# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
qemu=(qemu-system-x86_64
	-nodefaults -no-user-config
	-machine pc -accel "tcg,thread=$tcg_thread"
	-cpu EPYC,+svm,+npt
	-smp "${VIREO_VM_SMP:-2}" -m "${VIREO_VM_MEM:-2048}"
	-display none -monitor none -no-reboot
	-kernel "$boot_image" -initrd "$initramfs" -append "$append_line"
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
)
# Serial ports, in order: ttyS0 console, ttyS1 TAP, ttyS2 dmesg.
case "$mode" in
check | bench) qemu+=(-chardev "file,id=con,path=$console_log") ;;
demo) qemu+=(-chardev "stdio,id=con,logfile=$console_log,signal=on") ;;
shell) qemu+=(-chardev "stdio,id=con,logfile=$console_log,signal=off") ;;
esac
qemu+=(-serial chardev:con
	-chardev "file,id=tap,path=$tap_log" -serial chardev:tap
	-chardev "file,id=dmesg,path=$dmesg_log" -serial chardev:dmesg)

rm -f "$console_log" "$tap_log" "$dmesg_log" "$qemu_log"
say "kernel $kver, mode $mode${test_name:+, test $test_name}, time-out ${timeout}s (0: none), TCG thread=$tcg_thread"
say "console: $console_log"

now() { echo "${EPOCHREALTIME//[.,]/}"; } # microseconds
since() { local d=$(($(now) - $1)); printf '%d.%01d' $((d / 1000000)) $((d % 1000000 / 100000)); }

start=$(now)
timed_out=0
qemu_status=0
boot_wall=
if [ "$mode" = shell ]; then
	# In the foreground: the shell needs this terminal as its input.
	if [ "$timeout" -gt 0 ]; then
		timeout --foreground -k 5 "$timeout" "${qemu[@]}" 2>"$qemu_log" || qemu_status=$?
		[ "$qemu_status" -ne 124 ] || timed_out=1
	else
		"${qemu[@]}" 2>"$qemu_log" || qemu_status=$?
	fi
else
	"${qemu[@]}" </dev/null 2>"$qemu_log" &
	qemu_pid=$!
	trap 'kill "$qemu_pid" 2>/dev/null || true' EXIT
	trap 'say "interrupted"; exit 130' INT TERM
	progress_pid=
	if [ "$mode" = check ]; then
		# Live progress: the top-level TAP results as they arrive.
		touch "$tap_log"
		tail -n +1 -F --pid="$qemu_pid" "$tap_log" 2>/dev/null |
			grep --line-buffered -E '^(not )?ok |^Bail out' | sed -u 's/^/  TAP: /' &
		progress_pid=$!
	elif [ "$mode" = bench ]; then
		# Live progress: the benchmark's own lines on the console.
		touch "$console_log"
		tail -n +1 -F --pid="$qemu_pid" "$console_log" 2>/dev/null |
			grep --line-buffered -a '^bench: ' | sed -u 's/^/  /' &
		progress_pid=$!
	fi
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ -z "$boot_wall" ] && grep -q 'vireo-vm: chroot ready' "$console_log" 2>/dev/null; then
			boot_wall=$(since "$start")
			[ "$mode" = demo ] || say "booted to the chroot in ${boot_wall}s"
		fi
		if [ "$timeout" -gt 0 ] && [ $(($(now) - start)) -ge $((timeout * 1000000)) ]; then
			timed_out=1
			say "TIME-OUT after ${timeout}s: stopping QEMU (pid $qemu_pid)"
			kill "$qemu_pid" 2>/dev/null || true
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				kill -0 "$qemu_pid" 2>/dev/null || break
				sleep 0.5
			done
			kill -9 "$qemu_pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	wait "$qemu_pid" || qemu_status=$?
	trap - EXIT INT TERM
	[ -z "$progress_pid" ] || wait "$progress_pid" || true
fi
total_wall=$(since "$start")

# --- verdict -----------------------------------------------------------------

problems=()
end_status=$(sed -n 's/.*VIREO-VM-EXIT=\([0-9]*\).*/\1/p' "$console_log" 2>/dev/null | tail -n 1)
taint=$(sed -n 's/.*VIREO-VM-TAINT=\([0-9]*\).*/\1/p' "$console_log" 2>/dev/null | tail -n 1)
chroot_uptime=$(sed -n 's/.*vireo-vm: chroot ready uptime=\([0-9.]*\).*/\1/p' "$console_log" 2>/dev/null | head -n 1)

if [ -n "$chroot_uptime" ]; then
	say "boot to chroot: ${boot_wall:+${boot_wall}s wall from QEMU start, }${chroot_uptime}s guest uptime; whole run ${total_wall}s"
else
	say "whole run ${total_wall}s; the VM never reached the chroot"
fi

if [ "$timed_out" -eq 1 ]; then
	problems+=("time-out after ${timeout}s (VIREO_VM_TIMEOUT / --timeout)")
elif [ -z "$end_status" ]; then
	problems+=("the VM stopped without its end marker (panic, triple fault or QEMU failure; QEMU exit status $qemu_status)")
elif [ "$end_status" -ne 0 ]; then
	if [ "$end_status" -eq 99 ]; then
		problems+=("the VM's /init failed before running the tests (see the console)")
	else
		problems+=("scripts/in-vm.sh $mode exited with status $end_status")
	fi
fi
if [ "$qemu_status" -ne 0 ] && [ "$timed_out" -eq 0 ]; then
	problems+=("QEMU exited with status $qemu_status")
	# Without the warnings about CPU features TCG does not emulate, which it
	# prints on every start (nrip-save, rdseed, ...).
	say "QEMU said ($qemu_log):"
	grep -v "TCG doesn't support requested feature" "$qemu_log" | tail -n 20 | sed 's/^/    /'
fi

# The dmesg dump is complete only if the VM got to its end marker.
if ! "$scripts/console-scan.sh" --console "$console_log" ${end_status:+--dmesg "$dmesg_log"}; then
	problems+=("kernel problem on the VM console (above)")
fi

# Taint flags that mean the kernel hit trouble (Documentation/admin-guide/
# tainted-kernels.rst): M machine check (4), B bad page (5), D died (7),
# W warning (9), L soft lockup (14). Out-of-tree/unsigned module flags are fine.
if [ -n "$taint" ] && [ $((taint & (1 << 4 | 1 << 5 | 1 << 7 | 1 << 9 | 1 << 14))) -ne 0 ]; then
	problems+=("the VM kernel is tainted ($taint: warning, oops, lockup, bad page or machine check)")
fi

if [ -z "$end_status" ] || [ "$timed_out" -eq 1 ]; then
	if [ "$mode" != demo ] && [ "$mode" != shell ] && [ -s "$console_log" ]; then
		say "last console lines ($console_log):"
		tail -n 30 "$console_log" | tr -d '\r' | sed 's/^/    /'
	fi
fi

summary_status=0
summary=
if [ "$mode" = check ]; then
	echo
	summary=$("$scripts/tap-summary.sh" "$tap_log") || summary_status=$?
	sed '$d' <<<"$summary"
	[ "$summary_status" -eq 0 ] || problems+=("test failures or no test ran (TAP: $tap_log)")
fi

if [ "$mode" = bench ]; then
	# The results table, as bench-boot.sh printed it on the console.
	echo
	sed -n '/^VIREO-BENCH-BEGIN/,/^VIREO-BENCH-END/p' "$console_log" | tr -d '\r' |
		sed '/^VIREO-BENCH-/d'
	echo "(test VM: QEMU TCG, thread=$tcg_thread, ${VIREO_VM_SMP:-2} CPUs)"
fi

for p in "${problems[@]}"; do
	say "FAIL: $p"
done
if [ "$mode" = check ]; then
	# The closing line, alone: "N passed, N failed, N skipped".
	tail -n 1 <<<"$summary"
fi
[ ${#problems[@]} -eq 0 ]
