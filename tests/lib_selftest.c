// SPDX-License-Identifier: GPL-2.0
/*
 * Host-only checks of the test library: page tables, descriptors, long-mode
 * register state, ELF loading of the test binary and ucall formatting.
 * Needs no /dev/vireo, so it also runs on machines without SVM.
 */
#include <elf.h>
#include <stdlib.h>

#include "kselftest_harness.h"

#include "elf_image.h"
#include "ucall.h"
#include "vireo_vm.h"
#include "x86.h"

#define SYS_AREA	GUEST_SYSTEM_END

TEST(identity_map_translates_0_to_4g)
{
	static const uint64_t probes[] = {
		0, 0x1234, 0x400000 + 123, (64ULL << 20) - 1, 0x40000000,
		0xc0000000, 0xfee00000, 0xfffff000, (4ULL << 30) - 1,
	};
	uint8_t *mem = calloc(1, SYS_AREA);
	uint64_t gpa, *pml4, *pdpt, *pd;
	unsigned int i;

	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, x86_build_identity_map(mem, SYS_AREA, GUEST_PML4_GPA,
					    GUEST_PDPT_GPA, GUEST_PD_GPA,
					    GUEST_IDENTITY_MAP_BYTES));
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		gpa = ~0ULL;
		ASSERT_TRUE(x86_walk(mem, SYS_AREA, GUEST_PML4_GPA, probes[i],
				     &gpa));
		EXPECT_EQ(probes[i], gpa);
	}
	/* Nothing above 4 GiB, nothing non-canonical. */
	EXPECT_FALSE(x86_walk(mem, SYS_AREA, GUEST_PML4_GPA, 4ULL << 30, &gpa));
	EXPECT_FALSE(x86_walk(mem, SYS_AREA, GUEST_PML4_GPA,
			      0x8000000000000000ULL, &gpa));
	EXPECT_FALSE(x86_walk(mem, SYS_AREA, GUEST_PML4_GPA,
			      0xffff800000000000ULL, &gpa));

	/* Entry format: present, writable, 2 MiB leaves in the PDs. */
	pml4 = (uint64_t *)(mem + GUEST_PML4_GPA);
	pdpt = (uint64_t *)(mem + GUEST_PDPT_GPA);
	pd = (uint64_t *)(mem + GUEST_PD_GPA);
	EXPECT_EQ(GUEST_PDPT_GPA | PTE_PRESENT | PTE_WRITE, pml4[0]);
	EXPECT_EQ(0, pml4[1]);
	EXPECT_EQ((GUEST_PD_GPA + 3 * 4096) | PTE_PRESENT | PTE_WRITE, pdpt[3]);
	EXPECT_EQ(0, pdpt[4]);
	EXPECT_EQ((2ULL << 20) | PTE_PRESENT | PTE_WRITE | PTE_LARGE, pd[1]);
	/* The tables stay inside the system area. */
	EXPECT_LE(GUEST_PD_GPA + 4 * 4096, GUEST_GDT_GPA);
	free(mem);
}

TEST(identity_map_rejects_bad_layout)
{
	uint8_t *mem = calloc(1, SYS_AREA);

	ASSERT_NE(NULL, mem);
	EXPECT_EQ(-EINVAL, x86_build_identity_map(mem, SYS_AREA,
		  GUEST_PML4_GPA, GUEST_PDPT_GPA, GUEST_PD_GPA, 3ULL << 20));
	EXPECT_EQ(-EINVAL, x86_build_identity_map(mem, SYS_AREA,
		  GUEST_PML4_GPA + 8, GUEST_PDPT_GPA, GUEST_PD_GPA,
		  GUEST_IDENTITY_MAP_BYTES));
	/* 16 page directories do not fit below 0x10000 from 0x3000. */
	EXPECT_EQ(-EINVAL, x86_build_identity_map(mem, SYS_AREA,
		  GUEST_PML4_GPA, GUEST_PDPT_GPA, GUEST_PD_GPA, 16ULL << 30));
	free(mem);
}

