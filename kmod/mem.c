// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory owned by the module.
 *
 * Guest frames are allocated on first touch -- by the guest (nested page
 * fault) or by user space (page fault on the VM fd mapping) -- from the
 * memory cgroup of the task that touches them, and recorded in the VM's page
 * table (vm->pages).  Both sides then see the same struct page.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <asm/io.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "vireo_core.h"

struct page *vireo_gfn_to_page(struct vireo_vm *vm, unsigned long gfn,
			       bool alloc)
{
	struct page *page, *old;

	if (gfn >= vm->nr_pages)
		return NULL;
	page = xa_load(&vm->pages, gfn);
	if (page || !alloc)
		return page;

	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		return NULL;
	old = xa_cmpxchg(&vm->pages, gfn, NULL, page, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(old)) {
		__free_page(page);
		return NULL;
	}
	if (old) {		/* lost a race with another toucher */
		__free_page(page);
		return old;
	}
	atomic64_inc(&vm->pages_present);
	atomic64_inc(&vireo_guest_pages);
	return page;
}

/* Copy from guest-physical memory; frames never touched read as zero. */
int vireo_read_guest(struct vireo_vm *vm, u64 gpa, void *buf, size_t len)
{
	while (len) {
		size_t off = offset_in_page(gpa);
		size_t chunk = min_t(size_t, len, PAGE_SIZE - off);
		struct page *page;

		if (gpa >= vm->ram_bytes)
			return -EFAULT;
		page = vireo_gfn_to_page(vm, gpa >> PAGE_SHIFT, false);
		if (page)
			memcpy_from_page(buf, page, off, chunk);
		else
			memset(buf, 0, chunk);
		buf += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

void vireo_mem_free(struct vireo_vm *vm)
{
	unsigned long gfn;
	struct page *page;
	u64 freed = 0;

	xa_for_each(&vm->pages, gfn, page) {
		put_page(page);
		freed++;
	}
	xa_destroy(&vm->pages);
	atomic64_sub(freed, &vireo_guest_pages);
	atomic64_sub(freed, &vm->pages_present);
}

static vm_fault_t vireo_mem_fault(struct vm_fault *vmf)
{
	struct vireo_vm *vm = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff >= vm->nr_pages)
		return VM_FAULT_SIGBUS;
	page = vireo_gfn_to_page(vm, vmf->pgoff, true);
	if (!page)
		return VM_FAULT_OOM;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct vireo_mem_vm_ops = {
	.fault = vireo_mem_fault,
};

int vireo_mem_mmap(struct vireo_vm *vm, struct vm_area_struct *vma)
{
	unsigned long pages = vma_pages(vma);

	/* A private mapping would copy on write and silently diverge. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_pgoff >= vm->nr_pages || pages > vm->nr_pages - vma->vm_pgoff)
		return -EINVAL;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_ops = &vireo_mem_vm_ops;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Guest page-table walk (for fetching the instruction of an MMIO exit) */
/* ------------------------------------------------------------------ */

#define GPTE_PRESENT	BIT_ULL(0)
#define GPTE_PS		BIT_ULL(7)
#define GPTE_ADDR_MASK	GENMASK_ULL(51, 12)


static int vireo_read_gpte(struct vireo_vm *vm, u64 gpa, unsigned int size,
			   u64 *pte)
{
	*pte = 0;
	return vireo_read_guest(vm, gpa, pte, size);
}

/*
 * Translate a guest linear address by walking the guest's own page tables
 * (APM vol. 2, 5.3 long mode, 5.2 legacy; SDM vol. 3, 4.3-4.5).  Access
 * rights are not checked: the guest just fetched from this address.
 */
int vireo_gva_to_gpa(struct vireo_vcpu *vcpu, const struct vireo_paging *pg,
		     u64 gva, u64 *gpa)
{
	struct vireo_vm *vm = vcpu->vm;
	u64 pte, table;
	int level, shift;

	if (!(pg->cr0 & X86_CR0_PG)) {
		*gpa = (pg->efer & EFER_LMA) ? gva : (u32)gva;
		return 0;
	}

	if (pg->efer & EFER_LMA) {
		table = pg->cr3 & GPTE_ADDR_MASK;
		for (level = 4; level >= 1; level--) {
			shift = 12 + 9 * (level - 1);
			if (vireo_read_gpte(vm, table + ((gva >> shift) & 511) * 8,
					    8, &pte) || !(pte & GPTE_PRESENT))
				return -EFAULT;
			if (level <= 3 && level >= 2 && (pte & GPTE_PS)) {
				u64 mask = BIT_ULL(shift) - 1;

				*gpa = ((pte & GPTE_ADDR_MASK) & ~mask) | (gva & mask);
				return 0;
			}
			table = pte & GPTE_ADDR_MASK;
		}
		*gpa = table | (gva & 0xfff);
		return 0;
	}

	gva = (u32)gva;
	if (pg->cr4 & X86_CR4_PAE) {
		/* PAE: four PDPTEs at CR3[31:5]. */
		table = (pg->cr3 & 0xffffffe0ULL) + ((gva >> 30) & 3) * 8;
		if (vireo_read_gpte(vm, table, 8, &pte) || !(pte & GPTE_PRESENT))
			return -EFAULT;
		table = pte & GPTE_ADDR_MASK;
		if (vireo_read_gpte(vm, table + ((gva >> 21) & 511) * 8, 8, &pte) ||
		    !(pte & GPTE_PRESENT))
			return -EFAULT;
		if (pte & GPTE_PS) {
			*gpa = (pte & GPTE_ADDR_MASK & ~0x1fffffULL) | (gva & 0x1fffff);
			return 0;
		}
		table = pte & GPTE_ADDR_MASK;
		if (vireo_read_gpte(vm, table + ((gva >> 12) & 511) * 8, 8, &pte) ||
		    !(pte & GPTE_PRESENT))
			return -EFAULT;
		*gpa = (pte & GPTE_ADDR_MASK) | (gva & 0xfff);
		return 0;
	}

	/* 32-bit paging, 4-byte entries. */
	table = pg->cr3 & 0xfffff000ULL;
	if (vireo_read_gpte(vm, table + (gva >> 22) * 4, 4, &pte) ||
	    !(pte & GPTE_PRESENT))
		return -EFAULT;
	if ((pte & GPTE_PS) && (pg->cr4 & X86_CR4_PSE)) {
		*gpa = (pte & 0xffc00000ULL) | (gva & 0x3fffff);
		return 0;
	}
	table = pte & 0xfffff000ULL;
	if (vireo_read_gpte(vm, table + ((gva >> 12) & 1023) * 4, 4, &pte) ||
	    !(pte & GPTE_PRESENT))
		return -EFAULT;
	*gpa = (pte & 0xfffff000ULL) | (gva & 0xfff);
	return 0;
}

/*
 * How guest frame @gpa is backed, for crash reports: the module's page (or
 * NULL), its address in *host (0 without one) and the nested table's entry
 * for it in *tdp (0 if none, or outside RAM).  Returns true when the nested
 * table maps the frame somewhere else than the module's page.
 */
static bool vireo_frame_backing(struct vireo_vm *vm, u64 gpa, struct page **page,
				u64 *tdp, u64 *host)
{
	*page = vireo_gfn_to_page(vm, gpa >> PAGE_SHIFT, false);
	*tdp = gpa < vm->ram_bytes ? vireo_tdp_lookup(vm, gpa) : 0;
	*host = *page ? page_to_phys(*page) : 0;
	return *tdp && (*tdp & GPTE_ADDR_MASK) != *host;
}

/*
 * The frame a present leaf entry maps @gva to: is it in the nested page
 * table, and as the module's own page?  (If not, the access would have been
 * a nested page fault, not a guest #PF.)
 */
static void vireo_dump_leaf(struct vireo_vm *vm, const char *what, u64 gva,
			    int level, u64 pte)
{
	u64 mask = BIT_ULL(12 + 9 * (level - 1)) - 1;
	u64 gpa = ((pte & GPTE_ADDR_MASK) & ~mask) | (gva & mask);
	struct page *page;
	u64 tdp, host;
	bool mismatch = vireo_frame_backing(vm, gpa, &page, &tdp, &host);

	pr_warn_ratelimited(VIREO_LOG_PREFIX "  %s %#llx maps gpa %#llx: nested map %#llx, module page %#llx%s\n",
			    what, gva, gpa, tdp, host,
			    mismatch ? " MISMATCH" :
			    !tdp ? " (not in the nested table)" : "");
}

/*
 * Log how @gva translates in long mode, level by level: each guest table's
 * frame, the entry read from it through the module's own page, and whether
 * the nested page table maps that frame to the same host page.  For crash
 * reports (a triple fault on a not-present kernel address); mmu_lock is
 * taken, so process context only.
 */
static void vireo_dump_translation(struct vireo_vcpu *vcpu,
				   const struct vireo_paging *pg, u64 gva,
				   const char *what)
{
	struct vireo_vm *vm = vcpu->vm;
	u64 table = pg->cr3 & GPTE_ADDR_MASK;
	int level;

	if (!(pg->cr0 & X86_CR0_PG) || !(pg->efer & EFER_LMA))
		return;
	for (level = 4; level >= 1; level--) {
		u64 gpa = table + ((gva >> (12 + 9 * (level - 1))) & 511) * 8;
		unsigned int nonzero = 0, i;
		u64 tdp, host, pte = 0;
		struct page *page;
		bool mismatch = vireo_frame_backing(vm, gpa, &page, &tdp, &host);

		vireo_read_gpte(vm, gpa, 8, &pte);
		if (page) {
			const u64 *q = kmap_local_page(page);

			for (i = 0; i < PAGE_SIZE / 8; i++)
				nonzero += !!q[i];
			kunmap_local(q);
		}
		pr_warn_ratelimited(VIREO_LOG_PREFIX "  %s %#llx level %d: entry at gpa %#llx = %#llx; nested map %#llx, module page %#llx%s (%u of 512 entries non-zero, refs %d, maps %d, flags %#lx)\n",
				    what, gva, level, gpa, pte, tdp, host,
				    mismatch ? " MISMATCH" : "", nonzero,
				    page ? page_count(page) : 0,
				    page ? page_mapcount(page) : 0,
				    page ? page->flags : 0);
		if (!(pte & GPTE_PRESENT))
			return;
		if (level == 1 || (pte & GPTE_PS)) {
			vireo_dump_leaf(vm, what, gva, level, pte);
			return;
		}
		table = pte & GPTE_ADDR_MASK;
	}
}

/* After a triple fault: how the guest's RIP and CR2 translate. */
void vireo_dump_crash_translations(struct vireo_vcpu *vcpu)
{
	struct vireo_sregs sregs;
	struct vireo_paging pg;

	vireo_ops->get_paging(vcpu, &pg);
	vireo_ops->get_sregs(vcpu, &sregs);
	vireo_dump_translation(vcpu, &pg, vcpu->rip, "rip");
	vireo_dump_translation(vcpu, &pg, sregs.cr2, "cr2");
}
