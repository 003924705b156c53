// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the Linux loader and the firmware tables: boot_params
 * (setup header copy, loader fields, e820), command line, initrd placement,
 * page tables, GDT and the entry state, for a synthetic bzImage and for the
 * real Debian kernel in /boot (skipped if absent); every refusal of a bad
 * kernel, initrd, command line or memory size; the MP table parsed back
 * from guest RAM the way Linux finds it, checksums included; the "kernel"
 * VM config keys.
 */
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "errinfo.h"
#include "fake_bzimage.h"
#include "fw_tables.h"
#include "linux_boot.h"
#include "log.h"
#include "tap.h"
#include "vm.h"
#include "vm_config.h"

#define MIB	(1ULL << 20)

static char kernel_path[] = "/tmp/vireod-kernel-XXXXXX";
static char initrd_path[] = "/tmp/vireod-initrd-XXXXXX";

static uint8_t *ram_alloc(uint64_t bytes)
{
	uint8_t *ram = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return ram == MAP_FAILED ? NULL : ram;
}

static uint64_t rd(const uint8_t *p, size_t off, size_t bytes)
{
	uint64_t v = 0;

	memcpy(&v, p + off, bytes);
	return v;
}

static void write_initrd(size_t bytes)
{
	FILE *f = fopen(initrd_path, "w");

	for (size_t i = 0; f && i < bytes; i++)
		fputc((int)((i * 31 + 7) & 0xff), f);
	if (f)
		fclose(f);
}

static struct vm_config linux_config(uint64_t mib, unsigned int vcpus, const char *cmdline)
{
	struct vm_config cfg = { .name = "lx", .memory_mib = mib, .vcpus = vcpus,
				 .entry = VM_ENTRY_LINUX };

	strcpy(cfg.kernel, kernel_path);
	strcpy(cfg.initrd, initrd_path);
	strcpy(cfg.cmdline, cmdline);
	return cfg;
}

/* Loads cfg into fresh RAM; returns the RAM (caller unmaps) or NULL on error. */
static uint8_t *load(const struct vm_config *cfg, struct linux_layout *l, struct errinfo *e)
{
	uint64_t bytes = cfg->memory_mib * MIB;
	uint8_t *ram = ram_alloc(bytes);

	memset(e, 0, sizeof(*e));
	if (ram && !linux_boot_load(cfg, ram, bytes, l, e))
		return ram;
	if (ram)
		munmap(ram, bytes);
	return NULL;
}

/*
 * The MP table, found and checked as Linux's mpparse.c does: a "_MP_"
 * structure on a 16-byte boundary in the last KiB below 640 KiB, length 1,
 * revision 1 or 4, bytes summing to 0; its "PCMP" table likewise.  Then
 * every entry against the platform fw_tables.h promises.
 */
