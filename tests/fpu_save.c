// SPDX-License-Identifier: GPL-2.0
/*
 * VIREO_GET_FPU and VIREO_SET_FPU (docs/uapi.md 6.7): GET shows the
 * registers the guest loaded (x87 control word, MXCSR, XMM0, XMM15 and,
 * with AVX, the upper half of YMM0) at their offsets in the standard XSAVE
 * format, with the XCR0 the guest set; SET loads values the guest then
 * reads; a vCPU's state and XCR0 carry over into a second VM whose guest
 * never ran XSETBV; and a refused SET (reserved, size, flags, XSAVE header,
 * MXCSR, XCR0, bad pointers) changes nothing, after which the guest still
 * runs on its own state.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vireo_test.h"

#define X86_CR4_OSXSAVE		(1ULL << 18)
#define CPUID_1_ECX_XSAVE	(1u << 26)
#define CPUID_1_ECX_OSXSAVE	(1u << 27)
#define CPUID_1_ECX_AVX		(1u << 28)

#define XCR0_X87		(1ULL << 0)
#define XCR0_SSE		(1ULL << 1)
#define XCR0_YMM		(1ULL << 2)
#define XCR0_OPMASK		(1ULL << 5)
#define XCR0_PKRU		(1ULL << 9)

/* Offsets in the XSAVE (and FXSAVE) image, SDM vol. 1, 10.5.1 and 13.4. */
#define FX_FCW			0
#define FX_MXCSR		24
#define FX_XMM(n)		(160 + 16 * (n))
#define FX_SIZE			512
#define XSAVE_HDR		512
#define XSAVE_HDR_SIZE		64
#define XSAVE_XSTATE_BV		XSAVE_HDR
#define XSAVE_XCOMP_BV		(XSAVE_HDR + 8)
#define XSAVE_MIN_SIZE		576	/* legacy area and header */

/* The state after RESET (uapi.md 6.3). */
#define RESET_FCW		0x037f
#define RESET_MXCSR		0x1f80

struct u128 {
	uint64_t q[2];
};

/* What the guest loads, or what it expects to find. */
struct fpu_vals {
	struct u128 xmm0, xmm15, ymm0_hi;
	uint16_t fcw;
	uint32_t mxcsr;
};

/* Loaded by the guest: 53-bit precision, round toward zero; MXCSR round up, FZ. */
static const struct fpu_vals guest_vals = {
	.xmm0 = { { 0x0123456789abcdefULL, 0xfedcba9876543210ULL } },
	.xmm15 = { { 0x1111222233334444ULL, 0x5555666677778888ULL } },
	.ymm0_hi = { { 0xa5a5a5a5c3c3c3c3ULL, 0x5a5a5a5a3c3c3c3cULL } },
	.fcw = 0x0e7f,
	.mxcsr = 0xdf80,
};

/* Set by user space: every value differs from the guest's and the reset's. */
static const struct fpu_vals host_vals = {
	.xmm0 = { { 0x0badc0ffee0ddf00ULL, 0x8000000000000001ULL } },
	.xmm15 = { { 0x7fffffffffffffffULL, 0x0102030405060708ULL } },
	.ymm0_hi = { { 0xdeadbeefcafef00dULL, 0x0f0e0d0c0b0a0908ULL } },
	.fcw = 0x067f,
	.mxcsr = 0x3f80,
};

/* What the guest read back after the exit. */
static struct fpu_vals guest_out;

/* ---- guest code ------------------------------------------------------ */

/*
 * XCR0 = @xcr0 through XSETBV, after checking that CPUID offers what it
 * needs; @xcr0 1 (the reset value) leaves XSAVE off.
 */
static void guest_set_xcr0(uint64_t xcr0)
{
	uint64_t cr4;

	if (xcr0 == XCR0_X87)
		return;
	GUEST_ASSERT(cpuid(1, 0).ecx & CPUID_1_ECX_XSAVE);
	if (xcr0 & XCR0_YMM)
		GUEST_ASSERT(cpuid(1, 0).ecx & CPUID_1_ECX_AVX);
	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | X86_CR4_OSXSAVE) : "memory");
	GUEST_ASSERT(cpuid(1, 0).ecx & CPUID_1_ECX_OSXSAVE);
	GUEST_ASSERT_EQ(xsetbv_safe(0, xcr0), 0);
	GUEST_ASSERT_EQ(xgetbv(0), xcr0);
}

