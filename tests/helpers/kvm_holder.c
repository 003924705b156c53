// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_holder: create a KVM VM (KVM_CREATE_VM on /dev/kvm), print "ready"
 * and keep it until killed; or, if KVM refuses, print why and exit 1.
 * Used by kvm_conflict.sh: on Linux 6.1, kvm_amd and kvm_intel turn SVM or
 * VMX on in every CPU while at least one KVM VM exists (hardware_enable_all
 * in kvm_create_vm), so this holds the hardware the way a QEMU/KVM guest
 * would, without QEMU.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

int main(void)
{
	int kvm, vm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("kvm_holder: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		printf("kvm_holder: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
