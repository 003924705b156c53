// SPDX-License-Identifier: GPL-2.0
/*
 * FPU/SIMD state is switched between the host thread and the guest: the
 * guest's XMM registers, MXCSR, x87 control word and x87 register stack
 * survive its exits while the host thread loads other values into the
 * same registers between the runs; and the host thread's own XMM (and,
 * with AVX, YMM) registers, MXCSR and x87 control word come back from
 * VIREO_RUN as they went in, although the guest loaded its values in
 * between.
 *
 * With AVX on the host, the guest can also turn XSAVE on and choose its
 * XCR0: XSETBV is checked as the CPU checks it, the XCR0 the guest chose
 * is the one in force while it runs (AVX is #UD under XCR0 = x87|SSE),
 * CPUID shows OSXSAVE and the XSAVE size of that XCR0, and the guest's YMM
 * registers survive exits as the XMM ones do.
 *
 * The host half keeps its values in the registers across the RUN system
 * call itself (a raw SYSCALL in one asm block), so nothing in libc can
 * save or reload them behind the test's back.  Linux preserves every
 * vector register across a system call, so any difference is the
 * kernel's (or the emulator's) doing, not the ABI's.
 */
#include <sys/syscall.h>

#include "vireo_test.h"

#define NR_EXITS	8
#define FPU_PORT	0x80

/* x87 CW: 53-bit precision, round toward zero, all exceptions masked. */
#define GUEST_FCW	0x0e7f
/* MXCSR: round toward +inf, flush to zero, all exceptions masked. */
#define GUEST_MXCSR	0xdf80
#define HOST_FCW	0x067f	/* 53-bit precision, round down */
#define HOST_MXCSR	0x3f80	/* round down */

#define PAT(i, salt)	{ (salt) ^ (0x0101010101010101ULL * ((i) + 1)), \
			  (salt) ^ (0x1000000000000001ULL << ((i) % 4)) ^ (i) }
#define PAT16(salt)	{ PAT(0, salt), PAT(1, salt), PAT(2, salt), PAT(3, salt), \
			  PAT(4, salt), PAT(5, salt), PAT(6, salt), PAT(7, salt), \
			  PAT(8, salt), PAT(9, salt), PAT(10, salt), PAT(11, salt), \
			  PAT(12, salt), PAT(13, salt), PAT(14, salt), PAT(15, salt) }

/*
 * The guest's XMM values, in the image it is loaded from; 32 bytes per
 * register (lanes 0-1 used), the layout the YMM values have too.
 */
static const uint64_t guest_xmm_in[16][4] __attribute__((aligned(32))) =
	PAT16(0x6a09e667f3bcc908ULL);

/* Written by the guest in its copy of the image. */
static uint64_t guest_xmm_out[16][4] __attribute__((aligned(32)));
static uint64_t guest_st_out[2];
static uint16_t guest_fcw_out;
static uint32_t guest_mxcsr_out;

/* Register i at 32 * i bytes from the address in asm operand r. */
#define XMM_LOAD(r, i)	"movdqa " #i "*32(%" #r "), %%xmm" #i "\n\t"
#define XMM_STORE(r, i)	"movdqa %%xmm" #i ", " #i "*32(%" #r ")\n\t"
#define YMM_LOAD(r, i)	"vmovdqa " #i "*32(%" #r "), %%ymm" #i "\n\t"
#define YMM_STORE(r, i)	"vmovdqa %%ymm" #i ", " #i "*32(%" #r ")\n\t"
#define XMM_ALL(op, r)	op(r, 0) op(r, 1) op(r, 2) op(r, 3) op(r, 4) op(r, 5) \
			op(r, 6) op(r, 7) op(r, 8) op(r, 9) op(r, 10) op(r, 11) \
			op(r, 12) op(r, 13) op(r, 14) op(r, 15)

/*
 * Load every register the guest can see, exit NR_EXITS times through
 * OUT, then store them all: one asm block, so the compiler cannot touch
 * them in between (guest code is built with -mgeneral-regs-only anyway).
 */
