// SPDX-License-Identifier: GPL-2.0
/*
 * Guest FPU/SIMD state.
 *
 * The backends call vireo_fpu_enter() and vireo_fpu_exit() around each
 * world switch, inside kernel_fpu_begin()/kernel_fpu_end(): the task's own
 * state is saved by kernel_fpu_begin(), and every register the guest could
 * see is loaded from the vCPU's area first, so a guest never reads what an
 * earlier task left in the registers.
 *
 * With XSAVE the whole state enabled in the host's XCR0 is switched (XCR0
 * itself is the host's: XSETBV is intercepted, so the guest cannot change
 * it); without XSAVE, FXSAVE/FXRSTOR cover x87 and SSE.  SDM vol. 1, 13.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <asm/cpufeature.h>
#include <asm/processor.h>

#include "vireo_core.h"

#define XSAVE_HDR_OFFSET	512
#define XFEATURE_X87_SSE	0x3ULL

static unsigned int vireo_fpu_size(void)
{
	u32 eax, ebx, ecx, edx;

	if (!boot_cpu_has(X86_FEATURE_XSAVE))
		return sizeof(struct fxregs_state);
	/* EBX: bytes needed for the features enabled in XCR0 now. */
	cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx);
	return max_t(unsigned int, ebx, XSAVE_HDR_OFFSET + 64);
}

int vireo_fpu_init(struct vireo_vcpu *vcpu)
{
	unsigned int size = vireo_fpu_size();
	struct fxregs_state *fx;

	/* Page allocations are 64-byte aligned, as XSAVE needs. */
	vcpu->guest_fpu_order = get_order(size);
	fx = (void *)__get_free_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO,
				      vcpu->guest_fpu_order);
	if (!fx)
		return -ENOMEM;
	/* x87 and SSE state after RESET/INIT (SDM vol. 1, 8.1.5, 10.2.3). */
	fx->cwd = 0x37f;
	fx->mxcsr = 0x1f80;
	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		/* XSTATE_BV: x87/SSE from the area, all else in init state. */
		*(u64 *)((u8 *)fx + XSAVE_HDR_OFFSET) = XFEATURE_X87_SSE;
	}
	vcpu->guest_fpu = fx;
	return 0;
}

void vireo_fpu_free(struct vireo_vcpu *vcpu)
{
	if (vcpu->guest_fpu)
		free_pages((unsigned long)vcpu->guest_fpu, vcpu->guest_fpu_order);
	vcpu->guest_fpu = NULL;
}

/* Between kernel_fpu_begin() and the world switch. */
void vireo_fpu_enter(struct vireo_vcpu *vcpu)
{
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		asm volatile("xrstor64 (%0)" : : "r" (vcpu->guest_fpu),
			     "a" (-1), "d" (-1) : "memory");
	else
		asm volatile("fxrstor64 (%0)" : : "r" (vcpu->guest_fpu) : "memory");
}

/* After the world switch, before kernel_fpu_end(). */
void vireo_fpu_exit(struct vireo_vcpu *vcpu)
{
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		asm volatile("xsave64 (%0)" : : "r" (vcpu->guest_fpu),
			     "a" (-1), "d" (-1) : "memory");
	else
		asm volatile("fxsave64 (%0)" : : "r" (vcpu->guest_fpu) : "memory");
}