/* The registers of @v: guest code is built without SSE, so nothing else uses them. */
static void guest_load(const struct fpu_vals *v, bool avx)
{
	asm volatile("fninit\n\t"
		     "fldcw %[fcw]\n\t"
		     "ldmxcsr %[mxcsr]\n\t"
		     "movdqu %[x0], %%xmm0\n\t"
		     "movdqu %[x15], %%xmm15"
		     : : [fcw] "m"(v->fcw), [mxcsr] "m"(v->mxcsr),
		       [x0] "m"(v->xmm0), [x15] "m"(v->xmm15)
		     : "memory");
	if (avx)
		asm volatile("vinsertf128 $1, %[hi], %%ymm0, %%ymm0"
			     : : [hi] "m"(v->ymm0_hi) : "memory");
}

/* The registers as they are now, checked against @expect. */
static void guest_check(const struct fpu_vals *expect, bool avx)
{
	asm volatile("fnstcw %[fcw]\n\t"
		     "stmxcsr %[mxcsr]\n\t"
		     "movdqu %%xmm0, %[x0]\n\t"
		     "movdqu %%xmm15, %[x15]"
		     : [fcw] "=m"(guest_out.fcw), [mxcsr] "=m"(guest_out.mxcsr),
		       [x0] "=m"(guest_out.xmm0), [x15] "=m"(guest_out.xmm15)
		     : : "memory");
	if (avx)
		asm volatile("vextractf128 $1, %%ymm0, %[hi]"
			     : [hi] "=m"(guest_out.ymm0_hi) : : "memory");

	GUEST_ASSERT_EQ(guest_out.fcw, expect->fcw);
	GUEST_ASSERT_EQ(guest_out.mxcsr, expect->mxcsr);
	GUEST_ASSERT_EQ(guest_out.xmm0.q[0], expect->xmm0.q[0]);
	GUEST_ASSERT_EQ(guest_out.xmm0.q[1], expect->xmm0.q[1]);
	GUEST_ASSERT_EQ(guest_out.xmm15.q[0], expect->xmm15.q[0]);
	GUEST_ASSERT_EQ(guest_out.xmm15.q[1], expect->xmm15.q[1]);
	if (avx) {
		GUEST_ASSERT_EQ(guest_out.ymm0_hi.q[0], expect->ymm0_hi.q[0]);
		GUEST_ASSERT_EQ(guest_out.ymm0_hi.q[1], expect->ymm0_hi.q[1]);
	}
}

/* With XSAVE on (@xcr0 not 1): XCR0 is @xcr0. */
static void guest_check_xcr0(uint64_t xcr0)
{
	if (xcr0 != XCR0_X87)
		GUEST_ASSERT_EQ(xgetbv(0), xcr0);
}

/*
 * XCR0 = @xcr0, guest_vals into the registers, an exit in which user
 * space may GET or SET, then the registers must hold @expect.
 */
static void __guest_code guest_load_then_check(uint64_t xcr0,
						const struct fpu_vals *expect)
{
	bool avx = xcr0 & XCR0_YMM;

	guest_set_xcr0(xcr0);
	guest_load(&guest_vals, avx);
	GUEST_SYNC(1);
	guest_check_xcr0(xcr0);
	guest_check(expect, avx);
	GUEST_DONE();
}

/*
 * The guest of a VM restored from guest_load_then_check()'s: XSAVE on
 * (CR4.OSXSAVE) but XCR0 left at its reset value, an exit in which user
 * space restores the state, then XCR0 is @xcr0 and the registers hold
 * @expect, although this guest never ran XSETBV or loaded them.
 */
