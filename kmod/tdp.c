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

/* Map the guest frame containing @gpa (< ram_bytes) to its host page. */
int vireo_tdp_map(struct vireo_vm *vm, u64 gpa)
{
	struct page *frame, *table_page;
	u64 *table;
	int level, ret = 0;

	if (WARN_ON_ONCE(gpa >= vm->ram_bytes))
		return -EFAULT;
	frame = vireo_gfn_to_page(vm, gpa >> PAGE_SHIFT, true);
	if (!frame)
		return -ENOMEM;

	mutex_lock(&vm->mmu_lock);
	table = page_address(vm->tdp_root);
	for (level = TDP_LEVELS; level > 1; level--) {
		unsigned int idx = (gpa >> (12 + 9 * (level - 1))) & 511;

		if (!vireo_ops->tdp_present(table[idx])) {
			table_page = vireo_tdp_alloc_table(vm);
			if (!table_page) {
				ret = -ENOMEM;
				goto unlock;
			}
			WRITE_ONCE(table[idx],
				   vireo_ops->tdp_table_entry(page_to_phys(table_page)));
		}
		table = phys_to_virt(table[idx] & TDP_ADDR_MASK);
	}
	WRITE_ONCE(table[(gpa >> 12) & 511],
		   vireo_ops->tdp_leaf_entry(page_to_phys(frame)));
unlock:
	mutex_unlock(&vm->mmu_lock);
	return ret;
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