static void check_mptable(const uint8_t *ram, unsigned int nr_vcpus)
{
	const uint8_t *fp = NULL, *t;
	unsigned int sum = 0, count, cpus = 0, bsps = 0, ioint = 0, lint = 0, last_type = 0;
	unsigned int pin_of_irq[16], ioapic_id = 0xff, ordered = 1, good_cpus = 1;
	size_t len, pos;

	for (size_t a = 0x9fc00; a < 0xa0000; a += 16)
		if (!memcmp(ram + a, "_MP_", 4)) {
			fp = ram + a;
			break;
		}
	ok(fp == ram + FW_MP_FLOATING_GPA, "MP(%u): floating pointer found at 0x9fc00 by a 639 KiB scan", nr_vcpus);
	if (!fp)
		return;
	for (int i = 0; i < 16; i++)
		sum += fp[i];
	ok(sum % 256 == 0 && fp[8] == 1 && fp[9] == 4 && fp[11] == 0 && fp[12] == 0,
	   "MP(%u): floating pointer checksum, length 1, spec 1.4, table present, virtual wire", nr_vcpus);
	t = ram + rd(fp, 4, 4);
	len = rd(t, 4, 2);
	count = (unsigned int)rd(t, 34, 2);
	sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += t[i];
	ok(!memcmp(t, "PCMP", 4) && sum % 256 == 0 && t[6] == 4 && rd(t, 36, 4) == 0xfee00000 &&
	   !memcmp(t + 8, "VIREO   ", 8) && rd(t, 40, 2) == 0 && len == fw_mptable_config_bytes(nr_vcpus) &&
	   rd(fp, 4, 4) + len <= FW_MP_FLOATING_GPA,
	   "MP(%u): PCMP header: checksum, spec 1.4, LAPIC 0xfee00000, %zu bytes below the pointer",
	   nr_vcpus, len);

	memset(pin_of_irq, 0xff, sizeof(pin_of_irq));
	for (pos = 44; count && pos < len; count--) {
		const uint8_t *en = t + pos;

		ordered &= en[0] >= last_type;
		last_type = en[0];
		switch (en[0]) {
		case 0:
			good_cpus &= en[1] == cpus && en[2] == 0x14 && (en[3] & 1) &&
				     !!(en[3] & 2) == (cpus == 0);
			bsps += !!(en[3] & 2);
			cpus++;
			pos += 20;
			continue;
		case 1:
			ok(en[1] == 0 && !memcmp(en + 2, "ISA   ", 6), "MP(%u): bus 0 is ISA", nr_vcpus);
			break;
		case 2:
			ioapic_id = en[1];
			ok(en[1] == nr_vcpus && en[2] == 0x11 && en[3] == 1 && rd(en, 4, 4) == 0xfec00000,
			   "MP(%u): IOAPIC id %u, version 0x11, enabled, at 0xfec00000", nr_vcpus, en[1]);
			break;
		case 3:
			if (en[1] == 0 && rd(en, 2, 2) == 0 && en[4] == 0 && en[5] < 16 && en[6] == ioapic_id)
				pin_of_irq[en[5]] = en[7];
			ioint++;
			break;
		case 4:
			lint += (en[1] == 3 && en[6] == 0xff && en[7] == 0) ||
				(en[1] == 1 && en[6] == 0xff && en[7] == 1);
			break;
		default:
			ok(0, "MP(%u): unknown entry type %u", nr_vcpus, en[0]);
			return;
		}
		pos += 8;
	}
	ok(!count && pos == len && ordered, "MP(%u): entry count matches the length, types ascending", nr_vcpus);
	ok(cpus == nr_vcpus && bsps == 1 && good_cpus,
	   "MP(%u): one enabled processor per vCPU, APIC ids 0..n-1, version 0x14, vCPU 0 the BSP", nr_vcpus);
	sum = pin_of_irq[0] == 2 && pin_of_irq[2] == 0xffffffff && ioint == 15;
	for (unsigned int irq = 1; irq < 16; irq++)
		if (irq != 2)
			sum &= pin_of_irq[irq] == irq;
	ok(sum, "MP(%u): ISA IRQ0 -> pin 2, IRQ n -> pin n, none for the cascade (IRQ2)", nr_vcpus);
	ok(lint == 2, "MP(%u): ExtINT on LINT0 and NMI on LINT1 of every local APIC", nr_vcpus);
}

static void test_mptable(void)
{
	uint8_t *ram = ram_alloc(MIB);
	struct errinfo e = { 0 };
	static const unsigned int counts[] = { 1, 2, 4, 64 };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		ok(!fw_mptable_write(ram, counts[i], 0x00a00f11, 0x178bfbff, &e), "MP(%u): written", counts[i]);
		check_mptable(ram, counts[i]);
	}
	ram[FW_MP_CONFIG_GPA + 50]++;
	ok(fw_checksum(ram + FW_MP_CONFIG_GPA, rd(ram, FW_MP_CONFIG_GPA + 4, 2)) != 0,
	   "a corrupted table no longer sums to zero (the checksum is meaningful)");
	ok(fw_mptable_write(ram, 0, 0, 0, &e) && fw_mptable_write(ram, 200, 0, 0, &e) &&
	   strstr(e.desc, "cannot describe 200 vCPUs"), "0 or 200 vCPUs are refused (%s)", e.desc);
	munmap(ram, MIB);
}

