// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO instruction decode.  Guest accesses above RAM exit with
 * VIREO_EXIT_MMIO {gpa, len, is_write, data}; the module decodes the
 * instruction to find them and, for loads, to complete the destination
 * register.  Every access here is one inline-asm instruction, so the
 * encoding under test is fixed (see the comment on each); the host checks
 * gpa/len/data of each exit in order and supplies load values, and the
 * guest checks the loaded registers (upper bits kept for 8/16-bit loads,
 * zero-extension for 32-bit ones, movzx/movsx extension).
 *
 * A skipped RIP advance shows up as a repeated access (the next step's
 * gpa does not match), a wrong completion as a failed GUEST_ASSERT_EQ.
 */
#include "vireo_test.h"

/* 1 GiB: above the 64 MiB of RAM, within +-2 GiB of the code at 4 MiB. */
#define MMIO_BASE	0x40000000ULL
/* RIP-relative targets are mmio_anchor + RIP_OFF (also above RAM). */
#define RIP_OFF_STR	"0x40000000"
#define RIP_OFF		0x40000000ULL

uint64_t mmio_anchor[16] __attribute__((used));
extern const uint8_t mmio_bad_add[], mmio_bad_xchg[];

#define RIP_TARGET(off)	((uint64_t)mmio_anchor + RIP_OFF + (off))

struct mmio_step {
	const char *what;
	uint64_t gpa;
	uint8_t len;
	bool write;
	uint64_t data;	/* the value written, or the value to load */
};

