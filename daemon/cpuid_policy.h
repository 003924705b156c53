/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CPUID policy vireod gives every VM (VIREO_SET_CPUID).
 */
#ifndef VIREOD_CPUID_POLICY_H
#define VIREOD_CPUID_POLICY_H

#include <stdint.h>

#include "vireo.h"

/* Hypervisor leaves (the range 0x40000000-0x400000ff is reserved for
 * hypervisors by both vendors; see also the guest-drivers discovery). */
#define CPUID_LEAF_HYPERVISOR		0x40000000u
#define CPUID_LEAF_HYPERVISOR_FEATURES	0x40000001u
/* EAX: guest TSC frequency in kHz (0: unknown); EBX: LAPIC timer kHz. */
#define CPUID_LEAF_HYPERVISOR_TIMING	0x40000010u
/* The module's LAPIC timer counts at 1 GHz (kmod/lapic.c). */
#define CPUID_LAPIC_TIMER_KHZ		1000000u
#define CPUID_VIREO_SIGNATURE		"VireoVireoVi"

/* Leaf 1 ECX bits (SDM vol. 2A, CPUID; APM vol. 3, appendix E). */
#define CPUID_1_ECX_VMX		(1u << 5)
#define CPUID_1_ECX_SMX		(1u << 6)
#define CPUID_1_ECX_FMA		(1u << 12)
#define CPUID_1_ECX_XSAVE	(1u << 26)
#define CPUID_1_ECX_OSXSAVE	(1u << 27)
#define CPUID_1_ECX_AVX		(1u << 28)
#define CPUID_1_ECX_F16C	(1u << 29)
#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
/* Leaf 0x80000001 ECX bits (APM vol. 3, E.4.2). */
#define CPUID_80000001_ECX_SVM	(1u << 2)
#define CPUID_80000001_ECX_XOP	(1u << 11)
#define CPUID_80000001_ECX_FMA4	(1u << 16)

/* The function that executes CPUID on the host (replaceable in tests). */
typedef void (*cpuid_host_fn)(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
void cpuid_host(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/*
 * Returns a malloc'd policy ready for VIREO_SET_CPUID, or NULL (ENOMEM).
 * @tsc_khz is the guest's TSC frequency (VIREO_GET_TSC_KHZ), 0 if unknown.
 */
struct vireo_cpuid *cpuid_policy_build(cpuid_host_fn host, uint32_t tsc_khz);

/* Looks a leaf up in a policy; NULL if absent. */
const struct vireo_cpuid_entry *cpuid_policy_find(const struct vireo_cpuid *policy,
						  uint32_t function, uint32_t index);

#endif