static void test_e820(void)
{
	struct linux_e820_entry m[4];
	unsigned int n;

	n = linux_e820_build(128 * MIB, m);
	ok(n == 3 && m[0].addr == 0 && m[0].size == 0x9f000 && m[0].type == 1 &&
	   m[1].addr == 0x9f000 && m[1].size == 0x1000 && m[1].type == 2 &&
	   m[2].addr == 0x100000 && m[2].addr + m[2].size == 128 * MIB && m[2].type == 1,
	   "e820 128 MiB: RAM to 0x9efff, firmware page reserved, hole to 1 MiB, RAM to the end");
	n = linux_e820_build(3584 * MIB, m);
	ok(n == 3 && m[2].addr + m[2].size == 0xc0000000ULL,
	   "e820 3.5 GiB: RAM stops at 3 GiB, the 32-bit MMIO window is never RAM");
	n = linux_e820_build(5120 * MIB, m);
	ok(n == 4 && m[3].addr == 1ULL << 32 && m[3].size == 1ULL << 30 && m[3].type == 1,
	   "e820 5 GiB: RAM from 4 GiB to the end of RAM");
}

/* The synthetic kernel with every field right. */
static void test_load_fake(void)
{
	struct fake_bzimage k;
	struct vm_config cfg = linux_config(64, 2, "console=ttyS0 root=/dev/ram0");
	struct linux_layout l;
	struct vireo_sregs s;
	struct vireo_regs r;
	struct errinfo e;
	uint64_t *gdt, *pd;
	uint8_t *ram, *bp;
	int same = 1;

	fake_bzimage_init(&k, "ENTRY");
	fake_bzimage_write(&k, kernel_path);
	write_initrd(10000);
	ram = load(&cfg, &l, &e);
	ok(ram != NULL, "fake kernel: loaded (%s)", e.class ? e.desc : "no error");
	if (!ram)
		return;
	bp = ram + LINUX_BOOT_PARAMS_GPA;
	ok(l.kernel_gpa == 0x1000000 && l.entry_rip == 0x1000200 && l.kernel_end == 0x1400000 &&
	   !memcmp(ram + 0x1000000, k.bytes + FAKE_SETUP_BYTES, FAKE_PM_BYTES) &&
	   !strcmp((char *)ram + 0x1000200, "ENTRY"),
	   "protected-mode kernel copied to pref_address 16 MiB, startup_64 at +0x200");
	for (size_t off = 0x1f1; off < 0x26c; off++) {
		if (off == HDR_TYPE_OF_LOADER || (off >= HDR_CODE32_START && off < HDR_CODE32_START + 12) ||
		    (off >= HDR_CMD_LINE_PTR && off < HDR_CMD_LINE_PTR + 4))
			continue;
		same &= bp[off] == k.bytes[off];
	}
	ok(same && rd(bp, HDR_MAGIC, 4) == LINUX_HDR_MAGIC && bp[0x26c] == 0 && bp[BP_SENTINEL] == 0,
	   "boot_params holds the kernel's setup header (0x1f1-0x26b), nothing after it, sentinel 0");
	ok(bp[HDR_TYPE_OF_LOADER] == 0xff && bp[HDR_LOADFLAGS] == LINUX_LOADED_HIGH &&
	   rd(bp, HDR_CODE32_START, 4) == 0x1000000,
	   "type_of_loader 0xff, loadflags LOADED_HIGH without CAN_USE_HEAP, code32_start = load address");
	ok(rd(bp, HDR_CMD_LINE_PTR, 4) == LINUX_CMDLINE_GPA && rd(bp, BP_EXT_CMD_LINE_PTR, 4) == 0 &&
	   !strcmp((char *)ram + LINUX_CMDLINE_GPA, "console=ttyS0 root=/dev/ram0"),
	   "cmd_line_ptr -> the NUL-terminated command line");
	ok(rd(bp, HDR_RAMDISK_IMAGE, 4) == l.initrd_gpa && rd(bp, HDR_RAMDISK_SIZE, 4) == 10000 &&
	   l.initrd_gpa % 4096 == 0 && l.initrd_gpa + 10000 <= 64 * MIB &&
	   l.initrd_gpa + 10000 + 4096 > 64 * MIB && l.initrd_gpa >= l.kernel_end &&
	   ram[l.initrd_gpa + 9999] == (uint8_t)((9999 * 31 + 7) & 0xff) &&
	   rd(bp, BP_EXT_RAMDISK_IMAGE, 4) == 0,
	   "initrd page-aligned at the top of RAM (0x%llx), above the kernel's init_size window",
	   (unsigned long long)l.initrd_gpa);
	ok(bp[BP_E820_ENTRIES] == 3 && rd(bp, BP_E820_TABLE + 40, 8) == 0x100000 &&
	   rd(bp, BP_E820_TABLE + 48, 8) == 63 * MIB && rd(bp, BP_E820_TABLE + 56, 4) == 1 &&
	   rd(bp, BP_E820_TABLE + 36, 4) == 2,
	   "boot_params e820: 3 entries, 20 bytes each, at 0x2d0");

	gdt = (uint64_t *)(ram + BOOT_GDT_GPA);
	ok(!gdt[0] && !gdt[1] && gdt[2] == 0x00af9b000000ffffULL && gdt[3] == 0x00cf93000000ffffULL &&
	   gdt[4] == 0x00008b0010800067ULL && !gdt[5],
	   "GDT: __BOOT_CS 0x10 flat 64-bit code, __BOOT_DS 0x18 flat data, TSS at 0x20");
	pd = (uint64_t *)(ram + BOOT_PD_GPA);
	ok(rd(ram, BOOT_PML4_GPA, 8) == (BOOT_PDPT_GPA | 3) && pd[8] == (0x1000000 | 0x83) &&
	   pd[0] == 0x83 && ((uint64_t *)(ram + BOOT_PD_GPA + 3 * 4096))[511] == (0xffe00000 | 0x83),
	   "page tables identity-map the kernel, boot_params and 4 GiB with 2 MiB pages");

	linux_boot_vcpu_state(&l, 0, &r, &s);
	ok(r.rip == 0x1000200 && r.rsi == LINUX_BOOT_PARAMS_GPA && r.rflags == 0x2 && !r.rdi &&
	   r.rsp == LINUX_STACK_TOP,
	   "vCPU 0: RIP = startup_64, RSI = boot_params, interrupts off");
	ok(s.cs.selector == 0x10 && s.cs.l && !s.cs.db && s.ds.selector == 0x18 &&
	   s.es.selector == 0x18 && s.ss.selector == 0x18 && s.ss.db && s.tr.selector == 0x20 &&
	   s.gdt.base == BOOT_GDT_GPA && s.gdt.limit == 0x2f && s.cr3 == BOOT_PML4_GPA &&
	   s.efer == (X86_EFER_LME | X86_EFER_LMA) && (s.cr0 & X86_CR0_PG) && s.cr4 == X86_CR4_PAE,
	   "vCPU 0: 64-bit mode, CS = __BOOT_CS, DS = ES = SS = __BOOT_DS, paging on");
	linux_boot_vcpu_state(&l, 1, &r, &s);
	ok(s.cs.selector == 0xf000 && s.cs.base == 0xffff0000 && r.rip == 0xfff0 &&
	   s.cr0 == 0x60000010 && !s.efer, "vCPU 1: the INIT state, waiting for a start-up IPI");
	check_mptable(ram, 2);
	munmap(ram, 64 * MIB);
}

