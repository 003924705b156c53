// SPDX-License-Identifier: GPL-2.0
/*
 * linux_dump CONFIG.json OUTDIR
 *	Builds the Linux VM of CONFIG without the module (a detached VM) and
 *	writes what vireod's loader put in guest RAM, so that
 *	tests/test_linux_qemu.sh can boot it on QEMU's PC model:
 *	  OUTDIR/low.bin     guest-physical 0 - 0x9ffff: page tables, GDT,
 *	                     boot_params, command line, MP table; plus, at
 *	                     0x500 (unused by Linux), the handoff record below
 *	  OUTDIR/kernel.bin  the protected-mode kernel, at its load address
 *	  OUTDIR/initrd.bin  the initramfs, if any
 *	and prints one "ADDRESS FILE" line per file.
 *
 *	The handoff tells tests/qemu_stub.S (mode 'X') vCPU 0's state as
 *	linux_boot_vcpu_state() sets it; all little-endian:
 *	  0x500 'X'    0x508 RIP    0x510 RSI    0x518 RSP
 *	  0x520 GDTR (limit16, base32)    0x52c CS selector (16)
 *	  0x530 data selector (16)    0x534 CR3    0x538 CR4    0x53c CR0
 *	  0x540 EFER (low 32 bits)
 *
 * linux_dump --fake-kernel OUT [PAYLOAD]
 *	Writes the synthetic bzImage of tests/fake_bzimage.h with PAYLOAD
 *	(text, "\n" escapes allowed) at its 64-bit entry point.
 */
#include <stdio.h>
#include <string.h>

#include "errinfo.h"
#include "fake_bzimage.h"
#include "fw_tables.h"
#include "linux_boot.h"
#include "log.h"
#include "vm.h"

#define HANDOFF_GPA	0x500

static int write_region(const char *dir, const char *name, const uint8_t *p, uint64_t len,
			uint64_t gpa)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f)) {
		perror(path);
		return -1;
	}
	printf("0x%llx %s\n", (unsigned long long)gpa, path);
	return 0;
}

static void put(uint8_t *low, unsigned int off, uint64_t v, size_t bytes)
{
	memcpy(low + off, &v, bytes);	/* little-endian host */
}

static int fake_kernel(const char *out, const char *payload)
{
	struct fake_bzimage k;
	char text[512] = "";
	size_t n = 0;

	for (const char *p = payload; p && *p && n + 1 < sizeof(text); p++) {
		if (p[0] == '\\' && p[1] == 'n') {
			text[n++] = '\n';
			p++;
		} else {
			text[n++] = *p;
		}
	}
	text[n] = '\0';
	fake_bzimage_init(&k, text);
	if (fake_bzimage_write(&k, out)) {
		perror(out);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t low[FW_TABLES_END];
	struct vm_config *cfgs;
	struct errinfo e = { 0 };
	struct vireo_sregs s;
	struct vireo_regs r;
	struct vm *vm;
	size_t nr;
	int ret;

	log_init("linux_dump", LOG_LEVEL_ERROR);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "--fake-kernel"))
		return fake_kernel(argv[2], argc == 4 ? argv[3] : NULL);
	if (argc != 3) {
		fprintf(stderr, "usage: linux_dump CONFIG.json OUTDIR | --fake-kernel OUT [PAYLOAD]\n");
		return 2;
	}
	if (vm_config_load_file(argv[1], &cfgs, &nr, &e) || nr != 1 ||
	    cfgs[0].entry != VM_ENTRY_LINUX) {
		fprintf(stderr, "linux_dump: %s\n", e.class ? e.desc : "need one Linux VM");
		return 1;
	}
	vm = vm_create_detached(&cfgs[0], &e);
	if (!vm) {
		fprintf(stderr, "linux_dump: %s\n", e.desc);
		return 1;
	}
	linux_boot_vcpu_state(&vm->linux_boot, 0, &r, &s);
	memcpy(low, vm->ram, sizeof(low));
	low[HANDOFF_GPA] = 'X';
	put(low, 0x508, r.rip, 8);
	put(low, 0x510, r.rsi, 8);
	put(low, 0x518, r.rsp, 8);
	put(low, 0x520, s.gdt.limit, 2);
	put(low, 0x522, s.gdt.base, 4);
	put(low, 0x52c, s.cs.selector, 2);
	put(low, 0x530, s.ds.selector, 2);
	put(low, 0x534, s.cr3, 4);
	put(low, 0x538, s.cr4, 4);
	put(low, 0x53c, s.cr0, 4);
	put(low, 0x540, s.efer, 4);

	ret = write_region(argv[2], "low.bin", low, sizeof(low), 0) ||
	      write_region(argv[2], "kernel.bin", vm->ram + vm->linux_boot.kernel_gpa,
			   vm->linux_boot.kernel_bytes, vm->linux_boot.kernel_gpa) ||
	      (vm->linux_boot.initrd_bytes &&
	       write_region(argv[2], "initrd.bin", vm->ram + vm->linux_boot.initrd_gpa,
			    vm->linux_boot.initrd_bytes, vm->linux_boot.initrd_gpa));
	vm_destroy(vm, 0);
	free(cfgs);
	return ret ? 1 : 0;
}
