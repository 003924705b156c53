#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vireo and kvm_amd both own SVM; only one may use it at a time.
#
# On Linux 6.1, kvm_amd sets EFER.SVME only while a KVM VM exists, so the
# test starts a paused QEMU/KVM VM first; vireo.ko must then refuse to load
# with a "vireo:" line in the kernel log.  Once that VM is gone and kvm_amd
# unloaded, vireo loads again; and with vireo loaded, QEMU/KVM must fail to
# create a VM while vireo keeps working.
#
# Run as root from the repository root, last in the suite: it unloads
# vireo and loads kvm_amd.  It restores the modules to the state it found.

cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh

KO=kmod/vireo.ko
QEMU=$(command -v qemu-system-x86_64)
QEMU_ARGS="-enable-kvm -S -display none -monitor none -serial none
	   -nodefaults -no-user-config -m 64"
SMOKE=tests/build/hlt_exit

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
[ -f "$KO" ] || tap_skip_all "$KO not built"
[ -n "$QEMU" ] || tap_skip_all "qemu-system-x86_64 not installed"
grep -qw svm /proc/cpuinfo || tap_skip_all "no SVM: the conflict is with kvm_amd"
modprobe -n kvm_amd >/dev/null 2>&1 || tap_skip_all "kvm_amd not available"

mod_loaded() { [ -d "/sys/module/$1" ]; }
vireo_was=0; kvm_amd_was=0; kvm_was=0
mod_loaded vireo && vireo_was=1
mod_loaded kvm_amd && kvm_amd_was=1
mod_loaded kvm && kvm_was=1
qemu_pid=
out=$(mktemp)

stop_qemu() {
	if [ -n "$qemu_pid" ]; then
		kill "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
		qemu_pid=
	fi
}

unload_kvm() {
	[ $kvm_amd_was = 0 ] && mod_loaded kvm_amd && wait_for 10 rmmod kvm_amd 2>/dev/null
	[ $kvm_was = 0 ] && mod_loaded kvm && wait_for 10 rmmod kvm 2>/dev/null
	! { [ $kvm_amd_was = 0 ] && mod_loaded kvm_amd; }
}

cleanup() {
	stop_qemu
	if [ $vireo_was = 0 ] && mod_loaded vireo; then
		wait_for 5 rmmod vireo 2>/dev/null
	fi
	unload_kvm
	if [ $vireo_was = 1 ] && ! mod_loaded vireo; then
		insmod "$KO" || echo "# could not reload vireo" >&2
	fi
	rm -f "$out"
}
trap cleanup EXIT

# The process has created its KVM VM once it holds an anon_inode:kvm-vm fd.
qemu_has_kvm_vm() {
	local fd
	for fd in /proc/"$qemu_pid"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:kvm-vm" ] && return 0
	done
	return 1
}
qemu_gone() { ! kill -0 "$qemu_pid" 2>/dev/null; }

tap_plan 7

if mod_loaded vireo && ! rmmod vireo; then
	echo "Bail out! vireo is loaded and in use"
	exit 1
fi

# 1: a KVM VM owns SVM
modprobe kvm_amd
# shellcheck disable=SC2086
"$QEMU" $QEMU_ARGS >"$out" 2>&1 &
qemu_pid=$!
wait_for 60 qemu_has_kvm_vm
res=$?
tap_result "a paused QEMU/KVM VM is running (kvm_amd owns SVM)" $res
[ $res -ne 0 ] && tap_diag_file "$out"

# 2-3: vireo refuses, and says so
kmsg_mark refuse
if [ $res -ne 0 ]; then
	tap_skip "insmod vireo.ko fails while KVM uses SVM" "no KVM VM"
	tap_skip "the refusal is logged as 'vireo: ...'" "no KVM VM"
else
	if insmod "$KO" 2>"$out"; then
		tap_not_ok "insmod vireo.ko fails while KVM uses SVM"
		rmmod vireo
	else
		tap_diag "insmod: $(cat "$out")"
		! mod_loaded vireo
		tap_result "insmod vireo.ko fails while KVM uses SVM" $?
	fi
	refusal=$(kmsg_since | sed 's/^\[[^]]*\] *//' | grep '^vireo:')
	[ -n "$refusal" ]
	tap_result "the refusal is logged as 'vireo: ...'" $?
	[ -n "$refusal" ] && echo "$refusal" | tap_diag_file
fi

# 4: back to vireo once KVM lets go
stop_qemu
unload_kvm
res=$?
[ $res -eq 0 ] || tap_diag "could not unload kvm_amd"
if [ $res -eq 0 ] && insmod "$KO" 2>"$out" && vireo_wait_dev; then
	tap_ok "vireo loads once the KVM VM is gone and kvm_amd unloaded"
else
	tap_diag "insmod: $(cat "$out")"
	tap_not_ok "vireo loads once the KVM VM is gone and kvm_amd unloaded"
fi

# 5-6: with vireo loaded, KVM cannot create a VM
if ! mod_loaded vireo; then
	tap_skip "QEMU/KVM fails to create a VM while vireo is loaded" "vireo not loaded"
	tap_skip "QEMU/KVM did not get a VM" "vireo not loaded"
else
	if ! modprobe kvm_amd 2>"$out"; then
		tap_diag "kvm_amd does not even load: $(cat "$out")"
	fi
	# shellcheck disable=SC2086
	"$QEMU" $QEMU_ARGS >"$out" 2>&1 &
	qemu_pid=$!
	if wait_for 60 qemu_gone; then
		wait "$qemu_pid"
		rc=$?
		qemu_pid=
		tap_diag "qemu exit status $rc:"
		tap_diag_file "$out"
		[ $rc -ne 0 ]
		tap_result "QEMU/KVM fails to create a VM while vireo is loaded" $?
		tap_ok "QEMU/KVM did not get a VM"
	else
		res=0
		qemu_has_kvm_vm && res=1
		stop_qemu
		tap_not_ok "QEMU/KVM fails to create a VM while vireo is loaded (still running after 60 s)"
		tap_result "QEMU/KVM did not get a VM" $res
	fi
fi

# 7: vireo still works
if [ -x "$SMOKE" ] && mod_loaded vireo; then
	timeout 120 "$SMOKE" >"$out" 2>&1
	rc=$?
	[ $rc -ne 0 ] && tap_diag_file "$out"
	tap_result "vireo still runs guests ($SMOKE)" $rc
else
	tap_skip "vireo still runs guests" "$SMOKE not built or vireo not loaded"
fi

tap_done