static void run_steps(struct __test_metadata *_metadata,
		      void *guest_code, const struct mmio_step *steps,
		      unsigned int n)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	unsigned int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	for (i = 0; i < n; i++) {
		const struct mmio_step *s = &steps[i];
		struct vireo_run *run = vcpu->run;
		uint64_t mask = s->len == 8 ? ~0ULL : (1ULL << (8 * s->len)) - 1;

		vcpu_run(vcpu);
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_MMIO);
		if (run->mmio.gpa != s->gpa || run->mmio.len != s->len ||
		    !!run->mmio.is_write != s->write ||
		    (s->write && run->mmio.data != s->data)) {
			TH_LOG("step %u, %s: expected %s gpa=0x%llx len=%u data=0x%llx",
			       i, s->what, s->write ? "write" : "read",
			       (unsigned long long)s->gpa, s->len,
			       (unsigned long long)s->data);
			TH_LOG("got %s gpa=0x%llx len=%u data=0x%llx",
			       run->mmio.is_write ? "write" : "read",
			       (unsigned long long)run->mmio.gpa,
			       run->mmio.len,
			       (unsigned long long)run->mmio.data);
			ASSERT_TRUE(false);
		}
		if (!s->write)
			run->mmio.data = s->data & mask;
	}
	/* The guest's own checks of loaded values ran in between. */
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static void __guest_code guest_writes(void)
{
	uint64_t base = MMIO_BASE;

	/* 88 /r, register indirect */
	asm volatile("movb %%al, (%%rbx)"
		     : : "a"(0x1122334455667788ULL), "b"(base) : "memory");
	/* 88 /r, reg=4 without REX is AH */
	asm volatile("movb %%ah, 1(%%rbx)"
		     : : "a"(0x1122334455667788ULL), "b"(base) : "memory");
	/* 40 88 /r: with REX, reg=6 is SIL */
	asm volatile("movb %%sil, 2(%%rbx)"
		     : : "S"(0xa5a5a5a5a5a5a5c3ULL), "b"(base) : "memory");
	/* 45 88 /r: R10B to [R13+disp8] */
	asm volatile("mov %[b], %%r13\n\tmov %[v], %%r10\n\t"
		     "movb %%r10b, 3(%%r13)"
		     : : [b] "r"(base), [v] "r"(0x4242424242424299ULL)
		     : "r10", "r13", "memory");
	/* 66 89 /r, disp8 */
	asm volatile("movw %%ax, 0x10(%%rbx)"
		     : : "a"(0x1122334455667788ULL), "b"(base) : "memory");
	/* 89 /r, SIB base + index*4 + disp32 */
	asm volatile("movl %%ecx, 0x100(%%rbx,%%rsi,4)"
		     : : "c"(0xfeedfacecafef00dULL), "b"(base), "S"(3ULL)
		     : "memory");
	/* REX.W 89 /r, negative disp8 */
	asm volatile("movq %%rdx, -8(%%rbx)"
		     : : "d"(0x0123456789abcdefULL), "b"(base + 0x1000)
		     : "memory");
	/* REX.WRB 89 /r: R11 to [R12+disp8] (R12 as base needs a SIB) */
	asm volatile("mov %[b], %%r12\n\tmov %[v], %%r11\n\t"
		     "movq %%r11, 0x40(%%r12)"
		     : : [b] "r"(base), [v] "r"(0xfedcba9876543210ULL)
		     : "r11", "r12", "memory");
	/* REX.RB 89 /r: [R13] is mod=01 disp8=0, not RIP-relative */
	asm volatile("mov %[b], %%r13\n\tmov %[v], %%r9\n\t"
		     "movl %%r9d, (%%r13)"
		     : : [b] "r"(base + 0x200), [v] "r"(0x5555555580000001ULL)
		     : "r9", "r13", "memory");
	/* 66 REX.RX 89 /r: R15W to [RBX+R14*2+4] */
	asm volatile("mov %[v], %%r15\n\tmov %[i], %%r14\n\t"
		     "movw %%r15w, 4(%%rbx,%%r14,2)"
		     : : [v] "r"(0x7777777777778001ULL), [i] "r"(0x20ULL),
		       "b"(base) : "r14", "r15", "memory");
	/* 89 /r, SIB with neither base nor index: absolute disp32 */
	asm volatile("movl %%eax, 0x40000900" : : "a"(0x13572468) : "memory");
	/* 89 /r, base + disp32 */
	asm volatile("movl %%eax, 0x12340(%%rbx)"
		     : : "a"(0x24681357), "b"(base) : "memory");
	/* REX.W 89 /r, RIP-relative */
	asm volatile("movq %%rax, mmio_anchor+" RIP_OFF_STR "(%%rip)"
		     : : "a"(0x0badc0de0badc0deULL) : "memory");
	/* C6 /0 ib */
	asm volatile("movb $0x5a, 0x20(%%rbx)" : : "b"(base) : "memory");
	/* 66 C7 /0 iw: a 2-byte immediate */
	asm volatile("movw $0x1234, 0x22(%%rbx)" : : "b"(base) : "memory");
	/* C7 /0 id */
	asm volatile("movl $0xdeadbeef, 0x24(%%rbx)" : : "b"(base) : "memory");
	/* REX.W C7 /0 id: sign-extended to 64 bits */
	asm volatile("movq $-2, 0x28(%%rbx)" : : "b"(base) : "memory");
	asm volatile("movq $0x7fffffff, 0x30(%%rbx)" : : "b"(base) : "memory");
	/* C7 /0 id, RIP-relative: RIP is the end of the immediate */
	asm volatile("movl $0x1234567, mmio_anchor+" RIP_OFF_STR "+0x40(%%rip)"
		     : : : "memory");
	/* C6 /0 ib, RIP-relative */
	asm volatile("movb $0x7f, mmio_anchor+" RIP_OFF_STR "+0x48(%%rip)"
		     : : : "memory");
	/* REX.WB C7 /0 id: [R12+RCX*8+8] */
	asm volatile("mov %[b], %%r12\n\tmovq $0x11223344, 8(%%r12,%%rcx,8)"
		     : : [b] "r"(base), "c"(2ULL) : "r12", "memory");
	/* 2E 88 /r: a CS override changes nothing in 64-bit mode */
	asm volatile("movb %%al, %%cs:0x58(%%rbx)"
		     : : "a"(0x11), "b"(base) : "memory");
	/* 66 REX.W 89 /r: REX.W wins over 66, 8 bytes */
	asm volatile(".byte 0x66\n\tmovq %%rax, 0x60(%%rbx)"
		     : : "a"(0x8877665544332211ULL), "b"(base) : "memory");
	GUEST_DONE();
}