/* The Debian kernel the test VM boots, if this host has one. */
static void test_load_real(void)
{
	struct vm_config cfg = linux_config(256, 1, "console=ttyS0 panic=-1");
	uint8_t head[1024], *ram, *file;
	struct linux_image img;
	struct linux_layout l;
	struct errinfo e;
	glob_t g;
	FILE *f;
	long size;
	int parsed;

	if (glob("/boot/vmlinuz-6.1.0-*-amd64", 0, NULL, &g) || !g.gl_pathc) {
		printf("ok %d - # SKIP no /boot/vmlinuz-6.1.0-*-amd64 on this host\n", ++tap_count);
		return;
	}
	strcpy(cfg.kernel, g.gl_pathv[g.gl_pathc - 1]);
	f = fopen(cfg.kernel, "r");
	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 1024 || !(file = malloc((size_t)size))) {
		printf("ok %d - # SKIP %s unreadable\n", ++tap_count, cfg.kernel);
		if (f)
			fclose(f);
		globfree(&g);
		return;
	}
	rewind(f);
	size = (long)fread(file, 1, (size_t)size, f);
	fclose(f);
	memcpy(head, file, sizeof(head));
	memset(&e, 0, sizeof(e));
	parsed = !linux_image_parse(head, sizeof(head), (uint64_t)size, cfg.kernel, &img, &e);
	ok(parsed && img.version >= 0x020c && (img.xloadflags & 1) && img.relocatable &&
	   img.kernel_bytes == (uint64_t)size - img.setup_bytes,
	   "%s: protocol %x.%02x, 64-bit entry, relocatable, init_size %u MiB",
	   cfg.kernel, img.version >> 8, img.version & 0xff, img.init_size >> 20);
	write_initrd(300000);
	ram = load(&cfg, &l, &e);
	ok(ram && l.kernel_gpa == img.pref_address && l.entry_rip == img.pref_address + 0x200 &&
	   !memcmp(ram + l.kernel_gpa, file + img.setup_bytes, img.kernel_bytes) &&
	   !memcmp(ram + LINUX_BOOT_PARAMS_GPA + HDR_VERSION, file + HDR_VERSION, 2) &&
	   !memcmp(ram + LINUX_BOOT_PARAMS_GPA + HDR_PREF_ADDRESS, file + HDR_PREF_ADDRESS, 12),
	   "real kernel loaded whole at pref_address 0x%llx; boot_params carries its header (%s)",
	   (unsigned long long)l.kernel_gpa, e.class ? e.desc : "no error");
	ok(ram && l.initrd_gpa >= l.kernel_end && l.initrd_gpa + 300000 <= 256 * MIB &&
	   !strcmp((char *)ram + LINUX_CMDLINE_GPA, "console=ttyS0 panic=-1"),
	   "real kernel: initrd above its init_size window, command line in place");
	if (ram)
		munmap(ram, 256 * MIB);
	cfg.memory_mib = 64;
	ok(!load(&cfg, &l, &e) && strstr(e.desc, "raise memory_mib"),
	   "real kernel in 64 MiB: refused, init_size does not fit (%s)", e.desc);
	/* Truncated to half: the header's syssize no longer fits. */
	f = fopen(kernel_path, "w");
	if (f) {
		fwrite(file, 1, (size_t)size / 2, f);
		fclose(f);
	}
	cfg.memory_mib = 256;
	strcpy(cfg.kernel, kernel_path);
	ok(!load(&cfg, &l, &e) && strstr(e.desc, "truncated"), "half a real kernel: %s", e.desc);
	free(file);
	globfree(&g);
}

