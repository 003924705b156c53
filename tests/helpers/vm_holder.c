// SPDX-License-Identifier: GPL-2.0
/*
 * vm_holder MODE: create a VM, keep exactly one kind of reference to it,
 * print "ready <vm_id>" and wait to be killed.  Used by module_load.sh to
 * check that any live reference keeps vireo.ko from being unloaded.
 *
 *   fd       the VM fd (the /dev/vireo fd is closed)
 *   vcpu     a vCPU fd only
 *   ram      the guest RAM mapping only (every fd closed)
 *   run      the mapping of a vCPU's exit record only
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vireo.h"

#define RAM_BYTES (4ULL << 20)

static int die(const char *what)
{
	fprintf(stderr, "vm_holder: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct vireo_vm_config cfg = { .ram_bytes = RAM_BYTES };
	struct vireo_vm_info info = { 0 };
	const char *mode = argc > 1 ? argv[1] : "fd";
	int sys_fd, vm_fd, vcpu_fd;
	uint8_t *ram;
	void *run;

	sys_fd = open("/dev/vireo", O_RDWR | O_CLOEXEC);
	if (sys_fd < 0)
		return die("open /dev/vireo");
	vm_fd = ioctl(sys_fd, VIREO_CREATE_VM, &cfg);
	if (vm_fd < 0)
		return die("VIREO_CREATE_VM");
	close(sys_fd);
	if (ioctl(vm_fd, VIREO_GET_VM_INFO, &info))
		return die("VIREO_GET_VM_INFO");
	vcpu_fd = ioctl(vm_fd, VIREO_CREATE_VCPU, 0UL);
	if (vcpu_fd < 0)
		return die("VIREO_CREATE_VCPU");
	ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vm_fd, 0);
	if (ram == MAP_FAILED)
		return die("mmap RAM");
	memset(ram, 0x5a, 64 * 4096);	/* some guest pages to free later */
	run = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (run == MAP_FAILED)
		return die("mmap run");

	if (!strcmp(mode, "fd")) {
		close(vcpu_fd);
		munmap(ram, RAM_BYTES);
		munmap(run, 4096);
	} else if (!strcmp(mode, "vcpu")) {
		close(vm_fd);
		munmap(ram, RAM_BYTES);
		munmap(run, 4096);
	} else if (!strcmp(mode, "ram")) {
		close(vm_fd);
		close(vcpu_fd);
		munmap(run, 4096);
	} else if (!strcmp(mode, "run")) {
		close(vm_fd);
		close(vcpu_fd);
		munmap(ram, RAM_BYTES);
	} else {
		fprintf(stderr, "usage: vm_holder fd|vcpu|ram|run\n");
		return 2;
	}
	printf("ready %u\n", info.vm_id);
	fflush(stdout);
	for (;;)
		pause();
}