static void __guest_code guest_fpu(void)
{
	uint16_t fcw = GUEST_FCW;
	uint32_t mxcsr = GUEST_MXCSR;
	unsigned int i;

	asm volatile("fninit\n\t"
		     "fldcw %[fcw]\n\t"
		     "ldmxcsr %[mxcsr]\n\t"
		     "fldpi\n\t"
		     "fld1\n\t"
		     XMM_ALL(XMM_LOAD, [in])
		     "mov %[n], %%ecx\n"
		     "1:\n\t"
		     "outb %%al, %[port]\n\t"
		     "dec %%ecx\n\t"
		     "jnz 1b\n\t"
		     XMM_ALL(XMM_STORE, [out])
		     "fstpl %[st0]\n\t"
		     "fstpl %[st1]\n\t"
		     "fnstcw %[fcw_out]\n\t"
		     "stmxcsr %[mxcsr_out]"
		     : [st0] "=m"(guest_st_out[0]), [st1] "=m"(guest_st_out[1]),
		       [fcw_out] "=m"(guest_fcw_out), [mxcsr_out] "=m"(guest_mxcsr_out)
		     : [fcw] "m"(fcw), [mxcsr] "m"(mxcsr),
		       [in] "r"(guest_xmm_in), [out] "r"(guest_xmm_out),
		       [n] "i"(NR_EXITS), [port] "i"(FPU_PORT), "a"(0)
		     : "rcx", "memory", "cc");

	for (i = 0; i < 16; i++) {
		GUEST_ASSERT_EQ(guest_xmm_out[i][0], guest_xmm_in[i][0]);
		GUEST_ASSERT_EQ(guest_xmm_out[i][1], guest_xmm_in[i][1]);
	}
	/* 1.0 and pi as doubles (pi rounded toward zero by GUEST_FCW). */
	GUEST_ASSERT_EQ(guest_st_out[0], 0x3ff0000000000000ULL);
	GUEST_ASSERT_EQ(guest_st_out[1], 0x400921fb54442d18ULL);
	GUEST_ASSERT_EQ(guest_fcw_out, GUEST_FCW);
	GUEST_ASSERT_EQ(guest_mxcsr_out, GUEST_MXCSR);
	GUEST_DONE();
}

/* AVX usable by this process: CPUID.1:ECX.AVX, OSXSAVE and XCR0 SSE|AVX. */
static bool host_has_avx(void)
{
	struct cpuid_regs r = cpuid(1, 0);

	if (!(r.ecx & (1u << 27)) || !(r.ecx & (1u << 28)))
		return false;
	return (xgetbv(0) & 6) == 6;
}

struct host_fpu {
	uint64_t reg[16][4] __attribute__((aligned(32)));	/* YMM, or XMM in [0..1] */
	uint16_t fcw;
	uint32_t mxcsr;
};

/*
 * VIREO_RUN with @in loaded into the vector registers, MXCSR and x87 CW,
 * and what those hold afterwards in @out.  The caller's own MXCSR and CW
 * are put back before returning.
 */
static long run_holding_host_fpu(int vcpu_fd, bool avx, const struct host_fpu *in,
				 struct host_fpu *out)
{
	uint16_t saved_fcw;
	uint32_t saved_mxcsr;
	long ret;

#define RUN_ASM(LOAD, STORE)						\
	asm volatile("fnstcw %[saved_fcw]\n\t"				\
		     "stmxcsr %[saved_mxcsr]\n\t"			\
		     "fldcw %[in_fcw]\n\t"				\
		     "ldmxcsr %[in_mxcsr]\n\t"				\
		     XMM_ALL(LOAD, [in])				\
		     "syscall\n\t"					\
		     XMM_ALL(STORE, [out])				\
		     "fnstcw %[out_fcw]\n\t"				\
		     "stmxcsr %[out_mxcsr]\n\t"				\
		     "fldcw %[saved_fcw]\n\t"				\
		     "ldmxcsr %[saved_mxcsr]"				\
		     : "=a"(ret), [saved_fcw] "=m"(saved_fcw),		\
		       [saved_mxcsr] "=m"(saved_mxcsr),			\
		       [out_fcw] "=m"(out->fcw), [out_mxcsr] "=m"(out->mxcsr) \
		     : "a"((long)SYS_ioctl), "D"((long)vcpu_fd),	\
		       "S"((long)VIREO_RUN), "d"(0L),			\
		       [in] "r"(in->reg), [out] "r"(out->reg),		\
		       [in_fcw] "m"(in->fcw), [in_mxcsr] "m"(in->mxcsr)	\
		     : "rcx", "r11", "memory", "cc")

	if (avx)
		RUN_ASM(YMM_LOAD, YMM_STORE);
	else
		RUN_ASM(XMM_LOAD, XMM_STORE);
#undef RUN_ASM
	return ret;
}

