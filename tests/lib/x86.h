/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The 64-bit environment the library builds for guest code, as pure
 * functions over a buffer that stands for guest-physical memory (so that
 * lib_selftest can check them on a host without SVM).
 *
 * Guest-physical layout (gva == gpa everywhere: identity map):
 *
 *   0x0000_1000  PML4
 *   0x0000_2000  PDPT
 *   0x0000_3000  4 page directories, 2 MiB pages, identity map of 0..4 GiB
 *   0x0000_7000  GDT: null, 64-bit code (0x08), data (0x10), TSS (0x18)
 *   0x0000_8000  64-bit TSS (zeroed)
 *   0x0000_9000  IDT: interrupt gates for vectors 0-255, one page (exception.h)
 *   0x0040_0000  the test binary's PT_LOAD segments, at their own addresses
 *   0x0100_0000  GUEST_FREE_GPA: free for tests, up to the stacks
 *   top of RAM   vCPU n's stack ends at ram_bytes - 4 KiB - n * 64 KiB
 *
 * The identity map covers 4 GiB whatever the RAM size, so guest accesses to
 * addresses above RAM reach the hypervisor as MMIO.
 */
#ifndef VIREO_TEST_X86_H
#define VIREO_TEST_X86_H

#include <stdbool.h>
#include <stdint.h>

#include "vireo.h"

#define GUEST_PML4_GPA		0x1000ULL
#define GUEST_PDPT_GPA		0x2000ULL
#define GUEST_PD_GPA		0x3000ULL
#define GUEST_GDT_GPA		0x7000ULL
#define GUEST_TSS_GPA		0x8000ULL
#define GUEST_IDT_GPA		0x9000ULL
#define GUEST_IDT_VECTORS	256	/* exceptions and external interrupts */
#define GUEST_IDT_LIMIT		(GUEST_IDT_VECTORS * 16 - 1)
#define GUEST_SYSTEM_END	0x10000ULL	/* nothing else below this */
#define GUEST_IDENTITY_MAP_BYTES (4ULL << 30)
#define GUEST_FREE_GPA		(16ULL << 20)
#define GUEST_STACK_GUARD	0x1000ULL	/* top page of RAM left free */
#define GUEST_STACK_SIZE	(64ULL << 10)

#define GDT_SEL_CODE		0x08
#define GDT_SEL_DATA		0x10
#define GDT_SEL_TSS		0x18
#define GDT_LIMIT		(5 * 8 - 1)	/* the TSS descriptor is 16 bytes */
#define TSS_LIMIT		0x67

/* Architectural bits (APM vol. 2, 3.1 and 5.3). */
#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_MP	(1ULL << 1)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_NE	(1ULL << 5)
#define X86_CR0_WP	(1ULL << 16)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define X86_CR4_OSFXSR	(1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)
#define X86_EFER_SCE	(1ULL << 0)
#define X86_EFER_LME	(1ULL << 8)
#define X86_EFER_LMA	(1ULL << 10)
#define X86_EFER_NX	(1ULL << 11)
#define X86_EFER_SVME	(1ULL << 12)

#define PTE_PRESENT	(1ULL << 0)
#define PTE_WRITE	(1ULL << 1)
#define PTE_LARGE	(1ULL << 7)
#define PTE_ADDR_MASK	0x000ffffffffff000ULL

/*
 * Build the 4-level identity map of [0, map_bytes) with 2 MiB pages in
 * @mem (guest-physical memory of @mem_bytes).  map_bytes is a multiple of
 * 1 GiB, at most 512 GiB; the page directories are consecutive pages from
 * pd_gpa.  Returns 0, or -EINVAL if a table does not fit in @mem.
 */
int x86_build_identity_map(uint8_t *mem, uint64_t mem_bytes,
			   uint64_t pml4_gpa, uint64_t pdpt_gpa,
			   uint64_t pd_gpa, uint64_t map_bytes);

/*
 * Walk the guest page tables like the MMU does (4-level, 4 KiB / 2 MiB /
 * 1 GiB pages).  Returns true and sets *gpa if @gva is mapped.
 */
bool x86_walk(const uint8_t *mem, uint64_t mem_bytes, uint64_t cr3,
	      uint64_t gva, uint64_t *gpa);

/* Encode a legacy 8-byte segment descriptor (APM vol. 2, 4.7 and 4.8). */
uint64_t x86_desc_encode(uint32_t base, uint32_t limit, uint8_t type,
			 uint8_t s, uint8_t dpl, uint8_t present, uint8_t avl,
			 uint8_t l, uint8_t db, uint8_t g);

/* Write the GDT at gdt_gpa and zero the TSS at tss_gpa and IDT page. */
int x86_build_gdt_tss(uint8_t *mem, uint64_t mem_bytes, uint64_t gdt_gpa,
		      uint64_t tss_gpa, uint64_t idt_gpa);

/*
 * Encode a 64-bit interrupt gate (APM vol. 2, 4.8.4): present, DPL 0,
 * no IST, to @offset in code segment @selector.  Two quadwords in @gate.
 */
void x86_idt_gate_encode(uint64_t gate[2], uint64_t offset,
			 uint16_t selector);

/*
 * Write an IDT of @nr interrupt gates at idt_gpa, gate i pointing at
 * handlers[i] in GDT_SEL_CODE (a 0 handler leaves a not-present gate).
 * Returns 0, or -EINVAL if it does not fit in @mem or nr > 256.
 */
int x86_build_idt(uint8_t *mem, uint64_t mem_bytes, uint64_t idt_gpa,
		  const uint64_t *handlers, unsigned int nr);

/*
 * Fill @sregs for 64-bit mode with the layout above (segments matching the
 * GDT, the IDT of GUEST_IDT_VECTORS gates, CR0/CR4/EFER for long mode with
 * paging, CR3 = pml4_gpa).  The reserved fields are zeroed.
 */
void x86_sregs_long_mode(struct vireo_sregs *sregs, uint64_t pml4_gpa);

#endif /* VIREO_TEST_X86_H */
