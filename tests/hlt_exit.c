// SPDX-License-Identifier: GPL-2.0
/*
 * HLT exits to user space with RIP already past it; the next RUN continues
 * with the following instruction.
 */
#include "vireo_test.h"

#define NR_HLT 5

extern const char hlt_after_first[];
static uint64_t hlt_count;

static void __guest_code guest_hlt(void)
{
	uint64_t i;

	asm volatile("hlt\n"
		     ".globl hlt_after_first\n"
		     "hlt_after_first:" : : : "memory");
	GUEST_SYNC(1);
	for (i = 0; i < NR_HLT; i++) {
		hlt();
		WRITE_ONCE(hlt_count, i + 1);
	}
	GUEST_SYNC(2);
	GUEST_DONE();
}

TEST(hlt_exits_and_resumes_after_it)
{
	struct vireo_vcpu *vcpu;
	struct vireo_regs regs;
	struct vireo_vm *vm;
	uint64_t i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_hlt);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	ASSERT_EQ((uint64_t)hlt_after_first, regs.rip);

	vcpu_run_expect_sync(vcpu, 1);
	for (i = 0; i < NR_HLT; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_HLT);
		/* The guest made progress between two HLTs: no re-execution. */
		ASSERT_EQ(i, READ_ONCE(*guest_global(vm, hlt_count)));
	}
	vcpu_run_expect_sync(vcpu, 2);
	ASSERT_EQ(NR_HLT, *guest_global(vm, hlt_count));
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static void guest_hlt_with_if(void)
{
	/* HLT with interrupts enabled exits the same way. */
	asm volatile("sti; hlt; cli" : : : "memory");
	GUEST_DONE();
}

TEST(hlt_with_interrupts_enabled)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_hlt_with_if);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_HLT);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

VIREO_TEST_MAIN
