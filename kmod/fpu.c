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
 * With XSAVE the whole state enabled in the host's XCR0 is switched;
 * without XSAVE, FXSAVE/FXRSTOR cover x87 and SSE.  SDM vol. 1, 13.
 *
 * XCR0: XSETBV always exits (VMX) or is intercepted (SVM) and lands in
 * vireo_emulate_xsetbv(), which keeps the guest's value in vcpu->xcr0.
 * The hardware XCR0 is the guest's from just before the entry to just
 * after the exit (switched only when it differs from the host's).  The
 * area above is always saved and restored under the host's XCR0, so
 * components the guest has turned off keep what they held.
 *
 * VIREO_GET_FPU / VIREO_SET_FPU hand the area (as it is) and XCR0 to user
 * space and back; a SET is checked first, so that the XRSTOR of the next
 * entry cannot fault.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/processor.h>
#include <asm/traps.h>

#include "vireo_core.h"

#define XSAVE_HDR_OFFSET	512
#define XSAVE_HDR_SIZE		64
#define XFEATURE_X87_SSE	0x3ULL
#define XSAVE_LEGACY_SIZE	576	/* legacy area and header */
#define MXCSR_MASK_DEFAULT	0xffbf	/* an FXSAVE image with MXCSR_MASK 0 */

/* Bytes of the save area in use, and the MXCSR bits the CPU accepts. */
static unsigned int vireo_fpu_bytes __ro_after_init;
static u32 vireo_mxcsr_mask __ro_after_init;

/*
 * The XCR0 components a guest may enable: x87, SSE, AVX and the AVX-512
 * triple (opmask, ZMM_Hi256, Hi16_ZMM), as far as the host has enabled
 * them.  Not offered: MPX (deprecated), PKRU (would need CR4.PKE and the
 * PKRU switch), AMX and the supervisor components (IA32_XSS).
 */
#define VIREO_XCR0_OFFERED	(XFEATURE_MASK_FP | XFEATURE_MASK_SSE | \
				 XFEATURE_MASK_YMM | XFEATURE_MASK_AVX512)

static u64 vireo_xcr0_offered(void)
{
	u64 mask;

	if (!boot_cpu_has(X86_FEATURE_OSXSAVE))
		return XFEATURE_MASK_FP | XFEATURE_MASK_SSE;
	mask = xgetbv(XCR_XFEATURE_ENABLED_MASK) & VIREO_XCR0_OFFERED;
	if ((mask & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512)
		mask &= ~XFEATURE_MASK_AVX512;
	return mask;
}

/*
 * The checks XSETBV makes on the value for XCR0 (SDM vol. 2C, XSETBV;
 * vol. 1, 13.3): x87 set, AVX only with SSE, the AVX-512 triple all or
 * nothing and only with AVX, nothing outside what is offered.
 */
static bool vireo_xcr0_valid(u64 xcr0)
{
	if (!(xcr0 & XFEATURE_MASK_FP) || (xcr0 & ~vireo_xcr0_offered()))
		return false;
	if ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE))
		return false;
	if ((xcr0 & XFEATURE_MASK_AVX512) &&
	    ((xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512 ||
	     !(xcr0 & XFEATURE_MASK_YMM)))
		return false;
	return true;
}

/*
 * XSETBV (0f 01 d1) from the guest: #UD without CR4.OSXSAVE, #GP(0) at
 * CPL > 0, for an XCR other than 0 or a value XSETBV refuses; else XCR0
 * takes the value and RIP moves past the instruction.
 */
int vireo_emulate_xsetbv(struct vireo_vcpu *vcpu, bool osxsave,
			 unsigned int cpl)
{
	u64 value = (u32)vcpu->regs[VCPU_RAX] |
		    ((u64)(u32)vcpu->regs[VCPU_RDX] << 32);

	if (!osxsave) {
		vireo_ops->queue_exception(vcpu, X86_TRAP_UD, false, 0);
		return VIREO_RESUME;
	}
	if (cpl || (u32)vcpu->regs[VCPU_RCX] != 0 || !vireo_xcr0_valid(value)) {
		vireo_ops->queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return VIREO_RESUME;
	}
	vcpu->xcr0 = value;
	vcpu->rip += 3;
	return VIREO_RESUME;
}

/*
 * CPUID.(EAX=0DH,ECX=0):EBX, the XSAVE area size for the guest's XCR0
 * (standard format): the end of the highest enabled component.
 */
u32 vireo_xsave_size(u64 xcr0)
{
	u32 size = XSAVE_LEGACY_SIZE, eax, ebx, ecx, edx;
	unsigned int i;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		size = max(size, ebx + eax);	/* offset + size */
	}
	return size;
}

/*
 * With interrupts off (VMX) or GIF clear (SVM), right before the entry:
 * the guest's XCR0, if it differs from the host's.  It is loaded even
 * while the guest has CR4.OSXSAVE clear: on SVM (no CR4 write intercept)
 * and VMX (OSXSAVE is the guest's bit) the guest can set it without an
 * exit and then read XCR0.  Linux guests set XCR0 to what the host has,
 * after which nothing is switched.  Returns the host's XCR0 for
 * vireo_xcr0_exit(), 0 on a host without XSAVE.
 */
u64 vireo_xcr0_enter(struct vireo_vcpu *vcpu)
{
	u64 host;

	if (!boot_cpu_has(X86_FEATURE_OSXSAVE))
		return 0;
	host = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	if (vcpu->xcr0 != host)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
	return host;
}

