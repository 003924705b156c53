// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's CPUID, answered by the module from this table.
 *
 *  - Leaf 0: the host vendor string; max basic leaf the host's, at most
 *    0xD.  Basic leaves not listed here read as zero (2-6, 8-0xC: no cache
 *    descriptors, MONITOR/MWAIT, thermal, performance-monitoring or
 *    topology leaves).
 *  - Leaf 1: the host's, with the hypervisor bit (ECX[31]) set; VMX and SMX
 *    cleared (no nested virtualization); MONITOR cleared (intercepted, not
 *    emulated); OSXSAVE left to the module, which mirrors the vCPU's
 *    CR4.OSXSAVE; XSAVE cleared if the host has XSAVE off, AVX, FMA and
 *    F16C if AVX state is not offered; the initial APIC ID (EBX[31:24])
 *    zeroed (the module fills in each vCPU's).
 *  - Leaf 7 subleaf 0: from an allow list, what the host has of
 *    instruction-set extensions (BMI1/2, ERMS, ADX, RDSEED, CLFLUSHOPT,
 *    CLWB, SHA; AVX2, GFNI, VAES, VPCLMULQDQ with AVX; the AVX-512 set
 *    with AVX-512 state) and of the protections that are a CR4 bit the
 *    hardware implements under nested paging with no help from the module
 *    (FSGSBASE, SMEP, SMAP, UMIP: both backends let the guest own those
 *    CR4 bits).  Nothing that needs an MSR, a state component or an
 *    intercept the module does not have (INVPCID and PCID, PKU, RDPID,
 *    TSX, ...).
 *  - Leaf 0xD: the XSAVE components offered (cpuid_xcr0_offered()); EBX
 *    of subleaf 0 is filled in by the module for the guest's XCR0; subleaf
 *    1 offers XSAVEOPT and XGETBV with ECX=1, not XSAVEC/XSAVES; the
 *    subleaves of the offered components are the host's.
 *  - 0x40000000: max hypervisor leaf 0x40000010 and "VireoVireoVi" in
 *    EBX, ECX, EDX (the layout KVM and Xen use for their signatures).
 *  - 0x40000001: feature bits, none defined yet (all zero).
 *  - 0x40000002-0x4000000f: reserved, read as zero.
 *  - 0x40000010: timing -- EAX the TSC frequency in kHz (0 when unknown),
 *    EBX the LAPIC timer frequency in kHz; the layout VMware defined and
 *    other hypervisors reuse, so a guest needs no calibration against a
 *    timer.  Linux 6.1 reads this leaf only under VMware's signature, so
 *    vireod also passes tsc_early_khz= to Linux guests (docs/boot.md).
 *  - 0x80000000-0x80000004, 0x80000007 and 0x80000008 when the host has
 *    them: extended max leaf (clamped), extended features with SVM cleared
 *    (and XOP, FMA4 when AVX state is not offered), the brand string, the
 *    invariant-TSC bit alone (EDX bit 8: one TSC offset per VM keeps it
 *    true) and the address sizes.
 */
#include <cpuid.h>
#include <stdlib.h>
#include <string.h>

#include "cpuid_policy.h"

#define CPUID_MAX_BASIC		0xdu
#define CPUID_MAX_EXTENDED	0x80000008u
#define CPUID_POLICY_ENTRIES	64

#define CPUID_7_EBX_ALLOWED	(CPUID_7_EBX_BMI1 | CPUID_7_EBX_BMI2 | CPUID_7_EBX_ERMS | \
				 CPUID_7_EBX_RDSEED | CPUID_7_EBX_ADX | \
				 CPUID_7_EBX_CLFLUSHOPT | CPUID_7_EBX_CLWB | CPUID_7_EBX_SHA | \
				 CPUID_7_EBX_FSGSBASE | CPUID_7_EBX_SMEP | CPUID_7_EBX_SMAP)
