#!/bin/sh
# /init of the Vireo test VM's initramfs (runs under busybox sh as PID 1).
#
# vm-run.sh packs this file as /init together with a static busybox and the
# modules listed in /modules.order. It turns the host's root file system,
# shared read-only over virtio-9p (mount tag "hostroot"), into a writable root
# by putting a tmpfs-backed overlay on top of it, chroots into that, and runs
# scripts/in-vm.sh from the project directory (the same absolute path as on
# the host). Parameters come from the kernel command line:
#   vireovm.mode=check|demo|shell  vireovm.dir=/abs/repo  vireovm.test=NAME
#   vireovm.cols=N vireovm.rows=N  (terminal size, shell mode)
# The prefix is "vireovm." rather than "vireo." on purpose: modprobe applies
# "MODULE.param=value" words of /proc/cmdline to the module of that name.
#
# Console protocol read by vm-run.sh (through /dev/kmsg, whose path to the
# serial console is synchronous, so nothing is lost at power-off):
#   vireo-vm: chroot ready uptime=SECONDS
#   VIREO-VM-TAINT=N      /proc/sys/kernel/tainted after the run
#   VIREO-VM-EXIT=N       exit status of in-vm.sh (99: /init itself failed)
# The full dmesg is written to the third serial port (ttyS2) at the end.

PATH=/bin
export PATH

mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

root=/newroot
devdir=/dev    # where /dev is mounted now; it moves into the new root later

say() { echo "vireo-vm: $*"; }

kmsg() { echo "<2>$*" >"$devdir/kmsg"; }

finish() {
	if [ -c "$devdir/ttyS2" ]; then
		stty -F "$devdir/ttyS2" raw -echo 2>/dev/null
		dmesg >"$devdir/ttyS2"
	fi
	kmsg "VIREO-VM-EXIT=$1"
	# Let the tty layer drain what user space wrote to the console.
	sleep 0.5
	poweroff -f
	echo o >/proc/sysrq-trigger 2>/dev/null || echo o >"$root/proc/sysrq-trigger"
}

fail() {
	say "FATAL: $*"
	finish 99
}

mode=check
dir=
test=
cols=
rows=
for word in $(cat /proc/cmdline); do
	case "$word" in
	vireovm.mode=*) mode=${word#*=} ;;
	vireovm.dir=*) dir=${word#*=} ;;
	vireovm.test=*) test=${word#*=} ;;
	vireovm.cols=*) cols=${word#*=} ;;
	vireovm.rows=*) rows=${word#*=} ;;
	esac
done
[ -n "$dir" ] || fail "no vireovm.dir= on the kernel command line"

for mod in $(cat /modules.order); do
	insmod "/lib/modules/$mod.ko" || fail "insmod $mod failed"
done

mkdir -p /mnt/lower /mnt/rw "$root"
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose \
	hostroot /mnt/lower || fail "cannot mount the host root (9p tag hostroot)"
mount -t tmpfs -o mode=0755 rw /mnt/rw || fail "cannot mount tmpfs"
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work \
	overlay "$root" || fail "cannot mount the overlay root"

for d in proc sys dev; do
	mkdir -p "$root/$d"
	mount --move "/$d" "$root/$d" || fail "cannot move /$d into the new root"
done
devdir=$root/dev
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts "$root/dev/pts"
mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
# Fresh /tmp and /run, unless the project lives there (a CI clone in /tmp):
# a tmpfs would hide it. The overlay is writable everywhere anyway.
for d in tmp:1777 run:0755; do
	case "$dir/" in
	"/${d%:*}/"*) ;;
	*) mkdir -p "$root/${d%:*}" && mount -t tmpfs -o "mode=${d#*:}" "${d%:*}" "$root/${d%:*}" ;;
	esac
done
mount -t cgroup2 cgroup2 "$root/sys/fs/cgroup" 2>/dev/null
mount -t debugfs debugfs "$root/sys/kernel/debug" 2>/dev/null
mount -t tracefs tracefs "$root/sys/kernel/tracing" 2>/dev/null
hostname vireo-testvm

[ -x "$root$dir/scripts/in-vm.sh" ] || fail "$dir/scripts/in-vm.sh not found in the VM"

read -r uptime _ <"$root/proc/uptime"
kmsg "vireo-vm: chroot ready uptime=$uptime"

# A clean environment: nothing of the initramfs leaks into the tests.
chroot "$root" /usr/bin/env -i \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=linux LANG=C.UTF-8 VIREO_VM=1 \
	VIREO_VM_COLS="$cols" VIREO_VM_ROWS="$rows" \
	/bin/sh -c 'cd "$1" && exec ./scripts/in-vm.sh "$2" "$3"' in-vm "$dir" "$mode" "$test"
status=$?

kmsg "VIREO-VM-TAINT=$(cat "$root/proc/sys/kernel/tainted")"
finish "$status"