TEST(gdt_descriptors)
{
	uint8_t *mem = calloc(1, SYS_AREA);
	uint64_t *gdt;

	ASSERT_NE(NULL, mem);
	/* Well-known encodings (as in Linux's GDT_ENTRY_INIT users). */
	EXPECT_EQ(0x00af9b000000ffffULL,
		  x86_desc_encode(0, 0xffffffff, 0xb, 1, 0, 1, 0, 1, 0, 1));
	EXPECT_EQ(0x00cf93000000ffffULL,
		  x86_desc_encode(0, 0xffffffff, 0x3, 1, 0, 1, 0, 0, 1, 1));
	EXPECT_EQ(0x12008b3456780067ULL,
		  x86_desc_encode(0x12345678, 0x67, 0xb, 0, 0, 1, 0, 0, 0, 0));

	ASSERT_EQ(0, x86_build_gdt_tss(mem, SYS_AREA, GUEST_GDT_GPA,
				       GUEST_TSS_GPA, GUEST_IDT_GPA));
	gdt = (uint64_t *)(mem + GUEST_GDT_GPA);
	EXPECT_EQ(0, gdt[0]);
	EXPECT_EQ(0x00af9b000000ffffULL, gdt[GDT_SEL_CODE / 8]);
	EXPECT_EQ(0x00cf93000000ffffULL, gdt[GDT_SEL_DATA / 8]);
	EXPECT_EQ(0x00008b0080000067ULL, gdt[GDT_SEL_TSS / 8]);
	EXPECT_EQ(0, gdt[GDT_SEL_TSS / 8 + 1]);
	EXPECT_EQ(GDT_LIMIT + 1, (GDT_SEL_TSS / 8 + 2) * 8);
	free(mem);
}

TEST(long_mode_sregs)
{
	struct vireo_sregs s;
	unsigned int i;

	memset(&s, 0xff, sizeof(s));
	x86_sregs_long_mode(&s, GUEST_PML4_GPA);
	EXPECT_EQ(0x80010033ULL, s.cr0);
	EXPECT_EQ(0x620ULL, s.cr4);
	EXPECT_EQ(0x500ULL, s.efer);
	EXPECT_EQ(GUEST_PML4_GPA, s.cr3);
	EXPECT_EQ(0, s.efer & X86_EFER_SVME);
	for (i = 0; i < ARRAY_SIZE(s.reserved); i++)
		EXPECT_EQ(0, s.reserved[i]);

	EXPECT_EQ(GDT_SEL_CODE, s.cs.selector);
	EXPECT_EQ(0xb, s.cs.type);
	EXPECT_EQ(1, s.cs.l);
	EXPECT_EQ(0, s.cs.db);
	EXPECT_EQ(1, s.cs.g);
	EXPECT_EQ(1, s.cs.present);
	EXPECT_EQ(0, s.cs.padding);
	EXPECT_EQ(GDT_SEL_DATA, s.ss.selector);
	EXPECT_EQ(0x3, s.ss.type);
	EXPECT_EQ(1, s.ss.db);
	EXPECT_EQ(GDT_SEL_TSS, s.tr.selector);
	EXPECT_EQ(0xb, s.tr.type);
	EXPECT_EQ(0, s.tr.s);
	EXPECT_EQ(TSS_LIMIT, s.tr.limit);
	EXPECT_EQ(GUEST_TSS_GPA, s.tr.base);
	EXPECT_EQ(1, s.ldt.unusable);
	EXPECT_EQ(GUEST_IDT_GPA, s.idt.base);
	EXPECT_EQ(GUEST_IDT_LIMIT, s.idt.limit);
	EXPECT_EQ(256 * 16 - 1, GUEST_IDT_LIMIT);
	EXPECT_EQ(GDT_LIMIT, s.gdt.limit);
	EXPECT_EQ(0, s.gdt.padding[0]);
}

