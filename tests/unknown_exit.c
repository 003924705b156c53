// SPDX-License-Identifier: GPL-2.0
/*
 * Hardware exits the module does not handle reach user space as
 * VIREO_EXIT_UNKNOWN with the hardware exit code (nonzero).  Today that is
 * the case for debug-register accesses (intercepted so that the guest
 * cannot touch the host's DR0-DR3, not emulated) and for the SVM
 * instructions a guest is not given (VMLOAD, VMSAVE).  MSR accesses used
 * to be in this list: they are handled in the kernel now (msr.c).  RIP
 * stays at the instruction, so user space may emulate it.
 */
#include "vireo_test.h"

/* SVM exit codes (APM vol. 2, appendix C). */
#define SVM_EXIT_READ_DR7	0x27
#define SVM_EXIT_WRITE_DR0	0x30
#define SVM_EXIT_VMLOAD		0x82
#define SVM_EXIT_VMSAVE		0x83

#define DR0_VALUE		0x0000000000401000ULL
#define DR7_EMULATED		0x0000000000000455ULL

static void guest_write_dr0(void)
{
	asm volatile("mov %0, %%dr0" : : "r"(DR0_VALUE) : "memory");
	GUEST_FAIL("MOV to DR0 did not exit");
}

static void guest_read_dr7(void)
{
	uint64_t v;

	asm volatile("mov %%dr7, %0" : "=r"(v) : : "memory");
	GUEST_FAIL("MOV from DR7 did not exit");
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

TEST(dr_write_is_unknown)
{
	EXPECT_EQ(SVM_EXIT_WRITE_DR0, expect_unknown(_metadata,
						     guest_write_dr0));
}

TEST(dr_read_is_unknown)
{
	EXPECT_EQ(SVM_EXIT_READ_DR7, expect_unknown(_metadata,
						    guest_read_dr7));
}

TEST(vmload_is_unknown)
{
	EXPECT_EQ(SVM_EXIT_VMLOAD, expect_unknown(_metadata, guest_vmload));
}

TEST(vmsave_is_unknown)
{
	EXPECT_EQ(SVM_EXIT_VMSAVE, expect_unknown(_metadata, guest_vmsave));
}

extern const char dr7_read_insn[], dr7_read_after[];
extern const char dr0_write_insn[], dr0_write_after[];

/*
 * MOV from DR7 into RAX, then MOV from RAX to DR0 (both 0f 21/23 /r, three
 * bytes): user space emulates both.
 */
static void __guest_code guest_dr_emulated(void)
{
	uint64_t v;

	asm volatile(".globl dr7_read_insn\n"
		     "dr7_read_insn: mov %%dr7, %%rax\n"
		     ".globl dr7_read_after\n"
		     "dr7_read_after:"
		     : "=a"(v) : : "memory");
	GUEST_ASSERT_EQ(v, DR7_EMULATED);

	asm volatile(".globl dr0_write_insn\n"
		     "dr0_write_insn: mov %%rax, %%dr0\n"
		     ".globl dr0_write_after\n"
		     "dr0_write_after:"
		     : : "a"(DR0_VALUE) : "memory");
	GUEST_DONE();
}

/* Run into the same exit twice: RIP is not moved past an unknown exit. */
static void expect_stuck_at(struct __test_metadata *_metadata,
			    struct vireo_vcpu *vcpu, uint64_t code,
			    const char *insn, struct vireo_regs *regs)
{
	int i;

	for (i = 0; i < 2; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_UNKNOWN);
		ASSERT_EQ(code, vcpu->run->hw.hw_exit_code);
		vcpu_regs_get(vcpu, regs);
		ASSERT_EQ((uint64_t)insn, regs->rip);
		ASSERT_EQ((uint64_t)insn, vcpu->run->rip);
	}
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

	vm = vm_create_with_one_vcpu(&vcpu, guest_dr_emulated);

	expect_stuck_at(_metadata, vcpu, SVM_EXIT_READ_DR7, dr7_read_insn,
			&regs);
	/* Emulate: RAX = "DR7", RIP past the 3-byte MOV. */
	ASSERT_EQ(3, dr7_read_after - dr7_read_insn);
	regs.rax = DR7_EMULATED;
	regs.rip = (uint64_t)dr7_read_after;
	vcpu_regs_set(vcpu, &regs);

	expect_stuck_at(_metadata, vcpu, SVM_EXIT_WRITE_DR0, dr0_write_insn,
			&regs);
	/* The value being written is in the guest's RAX. */
	ASSERT_EQ(DR0_VALUE, regs.rax);
	ASSERT_EQ(3, dr0_write_after - dr0_write_insn);
	regs.rip = (uint64_t)dr0_write_after;
	vcpu_regs_set(vcpu, &regs);

	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

VIREO_TEST_MAIN