/* One broken field at a time; RAM must stay untouched on refusal. */
static void expect_refusal(void (*breakit)(struct fake_bzimage *), uint64_t mib, size_t len,
			   const char *needle, const char *what)
{
	struct vm_config cfg = linux_config(mib, 1, "console=ttyS0");
	struct fake_bzimage k;
	struct linux_layout l;
	struct errinfo e = { 0 };
	uint8_t *ram = ram_alloc(mib * MIB);
	int untouched = 1;

	fake_bzimage_init(&k, NULL);
	if (breakit)
		breakit(&k);
	if (len)
		k.len = len;
	fake_bzimage_write(&k, kernel_path);
	ok(linux_boot_load(&cfg, ram, mib * MIB, &l, &e) && e.class && strstr(e.desc, needle),
	   "%s: %s", what, e.desc);
	for (uint64_t i = 0; i < mib * MIB; i += 4096)
		untouched &= ram[i] == 0;
	if (!untouched)
		ok(0, "%s: guest RAM was written before the refusal", what);
	munmap(ram, mib * MIB);
}

static void bad_magic(struct fake_bzimage *k) { memcpy(k->bytes + HDR_MAGIC, "HdrZ", 4); }
static void elf(struct fake_bzimage *k) { memcpy(k->bytes, "\x7f" "ELF", 4); }
static void bad_flag(struct fake_bzimage *k) { fake_put16(k->bytes, HDR_BOOT_FLAG, 0); }
static void old_protocol(struct fake_bzimage *k) { fake_put16(k->bytes, HDR_VERSION, 0x0209); }
static void no_64bit(struct fake_bzimage *k) { fake_put16(k->bytes, HDR_XLOADFLAGS, 0x02); }
static void zimage(struct fake_bzimage *k) { k->bytes[HDR_LOADFLAGS] = 0; }
static void long_header(struct fake_bzimage *k) { k->bytes[HDR_JUMP + 1] = 0xa0; }
static void bad_align(struct fake_bzimage *k) { fake_put32(k->bytes, HDR_KERNEL_ALIGNMENT, 0x3000); }
static void low_pref(struct fake_bzimage *k) { fake_put64(k->bytes, HDR_PREF_ADDRESS, 0x8000); }
static void no_init_size(struct fake_bzimage *k) { fake_put32(k->bytes, HDR_INIT_SIZE, 0); }
static void big_syssize(struct fake_bzimage *k) { fake_put32(k->bytes, HDR_SYSSIZE, FAKE_PM_BYTES / 16 + 1); }
static void short_cmdline(struct fake_bzimage *k) { fake_put32(k->bytes, HDR_CMDLINE_SIZE, 8); }