TEST(stores)
{
	const struct mmio_step steps[] = {
		{ "88 AL [rbx]", MMIO_BASE, 1, true, 0x88 },
		{ "88 AH [rbx+1]", MMIO_BASE + 1, 1, true, 0x77 },
		{ "40 88 SIL", MMIO_BASE + 2, 1, true, 0xc3 },
		{ "45 88 R10B [r13+3]", MMIO_BASE + 3, 1, true, 0x99 },
		{ "66 89 AX disp8", MMIO_BASE + 0x10, 2, true, 0x7788 },
		{ "89 SIB disp32", MMIO_BASE + 0x10c, 4, true, 0xcafef00d },
		{ "48 89 disp8<0", MMIO_BASE + 0xff8, 8, true,
		  0x0123456789abcdefULL },
		{ "4d 89 [r12+disp8]", MMIO_BASE + 0x40, 8, true,
		  0xfedcba9876543210ULL },
		{ "45 89 [r13]", MMIO_BASE + 0x200, 4, true, 0x80000001 },
		{ "66 46 89 R15W SIB", MMIO_BASE + 0x44, 2, true, 0x8001 },
		{ "89 abs disp32", 0x40000900, 4, true, 0x13572468 },
		{ "89 base+disp32", MMIO_BASE + 0x12340, 4, true, 0x24681357 },
		{ "48 89 rip-rel", RIP_TARGET(0), 8, true,
		  0x0badc0de0badc0deULL },
		{ "c6 imm8", MMIO_BASE + 0x20, 1, true, 0x5a },
		{ "66 c7 imm16", MMIO_BASE + 0x22, 2, true, 0x1234 },
		{ "c7 imm32", MMIO_BASE + 0x24, 4, true, 0xdeadbeef },
		{ "48 c7 imm32 sign-ext", MMIO_BASE + 0x28, 8, true,
		  0xfffffffffffffffeULL },
		{ "48 c7 imm32 positive", MMIO_BASE + 0x30, 8, true,
		  0x7fffffff },
		{ "c7 rip-rel imm32", RIP_TARGET(0x40), 4, true, 0x1234567 },
		{ "c6 rip-rel imm8", RIP_TARGET(0x48), 1, true, 0x7f },
		{ "49 c7 [r12+rcx*8+8]", MMIO_BASE + 0x18, 8, true,
		  0x11223344 },
		{ "2e 88 cs:", MMIO_BASE + 0x58, 1, true, 0x11 },
		{ "66 48 89", MMIO_BASE + 0x60, 8, true,
		  0x8877665544332211ULL },
	};

	run_steps(_metadata, guest_writes, steps, ARRAY_SIZE(steps));
}

