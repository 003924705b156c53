// SPDX-License-Identifier: GPL-2.0
/*
 * The hypercall instruction -- VMMCALL (0f 01 d9) on SVM, VMCALL (0f 01 c1)
 * on VMX -- exits with VIREO_EXIT_HYPERCALL {nr = RAX, args = RBX, RCX,
 * RDX, RSI, RDI}; the next RUN returns hypercall.ret in RAX and continues
 * after the instruction with the other registers unchanged.
 */
#include "vireo_test.h"

#define NR_CALLS 64

extern const char vmmcall_after[], vmcall_after[];

static void __guest_code guest_one_hypercall(void)
{
	uint64_t rax = 0x1234, rbx = 0xb0b0b0b0b0b0b0b0ULL;
	uint64_t rcx = 0xc0c0c0c0c0c0c0c0ULL, rdx = 0xd0d0d0d0d0d0d0d0ULL;
	uint64_t rsi = 0x5151515151515151ULL, rdi = 0xd1d1d1d1d1d1d1d1ULL;

	asm volatile("cmpb $0, guest_hypercall_vmcall(%%rip)\n\t"
		     "jne 1f\n\t"
		     ".byte 0x0f, 0x01, 0xd9\n"	/* VMMCALL */
		     ".globl vmmcall_after\n"
		     "vmmcall_after:\n\t"
		     "jmp 2f\n"
		     "1:\t.byte 0x0f, 0x01, 0xc1\n"	/* VMCALL */
		     ".globl vmcall_after\n"
		     "vmcall_after:\n"
		     "2:"
		     : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx),
		       "+S"(rsi), "+D"(rdi)
		     : : "memory", "cc");
	GUEST_ASSERT_EQ(rax, 0xfeedfacecafebeefULL);
	GUEST_ASSERT_EQ(rbx, 0xb0b0b0b0b0b0b0b0ULL);
	GUEST_ASSERT_EQ(rcx, 0xc0c0c0c0c0c0c0c0ULL);
	GUEST_ASSERT_EQ(rdx, 0xd0d0d0d0d0d0d0d0ULL);
	GUEST_ASSERT_EQ(rsi, 0x5151515151515151ULL);
	GUEST_ASSERT_EQ(rdi, 0xd1d1d1d1d1d1d1d1ULL);
	GUEST_DONE();
}

TEST(args_ret_and_rip)
{
	struct vireo_vcpu *vcpu;
	struct vireo_regs regs;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_one_hypercall);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_HYPERCALL);
	EXPECT_EQ(0x1234, vcpu->run->hypercall.nr);
	EXPECT_EQ(0xb0b0b0b0b0b0b0b0ULL, vcpu->run->hypercall.args[0]);
	EXPECT_EQ(0xc0c0c0c0c0c0c0c0ULL, vcpu->run->hypercall.args[1]);
	EXPECT_EQ(0xd0d0d0d0d0d0d0d0ULL, vcpu->run->hypercall.args[2]);
	EXPECT_EQ(0x5151515151515151ULL, vcpu->run->hypercall.args[3]);
	EXPECT_EQ(0xd1d1d1d1d1d1d1d1ULL, vcpu->run->hypercall.args[4]);
	/* RIP is past the instruction; RAX holds nr until the next RUN. */
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uint64_t)(host_cpu_is_intel() ? vmcall_after : vmmcall_after),
		  regs.rip);
	EXPECT_EQ(0x1234, regs.rax);
	vcpu->run->hypercall.ret = 0xfeedfacecafebeefULL;
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static void guest_many_hypercalls(void)
{
	uint64_t i;

	for (i = 0; i < NR_CALLS; i++)
		GUEST_ASSERT_EQ(guest_hypercall(i, i + 1, i + 2, i + 3, i + 4, i + 5),
				i * 3 + 7);
	GUEST_DONE();
}

TEST(many_hypercalls)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint64_t i, j;

	vm = vm_create_with_one_vcpu(&vcpu, guest_many_hypercalls);
	for (i = 0; i < NR_CALLS; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_HYPERCALL);
		ASSERT_EQ(i, vcpu->run->hypercall.nr);
		for (j = 0; j < 5; j++)
			ASSERT_EQ(i + j + 1, vcpu->run->hypercall.args[j]);
		vcpu->run->hypercall.ret = i * 3 + 7;
	}
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

VIREO_TEST_MAIN
