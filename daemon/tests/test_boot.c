// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the boot state and the CPUID policy: the real- and
 * long-mode register state, the long-mode GDT, TSS and page tables written
 * into RAM, image placement and its size checks, and the CPUID masks
 * (against a fake host with every bit set, and against this host).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "cpuid_policy.h"
#include "errinfo.h"
#include "log.h"
#include "tap.h"
#include "vm_config.h"

static char image_path[] = "/tmp/vireod-image-XXXXXX";

static void make_image(size_t size)
{
	uint8_t *buf = malloc(size);
	FILE *f = fopen(image_path, "w");

	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	if (f) {
		fwrite(buf, 1, size, f);
		fclose(f);
	}
	free(buf);
}

static struct vm_config config(enum vm_entry entry, uint64_t mib, unsigned int vcpus,
			       uint64_t load)
{
	struct vm_config cfg = {
		.name = "b", .memory_mib = mib, .vcpus = vcpus, .entry = entry,
		.load_address = load,
	};

	strcpy(cfg.image, image_path);
	return cfg;
}

static void test_real_mode(void)
{
	struct vm_config cfg = config(VM_ENTRY_REAL, 16, 2, 0x10000);
	struct vireo_sregs s;
	struct vireo_regs r;

	boot_vcpu_state(&cfg, 16 << 20, 0, &r, &s);
	ok(s.cs.selector == 0x1000 && s.cs.base == 0x10000 && s.cs.limit == 0xffff &&
	   s.cs.type == 0xb && s.cs.s && s.cs.present && !s.cs.l && !s.cs.db,
	   "real mode: CS = 0x1000, base 0x10000, 64 KiB, 16-bit code");
	ok(s.ds.selector == 0x1000 && s.ss.selector == 0x1000 && s.ss.base == 0x10000 &&
	   s.ds.type == 0x3, "real mode: DS = SS = CS, data segments");
	ok(r.rip == 0 && r.rflags == 0x2 && r.rsp == 0 && r.rdi == 0,
	   "real mode: IP 0, RFLAGS 0x2, SP 0 (first push at 0xfffe), DI = vCPU id");
	ok(s.cr0 == X86_CR0_ET && !s.efer && !s.cr4 && s.tr.present && s.tr.type == 0xb,
	   "real mode: CR0 = ET only, no paging, TR as after RESET");
	boot_vcpu_state(&cfg, 16 << 20, 1, &r, &s);
	ok(r.rsp == 0xff00 && r.rdi == 1, "real mode: vCPU 1 gets the next 256-byte stack");
}

static void test_long_mode_state(void)
{
	struct vm_config cfg = config(VM_ENTRY_LONG, 16, 2, 0x100000);
	struct vireo_sregs s;
	struct vireo_regs r;

	boot_vcpu_state(&cfg, 16 << 20, 1, &r, &s);
	ok(s.cs.selector == BOOT_SEL_CODE64 && s.cs.l == 1 && s.cs.db == 0 && s.cs.present &&
	   s.cs.type == 0xb, "long mode: CS is the 64-bit code segment");
	ok(s.cr0 == (X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG) &&
	   s.cr4 == X86_CR4_PAE && s.efer == (X86_EFER_LME | X86_EFER_LMA) &&
	   s.cr3 == BOOT_PML4_GPA, "long mode: CR0 = PE|ET|NE|PG, CR4 = PAE, EFER = LME|LMA");
	ok(s.tr.selector == BOOT_SEL_TSS && s.tr.base == BOOT_TSS_GPA && s.tr.type == 0xb &&
	   !s.tr.s && s.ldt.unusable && s.gdt.base == BOOT_GDT_GPA && s.gdt.limit == 39,
	   "long mode: TR is the busy 64-bit TSS, LDT unusable, GDT in place");
	ok(r.rip == 0x100000 && r.rsp == (16 << 20) - BOOT_LONG_STACK_BYTES && r.rdi == 1,
	   "long mode: RIP = load address, per-vCPU stack at top of RAM, RDI = id");
}