TEST(idt_gates)
{
	uint64_t handlers[GUEST_IDT_VECTORS] = { 0 }, gate[2], *idt;
	uint8_t *mem = calloc(1, SYS_AREA);

	ASSERT_NE(NULL, mem);
	/* Offset split 15:0 / 31:16 / 63:32, selector, P=1 DPL=0 type=0xe. */
	x86_idt_gate_encode(gate, 0x0000123456789abcULL, GDT_SEL_CODE);
	EXPECT_EQ(0x56788e0000089abcULL, gate[0]);
	EXPECT_EQ(0x1234ULL, gate[1]);

	handlers[0] = 0x401000;
	handlers[13] = 0xffffffff81234567ULL;
	memset(mem, 0xaa, SYS_AREA);
	ASSERT_EQ(0, x86_build_idt(mem, SYS_AREA, GUEST_IDT_GPA, handlers,
				   GUEST_IDT_VECTORS));
	idt = (uint64_t *)(mem + GUEST_IDT_GPA);
	EXPECT_EQ(0x00408e0000081000ULL, idt[0]);
	EXPECT_EQ(0, idt[1]);
	EXPECT_EQ(0, idt[2 * 1]);	/* no handler: not present */
	EXPECT_EQ(0, idt[2 * 1 + 1]);
	EXPECT_EQ(0x81238e0000084567ULL, idt[2 * 13]);
	EXPECT_EQ(0xffffffffULL, idt[2 * 13 + 1]);
	/* Nothing written past the last gate. */
	EXPECT_EQ(0xaaaaaaaaaaaaaaaaULL, idt[2 * GUEST_IDT_VECTORS]);

	EXPECT_EQ(-EINVAL, x86_build_idt(mem, SYS_AREA, SYS_AREA - 16,
					 handlers, 2));
	EXPECT_EQ(-EINVAL, x86_build_idt(mem, SYS_AREA, 0, handlers, 257));

	free(mem);
}

/*
 * The guest's exception stubs, read as the host's own code: a "push $0"
 * (6a 00) stands in for the error code exactly where the CPU pushes none,
 * then "push $vector" (6a NN).
 */
TEST(exception_stubs)
{
	static const uint8_t with_error_code[] = { 8, 10, 11, 12, 13, 14, 17,
						   21, 29, 30 };
	unsigned int i, j;

	for (i = 0; i < GUEST_NR_EXCEPTIONS; i++) {
		const uint8_t *stub = (const uint8_t *)guest_exception_stubs[i];
		bool has_error = false;

		for (j = 0; j < ARRAY_SIZE(with_error_code); j++)
			has_error |= with_error_code[j] == i;
		EXPECT_EQ(guest_exception_stubs[0] + 16 * i,
			  guest_exception_stubs[i]);
		if (has_error) {
			EXPECT_EQ(0x6a, stub[0]);
			EXPECT_EQ(i, stub[1]) TH_LOG("vector %u", i);
		} else {
			EXPECT_EQ(0x6a, stub[0]);
			EXPECT_EQ(0, stub[1]) TH_LOG("vector %u", i);
			EXPECT_EQ(0x6a, stub[2]);
			EXPECT_EQ(i, stub[3]) TH_LOG("vector %u", i);
		}
		EXPECT_EQ((EXCEPTION_ERROR_CODE_MASK >> i) & 1, has_error);
	}
}

/*
 * The interrupt stubs (vectors 32-255) continue at the same stride: each
 * pushes a 0 for the error code, then its vector (as a sign-extended
 * imm8 below 128, an imm32 above), and the IDT gets their addresses.
 */
TEST(interrupt_stubs)
{
	unsigned int i;

	for (i = GUEST_NR_EXCEPTIONS; i < GUEST_NR_VECTORS; i++) {
		const uint8_t *stub = (const uint8_t *)guest_exception_stubs[i];

		ASSERT_EQ(guest_exception_stubs[0] + 16 * i,
			  guest_exception_stubs[i]) TH_LOG("vector %u", i);
		EXPECT_EQ(0x6a, stub[0]);
		EXPECT_EQ(0, stub[1]);
		if (i < 128) {
			EXPECT_EQ(0x6a, stub[2]) TH_LOG("vector %u", i);
			EXPECT_EQ(i, stub[3]) TH_LOG("vector %u", i);
		} else {
			uint32_t imm;

			memcpy(&imm, stub + 3, sizeof(imm));
			EXPECT_EQ(0x68, stub[2]) TH_LOG("vector %u", i);
			EXPECT_EQ(i, imm) TH_LOG("vector %u", i);
		}
	}
}