static void __guest_code guest_wait_then_check(uint64_t xcr0,
						const struct fpu_vals *expect)
{
	uint64_t cr4;

	if (xcr0 != XCR0_X87) {
		GUEST_ASSERT(cpuid(1, 0).ecx & CPUID_1_ECX_XSAVE);
		asm volatile("mov %%cr4, %0" : "=r"(cr4));
		asm volatile("mov %0, %%cr4" : : "r"(cr4 | X86_CR4_OSXSAVE) : "memory");
		GUEST_ASSERT_EQ(xgetbv(0), XCR0_X87);
	}
	GUEST_SYNC(1);
	guest_check_xcr0(xcr0);
	guest_check(expect, xcr0 & XCR0_YMM);
	GUEST_DONE();
}

/* ---- host helpers ---------------------------------------------------- */

/* The host's XCR0, 0 without XSAVE (the module then uses FXSAVE). */
static uint64_t host_xcr0(void)
{
	if (!(cpuid(1, 0).ecx & CPUID_1_ECX_OSXSAVE))
		return 0;
	return xgetbv(0);
}

/* The XCR0 the guests set: x87, SSE and AVX as far as the host has them. */
static uint64_t guest_xcr0(void)
{
	uint64_t host = host_xcr0();

	if (!host)
		return XCR0_X87;
	if ((host & (XCR0_SSE | XCR0_YMM)) == (XCR0_SSE | XCR0_YMM) &&
	    (cpuid(1, 0).ecx & CPUID_1_ECX_AVX))
		return XCR0_X87 | XCR0_SSE | XCR0_YMM;
	return XCR0_X87 | XCR0_SSE;
}

/* What GET reports as size: CPUID.(EAX=0DH,ECX=0):EBX for the host's XCR0. */
static uint32_t expected_size(void)
{
	uint32_t ebx;

	if (!host_xcr0())
		return FX_SIZE;
	ebx = cpuid(0xd, 0).ebx;
	return ebx > XSAVE_MIN_SIZE ? ebx : XSAVE_MIN_SIZE;
}

/* Where YMM_Hi128 of YMM0 is: CPUID.(EAX=0DH,ECX=2):EBX. */
static uint32_t ymm_hi_offset(void)
{
	return cpuid(0xd, 2).ebx;
}

/*
 * A VM whose guest runs @code(@xcr0, @expect), with a CPUID policy that
 * offers XSAVE (and AVX) when @xcr0 needs them.
 */
static struct vireo_vm *vm_for(struct vireo_vcpu **vcpu, void *code,
			       uint64_t xcr0, const struct fpu_vals *expect)
{
	bool avx = xcr0 & XCR0_YMM;
	struct vireo_cpuid_entry policy[] = {
		{ .function = 0x0, .eax = 0xd },
		{ .function = 0x1,
		  .ecx = CPUID_1_ECX_XSAVE | (avx ? CPUID_1_ECX_AVX : 0) },
		{ .function = 0xd, .index = 0,
		  .flags = VIREO_CPUID_FLAG_SIGNIFICANT_INDEX,
		  .eax = (uint32_t)xcr0,
		  .ecx = avx ? ymm_hi_offset() + 256 : XSAVE_MIN_SIZE },
	};
	struct vireo_vm *vm = vm_create_with_one_vcpu(vcpu, code);

	if (xcr0 != XCR0_X87)
		vm_set_cpuid(vm, policy, ARRAY_SIZE(policy));
	vcpu_args_set(*vcpu, 2, xcr0, (uint64_t)expect);
	return vm;
}

static void fpu_get(struct vireo_vcpu *vcpu, struct vireo_fpu_state *s)
{
	memset(s, 0xa5, sizeof(*s));
	TEST_ASSERT(!__vcpu_ioctl(vcpu, VIREO_GET_FPU, s),
		    "VIREO_GET_FPU failed: %s", strerror(errno));
}

static struct vireo_fpu_state *fpu_alloc(void)
{
	struct vireo_fpu_state *s = malloc(sizeof(*s));

	TEST_ASSERT(s, "out of memory");
	return s;
}

static uint16_t get16(const struct vireo_fpu_state *s, unsigned int off)
{
	uint16_t v;

	memcpy(&v, s->area + off, sizeof(v));
	return v;
}

