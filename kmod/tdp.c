// SPDX-License-Identifier: GPL-2.0
/*
 * Nested page tables (AMD NPT / Intel EPT), built lazily.
 *
 * Both formats are four levels of 512 eight-byte entries indexed by the
 * same guest-physical address bits; only the entry encodings differ, and
 * those come from the backend (tdp_table_entry / tdp_leaf_entry).  Tables
 * map 4 KiB frames only for now.  Entries are only added while the VM runs;
 * the whole tree is freed with the VM.
 */
#include <linux/mm.h>
#include <asm/io.h>

#include "vireo_core.h"

#define TDP_LEVELS	4
#define TDP_ADDR_MASK	GENMASK_ULL(51, 12)

static struct page *vireo_tdp_alloc_table(struct vireo_vm *vm)
{
	struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (page) {
		atomic64_inc(&vm->tdp_pages);
		atomic64_inc(&vireo_table_pages);
	}
	return page;
}

int vireo_tdp_init(struct vireo_vm *vm)
{
	vm->tdp_root = vireo_tdp_alloc_table(vm);
	if (!vm->tdp_root)
		return -ENOMEM;
	vm->tdp_root_pa = page_to_phys(vm->tdp_root);
	return 0;
}

/*
 * A nested page fault maps the whole aligned block of VIREO_TDP_FAULT_AROUND
 * frames around the faulting one (allocating them): guests touch memory in
 * runs, and each nested page fault is an exit.  A Linux boot takes about
 * 16 times fewer of them this way, for at most 60 KiB of memory allocated
 * ahead of use per fault.
 */
#define VIREO_TDP_FAULT_AROUND	16

/*
 * The last-level table for @gpa; missing tables are created when @alloc,
 * else NULL is returned.  Caller holds mmu_lock.
 */
static u64 *vireo_tdp_leaf_table(struct vireo_vm *vm, u64 gpa, bool alloc)
{
	u64 *table = page_address(vm->tdp_root);
	struct page *table_page;
	int level;

	for (level = TDP_LEVELS; level > 1; level--) {
		unsigned int idx = (gpa >> (12 + 9 * (level - 1))) & 511;

		if (!vireo_ops->tdp_present(table[idx])) {
			if (!alloc)
				return NULL;
			table_page = vireo_tdp_alloc_table(vm);
			if (!table_page)
				return NULL;
			WRITE_ONCE(table[idx],
				   vireo_ops->tdp_table_entry(page_to_phys(table_page)));
		}
		table = phys_to_virt(table[idx] & TDP_ADDR_MASK);
	}
	return table;
}

/* Map the guest frames around @gpa (< ram_bytes) to their host pages. */
int vireo_tdp_map(struct vireo_vm *vm, u64 gpa)
{
	unsigned long first = (gpa >> PAGE_SHIFT) & ~(VIREO_TDP_FAULT_AROUND - 1UL);
	unsigned long last = min_t(unsigned long, first + VIREO_TDP_FAULT_AROUND,
				   vm->nr_pages);
	struct page *frames[VIREO_TDP_FAULT_AROUND];
	unsigned long gfn;
	u64 *table;
	int ret = 0;

	if (WARN_ON_ONCE(gpa >= vm->ram_bytes))
		return -EFAULT;
	/* The faulting frame is required; its neighbours are a bonus. */
	for (gfn = first; gfn < last; gfn++) {
		frames[gfn - first] = vireo_gfn_to_page(vm, gfn, true);
		if (!frames[gfn - first] && gfn == gpa >> PAGE_SHIFT)
			return -ENOMEM;
	}

	mutex_lock(&vm->mmu_lock);
	/* The block is 64 KiB aligned, so one last-level table holds it. */
	table = vireo_tdp_leaf_table(vm, (u64)first << PAGE_SHIFT, true);
	if (!table) {
		ret = -ENOMEM;
		goto unlock;
	}
	for (gfn = first; gfn < last; gfn++) {
		unsigned int idx = gfn & 511;

		if (frames[gfn - first] && !vireo_ops->tdp_present(table[idx]))
			WRITE_ONCE(table[idx],
				   vireo_ops->tdp_leaf_entry(page_to_phys(frames[gfn - first])));
	}
unlock:
	mutex_unlock(&vm->mmu_lock);
	return ret;
}

/*
 * The last-level entry mapping @gpa, or 0 when none is there yet.  For
 * diagnostics: it takes mmu_lock, so not from atomic context.
 */
u64 vireo_tdp_lookup(struct vireo_vm *vm, u64 gpa)
{
	u64 *table, entry = 0;

	mutex_lock(&vm->mmu_lock);
	table = vireo_tdp_leaf_table(vm, gpa, false);
	if (table)
		entry = READ_ONCE(table[(gpa >> PAGE_SHIFT) & 511]);
	mutex_unlock(&vm->mmu_lock);
	return vireo_ops->tdp_present(entry) ? entry : 0;
}

static void vireo_tdp_free_level(struct vireo_vm *vm, u64 *table, int level)
{
	unsigned int i;

	if (level > 1) {
		for (i = 0; i < 512; i++) {
			if (vireo_ops->tdp_present(table[i]))
				vireo_tdp_free_level(vm, phys_to_virt(table[i] & TDP_ADDR_MASK),
						     level - 1);
		}
	}
	free_page((unsigned long)table);
	atomic64_dec(&vireo_table_pages);
	atomic64_dec(&vm->tdp_pages);
}

void vireo_tdp_free(struct vireo_vm *vm)
{
	if (!vm->tdp_root)
		return;
	vireo_tdp_free_level(vm, page_address(vm->tdp_root), TDP_LEVELS);
	vm->tdp_root = NULL;
}