static void test_refusals(void)
{
	struct vm_config cfg = linux_config(24, 1, "");
	struct fake_bzimage k;
	struct linux_layout l;
	struct errinfo e;

	expect_refusal(bad_magic, 24, 0, "no \"HdrS\" signature", "bad magic");
	expect_refusal(elf, 24, 0, "ELF", "an ELF vmlinux");
	expect_refusal(bad_flag, 24, 0, "boot_flag", "no 0xaa55 boot flag");
	expect_refusal(old_protocol, 24, 0, "2.09 is too old", "protocol 2.09");
	expect_refusal(no_64bit, 24, 0, "no 64-bit entry point", "XLF_KERNEL_64 clear");
	expect_refusal(zimage, 24, 0, "zImage", "LOADED_HIGH clear");
	expect_refusal(long_header, 24, 0, "setup header ends", "header longer than boot_params holds");
	expect_refusal(bad_align, 24, 0, "kernel_alignment", "kernel_alignment not a power of two");
	expect_refusal(low_pref, 24, 0, "pref_address", "pref_address below 1 MiB");
	expect_refusal(no_init_size, 24, 0, "init_size is 0", "init_size 0");
	expect_refusal(big_syssize, 24, 0, "truncated", "syssize beyond the file");
	expect_refusal(NULL, 24, 600, "too small", "a 600-byte file");
	expect_refusal(NULL, 24, FAKE_SETUP_BYTES, "setup code alone", "setup sectors only");
	expect_refusal(NULL, 16, 0, "raise memory_mib from 16 to at least 20", "16 MiB: init_size does not fit");
	expect_refusal(short_cmdline, 24, 0, "accepts at most 8", "command line longer than cmdline_size");

	fake_bzimage_init(&k, NULL);
	fake_bzimage_write(&k, kernel_path);
	write_initrd(5 * MIB);
	ok(!load(&cfg, &l, &e) && strstr(e.desc, "raise memory_mib from 24 to at least 25"),
	   "initrd that does not fit above the kernel: %s", e.desc);
	write_initrd(1000);
	ok(load(&cfg, &l, &e) != NULL, "the same VM with a small initrd loads");
	strcpy(cfg.initrd, "/nonexistent/initrd");
	ok(!load(&cfg, &l, &e) && strstr(e.desc, "initrd /nonexistent/initrd: No such file"),
	   "missing initrd: %s", e.desc);
	cfg.initrd[0] = '\0';
	ok(load(&cfg, &l, &e) && !l.initrd_gpa, "no initrd: ramdisk fields stay 0");
	strcpy(cfg.kernel, "/tmp");
	ok(!load(&cfg, &l, &e) && strstr(e.desc, "not a non-empty regular file"), "a directory as kernel: %s", e.desc);
	strcpy(cfg.kernel, "/nonexistent/vmlinuz");
	ok(!load(&cfg, &l, &e) && strstr(e.desc, "No such file"), "missing kernel: %s", e.desc);
}

static int config_error(const char *text, const char *needle)
{
	json_t *obj = json_loads(text, 0, NULL);
	struct vm_config cfg;
	struct errinfo e = { 0 };
	int ret = vm_config_from_json(obj, &cfg, &e);

	json_decref(obj);
	if (!ret || !strstr(e.desc, needle)) {
		printf("# config %s: got '%s'\n", text, ret ? e.desc : "accepted");
		return 0;
	}
	return 1;
}

