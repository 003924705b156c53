// SPDX-License-Identifier: GPL-2.0
/*
 * Page tables, GDT/TSS and long-mode register state for guest code.
 * Pure functions over a buffer: no VM needed (see lib_selftest.c).
 */
#include <errno.h>
#include <string.h>

#include "x86.h"

#define PAGE_SIZE	4096ULL
#define PT_ENTRIES	512
#define SIZE_2M		(2ULL << 20)
#define SIZE_1G		(1ULL << 30)

static uint64_t *table_at(uint8_t *mem, uint64_t mem_bytes, uint64_t gpa)
{
	if (gpa & (PAGE_SIZE - 1) || gpa >= mem_bytes ||
	    mem_bytes - gpa < PAGE_SIZE)
		return NULL;
	return (uint64_t *)(mem + gpa);
}

int x86_build_identity_map(uint8_t *mem, uint64_t mem_bytes,
			   uint64_t pml4_gpa, uint64_t pdpt_gpa,
			   uint64_t pd_gpa, uint64_t map_bytes)
{
	uint64_t nr_pd = map_bytes / SIZE_1G, i, j;
	uint64_t *pml4, *pdpt;

	if (!map_bytes || map_bytes % SIZE_1G || nr_pd > PT_ENTRIES)
		return -EINVAL;
	pml4 = table_at(mem, mem_bytes, pml4_gpa);
	pdpt = table_at(mem, mem_bytes, pdpt_gpa);
	if (!pml4 || !pdpt || !table_at(mem, mem_bytes,
					pd_gpa + (nr_pd - 1) * PAGE_SIZE))
		return -EINVAL;

	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	pml4[0] = pdpt_gpa | PTE_PRESENT | PTE_WRITE;
	for (i = 0; i < nr_pd; i++) {
		uint64_t this_pd = pd_gpa + i * PAGE_SIZE;
		uint64_t *pd = table_at(mem, mem_bytes, this_pd);

		pdpt[i] = this_pd | PTE_PRESENT | PTE_WRITE;
		for (j = 0; j < PT_ENTRIES; j++)
			pd[j] = (i * SIZE_1G + j * SIZE_2M) |
				PTE_PRESENT | PTE_WRITE | PTE_LARGE;
	}
	return 0;
}

static bool read_entry(const uint8_t *mem, uint64_t mem_bytes,
		       uint64_t table, unsigned int index, uint64_t *entry)
{
	uint64_t gpa = (table & PTE_ADDR_MASK) + index * 8ULL;

	if (gpa >= mem_bytes || mem_bytes - gpa < 8)
		return false;
	memcpy(entry, mem + gpa, 8);
	return true;
}

bool x86_walk(const uint8_t *mem, uint64_t mem_bytes, uint64_t cr3,
	      uint64_t gva, uint64_t *gpa)
{
	uint64_t e, table = cr3;
	int level;

	/* Non-canonical addresses never translate. */
	if ((uint64_t)((int64_t)(gva << 16) >> 16) != gva)
		return false;
	for (level = 4; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		unsigned int index = (gva >> shift) & 511;

		if (!read_entry(mem, mem_bytes, table, index, &e) ||
		    !(e & PTE_PRESENT))
			return false;
		if ((level == 2 || level == 3) && (e & PTE_LARGE)) {
			uint64_t size = 1ULL << shift;

			*gpa = (e & PTE_ADDR_MASK & ~(size - 1)) |
			       (gva & (size - 1));
			return true;
		}
		table = e;
	}
	*gpa = (e & PTE_ADDR_MASK) | (gva & (PAGE_SIZE - 1));
	return true;
}

uint64_t x86_desc_encode(uint32_t base, uint32_t limit, uint8_t type,
			 uint8_t s, uint8_t dpl, uint8_t present, uint8_t avl,
			 uint8_t l, uint8_t db, uint8_t g)
{
	uint64_t d = 0;

	/* With G=1 the descriptor holds the limit in 4 KiB units. */
	if (g)
		limit >>= 12;
	d |= limit & 0xffffULL;
	d |= (uint64_t)(base & 0xffffff) << 16;
	d |= (uint64_t)(type & 0xf) << 40;
	d |= (uint64_t)(s & 1) << 44;
	d |= (uint64_t)(dpl & 3) << 45;
	d |= (uint64_t)(present & 1) << 47;
	d |= (uint64_t)((limit >> 16) & 0xf) << 48;
	d |= (uint64_t)(avl & 1) << 52;
	d |= (uint64_t)(l & 1) << 53;
	d |= (uint64_t)(db & 1) << 54;
	d |= (uint64_t)(g & 1) << 55;
	d |= (uint64_t)(base >> 24) << 56;
	return d;
}