static void test_long_mode_tables(void)
{
	uint64_t ram_bytes = 16 << 20;
	uint8_t *ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vm_config cfg = config(VM_ENTRY_LONG, 16, 1, 0x100000);
	struct errinfo e = { 0 };
	uint64_t *gdt = (uint64_t *)(ram + BOOT_GDT_GPA);
	uint64_t *pml4 = (uint64_t *)(ram + BOOT_PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(ram + BOOT_PDPT_GPA);
	uint64_t *pd3 = (uint64_t *)(ram + BOOT_PD_GPA + 3 * 4096);
	uint16_t iomap;
	int good = 1;

	make_image(300);
	ok(!boot_load_image(&cfg, ram, ram_bytes, &e), "long mode: image loaded (%s)", e.desc);
	ok(ram[0x100000] == 1 && ram[0x100000 + 299] == (uint8_t)(299 * 7 + 1) &&
	   ram[0x100000 + 300] == 0, "image bytes copied to the load address");
	ok(gdt[0] == 0 && gdt[1] == 0x00af9b000000ffffULL && gdt[2] == 0x00cf93000000ffffULL,
	   "GDT: 64-bit code (L=1, G=1, P, type 0xb) and flat data descriptors");
	ok(gdt[3] == 0x00008b0010800067ULL && gdt[4] == 0,
	   "GDT: 16-byte busy TSS descriptor at 0x1080, limit 0x67");
	memcpy(&iomap, ram + BOOT_TSS_GPA + 0x66, 2);
	ok(iomap == BOOT_TSS_BYTES, "TSS: no I/O permission bitmap");
	ok(pml4[0] == (BOOT_PDPT_GPA | 3) && pml4[1] == 0, "PML4[0] -> PDPT, present + writable");
	ok(boot_mapped_gib(ram_bytes) == 4 && pdpt[3] == ((BOOT_PD_GPA + 3 * 4096) | 3) &&
	   pdpt[4] == 0, "PDPT maps 4 GiB (the minimum) through 4 page directories");
	for (int j = 0; j < 512; j++)
		good &= pd3[j] == (((3ULL << 30) + ((uint64_t)j << 21)) | 0x83);
	ok(good, "PD entries: identity-mapped 2 MiB pages, present + writable + PS");
	ok(boot_mapped_gib(5ULL << 30) == 5 && boot_mapped_gib(64ULL << 30) == 64,
	   "larger RAM is mapped to its end, rounded up to a GiB");
	munmap(ram, ram_bytes);
}

static void test_image_limits(void)
{
	uint64_t ram_bytes = 2 << 20;
	uint8_t *ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vm_config cfg = config(VM_ENTRY_REAL, 2, 1, 0x10000);
	struct errinfo e = { 0 };

	make_image(0x10000 - 256);
	ok(!boot_load_image(&cfg, ram, ram_bytes, &e), "real mode: 64 KiB less one stack fits");
	cfg.vcpus = 2;
	ok(boot_load_image(&cfg, ram, ram_bytes, &e) && strstr(e.desc, "at most 65024"),
	   "real mode: the same image with two vCPU stacks does not (%s)", e.desc);
	cfg = config(VM_ENTRY_LONG, 2, 1, 0x100000);
	make_image((1 << 20) - BOOT_LONG_STACK_BYTES + 1);
	ok(boot_load_image(&cfg, ram, ram_bytes, &e) && strstr(e.desc, "16 KiB of stack"),
	   "long mode: an image running into the stacks is refused");
	make_image(0);
	ok(boot_load_image(&cfg, ram, ram_bytes, &e) && strstr(e.desc, "non-empty"),
	   "an empty image is refused");
	strcpy(cfg.image, "/nonexistent/image.bin");
	ok(boot_load_image(&cfg, ram, ram_bytes, &e) && strstr(e.desc, "No such file"),
	   "a missing image is refused");
	strcpy(cfg.image, "/tmp");
	ok(boot_load_image(&cfg, ram, ram_bytes, &e), "a directory is refused");
	munmap(ram, ram_bytes);
}

/*
 * A host with every feature bit set, extended leaves up to 0x80000021, and
 * XSAVE components 2-7 of 64 bytes each from offset 576 on.
 */
static void fake_host(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	out[0] = out[1] = out[2] = out[3] = 0xffffffff;
	if (leaf == 0xd && subleaf >= 2) {
		out[0] = 64;
		out[1] = 576 + 64 * (subleaf - 2);
		return;
	}
	if (leaf == 0) {
		out[0] = 0x20;
		memcpy(&out[1], "Genu", 4);
		memcpy(&out[3], "ineI", 4);
		memcpy(&out[2], "ntel", 4);
	} else if (leaf == 0x80000000u) {
		out[0] = 0x80000021u;
	}
}

static void fake_host_no_ext(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	fake_host(leaf, subleaf, out);
	if (leaf == 0x80000000u)
		out[0] = 0;
}

static void test_cpuid(void)
{
	/* x87, SSE, AVX, MPX, AVX-512 and PKRU enabled on the host. */
	struct vireo_cpuid *p = cpuid_policy_build(fake_host, 0x2ff, 2345678);
	const struct vireo_cpuid_entry *e0, *e1, *e7, *d0, *d1, *hv, *hvf, *hvt, *x0, *x1, *x7, *x8;
	uint32_t host0[4];
	char sig[13] = { 0 };
	uint32_t cleared = CPUID_1_ECX_VMX | CPUID_1_ECX_SMX | CPUID_1_ECX_MONITOR |
			   CPUID_1_ECX_OSXSAVE;

	e0 = cpuid_policy_find(p, 0, 0);
	e1 = cpuid_policy_find(p, 1, 0);
	e7 = cpuid_policy_find(p, 7, 0);
	d0 = cpuid_policy_find(p, 0xd, 0);
	d1 = cpuid_policy_find(p, 0xd, 1);
	hv = cpuid_policy_find(p, CPUID_LEAF_HYPERVISOR, 0);
	hvf = cpuid_policy_find(p, CPUID_LEAF_HYPERVISOR_FEATURES, 0);
	hvt = cpuid_policy_find(p, CPUID_LEAF_HYPERVISOR_TIMING, 0);
	x0 = cpuid_policy_find(p, 0x80000000u, 0);
	x1 = cpuid_policy_find(p, 0x80000001u, 0);
	x8 = cpuid_policy_find(p, 0x80000008u, 0);
	ok(p->nent <= VIREO_MAX_CPUID_ENTRIES && !p->reserved, "policy within module limits");
	ok(e0 && e0->eax == 0xd && !memcmp(&e0->ebx, "Genu", 4),
	   "leaf 0: vendor passed through, max basic leaf clamped to 0xD");
	ok(e1 && (e1->ecx & CPUID_1_ECX_HYPERVISOR) && !(e1->ecx & cleared) &&
	   (e1->ecx | cleared) == 0xffffffff,
	   "leaf 1: hypervisor bit set; VMX, SMX, MONITOR, OSXSAVE cleared; XSAVE, AVX and the rest kept");
	ok(e1 && (e1->ebx >> 24) == 0 && e1->edx == 0xffffffff, "leaf 1: initial APIC ID zeroed");
	ok(e7 && (e7->flags & VIREO_CPUID_FLAG_SIGNIFICANT_INDEX) && e7->eax == 0 &&
	   (e7->ebx & (CPUID_7_EBX_AVX2 | CPUID_7_EBX_AVX512F | CPUID_7_EBX_BMI2 |
		       CPUID_7_EBX_FSGSBASE | CPUID_7_EBX_SMEP | CPUID_7_EBX_SMAP)) ==
	   (CPUID_7_EBX_AVX2 | CPUID_7_EBX_AVX512F | CPUID_7_EBX_BMI2 |
	    CPUID_7_EBX_FSGSBASE | CPUID_7_EBX_SMEP | CPUID_7_EBX_SMAP) &&
	   (e7->ecx & CPUID_7_ECX_UMIP) &&
	   !(e7->ebx & ((1u << 10) | (1u << 11) | (1u << 4))) &&
	   !(e7->ecx & ((1u << 3) | (1u << 22))) && e7->edx == 0,
	   "leaf 7: AVX2, AVX-512, BMI2, FSGSBASE, SMEP, SMAP, UMIP offered; INVPCID, RTM, HLE, PKU, RDPID not; EDX 0");
	ok(d0 && d0->eax == 0xe7 && d0->edx == 0 && d0->ebx == 576 &&
	   d0->ecx == 576 + 64 * 6,
	   "leaf 0xD.0: x87, SSE, AVX, AVX-512 (not MPX, PKRU); max size 0x%x", d0 ? d0->ecx : 0);
	ok(d1 && d1->eax == (CPUID_D1_EAX_XSAVEOPT | CPUID_D1_EAX_XGETBV1) && !d1->ebx,
	   "leaf 0xD.1: XSAVEOPT and XGETBV1 only (no XSAVEC, XSAVES)");
	ok(cpuid_policy_find(p, 0xd, 2) && cpuid_policy_find(p, 0xd, 7) &&
	   !cpuid_policy_find(p, 0xd, 3) && !cpuid_policy_find(p, 0xd, 9),
	   "leaf 0xD: subleaves of the offered components only");
	if (hv) {
		memcpy(sig, &hv->ebx, 4);
		memcpy(sig + 4, &hv->ecx, 4);
		memcpy(sig + 8, &hv->edx, 4);
	}
	ok(hv && hv->eax == CPUID_LEAF_HYPERVISOR_TIMING && !strcmp(sig, "VireoVireoVi"),
	   "0x40000000: max leaf 0x40000010, signature '%s'", sig);
	ok(hvf && !hvf->eax && !hvf->ebx && !hvf->ecx && !hvf->edx, "0x40000001: no features yet");
	ok(hvt && hvt->eax == 2345678 && hvt->ebx == 1000000 && !hvt->ecx && !hvt->edx,
	   "0x40000010: TSC kHz in EAX, LAPIC timer kHz in EBX");
	ok(!cpuid_policy_find(p, 0x40000002u, 0), "0x40000002-0x4000000f absent (read as zero)");
	ok(x0 && x0->eax == 0x80000008u, "0x80000000: max extended leaf clamped to 0x80000008");
	ok(x1 && !(x1->ecx & CPUID_80000001_ECX_SVM) &&
	   (x1->ecx & (CPUID_80000001_ECX_XOP | CPUID_80000001_ECX_FMA4)),
	   "0x80000001: SVM cleared; XOP, FMA4 kept with AVX state");
	ok(x8 && cpuid_policy_find(p, 0x80000004u, 0) && !cpuid_policy_find(p, 0x80000005u, 0) &&
	   !cpuid_policy_find(p, 0x80000006u, 0),
	   "brand string and address-size leaves present, cache leaves absent");
	x7 = cpuid_policy_find(p, 0x80000007u, 0);
	ok(x7 && !x7->eax && !x7->ebx && !x7->ecx && x7->edx == CPUID_80000007_EDX_INVTSC,
	   "0x80000007: the invariant-TSC bit alone");
	free(p);

	/* A host with XSAVE off: no XSAVE, no AVX, no leaf 0xD. */
	p = cpuid_policy_build(fake_host, 0, 0);
	e1 = cpuid_policy_find(p, 1, 0);
	e7 = cpuid_policy_find(p, 7, 0);
	x1 = cpuid_policy_find(p, 0x80000001u, 0);
	ok(e1 && !(e1->ecx & (CPUID_1_ECX_XSAVE | CPUID_1_ECX_AVX | CPUID_1_ECX_FMA |
			      CPUID_1_ECX_F16C)) &&
	   !cpuid_policy_find(p, 0xd, 0) && e7 && !(e7->ebx & (CPUID_7_EBX_AVX2 | CPUID_7_EBX_AVX512F)) &&
	   x1 && !(x1->ecx & (CPUID_80000001_ECX_XOP | CPUID_80000001_ECX_FMA4)),
	   "host XCR0 0: XSAVE, AVX, FMA, F16C, AVX2, XOP, FMA4 hidden, no leaf 0xD");
	free(p);

	/* x87 and SSE only: XSAVE offered, AVX not. */
	p = cpuid_policy_build(fake_host, 0x3, 0);
	e1 = cpuid_policy_find(p, 1, 0);
	d0 = cpuid_policy_find(p, 0xd, 0);
	ok(e1 && (e1->ecx & CPUID_1_ECX_XSAVE) && !(e1->ecx & CPUID_1_ECX_AVX) &&
	   d0 && d0->eax == 3 && d0->ecx == 576 && !cpuid_policy_find(p, 0xd, 2),
	   "host XCR0 3: XSAVE for x87 and SSE, AVX hidden");
	free(p);

	/* An incomplete AVX-512 triple is not offered. */
	p = cpuid_policy_build(fake_host, 0x67, 0);
	d0 = cpuid_policy_find(p, 0xd, 0);
	ok(d0 && d0->eax == 7, "AVX-512 without all three components: not offered");
	free(p);

	p = cpuid_policy_build(fake_host_no_ext, 0x7, 0);
	x0 = cpuid_policy_find(p, 0x80000000u, 0);
	ok(x0 && x0->eax == 0x80000000u && !cpuid_policy_find(p, 0x80000001u, 0),
	   "a host without extended leaves: none advertised");
	free(p);

	p = cpuid_policy_build(cpuid_host, cpuid_host_xcr0(), 0);
	cpuid_host(0, 0, host0);
	e0 = cpuid_policy_find(p, 0, 0);
	e1 = cpuid_policy_find(p, 1, 0);
	ok(e0 && e0->ebx == host0[1] && e0->ecx == host0[2] && e0->edx == host0[3] &&
	   e1 && (e1->ecx & CPUID_1_ECX_HYPERVISOR) && !(e1->ecx & CPUID_1_ECX_OSXSAVE),
	   "this host: vendor passed through, hypervisor bit set, OSXSAVE left to the module");
	free(p);
}

int main(void)
{
	int fd;

	log_init("test_boot", LOG_LEVEL_ERROR);
	tap_start();
	fd = mkstemp(image_path);
	if (fd < 0) {
		printf("Bail out! cannot create a test image\n");
		return 1;
	}
	close(fd);
	test_real_mode();
	test_long_mode_state();
	test_long_mode_tables();
	test_image_limits();
	test_cpuid();
	unlink(image_path);
	return tap_done();
}