/*
 * Right after the exit, interrupts still off: the host's XCR0 again,
 * whatever the guest did.  XSETBV exits on VMX and is intercepted on SVM,
 * but QEMU's TCG does not implement the SVM intercept: there the guest's
 * XSETBV changes the hardware XCR0 directly (with the CPU's own checks).
 * XCR0 is therefore read back after every exit, and a changed value is
 * taken as the guest's (logged once).
 */
void vireo_xcr0_exit(struct vireo_vcpu *vcpu, u64 host)
{
	u64 now;

	if (!host)
		return;
	now = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	if (unlikely(now != vcpu->xcr0)) {
		pr_warn_once(VIREO_LOG_PREFIX "vm %u vcpu %u: XCR0 changed from %#llx to %#llx without an XSETBV exit (is the XSETBV intercept emulated?)\n",
			     vcpu->vm->id, vcpu->id, vcpu->xcr0, now);
		vcpu->xcr0 = now;
	}
	if (now != host)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, host);
}

static unsigned int __init vireo_fpu_size(void)
{
	u32 eax, ebx, ecx, edx;

	if (!boot_cpu_has(X86_FEATURE_XSAVE))
		return sizeof(struct fxregs_state);
	/* EBX: bytes needed for the features enabled in XCR0 now. */
	cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx);
	return max_t(unsigned int, ebx, XSAVE_HDR_OFFSET + XSAVE_HDR_SIZE);
}

/*
 * At module load: the size of every vCPU's area (the host's XCR0 does not
 * change once the kernel has booted), and MXCSR_MASK from an FXSAVE image
 * (SDM vol. 1, 11.6.6: 0 there means the default mask), which says which
 * MXCSR bits FXRSTOR and XRSTOR load without a #GP.
 */
static struct fxregs_state vireo_fx_probe __initdata;

void __init vireo_fpu_setup(void)
{
	vireo_fpu_bytes = vireo_fpu_size();
	kernel_fpu_begin();
	asm volatile("fxsave64 %0" : "=m" (vireo_fx_probe));
	kernel_fpu_end();
	vireo_mxcsr_mask = vireo_fx_probe.mxcsr_mask ?: MXCSR_MASK_DEFAULT;
}

int vireo_fpu_init(struct vireo_vcpu *vcpu)
{
	unsigned int size = vireo_fpu_bytes;
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
	vcpu->xcr0 = XFEATURE_MASK_FP;	/* after RESET; INIT keeps it (9.1.1) */
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

static u32 vireo_fpu_flags(void)
{
	return boot_cpu_has(X86_FEATURE_XSAVE) ? VIREO_FPU_XSAVE : 0;
}

/*
 * VIREO_GET_FPU, under vcpu->mutex: the area is written only by the
 * vCPU's own RUN (vireo_fpu_exit()), which holds the mutex too.
 */
int vireo_fpu_get_state(struct vireo_vcpu *vcpu, struct vireo_fpu_state *s)
{
	memset(s, 0, sizeof(*s));
	if (vireo_fpu_bytes > sizeof(s->area))
		return -E2BIG;
	s->xcr0 = vcpu->xcr0;
	s->size = vireo_fpu_bytes;
	s->flags = vireo_fpu_flags();
	memcpy(s->area, vcpu->guest_fpu, vireo_fpu_bytes);
	return 0;
}

/*
 * VIREO_SET_FPU, under vcpu->mutex.  The image is loaded by XRSTOR (or
 * FXRSTOR) in vireo_fpu_enter(), inside the module: everything that would
 * make it #GP is refused here first (SDM vol. 1, 13.8; XRSTOR, FXRSTOR in
 * vol. 2): an XSTATE_BV bit outside XCR0, header bytes 23:8 not 0, MXCSR
 * bits outside MXCSR_MASK.  Stricter than the CPU: XSTATE_BV may only name
 * offered components, and header bytes 63:24 must be 0 too (they are 0 in
 * every area, so GET always gives 0 there).
 */
int vireo_fpu_set_state(struct vireo_vcpu *vcpu,
			const struct vireo_fpu_state *s)
{
	const struct fxregs_state *fx = (const void *)s->area;
	const u8 *hdr = s->area + XSAVE_HDR_OFFSET;
	u64 xstate_bv;

	if (vireo_fpu_bytes > sizeof(s->area))
		return -E2BIG;
	if (memchr_inv(s->reserved, 0, sizeof(s->reserved)) ||
	    s->size != vireo_fpu_bytes || s->flags != vireo_fpu_flags())
		return -EINVAL;
	if (!vireo_xcr0_valid(s->xcr0))
		return -EINVAL;
	if (fx->mxcsr & ~vireo_mxcsr_mask)
		return -EINVAL;
	if (s->flags & VIREO_FPU_XSAVE) {
		memcpy(&xstate_bv, hdr, sizeof(xstate_bv));
		if (xstate_bv & ~vireo_xcr0_offered())
			return -EINVAL;
		/* XCOMP_BV (standard format) and the reserved bytes. */
		if (memchr_inv(hdr + 8, 0, XSAVE_HDR_SIZE - 8))
			return -EINVAL;
	}
	memcpy(vcpu->guest_fpu, s->area, vireo_fpu_bytes);
	vcpu->xcr0 = s->xcr0;
	return 0;
}