int x86_build_gdt_tss(uint8_t *mem, uint64_t mem_bytes, uint64_t gdt_gpa,
		      uint64_t tss_gpa, uint64_t idt_gpa)
{
	uint64_t *gdt = table_at(mem, mem_bytes, gdt_gpa);
	uint64_t *tss = table_at(mem, mem_bytes, tss_gpa);
	uint64_t *idt = table_at(mem, mem_bytes, idt_gpa);

	if (!gdt || !tss || !idt || tss_gpa >> 32)
		return -EINVAL;
	memset(gdt, 0, PAGE_SIZE);
	memset(tss, 0, PAGE_SIZE);
	memset(idt, 0, PAGE_SIZE);

	gdt[GDT_SEL_CODE / 8] = x86_desc_encode(0, 0xffffffff, 0xb, 1, 0, 1,
						0, 1, 0, 1);
	gdt[GDT_SEL_DATA / 8] = x86_desc_encode(0, 0xffffffff, 0x3, 1, 0, 1,
						0, 0, 1, 1);
	/* 64-bit TSS descriptor: 16 bytes, upper half holds base[63:32]. */
	gdt[GDT_SEL_TSS / 8] = x86_desc_encode((uint32_t)tss_gpa, TSS_LIMIT,
					       0xb, 0, 0, 1, 0, 0, 0, 0);
	gdt[GDT_SEL_TSS / 8 + 1] = tss_gpa >> 32;
	return 0;
}

void x86_idt_gate_encode(uint64_t gate[2], uint64_t offset,
			 uint16_t selector)
{
	gate[0] = (offset & 0xffff) | (uint64_t)selector << 16 |
		  0x8eULL << 40 |		/* P, DPL 0, type 0xe */
		  ((offset >> 16) & 0xffff) << 48;
	gate[1] = offset >> 32;
}

int x86_build_idt(uint8_t *mem, uint64_t mem_bytes, uint64_t idt_gpa,
		  const uint64_t *handlers, unsigned int nr)
{
	uint64_t *idt;
	unsigned int i;

	if (nr > 256 || idt_gpa >= mem_bytes ||
	    mem_bytes - idt_gpa < nr * 16ULL)
		return -EINVAL;
	idt = (uint64_t *)(mem + idt_gpa);
	memset(idt, 0, nr * 16ULL);
	for (i = 0; i < nr; i++)
		if (handlers[i])
			x86_idt_gate_encode(&idt[2 * i], handlers[i],
					    GDT_SEL_CODE);
	return 0;
}

static void segment(struct vireo_segment *seg, uint16_t selector,
		    uint8_t type, uint8_t l, uint8_t db)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = selector;
	seg->type = type;
	seg->s = 1;
	seg->dpl = 0;
	seg->present = 1;
	seg->l = l;
	seg->db = db;
	seg->g = 1;
}

void x86_sregs_long_mode(struct vireo_sregs *sregs, uint64_t pml4_gpa)
{
	memset(sregs, 0, sizeof(*sregs));

	segment(&sregs->cs, GDT_SEL_CODE, 0xb, 1, 0);
	segment(&sregs->ds, GDT_SEL_DATA, 0x3, 0, 1);
	sregs->es = sregs->ds;
	sregs->fs = sregs->ds;
	sregs->gs = sregs->ds;
	sregs->ss = sregs->ds;

	sregs->tr.base = GUEST_TSS_GPA;
	sregs->tr.limit = TSS_LIMIT;
	sregs->tr.selector = GDT_SEL_TSS;
	sregs->tr.type = 0xb;		/* busy 64-bit TSS */
	sregs->tr.present = 1;

	sregs->ldt.unusable = 1;

	sregs->gdt.base = GUEST_GDT_GPA;
	sregs->gdt.limit = GDT_LIMIT;
	sregs->idt.base = GUEST_IDT_GPA;
	sregs->idt.limit = GUEST_IDT_LIMIT;

	sregs->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		     X86_CR0_WP | X86_CR0_PG;
	sregs->cr3 = pml4_gpa;
	sregs->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs->efer = X86_EFER_LME | X86_EFER_LMA;
}
