#!/bin/bash
# Run the Vireo kselftest suite in a Bochs VM, on an emulated Intel CPU with
# VMX (EPT, VPID, unrestricted guest), to test the module's VMX backend.
# QEMU TCG, which runs the SVM suite (scripts/vm-run.sh), has no VMX.
#
#   bochs-run.sh [--subset ci|full] [--tests "NAME ..."] [--timeout SECONDS]
#                [--keep]
#
#   --subset ci    the CI subset (default; see SUBSET_CI below and
#                  docs/testing.md for how it was chosen)
#   --subset full  every test that can run on VMX, the Linux-guest boots too
#   --tests LIST   exactly these tests (space- or comma-separated names as
#                  tests/run_tests.sh knows them); overrides --subset
#   --timeout S    the wall-clock limit of the whole Bochs run (default 1800
#                  for ci, 7200 for full; 0: none)
#   --keep         keep the temporary directory (ISO, initramfs tree, bochsrc)
#                  and print its path, for debugging
#
# Environment: KVER (kernel; default scripts/kver.sh), VIREO_BOCHS_TIMEOUT,
# VIREO_BOCHS_OUT (output directory, default build/), VIREO_BOCHS_CPU (Bochs
# CPU model, default corei7_skylake_x), VIREO_BOCHS_SMP (CPUs, default 1 for
# ci and --tests, 2 for full),
# VIREO_BOCHS_MEM (MiB, default 1024), VIREO_BOCHS_IPS (emulated
# instructions per emulated second, default 100000000),
# VIREO_BOCHS_CLEARCPUID (the kernel's clearcpuid=, default
# avx512f,aperfmperf,xsaves,xsavec; see "Kernel command line" below).
#
# How: Bochs has no 9p, so the tests, the module, the daemon and every
# program they run (with its libraries) are packed into an initramfs, with
# the project tree at the same absolute path as here. That and Debian's
# kernel (/boot/vmlinuz-KVER, the kernel the module is built for) go on an
# isolinux CD image, which Bochs boots. The guest's /init is
# scripts/bochs-init.sh; it runs scripts/in-vm.sh check, as the QEMU VM does.
#
# Outputs in $VIREO_BOCHS_OUT: bochs-console.log (COM1, the console),
# bochs-tap.log (COM2, the TAP 13 stream), bochs-dmesg.log (COM3, the whole
# dmesg at the end), bochs.log (Bochs' own log), bochs-stdout.log (Bochs'
# stdout/stderr).
#
# Exit status 0 only if the guest got to its end marker within the time-out,
# the CPU had VMX and EPT, in-vm.sh exited 0, scripts/console-scan.sh found
# no kernel problem, the kernel is not tainted by a warning/oops/lockup, and
# the TAP summary has no failure (and at least one test).
set -euo pipefail