static void host_fpu_fill(struct host_fpu *h, unsigned int round)
{
	uint64_t salt = 0xbb67ae8584caa73bULL * (round + 1);
	unsigned int i, j;

	for (i = 0; i < 16; i++)
		for (j = 0; j < 4; j++)
			/* Every 64-bit lane non-zero, the upper YMM halves too. */
			h->reg[i][j] = salt ^ (0x0101010101010101ULL * (i * 4 + j + 1));
	h->fcw = HOST_FCW;
	h->mxcsr = HOST_MXCSR;
}

/*
 * The host registers came back from VIREO_RUN as they went in; else
 * describe the first difference in @why.
 */
static bool host_fpu_kept(const struct host_fpu *in, const struct host_fpu *out,
			  bool avx, char *why, size_t len)
{
	unsigned int i, lanes = avx ? 4 : 2;

	for (i = 0; i < 16 * lanes; i++) {
		if (in->reg[i / lanes][i % lanes] != out->reg[i / lanes][i % lanes]) {
			snprintf(why, len, "host %s%u lane %u: 0x%llx became 0x%llx",
				 avx ? "ymm" : "xmm", i / lanes, i % lanes,
				 (unsigned long long)in->reg[i / lanes][i % lanes],
				 (unsigned long long)out->reg[i / lanes][i % lanes]);
			return false;
		}
	}
	if (in->fcw != out->fcw || in->mxcsr != out->mxcsr) {
		snprintf(why, len, "host FCW 0x%x -> 0x%x, MXCSR 0x%x -> 0x%x",
			 in->fcw, out->fcw, in->mxcsr, out->mxcsr);
		return false;
	}
	return true;
}

TEST(fpu_switched_between_host_and_guest)
{
	struct host_fpu in, out;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	bool avx = host_has_avx();
	char why[160];
	unsigned int r;

	if (!avx)
		TH_LOG("no AVX in this process: the host half checks XMM, not YMM");

	vm = vm_create_with_one_vcpu(&vcpu, guest_fpu);
	for (r = 0; r < NR_EXITS; r++) {
		host_fpu_fill(&in, r);
		memset(&out, 0, sizeof(out));
		ASSERT_EQ(0, run_holding_host_fpu(vcpu->fd, avx, &in, &out)) {
			TH_LOG("VIREO_RUN, round %u", r);
		}
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_IO);
		ASSERT_EQ(FPU_PORT, vcpu->run->io.port);
		ASSERT_TRUE(host_fpu_kept(&in, &out, avx, why, sizeof(why))) {
			TH_LOG("round %u: %s", r, why);
		}
	}
	/* The guest checks its own registers after the last exit. */
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* ---- XSAVE and AVX in the guest ---------------------------------------- */

#define X86_CR4_OSXSAVE		(1ULL << 18)
#define CPUID_1_ECX_XSAVE	(1u << 26)
#define CPUID_1_ECX_OSXSAVE	(1u << 27)
#define CPUID_1_ECX_AVX		(1u << 28)
#define XSAVE_SIZE_X87_SSE	576	/* legacy area and header */
#define XSAVE_SIZE_AVX		832	/* AVX state at 576, 256 bytes */

static const struct vireo_cpuid_entry xsave_policy[] = {
	{ .function = 0x0, .eax = 0xd },
	{ .function = 0x1, .ecx = CPUID_1_ECX_XSAVE | CPUID_1_ECX_AVX },
	{ .function = 0xd, .index = 0, .flags = VIREO_CPUID_FLAG_SIGNIFICANT_INDEX,
	  .eax = 0x7, .ecx = XSAVE_SIZE_AVX },
};

static const uint64_t guest_ymm_in[16][4] __attribute__((aligned(32))) = {
#define Y(i) { 0x1000 + (i), 0x2000 + (i), 0x3000 + (i), 0x4000 + (i) }
	Y(0), Y(1), Y(2), Y(3), Y(4), Y(5), Y(6), Y(7),
	Y(8), Y(9), Y(10), Y(11), Y(12), Y(13), Y(14), Y(15)
#undef Y
};
static uint64_t guest_ymm_out[16][4] __attribute__((aligned(32)));

/* An AVX instruction; returns the vector it raised (0 if none). */
static inline uint8_t avx_safe(void)
{
	register uint64_t vector asm("r9");
	register uint64_t error asm("r10");

	asm volatile(GUEST_ASM_SAFE("vpxor %%ymm0, %%ymm0, %%ymm0")
		     : "=&r"(vector), "=&r"(error) : : "memory");
	return vector;
}