static const char rodata_marker[] = "vireo rodata marker";
static uint64_t data_marker = 0x5eed5eed5eed5eedULL;
static uint64_t bss_marker;

static int __attribute__((noinline)) some_function(int x)
{
	return x * 3 + 1;
}

TEST(elf_loads_self_at_link_addresses)
{
	uint64_t mem_bytes = GUEST_FREE_GPA;
	struct elf_image img;
	const void *self;
	size_t size;
	uint8_t *mem;

	self = elf_self(&size);
	ASSERT_EQ(ET_EXEC, ((const Elf64_Ehdr *)self)->e_type);
	mem = malloc(mem_bytes);
	ASSERT_NE(NULL, mem);
	memset(mem, 0xaa, mem_bytes);

	bss_marker = 0x1111;	/* the guest must still see zero */
	data_marker++;		/* ...and the initial value */

	ASSERT_EQ(0, elf_load_buffer(self, size, mem, mem_bytes,
				     GUEST_SYSTEM_END, mem_bytes, &img));
	EXPECT_GE(img.lowest, 0x400000);
	EXPECT_LE(img.highest, GUEST_FREE_GPA);
	EXPECT_GE(img.nr_load, 2);

	EXPECT_EQ(0, memcmp(mem + (uintptr_t)some_function, some_function, 32));
	EXPECT_EQ(0, memcmp(mem + (uintptr_t)guest_code_returned,
			    guest_code_returned, 16));
	EXPECT_EQ(0, memcmp(rodata_marker, mem + (uintptr_t)rodata_marker,
			    sizeof(rodata_marker)));
	EXPECT_EQ(0x5eed5eed5eed5eedULL,
		  *(uint64_t *)(mem + (uintptr_t)&data_marker));
	EXPECT_EQ(0, *(uint64_t *)(mem + (uintptr_t)&bss_marker));
	EXPECT_EQ(0xaa, mem[img.lowest - 1]);
	free(mem);
}

TEST(elf_rejects_bad_images)
{
	uint64_t mem_bytes = GUEST_FREE_GPA;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	const void *self;
	uint8_t *copy, *mem;
	unsigned int i;
	size_t size;

	self = elf_self(&size);
	copy = malloc(size);
	mem = malloc(mem_bytes);
	ASSERT_NE(NULL, copy);
	ASSERT_NE(NULL, mem);
	eh = (Elf64_Ehdr *)copy;
	ph = (Elf64_Phdr *)(copy + eh->e_phoff);

	EXPECT_EQ(-ENOEXEC, elf_load_buffer(self, 16, mem, mem_bytes, 0,
					    mem_bytes, NULL));
	memcpy(copy, self, size);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	EXPECT_EQ(-ENOEXEC, elf_load_buffer(copy, size, mem, mem_bytes, 0,
					    mem_bytes, NULL));
	memcpy(copy, self, size);
	eh->e_type = ET_DYN;
	EXPECT_EQ(-ENOEXEC, elf_load_buffer(copy, size, mem, mem_bytes, 0,
					    mem_bytes, NULL));
	memcpy(copy, self, size);
	eh->e_phoff = size - 8;
	EXPECT_EQ(-EINVAL, elf_load_buffer(copy, size, mem, mem_bytes, 0,
					   mem_bytes, NULL));

	/* A window that excludes the image, and segments that lie. */
	EXPECT_EQ(-ERANGE, elf_load_buffer(self, size, mem, mem_bytes,
					   0x500000, mem_bytes, NULL));
	EXPECT_EQ(-ERANGE, elf_load_buffer(self, size, mem, 0x410000, 0,
					   0x410000, NULL));
	for (i = 0; i < eh->e_phnum; i++) {
		memcpy(copy, self, size);
		if (ph[i].p_type != PT_LOAD)
			continue;
		ph[i].p_offset = size;
		EXPECT_EQ(-EINVAL, elf_load_buffer(copy, size, mem, mem_bytes,
						   0, mem_bytes, NULL));
		memcpy(copy, self, size);
		ph[i].p_filesz = ph[i].p_memsz + 1;
		EXPECT_EQ(-EINVAL, elf_load_buffer(copy, size, mem, mem_bytes,
						   0, mem_bytes, NULL));
		memcpy(copy, self, size);
		ph[i].p_vaddr = UINT64_MAX - 0x1000;
		EXPECT_EQ(-ERANGE, elf_load_buffer(copy, size, mem, mem_bytes,
						   0, mem_bytes, NULL));
		break;
	}
	free(copy);
	free(mem);
}