static uint32_t get32(const struct vireo_fpu_state *s, unsigned int off)
{
	uint32_t v;

	memcpy(&v, s->area + off, sizeof(v));
	return v;
}

static uint64_t get64(const struct vireo_fpu_state *s, unsigned int off)
{
	uint64_t v;

	memcpy(&v, s->area + off, sizeof(v));
	return v;
}

static void put16(struct vireo_fpu_state *s, unsigned int off, uint16_t v)
{
	memcpy(s->area + off, &v, sizeof(v));
}

static void put32(struct vireo_fpu_state *s, unsigned int off, uint32_t v)
{
	memcpy(s->area + off, &v, sizeof(v));
}

static void put64(struct vireo_fpu_state *s, unsigned int off, uint64_t v)
{
	memcpy(s->area + off, &v, sizeof(v));
}

/* The form of a GET on this host: size, flags, zeroes where they belong. */
static void expect_well_formed(struct __test_metadata *_metadata,
			       const struct vireo_fpu_state *s)
{
	bool xsave = host_xcr0() != 0;
	unsigned int i;

	EXPECT_EQ(expected_size(), s->size);
	EXPECT_EQ(xsave ? VIREO_FPU_XSAVE : 0, s->flags);
	for (i = 0; i < ARRAY_SIZE(s->reserved); i++)
		EXPECT_EQ(0, s->reserved[i]);
	for (i = s->size; i < VIREO_FPU_AREA_SIZE; i++)
		if (s->area[i]) {
			TH_LOG("area[%u] = %#x, beyond size %u", i, s->area[i],
			       s->size);
			EXPECT_EQ(0, s->area[i]);
			break;
		}
	if (!xsave)
		return;
	/* XCOMP_BV 0 (standard format), the rest of the header 0 too. */
	for (i = 8; i < XSAVE_HDR_SIZE; i += 8)
		EXPECT_EQ(0, get64(s, XSAVE_HDR + i));
}

/* @v at the offsets of the standard format; XSTATE_BV has their components. */
static void expect_vals(struct __test_metadata *_metadata,
			const struct vireo_fpu_state *s,
			const struct fpu_vals *v, bool avx)
{
	uint64_t want_bv = XCR0_X87 | XCR0_SSE | (avx ? XCR0_YMM : 0);

	EXPECT_EQ(v->fcw, get16(s, FX_FCW));
	EXPECT_EQ(v->mxcsr, get32(s, FX_MXCSR));
	EXPECT_EQ(v->xmm0.q[0], get64(s, FX_XMM(0)));
	EXPECT_EQ(v->xmm0.q[1], get64(s, FX_XMM(0) + 8));
	EXPECT_EQ(v->xmm15.q[0], get64(s, FX_XMM(15)));
	EXPECT_EQ(v->xmm15.q[1], get64(s, FX_XMM(15) + 8));
	if (avx) {
		EXPECT_EQ(v->ymm0_hi.q[0], get64(s, ymm_hi_offset()));
		EXPECT_EQ(v->ymm0_hi.q[1], get64(s, ymm_hi_offset() + 8));
	}
	if (s->flags & VIREO_FPU_XSAVE)
		EXPECT_EQ(want_bv, get64(s, XSAVE_XSTATE_BV) & want_bv);
}

/* @v into the image, with its components marked in use in XSTATE_BV. */
static void put_vals(struct vireo_fpu_state *s, const struct fpu_vals *v,
		     bool avx)
{
	put16(s, FX_FCW, v->fcw);
	put32(s, FX_MXCSR, v->mxcsr);
	put64(s, FX_XMM(0), v->xmm0.q[0]);
	put64(s, FX_XMM(0) + 8, v->xmm0.q[1]);
	put64(s, FX_XMM(15), v->xmm15.q[0]);
	put64(s, FX_XMM(15) + 8, v->xmm15.q[1]);
	if (avx) {
		put64(s, ymm_hi_offset(), v->ymm0_hi.q[0]);
		put64(s, ymm_hi_offset() + 8, v->ymm0_hi.q[1]);
	}
	if (s->flags & VIREO_FPU_XSAVE)
		put64(s, XSAVE_XSTATE_BV, get64(s, XSAVE_XSTATE_BV) |
		      XCR0_X87 | XCR0_SSE | (avx ? XCR0_YMM : 0));
}