static void __guest_code guest_loads(void)
{
	uint64_t base = MMIO_BASE, v;

	/* 8A /r: AL, bits 63:8 kept */
	v = 0x1111111111111111ULL;
	asm volatile("movb (%%rbx), %%al" : "+a"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0x11111111111111abULL);
	/* 8A /r, AH */
	v = 0x4444444444444444ULL;
	asm volatile("movb 1(%%rbx), %%ah" : "+a"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0x4444444444445a44ULL);
	/* 40 8A /r, SIL */
	v = 0x5555555555555555ULL;
	asm volatile("movb 2(%%rbx), %%sil" : "+S"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0x55555555555555c3ULL);
	/* 45 8A /r, R10B from [R13+3] */
	asm volatile("mov %[b], %%r13\n\tmov %[in], %%r10\n\t"
		     "movb 3(%%r13), %%r10b\n\tmov %%r10, %[out]"
		     : [out] "=r"(v)
		     : [b] "r"(base), [in] "r"(0x6666666666666666ULL)
		     : "r10", "r13", "memory");
	GUEST_ASSERT_EQ(v, 0x666666666666667eULL);
	/* 66 8B /r: AX, bits 63:16 kept */
	v = 0x2222222222222222ULL;
	asm volatile("movw 0x10(%%rbx), %%ax" : "+a"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0x222222222222beefULL);
	/* 8B /r: a 32-bit load zero-extends into the 64-bit register */
	v = 0x3333333333333333ULL;
	asm volatile("movl 0x100(%%rbx,%%rsi,4), %%ecx"
		     : "+c"(v) : "b"(base), "S"(3ULL) : "memory");
	GUEST_ASSERT_EQ(v, 0xcafef00dULL);
	/* REX.W 8B /r, negative disp8 */
	asm volatile("movq -8(%%rbx), %%rdx"
		     : "=d"(v) : "b"(base + 0x1000) : "memory");
	GUEST_ASSERT_EQ(v, 0x0123456789abcdefULL);
	/* REX.WRB 8B /r: R11 from [R12+0x40] */
	asm volatile("mov %[b], %%r12\n\tmovq 0x40(%%r12), %%r11\n\t"
		     "mov %%r11, %[out]"
		     : [out] "=r"(v) : [b] "r"(base) : "r11", "r12", "memory");
	GUEST_ASSERT_EQ(v, 0xfedcba9876543210ULL);
	/* REX.RB 8B /r: R9D from [R13], zero-extended */
	asm volatile("mov %[b], %%r13\n\tmov %[in], %%r9\n\t"
		     "movl (%%r13), %%r9d\n\tmov %%r9, %[out]"
		     : [out] "=r"(v) : [b] "r"(base + 0x200), [in] "r"(~0ULL)
		     : "r9", "r13", "memory");
	GUEST_ASSERT_EQ(v, 0x80000001ULL);
	/* 66 REX.RX 8B /r: R15W from [RBX+R14*2+4] */
	asm volatile("mov %[in], %%r15\n\tmov %[i], %%r14\n\t"
		     "movw 4(%%rbx,%%r14,2), %%r15w\n\tmov %%r15, %[out]"
		     : [out] "=r"(v)
		     : [in] "r"(0x7777777777777777ULL), [i] "r"(0x20ULL),
		       "b"(base) : "r14", "r15", "memory");
	GUEST_ASSERT_EQ(v, 0x7777777777778001ULL);
	/* 8B /r, absolute disp32 */
	v = ~0ULL;
	asm volatile("movl 0x40000900, %%eax" : "+a"(v) : : "memory");
	GUEST_ASSERT_EQ(v, 0x13572468ULL);
	/* REX.WR 8B /r, RIP-relative, into R8 */
	asm volatile("movq mmio_anchor+" RIP_OFF_STR "(%%rip), %%r8\n\t"
		     "mov %%r8, %[out]"
		     : [out] "=r"(v) : : "r8", "memory");
	GUEST_ASSERT_EQ(v, 0x0badc0de0badc0deULL);
	/* 66 8B /r, RIP-relative */
	v = 0x9999999999999999ULL;
	asm volatile("movw mmio_anchor+" RIP_OFF_STR "+0x10(%%rip), %%ax"
		     : "+a"(v) : : "memory");
	GUEST_ASSERT_EQ(v, 0x999999999999abcdULL);
	/* 64 8B /r: an FS override (FS.base is 0 here) */
	v = ~0ULL;
	asm volatile("movl %%fs:0x50(%%rbx), %%eax"
		     : "+a"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0x600dcafe);
	/* 67 8B /r: 32-bit address size */
	v = ~0ULL;
	asm volatile("movl 0x54(%%ebx), %%ecx" : "+c"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0x0ddba11);
	GUEST_DONE();
}

