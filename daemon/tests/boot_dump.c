// SPDX-License-Identifier: GPL-2.0
/*
 * boot_dump CONFIG.json OUT: builds the VM of CONFIG without the module
 * (a detached VM) and writes the long-mode boot area vireod put in guest
 * RAM (GDT, TSS, page tables: guest-physical BOOT_GDT_GPA up to the last
 * page directory) to OUT.  tests/test_guests_qemu.sh loads it into QEMU to
 * check the tables on an independent x86 implementation.
 */
#include <stdio.h>

#include "boot.h"
#include "errinfo.h"
#include "log.h"
#include "vm.h"

int main(int argc, char **argv)
{
	struct vm_config *cfgs;
	struct errinfo e = { 0 };
	struct vm *vm;
	size_t nr, len;
	FILE *out;

	log_init("boot_dump", LOG_LEVEL_ERROR);
	if (argc != 3) {
		fprintf(stderr, "usage: boot_dump CONFIG.json OUT\n");
		return 2;
	}
	if (vm_config_load_file(argv[1], &cfgs, &nr, &e) || nr != 1 ||
	    cfgs[0].entry != VM_ENTRY_LONG) {
		fprintf(stderr, "boot_dump: %s\n", e.class ? e.desc : "need one long-mode VM");
		return 1;
	}
	vm = vm_create_detached(&cfgs[0], &e);
	if (!vm) {
		fprintf(stderr, "boot_dump: %s\n", e.desc);
		return 1;
	}
	len = BOOT_PD_GPA + boot_mapped_gib(vm->ram_bytes) * 4096 - BOOT_GDT_GPA;
	out = fopen(argv[2], "w");
	if (!out || fwrite(vm->ram + BOOT_GDT_GPA, 1, len, out) != len || fclose(out)) {
		perror(argv[2]);
		return 1;
	}
	vm_destroy(vm, 0);
	return 0;
}
