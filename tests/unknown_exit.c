// SPDX-License-Identifier: GPL-2.0
/*
 * Hardware exits the module does not handle reach user space as
 * VIREO_EXIT_UNKNOWN with the hardware exit code (nonzero).  Today that is
 * the case for MSR accesses and for the SVM instructions a guest is not
 * given (VMLOAD, VMSAVE).  The MSR used is outside every MSR-permission-map
 * range, so it is intercepted whatever the module passes through.  RIP
 * stays at the instruction, so user space may emulate it.
 */
#include "vireo_test.h"

#define UNLIKELY_MSR	0x12345678

static void guest_rdmsr(void)
{
	rdmsr(UNLIKELY_MSR);
	GUEST_FAIL("RDMSR did not exit");
}

static void guest_wrmsr(void)
{
	wrmsr(UNLIKELY_MSR, 0x1122334455667788ULL);
	GUEST_FAIL("WRMSR did not exit");
}

static void guest_vmload(void)
{
	/* VMLOAD (0f 01 da) with RAX = a page-aligned address in RAM. */
	asm volatile(".byte 0x0f, 0x01, 0xda"
		     : : "a"(GUEST_FREE_GPA) : "memory");
	GUEST_FAIL("VMLOAD did not exit");
}

static void guest_vmsave(void)
{
	asm volatile(".byte 0x0f, 0x01, 0xdb"
		     : : "a"(GUEST_FREE_GPA) : "memory");
	GUEST_FAIL("VMSAVE did not exit");
}

static uint64_t expect_unknown(struct __test_metadata *_metadata,
			       void *guest_code)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	char buf[512];
	uint64_t code;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_UNKNOWN);
	code = vcpu->run->hw.hw_exit_code;
	EXPECT_NE(0, code);
	TH_LOG("%s", vcpu_exit_describe(vcpu, buf, sizeof(buf)));
	vm_free(vm);
	return code;
}

TEST(rdmsr_is_unknown)
{
	expect_unknown(_metadata, guest_rdmsr);
}

TEST(wrmsr_is_unknown)
{
	expect_unknown(_metadata, guest_wrmsr);
}

TEST(vmload_is_unknown)
{
	expect_unknown(_metadata, guest_vmload);
}

TEST(vmsave_is_unknown)
{
	expect_unknown(_metadata, guest_vmsave);
}

extern const char rdmsr_insn[], rdmsr_after[];

static void __guest_code guest_rdmsr_emulated(void)
{
	uint32_t lo, hi;

	asm volatile(".globl rdmsr_insn\n"
		     "rdmsr_insn: rdmsr\n"
		     ".globl rdmsr_after\n"
		     "rdmsr_after:"
		     : "=a"(lo), "=d"(hi) : "c"(UNLIKELY_MSR) : "memory");
	GUEST_ASSERT_EQ(lo, 0x89abcdef);
	GUEST_ASSERT_EQ(hi, 0x01234567);
	GUEST_DONE();
}

/*
 * RIP is not advanced past an unknown exit: running again exits again, and
 * user space can emulate the instruction and move RIP itself.
 */
TEST(unknown_exit_reexecutes_until_emulated)
{
	struct vireo_vcpu *vcpu;
	struct vireo_regs regs;
	struct vireo_vm *vm;
	uint64_t code;

	vm = vm_create_with_one_vcpu(&vcpu, guest_rdmsr_emulated);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_UNKNOWN);
	code = vcpu->run->hw.hw_exit_code;
	vcpu_regs_get(vcpu, &regs);
	ASSERT_EQ((uint64_t)rdmsr_insn, regs.rip);

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_UNKNOWN);
	ASSERT_EQ(code, vcpu->run->hw.hw_exit_code);
	vcpu_regs_get(vcpu, &regs);
	ASSERT_EQ((uint64_t)rdmsr_insn, regs.rip);

	/* Emulate: EDX:EAX = value, RIP past the 2-byte RDMSR. */
	regs.rax = 0x89abcdef;
	regs.rdx = 0x01234567;
	regs.rip = (uint64_t)rdmsr_after;
	vcpu_regs_set(vcpu, &regs);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* Different causes are told apart by the code. */
TEST(codes_differ_between_msr_and_vmload)
{
	uint64_t msr = expect_unknown(_metadata, guest_rdmsr);
	uint64_t vmload = expect_unknown(_metadata, guest_vmload);

	EXPECT_NE(msr, vmload);
}

VIREO_TEST_MAIN