/* ---- GET ------------------------------------------------------------- */

TEST(get_shows_the_guest_state)
{
	struct vireo_fpu_state *s = fpu_alloc(), *again = fpu_alloc();
	uint64_t xcr0 = guest_xcr0();
	bool avx = xcr0 & XCR0_YMM;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	unsigned int i;

	TH_LOG("host XCR0 %#llx, guest XCR0 %#llx, GET size %u",
	       (unsigned long long)host_xcr0(), (unsigned long long)xcr0,
	       expected_size());
	vm = vm_for(&vcpu, guest_load_then_check, xcr0, &guest_vals);

	/* Before the guest ran: the state after RESET (uapi.md 6.3). */
	fpu_get(vcpu, s);
	expect_well_formed(_metadata, s);
	EXPECT_EQ(XCR0_X87, s->xcr0);
	EXPECT_EQ(RESET_FCW, get16(s, FX_FCW));
	EXPECT_EQ(RESET_MXCSR, get32(s, FX_MXCSR));
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(0, get64(s, FX_XMM(i)));
		EXPECT_EQ(0, get64(s, FX_XMM(i) + 8));
	}
	if (s->flags & VIREO_FPU_XSAVE)
		EXPECT_EQ(XCR0_X87 | XCR0_SSE, get64(s, XSAVE_XSTATE_BV));

	/* At the guest's exit: its registers and its XCR0. */
	vcpu_run_expect_sync(vcpu, 1);
	fpu_get(vcpu, s);
	expect_well_formed(_metadata, s);
	EXPECT_EQ(xcr0, s->xcr0);
	expect_vals(_metadata, s, &guest_vals, avx);

	/* A GET changes nothing: the same again. */
	fpu_get(vcpu, again);
	EXPECT_EQ(0, memcmp(s, again, sizeof(*s)));

	/* The guest finds its own values. */
	vcpu_run_expect_done(vcpu);
	free(s);
	free(again);
	vm_free(vm);
}

/* ---- SET ------------------------------------------------------------- */

TEST(set_is_what_the_guest_reads)
{
	struct vireo_fpu_state *s = fpu_alloc(), *back = fpu_alloc();
	uint64_t xcr0 = guest_xcr0();
	bool avx = xcr0 & XCR0_YMM;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_for(&vcpu, guest_load_then_check, xcr0, &host_vals);
	vcpu_run_expect_sync(vcpu, 1);
	fpu_get(vcpu, s);
	expect_vals(_metadata, s, &guest_vals, avx);

	put_vals(s, &host_vals, avx);
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VIREO_SET_FPU, s)) {
		TH_LOG("VIREO_SET_FPU: %s", strerror(errno));
	}
	/* Read back before the guest runs: what was set, byte for byte. */
	fpu_get(vcpu, back);
	EXPECT_EQ(0, memcmp(s, back, sizeof(*s)));
	expect_vals(_metadata, back, &host_vals, avx);

	/* The guest reads the host's values (guest_check()). */
	vcpu_run_expect_done(vcpu);
	free(s);
	free(back);
	vm_free(vm);
}

/* ---- a vCPU's state into a second VM ---------------------------------- */

