// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's CPUID, answered by the module from this table.
 *
 *  - Leaf 0: the host vendor string, max basic leaf clamped to 1 because no
 *    higher basic leaf is in the table (absent leaves read as zero).
 *  - Leaf 1: the host's, with the hypervisor bit (ECX[31]) set; VMX and SMX
 *    cleared (no nested virtualization); XSAVE, OSXSAVE and everything that
 *    needs XSAVE-managed state (AVX, FMA, F16C) cleared because the module
 *    does not switch guest XSAVE state yet; the initial APIC ID (EBX[31:24])
 *    zeroed, since the policy is per VM and there is no LAPIC yet.
 *  - 0x40000000: max hypervisor leaf 0x40000010 and "VireoVireoVi" in
 *    EBX, ECX, EDX (the layout KVM and Xen use for their signatures).
 *  - 0x40000001: feature bits, none defined yet (all zero).
 *  - 0x40000002-0x4000000f: reserved, read as zero.
 *  - 0x40000010: timing -- EAX the TSC frequency in kHz (0 when unknown),
 *    EBX the LAPIC timer frequency in kHz; the layout VMware defined and
 *    other hypervisors reuse, so a guest needs no calibration against a
 *    timer.  Linux 6.1 reads this leaf only under VMware's signature, so
 *    vireod also passes tsc_early_khz= to Linux guests (docs/boot.md).
 *  - 0x80000000-0x80000004 and 0x80000008 when the host has them: extended
 *    max leaf (clamped), extended features with SVM and the XSAVE-dependent
 *    XOP/FMA4 cleared, the brand string and the address sizes.
 */
#include <cpuid.h>
#include <stdlib.h>
#include <string.h>

#include "cpuid_policy.h"

#define CPUID_MAX_BASIC		1u
#define CPUID_MAX_EXTENDED	0x80000008u
#define CPUID_POLICY_ENTRIES	16

void cpuid_host(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	__cpuid_count(leaf, subleaf, out[0], out[1], out[2], out[3]);
}

static struct vireo_cpuid_entry *cpuid_policy_add(struct vireo_cpuid *policy,
						  cpuid_host_fn host, uint32_t leaf)
{
	struct vireo_cpuid_entry *entry = &policy->entries[policy->nent++];
	uint32_t regs[4];

	host(leaf, 0, regs);
	memset(entry, 0, sizeof(*entry));
	entry->function = leaf;
	entry->eax = regs[0];
	entry->ebx = regs[1];
	entry->ecx = regs[2];
	entry->edx = regs[3];
	return entry;
}

struct vireo_cpuid *cpuid_policy_build(cpuid_host_fn host, uint32_t tsc_khz)
{
	struct vireo_cpuid *policy;
	struct vireo_cpuid_entry *entry;
	uint32_t sig[3], max_ext, leaf;

	policy = calloc(1, sizeof(*policy) +
			CPUID_POLICY_ENTRIES * sizeof(struct vireo_cpuid_entry));
	if (!policy)
		return NULL;

	entry = cpuid_policy_add(policy, host, 0);
	if (entry->eax > CPUID_MAX_BASIC)
		entry->eax = CPUID_MAX_BASIC;

	entry = cpuid_policy_add(policy, host, 1);
	entry->ebx &= 0x00ffffffu;
	entry->ecx &= ~(CPUID_1_ECX_VMX | CPUID_1_ECX_SMX | CPUID_1_ECX_FMA |
			CPUID_1_ECX_XSAVE | CPUID_1_ECX_OSXSAVE |
			CPUID_1_ECX_AVX | CPUID_1_ECX_F16C);
	entry->ecx |= CPUID_1_ECX_HYPERVISOR;

	memcpy(sig, CPUID_VIREO_SIGNATURE, sizeof(sig));
	entry = &policy->entries[policy->nent++];
	entry->function = CPUID_LEAF_HYPERVISOR;
	entry->eax = CPUID_LEAF_HYPERVISOR_TIMING;
	entry->ebx = sig[0];
	entry->ecx = sig[1];
	entry->edx = sig[2];

	entry = &policy->entries[policy->nent++];
	entry->function = CPUID_LEAF_HYPERVISOR_FEATURES;

	entry = &policy->entries[policy->nent++];
	entry->function = CPUID_LEAF_HYPERVISOR_TIMING;
	entry->eax = tsc_khz;
	entry->ebx = CPUID_LAPIC_TIMER_KHZ;

	entry = cpuid_policy_add(policy, host, 0x80000000u);
	max_ext = entry->eax;
	if (max_ext < 0x80000001u || max_ext > 0x8000ffffu) {
		/* No extended leaves on this host: advertise none. */
		entry->eax = 0x80000000u;
		entry->ebx = entry->ecx = entry->edx = 0;
		return policy;
	}
	if (max_ext > CPUID_MAX_EXTENDED)
		entry->eax = CPUID_MAX_EXTENDED;

	entry = cpuid_policy_add(policy, host, 0x80000001u);
	entry->ecx &= ~(CPUID_80000001_ECX_SVM | CPUID_80000001_ECX_XOP |
			CPUID_80000001_ECX_FMA4);

	for (leaf = 0x80000002u; leaf <= 0x80000004u && leaf <= max_ext; leaf++)
		cpuid_policy_add(policy, host, leaf);
	if (max_ext >= 0x80000008u)
		cpuid_policy_add(policy, host, 0x80000008u);
	return policy;
}

const struct vireo_cpuid_entry *cpuid_policy_find(const struct vireo_cpuid *policy,
						  uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < policy->nent; i++) {
		const struct vireo_cpuid_entry *e = &policy->entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & VIREO_CPUID_FLAG_SIGNIFICANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}
