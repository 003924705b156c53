// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "errinfo.h"
#include "vm_config.h"

#define GIB		(1ULL << 30)
#define MIB2		(2ULL << 20)

/* Segment descriptor types (SDM vol. 3A 3.4.5.1 and 3.5). */
#define SEG_TYPE_DATA_RW_ACCESSED	0x3
#define SEG_TYPE_CODE_RX_ACCESSED	0xb
#define SEG_TYPE_LDT			0x2
#define SEG_TYPE_TSS_BUSY		0xb

uint64_t boot_mapped_gib(uint64_t ram_bytes)
{
	uint64_t gib = (ram_bytes + GIB - 1) / GIB;

	return gib < BOOT_MIN_MAPPED_GIB ? BOOT_MIN_MAPPED_GIB : gib;
}

/* An 8-byte code/data descriptor, or the low half of a system one. */
static uint64_t gdt_descriptor(uint32_t base, uint32_t limit_units, unsigned int type,
			       unsigned int s, unsigned int l, unsigned int db,
			       unsigned int g)
{
	uint64_t d = 0;

	d |= limit_units & 0xffffULL;
	d |= (uint64_t)(base & 0xffffff) << 16;
	d |= (uint64_t)(type & 0xf) << 40;
	d |= (uint64_t)(s & 1) << 44;
	d |= 1ULL << 47;				/* present, DPL 0 */
	d |= (uint64_t)((limit_units >> 16) & 0xf) << 48;
	d |= (uint64_t)(l & 1) << 53;
	d |= (uint64_t)(db & 1) << 54;
	d |= (uint64_t)(g & 1) << 55;
	d |= (uint64_t)(base >> 24) << 56;
	return d;
}

void boot_write_gdt(uint8_t *ram, unsigned int code64_sel, unsigned int data_sel,
		    unsigned int tss_sel)
{
	uint64_t *gdt = (uint64_t *)(ram + BOOT_GDT_GPA);
	uint16_t iomap_base = BOOT_TSS_BYTES;

	memset(ram + BOOT_GDT_GPA, 0, BOOT_PML4_GPA - BOOT_GDT_GPA);
	gdt[code64_sel / 8] = gdt_descriptor(0, 0xfffff, SEG_TYPE_CODE_RX_ACCESSED, 1, 1, 0, 1);
	gdt[data_sel / 8] = gdt_descriptor(0, 0xfffff, SEG_TYPE_DATA_RW_ACCESSED, 1, 0, 1, 1);
	/* 16-byte TSS descriptor; upper half holds base[63:32] = 0. */
	gdt[tss_sel / 8] = gdt_descriptor((uint32_t)BOOT_TSS_GPA, BOOT_TSS_BYTES - 1,
					  SEG_TYPE_TSS_BUSY, 0, 0, 0, 0);
	gdt[tss_sel / 8 + 1] = 0;
	/* I/O map base past the limit: no I/O permission bitmap (SDM 7.7). */
	memcpy(ram + BOOT_TSS_GPA + 0x66, &iomap_base, sizeof(iomap_base));
}

void boot_write_page_tables(uint8_t *ram, uint64_t ram_bytes)
{
	uint64_t *pml4 = (uint64_t *)(ram + BOOT_PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(ram + BOOT_PDPT_GPA);
	uint64_t gib = boot_mapped_gib(ram_bytes);

	memset(ram + BOOT_PML4_GPA, 0, BOOT_PD_GPA + gib * 4096 - BOOT_PML4_GPA);
	pml4[0] = BOOT_PDPT_GPA | X86_PTE_PRESENT | X86_PTE_WRITE;
	for (uint64_t i = 0; i < gib; i++) {
		uint64_t *pd = (uint64_t *)(ram + BOOT_PD_GPA + i * 4096);

		pdpt[i] = (BOOT_PD_GPA + i * 4096) | X86_PTE_PRESENT | X86_PTE_WRITE;
		for (uint64_t j = 0; j < 512; j++)
			pd[j] = (i * GIB + j * MIB2) | X86_PTE_PRESENT |
				X86_PTE_WRITE | X86_PTE_LARGE;
	}
}

int boot_load_image(const struct vm_config *cfg, void *ram, uint64_t ram_bytes,
		    struct errinfo *e)
{
	uint64_t limit, got = 0;
	struct stat st;
	int fd, err;

	/* Where the image must end: below the stacks (see boot.h). */
	if (cfg->entry == VM_ENTRY_REAL) {
		limit = cfg->load_address + 0x10000 - (uint64_t)cfg->vcpus * BOOT_REAL_STACK_BYTES;
	} else {
		uint64_t stacks = (uint64_t)cfg->vcpus * BOOT_LONG_STACK_BYTES;

		limit = ram_bytes > stacks ? ram_bytes - stacks : 0;
	}
	if (limit > ram_bytes || limit <= cfg->load_address) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "no room for an image at 0x%" PRIx64 " with %u vCPU stacks in %" PRIu64 " MiB",
			    cfg->load_address, cfg->vcpus, cfg->memory_mib);
		return -EINVAL;
	}

	fd = open(cfg->image, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		errinfo_set(e, ERR_INVALID_PARAMETER, "image %s: %s", cfg->image, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		errinfo_set(e, ERR_INVALID_PARAMETER, "image %s: not a non-empty regular file",
			    cfg->image);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > limit - cfg->load_address) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "image %s is %jd bytes; at most %" PRIu64 " fit at 0x%" PRIx64 " (%s)",
			    cfg->image, (intmax_t)st.st_size, limit - cfg->load_address,
			    cfg->load_address,
			    cfg->entry == VM_ENTRY_REAL ?
			    "real mode: one 64 KiB segment less 256 bytes of stack per vCPU" :
			    "long mode: RAM less 16 KiB of stack per vCPU");
		close(fd);
		return -EFBIG;
	}
	if (cfg->entry == VM_ENTRY_LONG) {
		boot_write_gdt(ram, BOOT_SEL_CODE64, BOOT_SEL_DATA, BOOT_SEL_TSS);
		boot_write_page_tables(ram, ram_bytes);
	}

	while (got < (uint64_t)st.st_size) {
		ssize_t n = read(fd, (uint8_t *)ram + cfg->load_address + got,
				 (size_t)((uint64_t)st.st_size - got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errinfo_set(e, ERR_GENERIC, "image %s: read failed: %s", cfg->image,
				    n < 0 ? strerror(errno) : "file shrank");
			close(fd);
			return -EIO;
		}
		got += (uint64_t)n;
	}
	close(fd);
	return 0;
}