TEST(round_trip_into_a_second_vm)
{
	struct vireo_fpu_state *a = fpu_alloc(), *b = fpu_alloc();
	struct vireo_vcpu *vcpu_a, *vcpu_b;
	uint64_t xcr0 = guest_xcr0();
	struct vireo_vm *vm_a, *vm_b;

	vm_a = vm_for(&vcpu_a, guest_load_then_check, xcr0, &guest_vals);
	vcpu_run_expect_sync(vcpu_a, 1);
	fpu_get(vcpu_a, a);
	EXPECT_EQ(xcr0, a->xcr0);

	/* B waits at its exit, in the reset state: the restore has work to do. */
	vm_b = vm_for(&vcpu_b, guest_wait_then_check, xcr0, &guest_vals);
	vcpu_run_expect_sync(vcpu_b, 1);
	fpu_get(vcpu_b, b);
	EXPECT_EQ(XCR0_X87, b->xcr0);
	EXPECT_EQ(RESET_FCW, get16(b, FX_FCW));
	EXPECT_NE(0, memcmp(a, b, sizeof(*a)));

	/* GET's output is SET's input as it is. */
	ASSERT_EQ(0, __vcpu_ioctl(vcpu_b, VIREO_SET_FPU, a)) {
		TH_LOG("VIREO_SET_FPU: %s", strerror(errno));
	}
	fpu_get(vcpu_b, b);
	EXPECT_EQ(0, memcmp(a, b, sizeof(*a)));

	/* B's guest has A's XCR0 and A's registers; A still has them too. */
	vcpu_run_expect_done(vcpu_b);
	vcpu_run_expect_done(vcpu_a);
	free(a);
	free(b);
	vm_free(vm_b);
	vm_free(vm_a);
}

/* ---- bad input ------------------------------------------------------- */

enum bad_kind {
	BAD_RESERVED,	/* reserved[value] = 1 */
	BAD_SIZE,	/* size = value */
	BAD_SIZE_ADD,	/* size += value */
	BAD_FLAGS_XOR,	/* flags ^= value */
	BAD_XCR0,	/* xcr0 = value */
	BAD_OR32,	/* area at offset |= value */
	BAD_OR64,	/* area at offset |= value */
};

struct bad_case {
	const char *what;
	enum bad_kind kind;
	unsigned int offset;
	uint64_t value;
	bool xsave_only;	/* the XSAVE header: not in an FXSAVE image */
};

static const struct bad_case bad_cases[] = {
	{ "reserved[0] = 1", BAD_RESERVED, 0, 0 },
	{ "reserved[5] = 1", BAD_RESERVED, 0, 5 },
	{ "size 0", BAD_SIZE, 0, 0 },
	{ "size + 64", BAD_SIZE_ADD, 0, 64 },
	{ "size - 64", BAD_SIZE_ADD, 0, (uint32_t)-64 },
	{ "size 512 (FXSAVE's)", BAD_SIZE, 0, FX_SIZE, true },
	{ "size VIREO_FPU_AREA_SIZE", BAD_SIZE, 0, VIREO_FPU_AREA_SIZE },
	{ "flags ^ VIREO_FPU_XSAVE", BAD_FLAGS_XOR, 0, VIREO_FPU_XSAVE },
	{ "flags bit 1", BAD_FLAGS_XOR, 0, 2 },
	{ "XCOMP_BV bit 63 (compacted format)", BAD_OR64, XSAVE_XCOMP_BV,
	  1ULL << 63, true },
	{ "XCOMP_BV bits 63, 1, 0", BAD_OR64, XSAVE_XCOMP_BV,
	  1ULL << 63 | 3, true },
	{ "XCOMP_BV bit 0", BAD_OR64, XSAVE_XCOMP_BV, 1, true },
	{ "header byte 16", BAD_OR64, XSAVE_HDR + 16, 1, true },
	{ "header byte 63", BAD_OR64, XSAVE_HDR + 56, 1ULL << 56, true },
	{ "XSTATE_BV bit 62", BAD_OR64, XSAVE_XSTATE_BV, 1ULL << 62, true },
	{ "XSTATE_BV bit 63", BAD_OR64, XSAVE_XSTATE_BV, 1ULL << 63, true },
	{ "XSTATE_BV bit 9 (PKRU)", BAD_OR64, XSAVE_XSTATE_BV, XCR0_PKRU, true },
	{ "XSTATE_BV bit 3 (MPX)", BAD_OR64, XSAVE_XSTATE_BV, 1ULL << 3, true },
	{ "MXCSR bit 31", BAD_OR32, FX_MXCSR, 1u << 31 },
	{ "MXCSR bit 16", BAD_OR32, FX_MXCSR, 1u << 16 },
	{ "xcr0 0", BAD_XCR0, 0, 0 },
	{ "xcr0 SSE without x87", BAD_XCR0, 0, XCR0_SSE },
	{ "xcr0 SSE|YMM without x87", BAD_XCR0, 0, XCR0_SSE | XCR0_YMM },
	{ "xcr0 YMM without SSE", BAD_XCR0, 0, XCR0_X87 | XCR0_YMM },
	{ "xcr0 opmask without the rest of AVX-512", BAD_XCR0, 0,
	  XCR0_X87 | XCR0_SSE | XCR0_YMM | XCR0_OPMASK },
	{ "xcr0 PKRU (not offered)", BAD_XCR0, 0, XCR0_X87 | XCR0_SSE | XCR0_PKRU },
	{ "xcr0 bit 62", BAD_XCR0, 0, XCR0_X87 | XCR0_SSE | 1ULL << 62 },
};

