#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vireo and KVM (kvm_amd on SVM, kvm_intel on VMX) both own the hardware;
# only one may use it at a time.
#
# On Linux 6.1, KVM turns SVM/VMX on in every CPU only while a KVM VM exists
# (EFER.SVME, or CR4.VMXE and VMXON), so the test first creates one
# (tests/helpers/kvm_holder: KVM_CREATE_VM, then wait); vireo.ko must then
# refuse to load with a "vireo:" line in the kernel log.  Once that VM is
# gone and KVM unloaded, vireo loads again; and with vireo loaded, KVM must
# fail to create a VM while vireo keeps working.
#
# Run as root from the repository root, last in the suite: it unloads
# vireo and loads KVM.  It restores the modules to the state it found.

cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh

KO=kmod/vireo.ko
HOLDER=tests/build/kvm_holder
SMOKE=tests/build/hlt_exit

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
[ -f "$KO" ] || tap_skip_all "$KO not built"
[ -x "$HOLDER" ] || tap_skip_all "$HOLDER not built"
if grep -qw svm /proc/cpuinfo; then
	KVM_MOD=kvm_amd HW=SVM
elif grep -qw vmx /proc/cpuinfo; then
	KVM_MOD=kvm_intel HW=VMX
else
	tap_skip_all "neither SVM nor VMX in /proc/cpuinfo"
fi
# -D: the dependencies, as kmod's and busybox's modprobe both take it.
modprobe -D "$KVM_MOD" >/dev/null 2>&1 || tap_skip_all "$KVM_MOD not available"

mod_loaded() { [ -d "/sys/module/$1" ]; }
vireo_was=0; kvm_mod_was=0; kvm_was=0
mod_loaded vireo && vireo_was=1
mod_loaded "$KVM_MOD" && kvm_mod_was=1
mod_loaded kvm && kvm_was=1
holder_pid=
out=$(mktemp)

stop_holder() {
	if [ -n "$holder_pid" ]; then
		kill "$holder_pid" 2>/dev/null
		wait "$holder_pid" 2>/dev/null
		holder_pid=
	fi
}

unload_kvm() {
	[ $kvm_mod_was = 0 ] && mod_loaded "$KVM_MOD" && wait_for 10 rmmod "$KVM_MOD" 2>/dev/null
	[ $kvm_was = 0 ] && mod_loaded kvm && wait_for 10 rmmod kvm 2>/dev/null
	! { [ $kvm_mod_was = 0 ] && mod_loaded "$KVM_MOD"; }
}

cleanup() {
	stop_holder
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

# kvm_holder prints "ready" once its KVM VM exists, or why not and exits.
holder_ready() { grep -qx ready "$out"; }
holder_done() { holder_ready || ! kill -0 "$holder_pid" 2>/dev/null; }
start_holder() {
	: >"$out"
	"$HOLDER" >"$out" 2>&1 &
	holder_pid=$!
	wait_for 30 holder_done
}

tap_plan 7

if mod_loaded vireo && ! rmmod vireo; then
	echo "Bail out! vireo is loaded and in use"
	exit 1
fi

# 1: a KVM VM owns the hardware
modprobe "$KVM_MOD" 2>"$out" || tap_diag "modprobe $KVM_MOD: $(cat "$out")"
start_holder
holder_ready
res=$?
tap_result "a KVM VM exists ($KVM_MOD owns $HW)" $res
[ $res -ne 0 ] && tap_diag_file "$out"

# 2-3: vireo refuses, and says so
kmsg_mark refuse
if [ $res -ne 0 ]; then
	tap_skip "insmod vireo.ko fails while KVM uses $HW" "no KVM VM"
	tap_skip "the refusal is logged as 'vireo: ...'" "no KVM VM"
else
	if insmod "$KO" 2>"$out"; then
		tap_not_ok "insmod vireo.ko fails while KVM uses $HW"
		rmmod vireo
	else
		tap_diag "insmod: $(cat "$out")"
		! mod_loaded vireo
		tap_result "insmod vireo.ko fails while KVM uses $HW" $?
	fi
	refusal=$(kmsg_since | sed 's/^\[[^]]*\] *//' | grep '^vireo:')
	[ -n "$refusal" ]
	tap_result "the refusal is logged as 'vireo: ...'" $?
	[ -n "$refusal" ] && echo "$refusal" | tap_diag_file
fi

# 4: back to vireo once KVM lets go
stop_holder
unload_kvm
res=$?
[ $res -eq 0 ] || tap_diag "could not unload $KVM_MOD"
if [ $res -eq 0 ] && insmod "$KO" 2>"$out" && vireo_wait_dev; then
	tap_ok "vireo loads once the KVM VM is gone and $KVM_MOD unloaded"
else
	tap_diag "insmod: $(cat "$out")"
	tap_not_ok "vireo loads once the KVM VM is gone and $KVM_MOD unloaded"
fi

# 5-6: with vireo loaded, KVM cannot create a VM
if ! mod_loaded vireo; then
	tap_skip "KVM_CREATE_VM fails while vireo is loaded" "vireo not loaded"
	tap_skip "the failure is KVM's refusal (EBUSY)" "vireo not loaded"
else
	if ! modprobe "$KVM_MOD" 2>"$out"; then
		tap_diag "$KVM_MOD does not even load: $(cat "$out")"
	fi
	start_holder
	if holder_ready; then
		stop_holder
		tap_not_ok "KVM_CREATE_VM fails while vireo is loaded"
		tap_skip "the failure is KVM's refusal (EBUSY)" "KVM got a VM"
	else
		wait "$holder_pid"
		rc=$?
		holder_pid=
		tap_diag_file "$out"
		[ $rc -ne 0 ]
		tap_result "KVM_CREATE_VM fails while vireo is loaded" $?
		grep -q "KVM_CREATE_VM: Device or resource busy" "$out"
		tap_result "the failure is KVM's refusal (EBUSY)" $?
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