# All of the script is one block, which bash reads whole before running it:
# editing this file during a (long) run cannot break that run.
{
scripts=$(cd "$(dirname "$0")" && pwd -P)
repo=$(dirname "$scripts")

# The CI subset, chosen by time (docs/testing.md, "The VMX backend under
# Bochs"): the exit, guest-state, interrupt-controller and management tests
# that exercise VMX entry and exit, EPT, VMCS set-up and tear-down (vm_leak:
# 100 VMs), the vCPU kick (signal_interrupt), the daemon end to end
# (demo_greeting), and one Linux guest booting to its /init and powering
# off (linux_boot, about 2.5 minutes); the others take seconds under Bochs.
# Left to the full run, for time: module_load (load/unload cycles; the CI
# run still loads and unloads the module once, vireo_unload) and the other
# Linux-guest tests (SMP boots, console, reboot: several minutes each).
SUBSET_CI="lib_selftest guest_sync cpuid_policy io_exit mmio_decode hlt_exit exit_trace
hypercall guest_memory_shared beyond_ram signal_interrupt bad_ioctl exception
triple_fault unknown_exit msr msr_state lapic_timer lapic_ipi lapic_smp lapic_state halt_sleep ioapic
ioapic_state nmi netlink_dump netlink_events netlink_bad vm_leak fpu_state fpu_save pio_fast
demo_greeting linux_boot kvm_conflict"
# Everything that can run on VMX. Left out, because they do not touch the
# backend and need what the initramfs does not carry (QEMU, make, the
# daemon's test tree, ASan): daemon_unit and host/decode, which the QEMU run
# covers. --tests can still name them.
SUBSET_FULL="lib_selftest guest_sync cpuid_policy io_exit mmio_decode hlt_exit exit_trace
hypercall guest_memory_shared beyond_ram signal_interrupt bad_ioctl exception
triple_fault unknown_exit msr msr_state lapic_timer lapic_ipi lapic_smp lapic_state halt_sleep ioapic
ioapic_state nmi netlink_dump netlink_events netlink_bad vm_leak fpu_state fpu_save pio_fast module_load
demo_greeting
linux_boot linux_boot_smp linux_boot_smp4 linux_console linux_reboot
kvm_conflict"

subset=ci
tests=
timeout=${VIREO_BOCHS_TIMEOUT:-}
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--subset) subset=${2:?--subset needs a value}; shift 2 ;;
	--subset=*) subset=${1#*=}; shift ;;
	--tests) tests=${2?--tests needs a value}; shift 2 ;;
	--tests=*) tests=${1#*=}; shift ;;
	--timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
	--timeout=*) timeout=${1#*=}; shift ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bochs-run: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

say() { printf 'bochs-run: %s\n' "$*"; }
die() { printf 'bochs-run: error: %s\n' "$*" >&2; exit 1; }

case "$subset" in
ci) timeout=${timeout:-1800}; [ -n "$tests" ] || tests=$SUBSET_CI ;;
full) timeout=${timeout:-7200}; [ -n "$tests" ] || tests=$SUBSET_FULL ;;
*) die "unknown subset '$subset' (ci|full)" ;;
esac
[[ "$timeout" =~ ^[0-9]+$ ]] || die "time-out must be whole seconds, got '$timeout'"
# One word per test, whatever separated them.
tests=$(tr ',\n' '  ' <<<"$tests" | xargs)
[ -n "$tests" ] || die "no test to run"

cpu_model=${VIREO_BOCHS_CPU:-corei7_skylake_x}
# One CPU for the CI subset, two for the full run: Bochs emulates every CPU
# in one host thread, and a 2-CPU boot measured 1.8 times as long (see
# docs/testing.md). The full run has the SMP tests and covers a vCPU moving
# between physical CPUs (VMCS clear and reload).
if [ "$subset" = full ]; then smp=${VIREO_BOCHS_SMP:-2}; else smp=${VIREO_BOCHS_SMP:-1}; fi
mem=${VIREO_BOCHS_MEM:-1024}
ips=${VIREO_BOCHS_IPS:-100000000}
backend_label="vmx (Bochs $cpu_model)"

kver=${KVER:-}
[ -n "$kver" ] || kver=$("$scripts/kver.sh") || die "no kernel headers found; run 'make deps'"
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || die "$kernel not found (the VM boots the kernel the module is built for); run 'make deps'"
command -v bochs >/dev/null || die "bochs not found; run 'make deps'"
command -v xorriso >/dev/null || die "xorriso not found; run 'make deps'"
for f in /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 \
	/usr/share/bochs/BIOS-bochs-latest /usr/share/bochs/VGABIOS-lgpl-latest /bin/busybox; do
	# -e follows the link: VGABIOS-lgpl-latest points into vgabios.
	[ -e "$f" ] || die "$f not found; run 'make deps'"
done
list=$repo/tests/build/tests.list
[ -r "$list" ] || die "$list missing: build the tests first (make all)"
for t in $tests; do
	cut -d' ' -f1 "$list" | grep -qxF -- "$t" || die "no test called '$t' in $list"
done
[ -f "$repo/kmod/vireo.ko" ] || say "warning: kmod/vireo.ko not built; the module tests will skip"

out=${VIREO_BOCHS_OUT:-$repo/build}
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
console_log=$out/bochs-console.log
tap_log=$out/bochs-tap.log
dmesg_log=$out/bochs-dmesg.log
bochs_log=$out/bochs.log
stdout_log=$out/bochs-stdout.log