static void __guest_code guest_xsave(void)
{
	uint64_t cr4;
	unsigned int i, j;

	/* XSAVE off (CR4.OSXSAVE clear): XSETBV is #UD, CPUID says so. */
	GUEST_ASSERT_EQ(xsetbv_safe(0, 3), UD_VECTOR);
	GUEST_ASSERT(!(cpuid(1, 0).ecx & CPUID_1_ECX_OSXSAVE));

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | X86_CR4_OSXSAVE) : "memory");
	GUEST_ASSERT(cpuid(1, 0).ecx & CPUID_1_ECX_OSXSAVE);
	GUEST_ASSERT_EQ(xgetbv(0), 1);		/* XCR0 after RESET */
	GUEST_ASSERT_EQ(cpuid(0xd, 0).ebx, XSAVE_SIZE_X87_SSE);

	/* Values XSETBV refuses, and XCR1: #GP(0), XCR0 unchanged. */
	GUEST_ASSERT_EQ(xsetbv_safe(0, 0), GP_VECTOR);		/* no x87 */
	GUEST_ASSERT_EQ(xsetbv_safe(0, 5), GP_VECTOR);		/* AVX without SSE */
	GUEST_ASSERT_EQ(xsetbv_safe(0, 0xb), GP_VECTOR);	/* MPX: not offered */
	GUEST_ASSERT_EQ(xsetbv_safe(1, 3), GP_VECTOR);
	GUEST_ASSERT_EQ(xgetbv(0), 1);

	/* x87 and SSE only: the guest's XCR0 is in force, AVX is #UD. */
	GUEST_ASSERT_EQ(xsetbv_safe(0, 3), 0);
	GUEST_ASSERT_EQ(xgetbv(0), 3);
	GUEST_ASSERT_EQ(avx_safe(), UD_VECTOR);
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(xgetbv(0), 3);
	GUEST_ASSERT_EQ(avx_safe(), UD_VECTOR);

	/* AVX on: YMM survives exits. */
	GUEST_ASSERT_EQ(xsetbv_safe(0, 7), 0);
	GUEST_ASSERT_EQ(cpuid(0xd, 0).ebx, XSAVE_SIZE_AVX);
	asm volatile(XMM_ALL(YMM_LOAD, [in])
		     "mov %[n], %%ecx\n"
		     "1:\n\t"
		     "outb %%al, %[port]\n\t"
		     "dec %%ecx\n\t"
		     "jnz 1b\n\t"
		     XMM_ALL(YMM_STORE, [out])
		     "vzeroupper"
		     : : [in] "r"(guest_ymm_in), [out] "r"(guest_ymm_out),
		       [n] "i"(NR_EXITS), [port] "i"(FPU_PORT), "a"(0)
		     : "rcx", "memory", "cc");
	for (i = 0; i < 16; i++)
		for (j = 0; j < 4; j++)
			GUEST_ASSERT_EQ(guest_ymm_out[i][j], guest_ymm_in[i][j]);
	GUEST_DONE();
}

TEST(guest_xcr0_and_avx_state)
{
	struct host_fpu in, out;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	unsigned int r, syncs = 0, outs = 0;
	struct ucall uc;
	char why[160];
	uint64_t cmd;

	if (!host_has_avx())
		SKIP(return, "the host has no AVX (XCR0 without YMM): only x87/SSE to switch");

	vm = vm_create_with_one_vcpu(&vcpu, guest_xsave);
	vm_set_cpuid(vm, xsave_policy, ARRAY_SIZE(xsave_policy));
	for (r = 0; r < 4 * NR_EXITS; r++) {
		host_fpu_fill(&in, r);
		memset(&out, 0, sizeof(out));
		ASSERT_EQ(0, run_holding_host_fpu(vcpu->fd, true, &in, &out)) {
			TH_LOG("VIREO_RUN, round %u", r);
		}
		ASSERT_TRUE(host_fpu_kept(&in, &out, true, why, sizeof(why))) {
			TH_LOG("round %u: %s", r, why);
		}
		cmd = get_ucall(vcpu, &uc);
		if (cmd == UCALL_ASSERT)
			REPORT_GUEST_ASSERT(vm, &uc);
		if (cmd == UCALL_UNHANDLED)
			report_guest_unhandled(&uc, __FILE__, __LINE__);
		if (cmd == UCALL_DONE)
			break;
		if (cmd == UCALL_SYNC) {
			syncs++;
			continue;
		}
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_IO);
		ASSERT_EQ(FPU_PORT, vcpu->run->io.port);
		outs++;
	}
	EXPECT_EQ(UCALL_DONE, cmd);
	EXPECT_EQ(1, syncs);
	EXPECT_EQ(NR_EXITS, outs);
	vm_free(vm);
}

VIREO_TEST_MAIN
