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

/* The guest's XMM values, in the image it is loaded from. */
static const uint64_t guest_xmm_in[16][2] __attribute__((aligned(16))) =
	PAT16(0x6a09e667f3bcc908ULL);

/* Written by the guest in its copy of the image; read back by the host. */
static uint64_t guest_xmm_out[16][2] __attribute__((aligned(16)));
static uint64_t guest_st_out[2];
static uint16_t guest_fcw_out;
static uint32_t guest_mxcsr_out;

#define XMM_LOAD(r, i)	"movdqa " #i "*16(%" #r "), %%xmm" #i "\n\t"
#define XMM_STORE(r, i)	"movdqa %%xmm" #i ", " #i "*16(%" #r ")\n\t"
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
	uint32_t lo, hi;

	if (!(r.ecx & (1u << 27)) || !(r.ecx & (1u << 28)))
		return false;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

struct host_fpu {
	uint64_t reg[16][4] __attribute__((aligned(32)));	/* YMM, or XMM in [0..1] */
	uint16_t fcw;
	uint32_t mxcsr;
};

#define YMM_LOAD(r, i)	"vmovdqa " #i "*32(%" #r "), %%ymm" #i "\n\t"
#define YMM_STORE(r, i)	"vmovdqa %%ymm" #i ", " #i "*32(%" #r ")\n\t"
#define XMM32_LOAD(r, i)  "movdqa " #i "*32(%" #r "), %%xmm" #i "\n\t"
#define XMM32_STORE(r, i) "movdqa %%xmm" #i ", " #i "*32(%" #r ")\n\t"

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
		RUN_ASM(XMM32_LOAD, XMM32_STORE);
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

TEST(fpu_switched_between_host_and_guest)
{
	struct host_fpu in, out;
	struct vireo_vcpu *vcpu;
	unsigned int i, r, lanes;
	struct vireo_vm *vm;
	bool avx = host_has_avx();

	lanes = avx ? 4 : 2;
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

		for (i = 0; i < 16 * lanes; i++) {
			ASSERT_EQ(in.reg[i / lanes][i % lanes], out.reg[i / lanes][i % lanes]) {
				TH_LOG("host %s%u lane %u changed across VIREO_RUN (round %u)",
				       avx ? "ymm" : "xmm", i / lanes, i % lanes, r);
			}
		}
		ASSERT_EQ(in.fcw, out.fcw);
		ASSERT_EQ(in.mxcsr, out.mxcsr);
	}
	/* The guest checks its own registers after the last exit. */
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

VIREO_TEST_MAIN