static void test_config(void)
{
	json_t *obj = json_loads("{\"name\":\"lx\",\"kernel\":\"/boot/k\",\"initrd\":\"/i\",\"cmdline\":\"console=ttyS0\",\"vcpus\":4}", 0, NULL);
	struct vm_config cfg, again;
	struct errinfo e = { 0 };
	json_t *out;

	ok(!vm_config_from_json(obj, &cfg, &e) && cfg.entry == VM_ENTRY_LINUX && cfg.vcpus == 4 &&
	   cfg.memory_mib == 256 && !strcmp(cfg.kernel, "/boot/k") && !strcmp(cfg.initrd, "/i") &&
	   !strcmp(cfg.cmdline, "console=ttyS0") && !cfg.image[0],
	   "kernel config: entry linux, 256 MiB by default (%s)", e.class ? e.desc : "no error");
	json_decref(obj);
	out = vm_config_to_json(&cfg);
	ok(out && !vm_config_from_json(out, &again, &e) && !memcmp(&cfg, &again, sizeof(cfg)) &&
	   !strcmp(json_string_value(json_object_get(out, "entry")), "linux") &&
	   !json_object_get(out, "image") && !json_object_get(out, "load_address"),
	   "kernel config: to_json round-trips, without image keys");
	json_decref(out);
	ok(config_error("{\"name\":\"x\",\"kernel\":\"k\",\"image\":\"i\"}", "mutually exclusive") &&
	   config_error("{\"name\":\"x\"}", "'image' is required (or 'kernel'") &&
	   config_error("{\"name\":\"x\",\"image\":\"i\",\"initrd\":\"r\"}", "'initrd' applies to a Linux 'kernel' only") &&
	   config_error("{\"name\":\"x\",\"image\":\"i\",\"cmdline\":\"c\"}", "'cmdline' applies") &&
	   config_error("{\"name\":\"x\",\"image\":\"i\",\"entry\":\"linux\"}", "goes with 'kernel'") &&
	   config_error("{\"name\":\"x\",\"kernel\":\"k\",\"entry\":\"long\"}", "\"linux\" entry") &&
	   config_error("{\"name\":\"x\",\"kernel\":\"k\",\"load_address\":1048576}", "'load_address' does not apply") &&
	   config_error("{\"name\":\"x\",\"kernel\":\"\"}", "'kernel' must be a non-empty path") &&
	   config_error("{\"name\":\"x\",\"kernel\":\"k\",\"initrd\":5}", "'initrd' must be a string") &&
	   config_error("{\"name\":\"x\",\"kernel\":\"k\",\"cmdline\":\"a\\nb\"}", "control character (0x0a) at byte 1") &&
	   config_error("{\"name\":\"x\",\"kernel\":\"k\",\"vcpus\":65}", "vcpus"),
	   "kernel config errors: exclusivity, misplaced keys, entry, load_address, paths, cmdline, vcpus");
	{
		char big[VM_CMDLINE_MAX + 64];
		char text[sizeof(big) + 64];

		memset(big, 'a', VM_CMDLINE_MAX + 1);
		big[VM_CMDLINE_MAX + 1] = '\0';
		snprintf(text, sizeof(text), "{\"name\":\"x\",\"kernel\":\"k\",\"cmdline\":\"%s\"}", big);
		ok(config_error(text, "at most 4095"), "a 4096-byte cmdline is refused");
	}
}

/* A whole VM built without the module, as vireod does with one. */
static void test_detached_vm(void)
{
	struct vm_config cfg = linux_config(32, 2, "console=ttyS0");
	struct fake_bzimage k;
	struct errinfo e = { 0 };
	struct vm *vm;

	fake_bzimage_init(&k, NULL);
	fake_bzimage_write(&k, kernel_path);
	write_initrd(4096);
	vm = vm_create_detached(&cfg, &e);
	ok(vm && vm->linux_boot.entry_rip == 0x1000200 && vm->linux_boot.initrd_gpa == 32 * MIB - 4096 &&
	   !memcmp(vm->ram + FW_MP_FLOATING_GPA, "_MP_", 4),
	   "vm_create_detached builds a Linux VM: kernel, initrd, MP table (%s)",
	   e.class ? e.desc : "no error");
	vm_destroy(vm, 0);
	cfg.memory_mib = 8;
	ok(!vm_create_detached(&cfg, &e) && strstr(e.desc, "raise memory_mib"),
	   "vm_create_detached refuses a VM too small for its kernel");
}

int main(void)
{
	int kfd, ifd;

	log_init("test_linux_boot", LOG_LEVEL_ERROR);
	tap_start();
	kfd = mkstemp(kernel_path);
	ifd = mkstemp(initrd_path);
	if (kfd < 0 || ifd < 0) {
		printf("Bail out! cannot create temporary files\n");
		return 1;
	}
	close(kfd);
	close(ifd);
	test_mptable();
	test_e820();
	test_load_fake();
	test_load_real();
	test_refusals();
	test_config();
	test_detached_vm();
	unlink(kernel_path);
	unlink(initrd_path);
	return tap_done();
}
