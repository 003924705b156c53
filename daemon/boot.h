/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading a flat binary into guest RAM and the initial vCPU state.
 *
 * Real-mode entry ("entry": "real"):
 *   the image is copied to load_address (default 0x10000, a multiple of 16
 *   below 1 MiB) and every vCPU starts at CS:IP = (load_address >> 4):0000
 *   with DS = ES = FS = GS = SS = CS, so the image can use its own offsets
 *   as data addresses.  Each vCPU gets a 256-byte stack at the top of that
 *   64 KiB segment (vCPU n: SP = 0x10000 - 256 * n, mod 64 Ki).
 *
 * Long-mode entry ("entry": "long"):
 *   vireod writes a GDT (null, 64-bit code 0x08, data 0x10, TSS 0x18), an
 *   empty 64-bit TSS and identity-mapped page tables with 2 MiB pages into
 *   the first MiB of RAM (layout below), copies the image to load_address
 *   (at least 1 MiB) and starts every vCPU in 64-bit mode with
 *   CR0 = PE|ET|NE|PG, CR4 = PAE, EFER = LME|LMA, RIP = load_address and a
 *   16 KiB stack per vCPU at the top of RAM (vCPU n: RSP = RAM - 16 KiB * n).
 *   There is no IDT (limit 0): any exception becomes a triple fault, which
 *   the module reports as VIREO_EXIT_SHUTDOWN.
 *
 * Both: RFLAGS = 0x2 (interrupts off), RDI = the vCPU id, other GPRs zero.
 *
 * Linux kernels ("kernel" in the config) are loaded by linux_boot.c, which
 * reuses the GDT, page-table and register-state building blocks below.
 */
#ifndef VIREOD_BOOT_H
#define VIREOD_BOOT_H

#include <stdint.h>

#include "vireo.h"

struct vm_config;
struct errinfo;

/* Long-mode boot area, all in the first MiB. */
#define BOOT_GDT_GPA		0x1000ULL
#define BOOT_TSS_GPA		0x1080ULL
#define BOOT_PML4_GPA		0x2000ULL
#define BOOT_PDPT_GPA		0x3000ULL
#define BOOT_PD_GPA		0x4000ULL	/* one page per GiB mapped */
#define BOOT_MIN_MAPPED_GIB	4		/* covers the 32-bit MMIO hole */

#define BOOT_SEL_CODE64		0x08
#define BOOT_SEL_DATA		0x10
#define BOOT_SEL_TSS		0x18
#define BOOT_GDT_BYTES		40		/* 3 descriptors + 16-byte TSS */
#define BOOT_TSS_BYTES		104

#define BOOT_REAL_STACK_BYTES	256
#define BOOT_LONG_STACK_BYTES	(16 * 1024)

/* x86 architectural bits used for the initial state (SDM vol. 3A 2.5). */
#define X86_CR0_PE		(1ULL << 0)
#define X86_CR0_ET		(1ULL << 4)
#define X86_CR0_NE		(1ULL << 5)
#define X86_CR0_NW		(1ULL << 29)
#define X86_CR0_CD		(1ULL << 30)
#define X86_CR0_PG		(1ULL << 31)
#define X86_CR4_PAE		(1ULL << 5)
#define X86_EFER_LME		(1ULL << 8)
#define X86_EFER_LMA		(1ULL << 10)
#define X86_RFLAGS_FIXED	(1ULL << 1)
#define X86_PTE_PRESENT		(1ULL << 0)
#define X86_PTE_WRITE		(1ULL << 1)
#define X86_PTE_LARGE		(1ULL << 7)

/* GiB of guest-physical space the long-mode page tables identity-map. */
uint64_t boot_mapped_gib(uint64_t ram_bytes);

/*
 * Copies the image into RAM (and, for long mode, writes the boot area).
 * The image size is checked against the layout above.  0 or -errno.
 */
int boot_load_image(const struct vm_config *cfg, void *ram, uint64_t ram_bytes,
		    struct errinfo *e);

/*
 * The building blocks, shared with the Linux loader (linux_boot.c):
 * a GDT at BOOT_GDT_GPA with a flat 64-bit code descriptor at code64_sel, a
 * flat data descriptor at data_sel and the busy TSS (at BOOT_TSS_GPA) at
 * tss_sel, every other descriptor null, the GDT limit ending with the TSS
 * descriptor; the identity-mapped page tables described above; the
 * matching 64-bit sregs (CR0, CR3, CR4, EFER, segments, GDTR, no IDT).
 */
void boot_write_gdt(uint8_t *ram, unsigned int code64_sel, unsigned int data_sel,
		    unsigned int tss_sel);
void boot_write_page_tables(uint8_t *ram, uint64_t ram_bytes);
void boot_long_mode_sregs(struct vireo_sregs *sregs, unsigned int code64_sel,
			  unsigned int data_sel, unsigned int tss_sel);
/*
 * The architectural state after INIT (SDM vol. 3A, table 9-1): real mode,
 * CS = 0xf000 with base 0xffff0000, IP = 0xfff0, CR0 = CD|NW|ET.  What an
 * application processor holds while it waits for a start-up IPI.
 */
void boot_init_state(struct vireo_regs *regs, struct vireo_sregs *sregs);

/* The register state vCPU 'vcpu_id' starts with. */
void boot_vcpu_state(const struct vm_config *cfg, uint64_t ram_bytes,
		     unsigned int vcpu_id, struct vireo_regs *regs,
		     struct vireo_sregs *sregs);

#endif