static struct vireo_segment boot_segment(uint64_t base, uint32_t limit, uint16_t selector,
					 uint8_t type, uint8_t s)
{
	return (struct vireo_segment){
		.base = base, .limit = limit, .selector = selector,
		.type = type, .s = s, .present = 1,
	};
}

static void boot_real_mode_state(const struct vm_config *cfg, unsigned int id,
				 struct vireo_regs *regs, struct vireo_sregs *sregs)
{
	uint16_t seg = (uint16_t)(cfg->load_address >> 4);
	struct vireo_segment data = boot_segment(cfg->load_address, 0xffff, seg,
						 SEG_TYPE_DATA_RW_ACCESSED, 1);

	sregs->cs = boot_segment(cfg->load_address, 0xffff, seg, SEG_TYPE_CODE_RX_ACCESSED, 1);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	/* TR and LDTR as after RESET (SDM vol. 3A table 9-1). */
	sregs->tr = boot_segment(0, 0xffff, 0, SEG_TYPE_TSS_BUSY, 0);
	sregs->ldt = boot_segment(0, 0xffff, 0, SEG_TYPE_LDT, 0);
	sregs->gdt.limit = 0xffff;
	sregs->idt.limit = 0xffff;
	sregs->cr0 = X86_CR0_ET;

	regs->rip = 0;
	regs->rsp = (0x10000 - (uint64_t)id * BOOT_REAL_STACK_BYTES) & 0xffff;
}

void boot_init_state(struct vireo_regs *regs, struct vireo_sregs *sregs)
{
	struct vireo_segment data = boot_segment(0, 0xffff, 0, SEG_TYPE_DATA_RW_ACCESSED, 1);

	memset(regs, 0, sizeof(*regs));
	memset(sregs, 0, sizeof(*sregs));
	sregs->cs = boot_segment(0xffff0000, 0xffff, 0xf000, SEG_TYPE_CODE_RX_ACCESSED, 1);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = boot_segment(0, 0xffff, 0, SEG_TYPE_TSS_BUSY, 0);
	sregs->ldt = boot_segment(0, 0xffff, 0, SEG_TYPE_LDT, 0);
	sregs->gdt.limit = 0xffff;
	sregs->idt.limit = 0xffff;
	sregs->cr0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET;
	regs->rip = 0xfff0;
	regs->rflags = X86_RFLAGS_FIXED;
}

void boot_long_mode_sregs(struct vireo_sregs *sregs, unsigned int code64_sel,
			  unsigned int data_sel, unsigned int tss_sel)
{
	struct vireo_segment data = boot_segment(0, 0xffffffff, (uint16_t)data_sel,
						 SEG_TYPE_DATA_RW_ACCESSED, 1);

	data.db = 1;
	data.g = 1;
	sregs->cs = boot_segment(0, 0xffffffff, (uint16_t)code64_sel, SEG_TYPE_CODE_RX_ACCESSED, 1);
	sregs->cs.l = 1;
	sregs->cs.g = 1;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = boot_segment(BOOT_TSS_GPA, BOOT_TSS_BYTES - 1, (uint16_t)tss_sel,
				 SEG_TYPE_TSS_BUSY, 0);
	sregs->ldt = boot_segment(0, 0, 0, SEG_TYPE_LDT, 0);
	sregs->ldt.present = 0;
	sregs->ldt.unusable = 1;
	sregs->gdt.base = BOOT_GDT_GPA;
	sregs->gdt.limit = (uint16_t)(tss_sel + 16 - 1);	/* the TSS descriptor is last */
	sregs->idt.limit = 0;
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	sregs->cr3 = BOOT_PML4_GPA;
	sregs->cr4 = X86_CR4_PAE;
	sregs->efer = X86_EFER_LME | X86_EFER_LMA;
}

static void boot_long_mode_state(const struct vm_config *cfg, uint64_t ram_bytes,
				 unsigned int id, struct vireo_regs *regs,
				 struct vireo_sregs *sregs)
{
	boot_long_mode_sregs(sregs, BOOT_SEL_CODE64, BOOT_SEL_DATA, BOOT_SEL_TSS);
	regs->rip = cfg->load_address;
	regs->rsp = ram_bytes - (uint64_t)id * BOOT_LONG_STACK_BYTES;
}

void boot_vcpu_state(const struct vm_config *cfg, uint64_t ram_bytes,
		     unsigned int vcpu_id, struct vireo_regs *regs,
		     struct vireo_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	memset(sregs, 0, sizeof(*sregs));
	if (cfg->entry == VM_ENTRY_REAL)
		boot_real_mode_state(cfg, vcpu_id, regs, sregs);
	else
		boot_long_mode_state(cfg, ram_bytes, vcpu_id, regs, sregs);
	regs->rflags = X86_RFLAGS_FIXED;
	regs->rdi = vcpu_id;
}