TEST(loads)
{
	const struct mmio_step steps[] = {
		{ "8a AL", MMIO_BASE, 1, false, 0xab },
		{ "8a AH", MMIO_BASE + 1, 1, false, 0x5a },
		{ "40 8a SIL", MMIO_BASE + 2, 1, false, 0xc3 },
		{ "45 8a R10B", MMIO_BASE + 3, 1, false, 0x7e },
		{ "66 8b AX", MMIO_BASE + 0x10, 2, false, 0xbeef },
		{ "8b ECX SIB", MMIO_BASE + 0x10c, 4, false, 0xcafef00d },
		{ "48 8b RDX", MMIO_BASE + 0xff8, 8, false,
		  0x0123456789abcdefULL },
		{ "4d 8b R11", MMIO_BASE + 0x40, 8, false,
		  0xfedcba9876543210ULL },
		{ "45 8b R9D", MMIO_BASE + 0x200, 4, false, 0x80000001 },
		{ "66 46 8b R15W", MMIO_BASE + 0x44, 2, false, 0x8001 },
		{ "8b abs disp32", 0x40000900, 4, false, 0x13572468 },
		{ "4c 8b rip-rel", RIP_TARGET(0), 8, false,
		  0x0badc0de0badc0deULL },
		{ "66 8b rip-rel", RIP_TARGET(0x10), 2, false, 0xabcd },
		{ "64 8b fs:", MMIO_BASE + 0x50, 4, false, 0x600dcafe },
		{ "67 8b addr32", MMIO_BASE + 0x54, 4, false, 0x0ddba11 },
	};

	run_steps(_metadata, guest_loads, steps, ARRAY_SIZE(steps));
}

static void __guest_code guest_extending_loads(void)
{
	uint64_t base = MMIO_BASE, v;

	/* 0F B6: movzx r32, r/m8 clears bits 63:8 */
	v = ~0ULL;
	asm volatile("movzbl (%%rbx), %%eax" : "+a"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0xf0);
	/* 0F B7: movzx r32, r/m16 */
	v = ~0ULL;
	asm volatile("movzwl 2(%%rbx), %%ecx" : "+c"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0x8765);
	/* 66 0F B6: movzx r16, r/m8 keeps bits 63:16 */
	v = 0x9999999999999999ULL;
	asm volatile("movzbw 4(%%rbx), %%dx" : "+d"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0x9999999999990080ULL);
	/* REX.WR 0F B7: movzx r64, r/m16 */
	asm volatile("mov %[in], %%r8\n\tmovzwq 6(%%rbx), %%r8\n\t"
		     "mov %%r8, %[out]"
		     : [out] "=r"(v) : [in] "r"(~0ULL), "b"(base)
		     : "r8", "memory");
	GUEST_ASSERT_EQ(v, 0xffff);
	/* REX.W 0F BE: movsx r64, r/m8 */
	asm volatile("movsbq 8(%%rbx), %%rax" : "=a"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0xffffffffffffff80ULL);
	/* 0F BE: movsx r32, r/m8 sign-extends to 32, zero above */
	v = 0x1212121212121212ULL;
	asm volatile("movsbl 9(%%rbx), %%ecx" : "+c"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0xfffffffeULL);
	/* REX.WR 0F BF: movsx r64, r/m16 into R9 */
	asm volatile("movswq 0xa(%%rbx), %%r9\n\tmov %%r9, %[out]"
		     : [out] "=r"(v) : "b"(base) : "r9", "memory");
	GUEST_ASSERT_EQ(v, 0xffffffffffff8000ULL);
	/* 0F BF, a positive value */
	v = ~0ULL;
	asm volatile("movswl 0xc(%%rbx), %%edx" : "+d"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0x7fff);
	/* 66 0F BE: movsx r16, r/m8 keeps bits 63:16 */
	v = 0xaaaaaaaaaaaaaaaaULL;
	asm volatile("movsbw 0xe(%%rbx), %%si" : "+S"(v) : "b"(base) : "memory");
	GUEST_ASSERT_EQ(v, 0xaaaaaaaaaaaaff81ULL);
	/* REX.WRXB 0F BE: [R12+R14*8+0x20] into R10 */
	asm volatile("mov %[b], %%r12\n\tmov %[i], %%r14\n\t"
		     "movsbq 0x20(%%r12,%%r14,8), %%r10\n\tmov %%r10, %[out]"
		     : [out] "=r"(v) : [b] "r"(base), [i] "r"(2ULL)
		     : "r10", "r12", "r14", "memory");
	GUEST_ASSERT_EQ(v, 0xffffffffffffff90ULL);
	/* 0F B6, RIP-relative */
	v = ~0ULL;
	asm volatile("movzbl mmio_anchor+" RIP_OFF_STR "+0x20(%%rip), %%eax"
		     : "+a"(v) : : "memory");
	GUEST_ASSERT_EQ(v, 0xee);
	GUEST_DONE();
}