TEST(symbolize)
{
	char buf[128];

	elf_symbolize((uint64_t)some_function + 3, buf, sizeof(buf));
	EXPECT_STREQ("some_function+0x3", buf);
	elf_symbolize(0x10, buf, sizeof(buf));
	EXPECT_STREQ("?", buf);
}

/* A fake VM whose "guest memory" is a host buffer, for ucall decoding. */
static void fake_vm(struct vireo_vm *vm, uint8_t *mem, uint64_t size)
{
	memset(vm, 0, sizeof(*vm));
	vm->ram = mem;
	vm->ram_bytes = size;
}

TEST(ucall_printf_format)
{
	static const char fmt[] =
		"stage %d value 0x%lx name %s neg %d pct %% c=%c u8=%hhu w=[%5u]";
	struct ucall uc = { .cmd = UCALL_PRINTF };
	uint8_t mem[4096] = { 0 };
	struct vireo_vm vm;
	char out[256];

	fake_vm(&vm, mem, sizeof(mem));
	memcpy(mem + 0x100, fmt, sizeof(fmt));
	memcpy(mem + 0x800, "vireo", 6);
	uc.text = 0x100;
	uc.nargs = UCALL_MAX_ARGS;
	uc.args[0] = 0xffffffff00000003ULL;	/* %d takes the low 32 bits */
	uc.args[1] = 0xdeadbeefULL;
	uc.args[2] = 0x800;
	uc.args[3] = (uint32_t)-5;
	uc.args[4] = 'V';
	uc.args[5] = 0x1ff;
	ucall_format_printf(&vm, &uc, out, sizeof(out));
	/* A seventh conversion has no argument and prints 0. */
	EXPECT_STREQ("stage 3 value 0xdeadbeef name vireo neg -5 pct % c=V u8=255 w=[    0]",
		     out);
	/* Output is truncated to the buffer, NUL-terminated. */
	ucall_format_printf(&vm, &uc, out, 12);
	EXPECT_STREQ("stage 3 val", out);
}

TEST(ucall_strings_are_bounded)
{
	struct ucall uc = { .cmd = UCALL_ASSERT, .line = 42, .nargs = 2,
			    .args = { 1, 2 } };
	uint8_t mem[64];
	struct vireo_vm vm;
	char out[256], s[16];

	fake_vm(&vm, mem, sizeof(mem));
	memset(mem, 'A', sizeof(mem));		/* no NUL before the end */
	memcpy(mem, "f.c", 4);
	uc.file = 0;				/* 0 is "no string" */
	uc.text = 60;
	ucall_format_assert(&vm, &uc, out, sizeof(out));
	EXPECT_STREQ("<bad guest string 0x0>:42: AAAA (0x1 vs 0x2)", out);
	uc.file = 1000;
	ucall_format_assert(&vm, &uc, out, sizeof(out));
	EXPECT_STREQ("<bad guest string 0x3e8>:42: AAAA (0x1 vs 0x2)", out);
	EXPECT_STREQ("AAAAAAAAAAAAAAA", guest_string(&vm, 8, s, sizeof(s)));
}

TEST_HARNESS_MAIN