#define CPUID_7_ECX_ALLOWED	CPUID_7_ECX_UMIP
#define CPUID_7_EBX_AVX512	(CPUID_7_EBX_AVX512F | CPUID_7_EBX_AVX512DQ | \
				 CPUID_7_EBX_AVX512IFMA | CPUID_7_EBX_AVX512CD | \
				 CPUID_7_EBX_AVX512BW | CPUID_7_EBX_AVX512VL)
#define CPUID_7_ECX_AVX		(CPUID_7_ECX_GFNI | CPUID_7_ECX_VAES | CPUID_7_ECX_VPCLMULQDQ)
#define CPUID_7_ECX_AVX512	(CPUID_7_ECX_AVX512VBMI | CPUID_7_ECX_AVX512VBMI2 | \
				 CPUID_7_ECX_AVX512VNNI | CPUID_7_ECX_AVX512BITALG | \
				 CPUID_7_ECX_AVX512VPOPCNTDQ)
#define XSAVE_LEGACY_SIZE	576	/* legacy area and header */

void cpuid_host(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	__cpuid_count(leaf, subleaf, out[0], out[1], out[2], out[3]);
}

uint64_t cpuid_host_xcr0(void)
{
	uint32_t regs[4], lo, hi;

	cpuid_host(1, 0, regs);
	if (!(regs[2] & CPUID_1_ECX_OSXSAVE))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t cpuid_xcr0_offered(uint64_t host_xcr0)
{
	uint64_t mask;

	if (!(host_xcr0 & XCR0_X87))
		return 0;
	mask = host_xcr0 & (XCR0_X87 | XCR0_SSE | XCR0_YMM | XCR0_AVX512);
	if ((mask & XCR0_AVX512) != XCR0_AVX512)
		mask &= ~XCR0_AVX512;
	return mask;
}

static struct vireo_cpuid_entry *cpuid_policy_add_index(struct vireo_cpuid *policy,
							cpuid_host_fn host,
							uint32_t leaf, uint32_t index,
							uint32_t flags)
{
	struct vireo_cpuid_entry *entry = &policy->entries[policy->nent++];
	uint32_t regs[4];

	host(leaf, index, regs);
	memset(entry, 0, sizeof(*entry));
	entry->function = leaf;
	entry->index = index;
	entry->flags = flags;
	entry->eax = regs[0];
	entry->ebx = regs[1];
	entry->ecx = regs[2];
	entry->edx = regs[3];
	return entry;
}

static struct vireo_cpuid_entry *cpuid_policy_add(struct vireo_cpuid *policy,
						  cpuid_host_fn host, uint32_t leaf)
{
	return cpuid_policy_add_index(policy, host, leaf, 0, 0);
}

/* Leaf 7 subleaf 0: the allowed extensions of those the host has. */
static void cpuid_policy_leaf7(struct vireo_cpuid *policy, cpuid_host_fn host,
			       uint64_t xcr0)
{
	struct vireo_cpuid_entry *entry;
	uint32_t ebx = CPUID_7_EBX_ALLOWED, ecx = CPUID_7_ECX_ALLOWED;

	if (xcr0 & XCR0_YMM) {
		ebx |= CPUID_7_EBX_AVX2;
		ecx |= CPUID_7_ECX_AVX;
	}
	if (xcr0 & XCR0_AVX512) {
		ebx |= CPUID_7_EBX_AVX512;
		ecx |= CPUID_7_ECX_AVX512;
	}
	entry = cpuid_policy_add_index(policy, host, 7, 0,
				       VIREO_CPUID_FLAG_SIGNIFICANT_INDEX);
	entry->eax = 0;			/* no subleaf above 0 */
	entry->ebx &= ebx;
	entry->ecx &= ecx;
	entry->edx = 0;
}

/* Leaf 0xD for the XCR0 components in @xcr0 (the offered ones). */
static void cpuid_policy_leafd(struct vireo_cpuid *policy, cpuid_host_fn host,
			       uint64_t xcr0)
{
	struct vireo_cpuid_entry *entry, *sub0;
	uint32_t max_size = XSAVE_LEGACY_SIZE;
	unsigned int i;

	sub0 = cpuid_policy_add_index(policy, host, 0xd, 0,
				      VIREO_CPUID_FLAG_SIGNIFICANT_INDEX);
	entry = cpuid_policy_add_index(policy, host, 0xd, 1,
				       VIREO_CPUID_FLAG_SIGNIFICANT_INDEX);
	entry->eax &= CPUID_D1_EAX_XSAVEOPT | CPUID_D1_EAX_XGETBV1;
	entry->ebx = entry->ecx = entry->edx = 0;
	for (i = 2; i < 64; i++) {
		if (!(xcr0 & (1ull << i)))
			continue;
		entry = cpuid_policy_add_index(policy, host, 0xd, i,
					       VIREO_CPUID_FLAG_SIGNIFICANT_INDEX);
		entry->ecx &= 2;	/* user component; keep the 64-byte alignment bit */
		entry->edx = 0;
		if (entry->ebx + entry->eax > max_size)
			max_size = entry->ebx + entry->eax;
	}
	sub0->eax = (uint32_t)xcr0;
	sub0->edx = (uint32_t)(xcr0 >> 32);
	sub0->ebx = XSAVE_LEGACY_SIZE;	/* the module fills in the guest's */
	sub0->ecx = max_size;
}

struct vireo_cpuid *cpuid_policy_build(cpuid_host_fn host, uint64_t host_xcr0,
				       uint32_t tsc_khz)
{
	struct vireo_cpuid *policy;
	struct vireo_cpuid_entry *entry;
	uint32_t sig[3], max_basic, max_ext, leaf;
	uint64_t xcr0;

	policy = calloc(1, sizeof(*policy) +
			CPUID_POLICY_ENTRIES * sizeof(struct vireo_cpuid_entry));
	if (!policy)
		return NULL;

	entry = cpuid_policy_add(policy, host, 0);
	if (entry->eax > CPUID_MAX_BASIC)
		entry->eax = CPUID_MAX_BASIC;
	max_basic = entry->eax;

	entry = cpuid_policy_add(policy, host, 1);
	/* XSAVE needs leaf 0xD to describe it. */
	xcr0 = max_basic >= 0xd && (entry->ecx & CPUID_1_ECX_XSAVE) ?
	       cpuid_xcr0_offered(host_xcr0) : 0;
	entry->ebx &= 0x00ffffffu;
	entry->ecx &= ~(CPUID_1_ECX_VMX | CPUID_1_ECX_SMX | CPUID_1_ECX_MONITOR |
			CPUID_1_ECX_OSXSAVE);
	if (!xcr0)
		entry->ecx &= ~CPUID_1_ECX_XSAVE;
	if (!(xcr0 & XCR0_YMM))
		entry->ecx &= ~(CPUID_1_ECX_AVX | CPUID_1_ECX_FMA | CPUID_1_ECX_F16C);
	entry->ecx |= CPUID_1_ECX_HYPERVISOR;

	if (max_basic >= 7)
		cpuid_policy_leaf7(policy, host, xcr0);
	if (xcr0)
		cpuid_policy_leafd(policy, host, xcr0);

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
	entry->ecx &= ~CPUID_80000001_ECX_SVM;
	if (!(xcr0 & XCR0_YMM))
		entry->ecx &= ~(CPUID_80000001_ECX_XOP | CPUID_80000001_ECX_FMA4);

	for (leaf = 0x80000002u; leaf <= 0x80000004u && leaf <= max_ext; leaf++)
		cpuid_policy_add(policy, host, leaf);
	if (max_ext >= 0x80000007u) {
		/*
		 * Only the invariant TSC: the guest's TSC is the host's plus a
		 * constant (one offset per VM), so it is as invariant as the
		 * host's.  Without it Linux assumes an AMD SMP guest's TSCs are
		 * unsynchronised and falls back to a jiffies clock.
		 */
		entry = cpuid_policy_add(policy, host, 0x80000007u);
		entry->eax = entry->ebx = entry->ecx = 0;
		entry->edx &= CPUID_80000007_EDX_INVTSC;
	}
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
