#!/bin/sh
# /init of the Bochs test VM (runs under busybox sh as PID 1).
#
# scripts/bochs-run.sh boots Debian's kernel in Bochs, which emulates an
# Intel CPU with VMX (EPT, VPID, unrestricted guest), so that the VMX backend
# of vireo.ko can be tested. Bochs has no 9p, so unlike the QEMU test VM
# (scripts/vm-init.sh) there is no host root to mount: bochs-run.sh packs
# what the tests need into this initramfs, with the project tree at the same
# absolute path as on the host, and the initramfs itself is the (writable)
# root file system. Everything written here is gone at power-off.
#
# Parameters come from /etc/vireo-bochs.conf (written by bochs-run.sh; a
# file rather than the kernel command line, so a long test list fits):
#   dir=/abs/repo         the project tree inside the initramfs
#   tests=NAME NAME ...   what tests/run_tests.sh runs (empty: all it knows)
#
# Console protocol read by bochs-run.sh (through /dev/kmsg, whose path to
# the serial console is synchronous, so nothing is lost at power-off); the
# last two are the markers vm-init.sh uses, so the verdicts read the same:
#   vireo-bochs: init ready uptime=SECONDS
#   vireo-bochs: cpu vendor=V vmx=yes|no ept=yes|no cpus=N
#   VIREO-VM-TAINT=N      /proc/sys/kernel/tainted after the run
#   VIREO-VM-EXIT=N       exit status of in-vm.sh (99: /init itself failed)
# The tests run through scripts/in-vm.sh check, unchanged: it writes the TAP
# stream to the second serial port (ttyS1, the host's build/bochs-tap.log)
# and copies it to the console. The full dmesg goes to the third serial port
# (ttyS2, build/bochs-dmesg.log) at the end, for scripts/console-scan.sh.

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

say() { echo "vireo-bochs: $*"; }
kmsg() { echo "<2>$*" >/dev/kmsg; }

finish() {
	if [ -c /dev/ttyS2 ]; then
		# Raw: the dump's lines must not get a \r added (ONLCR).
		stty -F /dev/ttyS2 115200 raw -echo 2>/dev/null
		dmesg >/dev/ttyS2
	fi
	kmsg "VIREO-VM-EXIT=$1"
	# Let the serial ports drain what user space wrote to them; the UART
	# empties at the emulated baud rate.
	sleep 1
	poweroff -f
	echo o >/proc/sysrq-trigger
}

fail() {
	say "FATAL: $*"
	finish 99
}

dir=
tests=
[ -r /etc/vireo-bochs.conf ] || fail "/etc/vireo-bochs.conf missing from the initramfs"
while IFS='=' read -r key value; do
	case "$key" in
	dir) dir=$value ;;
	tests) tests=$value ;;
	esac
done </etc/vireo-bochs.conf
[ -n "$dir" ] || fail "no dir= in /etc/vireo-bochs.conf"

# What the QEMU VM's chroot gets from the host: devpts, shared memory, a
# /tmp and /run, cgroups, debugfs (the initramfs root is a tmpfs already).
mkdir -p /dev/pts /dev/shm /tmp /run /sys/fs/cgroup
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
chmod 1777 /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
hostname vireo-bochsvm

read -r uptime _ </proc/uptime
kmsg "vireo-bochs: init ready uptime=$uptime"

# The facts the VMX tests depend on, for the runner to check and report.
vendor=$(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
has_flag() { grep -m1 '^flags' /proc/cpuinfo | grep -qw "$1" && echo yes || echo no; }
vmx_flags=$(sed -n 's/^vmx flags[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
case " $vmx_flags " in
*" ept "*) ept=yes ;;
*) ept=no ;;
esac
kmsg "vireo-bochs: cpu vendor=$vendor vmx=$(has_flag vmx) ept=$ept cpus=$(grep -c '^processor' /proc/cpuinfo)"
say "vmx flags: $vmx_flags"

[ -x "$dir/scripts/in-vm.sh" ] || fail "$dir/scripts/in-vm.sh not in the initramfs"

# Bochs' UART sends at the programmed baud rate (QEMU's ignores it), and a
# port the console does not own starts at 9600 baud: the TAP stream would
# lag minutes behind the tests. 115200 is the 8250's fastest.
for port in /dev/ttyS1 /dev/ttyS2; do
	stty -F "$port" 115200 2>/dev/null
done

# A clean environment, as vm-init.sh gives in-vm.sh; VIREO_TESTS is the
# subset (tests/run_tests.sh reads it when it gets no argument).
env -i \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=linux LANG=C.UTF-8 VIREO_VM=1 VIREO_BOCHS=1 \
	VIREO_TESTS="$tests" \
	/bin/sh -c 'cd "$1" && exec ./scripts/in-vm.sh check' in-vm "$dir"
status=$?

kmsg "VIREO-VM-TAINT=$(cat /proc/sys/kernel/tainted)"
finish "$status"