# One Bochs run per output directory (they share the log files). A lock of
# its own, not vm-run.sh's: a QEMU run and a Bochs run may go side by side.
exec 9>"$out/.bochs-run.lock"
if ! flock -n 9; then
	say "another bochs-run uses $out; waiting for it"
	flock 9
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-bochs.XXXXXX")
bochs_pid=
cleanup() {
	if [ -n "$bochs_pid" ]; then
		kill -9 "$bochs_pid" 2>/dev/null || true
		wait "$bochs_pid" 2>/dev/null || true
	fi
	if [ "$keep" = 1 ]; then
		say "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

now() { echo "${EPOCHREALTIME//[.,]/}"; } # microseconds
since() { local d=$(($(now) - $1)); printf '%d.%01d' $((d / 1000000)) $((d % 1000000 / 100000)); }

# --- initramfs -----------------------------------------------------------------

root=$work/root
start=$(now)

# Debian's merged /usr: /bin, /sbin, /lib and /lib64 are links into /usr, so
# a program or library copied to the path ldd or `command -v` names lands
# where the dynamic loader and the scripts look for it.
mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{dev,proc,sys,tmp,run,root,etc}
for d in bin sbin lib lib64; do
	ln -s "usr/$d" "$root/$d"
done

# Copy one host file to the same path in the root (following links: the
# copy is the real file under the name asked for; kmod's insmod & co. pick
# their personality from argv[0]). ELF files lose their debug sections.
add_file() {
	local src=$1 dst=$root$1
	[ -e "$dst" ] && return 0
	mkdir -p "$(dirname "$dst")"
	cp -L "$src" "$dst"
	if [ "$(head -c 4 "$dst" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		strip --strip-debug "$dst" 2>/dev/null || true
	fi
}

# A dynamically linked program and every library it needs (ldd lists them
# all, recursively; static programs have none).
add_program() {
	local path=$1 lib
	add_file "$path"
	while read -r lib; do
		add_file "$lib"
	done < <(ldd "$path" 2>/dev/null | grep -oE '/[^ ]+' || true)
}

# Programs that run_tests.sh, in-vm.sh and the tests call, as the real
# Debian programs: busybox's versions lack options they use (timeout -k,
# date +%N, ls --time-style, cpio --reproducible, ...). Busybox fills in the
# rest of the basics, and does insmod/rmmod/lsmod and ip on purpose: kmod
# and iproute2 would bring 6 MiB of libraries (libcrypto, libbpf, ...) for
# loading one uncompressed module and setting lo up.
# sh is Debian's (dash), not busybox: busybox sh runs its own applets before
# anything on PATH, so a #!/bin/sh script (mk-guest-initramfs.sh) got
# busybox cpio, which has no --reproducible, and the Linux guests an empty
# initramfs.
host_programs=(bash sh
	cat chmod cp cut date dirname basename env head id ln ls mkdir mkfifo
	mktemp mv nproc od readlink rm seq sha256sum sleep sort stat stty tail
	tee timeout touch tr uname wc
	grep sed awk find xargs cpio gzip
	dmesg setsid flock)
for p in "${host_programs[@]}"; do
	path=$(command -v "$p") || die "$p not found on this host"
	add_program "$path"
done

cp /bin/busybox "$root/usr/bin/busybox"
for applet in $(/bin/busybox --list-full); do
	# usr/bin/x and bin/x are the same place here.
	applet=usr/${applet#usr/}
	[ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /usr/bin/busybox "$root/$applet"
done

# The Linux-guest tests boot /boot/vmlinuz-$(uname -r), the running kernel,
# and ask python3 for the TSC rate (tests/lib/linux_guest.sh). Debian's
# python3 (not a python3 earlier on PATH) with the part of its library that
# starting it and that one-liner import.
need_linux_guest=0
for t in $tests; do
	case "$t" in linux_*) need_linux_guest=1 ;; esac
done
if [ "$need_linux_guest" = 1 ]; then
	add_file "$kernel"
	[ -x /usr/bin/python3 ] || die "/usr/bin/python3 not found; run 'make deps'"
	add_program "$(readlink -f /usr/bin/python3)"
	ln -sf "$(basename "$(readlink -f /usr/bin/python3)")" "$root/usr/bin/python3"
	pylib=$(/usr/bin/python3 -c 'import os; print(os.path.dirname(os.__file__))')
	mkdir -p "$root$pylib"
	find "$pylib" -maxdepth 1 -name '*.py' -exec cp -t "$root$pylib" {} +
	cp -r "$pylib/encodings" "$pylib/collections" "$root$pylib/"
fi

# The project tree: only what the chosen tests run.
proj=$root$repo
mkdir -p "$proj/tests/build" "$proj/tests/lib" "$proj/scripts" "$proj/kmod"
install -m 0755 "$repo/tests/run_tests.sh" "$proj/tests/"
cp "$repo"/tests/lib/*.sh "$proj/tests/lib/"
cp "$list" "$proj/tests/build/"
for f in in-vm.sh mk-guest-initramfs.sh kver.sh; do
	install -m 0755 "$scripts/$f" "$proj/scripts/"
done
if [ -f "$repo/kmod/vireo.ko" ]; then
	# Without debug sections: 2.3 MiB less to load and unpack in Bochs.
	strip --strip-debug -o "$proj/kmod/vireo.ko" "$repo/kmod/vireo.ko"
fi
for t in $tests; do
	kind=$(awk -v t="$t" '$1 == t { print $2 }' "$list")
	if [ "$kind" = c ]; then
		[ ! -f "$repo/tests/build/$t" ] ||
			strip --strip-debug -o "$proj/tests/build/$t" "$repo/tests/build/$t"
	else
		mkdir -p "$(dirname "$proj/tests/$t.sh")"
		cp "$repo/tests/$t.sh" "$proj/tests/$t.sh"
	fi
done
# The helpers module_load and kvm_conflict run (tests/Makefile's HELPERS).
for f in vm_holder kvm_holder; do
	[ ! -f "$repo/tests/build/$f" ] ||
		strip --strip-debug -o "$proj/tests/build/$f" "$repo/tests/build/$f"
done
# kvm_conflict loads kvm_intel (busybox modprobe, from a modules.dep of
# these three lines of Debian's).
if [[ " $tests " == *" kvm_conflict "* ]]; then
	moddir=/lib/modules/$kver
	kvm_mods="kernel/arch/x86/kvm/kvm.ko kernel/arch/x86/kvm/kvm-intel.ko
		  kernel/virt/lib/irqbypass.ko"
	for m in $kvm_mods; do
		[ -f "$moddir/$m" ] || die "$moddir/$m not found (kvm_conflict needs it)"
		mkdir -p "$(dirname "$root$moddir/$m")"
		cp "$moddir/$m" "$root$moddir/$m"
	done
	grep -E "^kernel/(arch/x86/kvm/kvm(-intel)?|virt/lib/irqbypass)\.ko:" \
		"$moddir/modules.dep" >"$root$moddir/modules.dep" ||
		die "$moddir/modules.dep has no KVM lines"
	# Its last check runs a guest with hlt_exit, chosen or not.
	[ ! -f "$repo/tests/build/hlt_exit" ] ||
		strip --strip-debug -o "$proj/tests/build/hlt_exit" "$repo/tests/build/hlt_exit"
fi
if [ -d "$repo/tests/host/build" ] && [[ " $tests " == *" host/decode "* ]]; then
	mkdir -p "$proj/tests/host"
	cp -r "$repo/tests/host/build" "$proj/tests/host/"
	# Built with ASan: dynamically linked against libasan & co.
	for f in "$repo"/tests/host/build/*; do
		[ ! -x "$f" ] || [ -d "$f" ] || add_program "$f"
	done
fi
# The daemon and the demo guest (demo_greeting, linux_*).
mkdir -p "$proj/daemon"
for f in vireod vireoctl; do
	[ ! -x "$repo/daemon/$f" ] || add_program "$repo/daemon/$f"
done
cp -r "$repo/daemon/examples" "$proj/daemon/"
if [ -d "$repo/daemon/guests" ]; then
	mkdir -p "$proj/daemon/guests"
	cp "$repo"/daemon/guests/*.bin "$proj/daemon/guests/" 2>/dev/null || true
fi

install -m 0755 "$scripts/bochs-init.sh" "$root/init"
printf 'dir=%s\ntests=%s\n' "$repo" "$tests" >"$root/etc/vireo-bochs.conf"
# The kernel opens /dev/console for /init before /init mounts devtmpfs.
# cpio cannot archive a device node it cannot create (without root), so a
# second archive with that one entry follows the first (the kernel unpacks
# concatenated archives, as scripts/mk-guest-initramfs.sh relies on too).
newc_console() {
	local name=dev/console
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		0 $((0020600)) 0 0 1 0 0 0 0 5 1 $((${#name} + 1)) 0 "$name"
	head -c $(((4 - (110 + ${#name} + 1) % 4) % 4)) /dev/zero
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		0 0 0 0 1 0 0 0 0 0 0 11 0 'TRAILER!!!'
	head -c $(((4 - (110 + 11) % 4) % 4)) /dev/zero
}
iso=$work/iso
mkdir -p "$iso/isolinux"
# gzip -1: the kernel's inflate is the fastest of its unpackers, and under
# Bochs unpacking costs more than loading a few more sectors.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet; newc_console) |
	gzip -1 >"$iso/isolinux/initrd.gz"
say "initramfs $(du -k "$iso/isolinux/initrd.gz" | cut -f1) KiB ($(du -sk "$root" | cut -f1) KiB unpacked), built in $(since "$start")s"

# --- boot CD -------------------------------------------------------------------

# Kernel command line, as vm-run.sh's, with these differences:
# - clearcpuid=avx512f: Bochs' corei7_skylake_x reports an XSAVE area size
#   (CPUID 0xD) that does not match its AVX-512 components, and the kernel
#   WARNs about it at boot ("XSAVE consistency problem"). Without AVX-512
#   the sizes agree. clearcpuid taints the kernel with S (CPU out of spec),
#   which the taint check below does not count.
# - clearcpuid=aperfmperf: Bochs advertises APERF/MPERF but has no such
#   MSRs; the kernel reads them on every tick and Bochs logs an error each
#   time.
# - clearcpuid=xsaves,xsavec: Bochs 2.7 writes the AVX component of a
#   compacted XSAVE image (XSAVEC/XSAVES) at byte 416 instead of 576 (its
#   loop starts at the SSE offset, 160, and adds the SSE length), over the
#   XSAVE header. A task whose upper YMM halves are in use when the kernel
#   saves its state (a context switch, or kernel_fpu_begin() in VIREO_RUN)
#   gets a header with non-zero reserved bytes, the XRSTORS on its way back
#   to user space takes a #GP ("Bad FPU state detected"), and the task's
#   registers are reset. tests/fpu_state.c fails this way on every run
#   under Bochs with XSAVES; without XSAVES/XSAVEC the kernel uses the
#   standard format (XSAVEOPT), which Bochs gets right.
# - tsc_early_khz=ips/1000: Bochs' TSC and local APIC timer both count one
#   tick per emulated instruction (ips per emulated second), but
#   corei7_skylake_x declares a 3.5 GHz TSC and a 23.97 MHz crystal in CPUID
#   0x15/0x16. Linux believed both, and the TSC-deadline timer is off (SKX
#   microcode erratum, Bochs reports revision 0): the one-shot LAPIC timer,
#   programmed from the crystal, fired about 146 times early, and each early
#   interrupt was taken, found nothing expired and re-armed the timer. Cheap
#   on its own; with a Vireo guest running, every one of them is a VM exit
#   and a re-entry (about 20 k instructions), which left the Linux guest of
#   linux_boot almost no time at all (35 minutes without a result). Told the
#   real TSC rate, Linux skips the CPUID-derived APIC period, calibrates the
#   LAPIC timer against the PIT, and its clock follows emulated time.
# - no panic=-1: Bochs has no -no-reboot; a reboot would boot the CD again,
#   so a panic halts, and the time-out or the missing end marker reports it.
# shellcheck disable=SC2054 # commas belong to the values
append=(
	console=ttyS0,115200
	loglevel=5 log_buf_len=16M
	"clearcpuid=${VIREO_BOCHS_CLEARCPUID:-avx512f,aperfmperf,xsaves,xsavec}"
	"tsc_early_khz=$((ips / 1000))"
	sysctl.kernel.hung_task_timeout_secs=60
	rcupdate.rcu_cpu_stall_timeout=120
	watchdog_thresh=30
)
cp "$kernel" "$iso/isolinux/vmlinuz"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
cat >"$iso/isolinux/isolinux.cfg" <<EOF
DEFAULT vireo
PROMPT 0
TIMEOUT 0
LABEL vireo
  KERNEL vmlinuz
  APPEND initrd=initrd.gz ${append[*]}
EOF
xorriso -as mkisofs -quiet -o "$work/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table "$iso" 2>"$work/xorriso.log" ||
	{ cat "$work/xorriso.log" >&2; die "xorriso failed"; }

# --- Bochs -----------------------------------------------------------------------

# - cpu: ips sets how many instructions make an emulated second. With
#   clock sync=none, emulated time advances with executed instructions and
#   jumps over idle HLT. 100 M is at or above what Bochs really executes
#   here (25-100 M/s, less when QEMU runs beside it), so the guest's clock
#   runs as fast as the wall clock or slower: the tests' own time-outs and
#   waits stretch with Bochs' slowness instead of firing early, and the
#   runner's wall-clock time-out bounds the whole. reset_on_triple_fault=0:
#   a guest triple fault stops Bochs with a panic in bochs.log instead of a
#   silent reset.
# - display: this build has no "nogui"; rfb with timeout=0 does not wait for
#   a VNC client. It listens on the first free port from 5900 on (on all
#   interfaces), so two runs do not collide.
# - speaker/sound: the default ALSA back end aborts Bochs on a machine
#   without a sound card.
# - panic: fatal ends Bochs on its own panics (e.g. the triple fault).
cat >"$work/bochsrc" <<EOF
megs: $mem
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
cpu: model=$cpu_model, count=$smp, ips=$ips, reset_on_triple_fault=0
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=$work/boot.iso, status=inserted
boot: cdrom
clock: sync=none, time0=local
com1: enabled=1, mode=file, dev=$console_log
com2: enabled=1, mode=file, dev=$tap_log
com3: enabled=1, mode=file, dev=$dmesg_log
display_library: rfb, options="timeout=0"
speaker: enabled=0
sound: driver=dummy
log: $bochs_log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
EOF
# Bochs is built with its debugger, which stops before the first
# instruction unless told to continue; "quit" ends Bochs if the debugger
# ever gets control back.
printf 'c\nquit\n' >"$work/debugger.rc"

rm -f "$console_log" "$tap_log" "$dmesg_log" "$bochs_log" "$stdout_log"
# Bochs creates the serial files at the first byte; the loops below wait on them.
touch "$console_log" "$tap_log" "$dmesg_log"
say "kernel $kver, CPU $cpu_model x$smp, ${mem} MiB, time-out ${timeout}s (0: none)"
say "tests: $tests"
say "console: $console_log"

start=$(now)
timed_out=0
boot_wall=
(cd "$work" && exec bochs -f "$work/bochsrc" -rc "$work/debugger.rc") </dev/null >"$stdout_log" 2>&1 &
bochs_pid=$!
# Live progress: the top-level TAP results as they arrive, each with the
# wall time since the previous one (or since the TAP plan, for the first),
# which is what a test costs under Bochs; the guest's own clock is no
# measure of that (see ips above).
tail -n +1 -F --pid="$bochs_pid" "$tap_log" 2>/dev/null |
	while IFS= read -r line; do
		case "$line" in
		1..*) last=$(now) ;;
		"ok "* | "not ok "* | "Bail out"*)
			t=$(now)
			printf '  TAP: %s  (%s s)\n' "$line" "$(since "${last:-$start}")"
			last=$t
			;;
		esac
	done &
progress_pid=$!
while kill -0 "$bochs_pid" 2>/dev/null; do
	if [ -z "$boot_wall" ] && grep -qa 'vireo-bochs: init ready' "$console_log"; then
		boot_wall=$(since "$start")
		say "booted to /init in ${boot_wall}s"
	fi
	if [ "$timeout" -gt 0 ] && [ $(($(now) - start)) -ge $((timeout * 1000000)) ]; then
		timed_out=1
		say "TIME-OUT after ${timeout}s: stopping Bochs (pid $bochs_pid)"
		kill "$bochs_pid" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$bochs_pid" 2>/dev/null || break
			sleep 0.5
		done
		kill -9 "$bochs_pid" 2>/dev/null || true
		break
	fi
	sleep 1
done
# The guest's ACPI power-off makes Bochs exit 1, so its status says
# nothing; the markers on the console do.
bochs_status=0
wait "$bochs_pid" || bochs_status=$?
bochs_pid=
wait "$progress_pid" 2>/dev/null || true
total_wall=$(since "$start")

# --- verdict ---------------------------------------------------------------------

problems=()
end_status=$(sed -n 's/.*VIREO-VM-EXIT=\([0-9]*\).*/\1/p' "$console_log" | tail -n 1)
taint=$(sed -n 's/.*VIREO-VM-TAINT=\([0-9]*\).*/\1/p' "$console_log" | tail -n 1)
init_uptime=$(sed -n 's/.*vireo-bochs: init ready uptime=\([0-9.]*\).*/\1/p' "$console_log" | head -n 1)
cpu_line=$(sed -n 's/.*\(vireo-bochs: cpu .*\)/\1/p' "$console_log" | head -n 1 | tr -d '\r')

if [ -n "$init_uptime" ]; then
	say "boot to /init: ${boot_wall:-?}s wall from Bochs' start, ${init_uptime}s guest uptime; whole run ${total_wall}s"
else
	say "whole run ${total_wall}s; the guest never reached /init"
fi
[ -z "$cpu_line" ] || say "${cpu_line#vireo-bochs: }"

if [ "$timed_out" -eq 1 ]; then
	problems+=("time-out after ${timeout}s (VIREO_BOCHS_TIMEOUT / --timeout)")
elif [ -z "$end_status" ]; then
	problems+=("Bochs stopped without the end marker (panic, triple fault or Bochs failure; Bochs exit status $bochs_status)")
	# Bochs' own panics (a guest triple fault with reset_on_triple_fault=0,
	# an emulation limit); its error lines are mostly unknown MSRs.
	say "Bochs said ($bochs_log, $stdout_log):"
	{ grep -a '^[0-9]*p\[' "$bochs_log" 2>/dev/null || true; } | tail -n 10 | sed 's/^/    /'
	tail -n 3 "$stdout_log" | sed 's/^/    /'
elif [ "$end_status" -ne 0 ]; then
	if [ "$end_status" -eq 99 ]; then
		problems+=("the guest's /init failed before running the tests (see the console)")
	else
		problems+=("scripts/in-vm.sh check exited with status $end_status")
	fi
fi
if [ -n "$cpu_line" ] && [[ "$cpu_line" != *" vmx=yes ept=yes "* ]]; then
	problems+=("the Bochs CPU lacks VMX or EPT ($cpu_line)")
fi

# The dmesg dump is complete only if the guest got to its end marker.
dump=()
[ -z "$end_status" ] || dump=(--dmesg "$dmesg_log")
if ! "$scripts/console-scan.sh" --console "$console_log" "${dump[@]}"; then
	problems+=("kernel problem on the Bochs console (above)")
fi

# As vm-run.sh: M machine check (4), B bad page (5), D died (7), W warning
# (9), L soft lockup (14). S (2, clearcpuid), O and E (our module) are fine.
if [ -n "$taint" ] && [ $((taint & (1 << 4 | 1 << 5 | 1 << 7 | 1 << 9 | 1 << 14))) -ne 0 ]; then
	problems+=("the guest kernel is tainted ($taint: warning, oops, lockup, bad page or machine check)")
fi

if [ -z "$end_status" ] || [ "$timed_out" -eq 1 ]; then
	say "last console lines ($console_log):"
	tail -n 30 "$console_log" | tr -d '\r' | sed 's/^/    /'
fi

echo
echo "# backend: $backend_label"
summary_status=0
summary=$("$scripts/tap-summary.sh" "$tap_log") || summary_status=$?
sed '$d' <<<"$summary"
[ "$summary_status" -eq 0 ] || problems+=("test failures or no test ran (TAP: $tap_log)")

for p in "${problems[@]}"; do
	say "FAIL: $p"
done
# The closing line, alone: "vmx: N passed, N failed, N skipped".
echo "vmx: $(tail -n 1 <<<"$summary")"
[ ${#problems[@]} -eq 0 ]
exit
}
