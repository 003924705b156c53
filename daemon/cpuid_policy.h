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
#define CPUID_1_ECX_MONITOR	(1u << 3)
#define CPUID_1_ECX_VMX		(1u << 5)
#define CPUID_1_ECX_SMX		(1u << 6)
#define CPUID_1_ECX_FMA		(1u << 12)
#define CPUID_1_ECX_XSAVE	(1u << 26)
#define CPUID_1_ECX_OSXSAVE	(1u << 27)
#define CPUID_1_ECX_AVX		(1u << 28)
#define CPUID_1_ECX_F16C	(1u << 29)
#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
/* Leaf 7 subleaf 0 (SDM vol. 2A, CPUID, table 3-8). */
#define CPUID_7_EBX_FSGSBASE	(1u << 0)
#define CPUID_7_EBX_BMI1	(1u << 3)
#define CPUID_7_EBX_AVX2	(1u << 5)
#define CPUID_7_EBX_SMEP	(1u << 7)
#define CPUID_7_EBX_BMI2	(1u << 8)
#define CPUID_7_EBX_ERMS	(1u << 9)
#define CPUID_7_EBX_AVX512F	(1u << 16)
#define CPUID_7_EBX_AVX512DQ	(1u << 17)
#define CPUID_7_EBX_RDSEED	(1u << 18)
#define CPUID_7_EBX_ADX		(1u << 19)
#define CPUID_7_EBX_SMAP	(1u << 20)
#define CPUID_7_EBX_AVX512IFMA	(1u << 21)
#define CPUID_7_EBX_CLFLUSHOPT	(1u << 23)
#define CPUID_7_EBX_CLWB	(1u << 24)
#define CPUID_7_EBX_AVX512CD	(1u << 28)
#define CPUID_7_EBX_SHA		(1u << 29)
#define CPUID_7_EBX_AVX512BW	(1u << 30)
#define CPUID_7_EBX_AVX512VL	(1u << 31)
#define CPUID_7_ECX_AVX512VBMI	(1u << 1)
#define CPUID_7_ECX_UMIP	(1u << 2)
#define CPUID_7_ECX_AVX512VBMI2	(1u << 6)
#define CPUID_7_ECX_GFNI	(1u << 8)
#define CPUID_7_ECX_VAES	(1u << 9)
#define CPUID_7_ECX_VPCLMULQDQ	(1u << 10)
#define CPUID_7_ECX_AVX512VNNI	(1u << 11)
#define CPUID_7_ECX_AVX512BITALG (1u << 12)
#define CPUID_7_ECX_AVX512VPOPCNTDQ (1u << 14)
/* Leaf 0xD subleaf 1 EAX. */
#define CPUID_D1_EAX_XSAVEOPT	(1u << 0)
#define CPUID_D1_EAX_XGETBV1	(1u << 2)
/* XCR0 components (SDM vol. 1, 13.1). */
#define XCR0_X87		(1ull << 0)
#define XCR0_SSE		(1ull << 1)
#define XCR0_YMM		(1ull << 2)
#define XCR0_AVX512		(7ull << 5)	/* opmask, ZMM_Hi256, Hi16_ZMM */
/* Leaf 0x80000001 ECX bits (APM vol. 3, E.4.2). */
#define CPUID_80000001_ECX_SVM	(1u << 2)
#define CPUID_80000001_ECX_XOP	(1u << 11)
#define CPUID_80000001_ECX_FMA4	(1u << 16)
/* Leaf 0x80000007 EDX bit 8 (APM vol. 3, E.4.6): invariant TSC. */
#define CPUID_80000007_EDX_INVTSC	(1u << 8)

/* The function that executes CPUID on the host (replaceable in tests). */
typedef void (*cpuid_host_fn)(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
void cpuid_host(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
/* The host's XCR0 (XGETBV), 0 if the host has XSAVE off. */
uint64_t cpuid_host_xcr0(void);

/*
 * The XCR0 components offered to guests, from the host's XCR0: x87, SSE,
 * AVX, and the AVX-512 triple if all of it is there.  The module accepts
 * the same (kmod/fpu.c, vireo_xcr0_offered()).
 */
uint64_t cpuid_xcr0_offered(uint64_t host_xcr0);

/*
 * Returns a malloc'd policy ready for VIREO_SET_CPUID, or NULL (ENOMEM).
 * @host_xcr0 is the host's XCR0 (cpuid_host_xcr0()); @tsc_khz the guest's
 * TSC frequency (VIREO_GET_TSC_KHZ), 0 if unknown.
 */
struct vireo_cpuid *cpuid_policy_build(cpuid_host_fn host, uint64_t host_xcr0,
				       uint32_t tsc_khz);

/* Looks a leaf up in a policy; NULL if absent. */
const struct vireo_cpuid_entry *cpuid_policy_find(const struct vireo_cpuid *policy,
						  uint32_t function, uint32_t index);

#endif