TEST(movzx_movsx)
{
	const struct mmio_step steps[] = {
		{ "0f b6 movzbl", MMIO_BASE, 1, false, 0xf0 },
		{ "0f b7 movzwl", MMIO_BASE + 2, 2, false, 0x8765 },
		{ "66 0f b6 movzbw", MMIO_BASE + 4, 1, false, 0x80 },
		{ "4c 0f b7 movzwq", MMIO_BASE + 6, 2, false, 0xffff },
		{ "48 0f be movsbq", MMIO_BASE + 8, 1, false, 0x80 },
		{ "0f be movsbl", MMIO_BASE + 9, 1, false, 0xfe },
		{ "4c 0f bf movswq", MMIO_BASE + 0xa, 2, false, 0x8000 },
		{ "0f bf movswl", MMIO_BASE + 0xc, 2, false, 0x7fff },
		{ "66 0f be movsbw", MMIO_BASE + 0xe, 1, false, 0x81 },
		{ "4f 0f be SIB", MMIO_BASE + 0x30, 1, false, 0x90 },
		{ "0f b6 rip-rel", RIP_TARGET(0x20), 1, false, 0xee },
	};

	run_steps(_metadata, guest_extending_loads, steps, ARRAY_SIZE(steps));
}

static void __guest_code guest_bad_add(void)
{
	asm volatile(".globl mmio_bad_add\n"
		     "mmio_bad_add: addl $1, (%%rbx)"
		     : : "b"(MMIO_BASE) : "memory");
	GUEST_DONE();
}

static void __guest_code guest_bad_xchg(void)
{
	asm volatile(".globl mmio_bad_xchg\n"
		     "mmio_bad_xchg: xchg %%eax, 0x10(%%rbx)"
		     : : "a"(1), "b"(MMIO_BASE) : "memory");
	GUEST_DONE();
}

static void expect_decode_error(struct __test_metadata *_metadata,
				void *guest_code, const uint8_t *insn,
				unsigned int insn_len, uint64_t gpa)
{
	struct vireo_regs regs;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	unsigned int n;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_INTERNAL_ERROR);
	ASSERT_EQ(VIREO_INTERNAL_DECODE, vcpu->run->internal.suberror);
	EXPECT_EQ(gpa, vcpu->run->internal.gpa);
	n = vcpu->run->internal.ninsn;
	ASSERT_GE(n, insn_len);
	ASSERT_LE(n, 15);
	/* RIP stays at the instruction. */
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uint64_t)insn, regs.rip);
	/* The guest runs this binary's own code: same bytes on the host. */
	ASSERT_EQ(0, memcmp(vcpu->run->internal.insn, insn, n));
	vm_free(vm);
}

TEST(add_to_mmio_is_decode_error)
{
	expect_decode_error(_metadata, guest_bad_add, mmio_bad_add, 3,
			    MMIO_BASE);
}

TEST(xchg_with_mmio_is_decode_error)
{
	expect_decode_error(_metadata, guest_bad_xchg, mmio_bad_xchg, 3,
			    MMIO_BASE + 0x10);
}

VIREO_TEST_MAIN