static void make_bad(struct vireo_fpu_state *s, const struct bad_case *c)
{
	switch (c->kind) {
	case BAD_RESERVED:
		s->reserved[c->value] = 1;
		break;
	case BAD_SIZE:
		s->size = c->value;
		break;
	case BAD_SIZE_ADD:
		s->size += (uint32_t)c->value;
		break;
	case BAD_FLAGS_XOR:
		s->flags ^= c->value;
		break;
	case BAD_XCR0:
		s->xcr0 = c->value;
		break;
	case BAD_OR32:
		put32(s, c->offset, get32(s, c->offset) | c->value);
		break;
	case BAD_OR64:
		put64(s, c->offset, get64(s, c->offset) | c->value);
		break;
	}
}

TEST(bad_input_changes_nothing)
{
	struct vireo_fpu_state *good = fpu_alloc(), *bad = fpu_alloc();
	struct vireo_fpu_state *now = fpu_alloc(), *s;
	uint64_t xcr0 = guest_xcr0();
	bool avx = xcr0 & XCR0_YMM;
	long pg = sysconf(_SC_PAGESIZE);
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	unsigned int i;
	char *map;

	vm = vm_for(&vcpu, guest_load_then_check, xcr0, &guest_vals);
	vcpu_run_expect_sync(vcpu, 1);
	fpu_get(vcpu, good);
	expect_vals(_metadata, good, &guest_vals, avx);
	/* The image as GET gave it is accepted (and changes nothing). */
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VIREO_SET_FPU, good));

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];

		if (c->xsave_only && !(good->flags & VIREO_FPU_XSAVE))
			continue;
		memcpy(bad, good, sizeof(*bad));
		/* Values GET could not give, over the guest's own. */
		put_vals(bad, &host_vals, avx);
		make_bad(bad, c);
		errno = 0;
		EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_FPU, bad)) {
			TH_LOG("%s: accepted", c->what);
		}
		EXPECT_EQ(EINVAL, errno) {
			TH_LOG("%s: %s", c->what, strerror(errno));
		}
		fpu_get(vcpu, now);
		EXPECT_EQ(0, memcmp(good, now, sizeof(*now))) {
			TH_LOG("%s: the state changed", c->what);
		}
	}

	/* Bad pointers. */
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_FPU, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_FPU, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_FPU, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_FPU, (void *)8));
	EXPECT_EQ(EFAULT, errno);

	/*
	 * A valid image (the host's values) whose last 64 bytes are in a
	 * page that cannot be read: SET gets none of it.  Then the page
	 * read-only: GET cannot write its answer.
	 */
	map = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	s = (void *)(map + 2 * pg + 64 - sizeof(*s));
	memcpy(s, good, sizeof(*s));
	put_vals(s, &host_vals, avx);
	ASSERT_EQ(0, mprotect(map + 2 * pg, pg, PROT_NONE));
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_FPU, s));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_FPU, s));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mprotect(map + 2 * pg, pg, PROT_READ));
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_FPU, s));
	EXPECT_EQ(EFAULT, errno);
	munmap(map, 3 * pg);

	fpu_get(vcpu, now);
	EXPECT_EQ(0, memcmp(good, now, sizeof(*now)));

	/* The module ran no refused image: the guest finds its own values. */
	vcpu_run_expect_done(vcpu);
	free(good);
	free(bad);
	free(now);
	vm_free(vm);
}

VIREO_TEST_MAIN
