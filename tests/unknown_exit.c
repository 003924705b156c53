// SPDX-License-Identifier: GPL-2.0
/*
 * Hardware exits the module does not handle reach user space as
 * VIREO_EXIT_UNKNOWN with the hardware exit code (nonzero): on SVM the SVM
 * instructions a guest is not given (VMLOAD, VMSAVE), on VMX MONITOR and
 * MWAIT (which SVM's TCG test VM would answer with #UD, as its CPU model
 * has no MONITOR).  RIP stays at the instruction, so user space may
 * emulate it.  Debug-register accesses and MSRs used to be in this list:
 * the module emulates them now (the debug_registers test below and msr.c).
 */
#include "vireo_test.h"

/* SVM exit codes (APM vol. 2, appendix C). */
#define SVM_EXIT_VMLOAD		0x82
#define SVM_EXIT_VMSAVE		0x83
/* VMX basic exit reasons (SDM vol. 3D, appendix C). */
#define VMX_EXIT_MWAIT		36
#define VMX_EXIT_MONITOR	39

#define DR0_VALUE		0x0000000000401000ULL
#define DR7_RESET		0x0000000000000400ULL
#define DR6_RESET		0x00000000ffff0ff0ULL
#define VMLOAD_EMULATED		0x1234ULL

/* The module keeps the guest's DRs in software: values read back. */
static void guest_debug_registers(void)
{
	uint64_t v;

	asm volatile("mov %%dr7, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, DR7_RESET);
	asm volatile("mov %%dr6, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, DR6_RESET);
	asm volatile("mov %0, %%dr0" : : "r"(DR0_VALUE));
	asm volatile("mov %%dr0, %0" : "=r"(v));
	GUEST_ASSERT_EQ(v, DR0_VALUE);
	asm volatile("mov %0, %%r9\n\tmov %%r9, %%dr3\n\tmov %%dr3, %%r10\n\tmov %%r10, %0"
		     : "+r"(v) : : "r9", "r10");
	GUEST_ASSERT_EQ(v, DR0_VALUE);
	GUEST_DONE();
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

static void guest_monitor(void)
{
	/* MONITOR (0f 01 c8): RAX the address, ECX extensions, EDX hints. */
	asm volatile(".byte 0x0f, 0x01, 0xc8"
		     : : "a"(GUEST_FREE_GPA), "c"(0), "d"(0) : "memory");
	GUEST_FAIL("MONITOR did not exit");
}

static void guest_mwait(void)
{
	/* MWAIT (0f 01 c9): EAX hints, ECX extensions. */
	asm volatile(".byte 0x0f, 0x01, 0xc9" : : "a"(0), "c"(0) : "memory");
	GUEST_FAIL("MWAIT did not exit");
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

TEST(debug_registers_are_emulated)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_debug_registers);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

TEST(vmload_or_monitor_is_unknown)
{
	bool vmx = host_cpu_is_intel();

	EXPECT_EQ(vmx ? VMX_EXIT_MONITOR : SVM_EXIT_VMLOAD,
		  expect_unknown(_metadata, vmx ? guest_monitor : guest_vmload));
}

TEST(vmsave_or_mwait_is_unknown)
{
	bool vmx = host_cpu_is_intel();

	EXPECT_EQ(vmx ? VMX_EXIT_MWAIT : SVM_EXIT_VMSAVE,
		  expect_unknown(_metadata, vmx ? guest_mwait : guest_vmsave));
}

extern const char vmload_insn[], vmload_after[];
extern const char monitor_insn[], monitor_after[];

/*
 * VMLOAD (0f 01 da, three bytes): user space "emulates" it by moving RIP
 * and leaving a mark in RAX.  (Not INVD: QEMU's TCG checks INVD against
 * the WBINVD intercept bit, so it does not exit reliably in the test VM.)
 */
static void __guest_code guest_vmload_emulated(void)
{
	uint64_t v = GUEST_FREE_GPA;

	asm volatile(".globl vmload_insn\n"
		     "vmload_insn: .byte 0x0f, 0x01, 0xda\n"
		     ".globl vmload_after\n"
		     "vmload_after:"
		     : "+a"(v) : : "memory");
	GUEST_ASSERT_EQ(v, VMLOAD_EMULATED);
	GUEST_DONE();
}

/* The same with MONITOR (0f 01 c8, three bytes), for VMX. */
static void __guest_code guest_monitor_emulated(void)
{
	uint64_t v = GUEST_FREE_GPA;

	asm volatile(".globl monitor_insn\n"
		     "monitor_insn: .byte 0x0f, 0x01, 0xc8\n"
		     ".globl monitor_after\n"
		     "monitor_after:"
		     : "+a"(v) : "c"(0), "d"(0) : "memory");
	GUEST_ASSERT_EQ(v, VMLOAD_EMULATED);
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

	bool vmx = host_cpu_is_intel();
	const char *insn = vmx ? monitor_insn : vmload_insn;
	const char *after = vmx ? monitor_after : vmload_after;

	vm = vm_create_with_one_vcpu(&vcpu, vmx ? guest_monitor_emulated :
						  guest_vmload_emulated);

	expect_stuck_at(_metadata, vcpu, vmx ? VMX_EXIT_MONITOR : SVM_EXIT_VMLOAD,
			insn, &regs);
	/* Emulate: mark RAX, RIP past the 3-byte instruction. */
	ASSERT_EQ(3, after - insn);
	regs.rax = VMLOAD_EMULATED;
	regs.rip = (uint64_t)after;
	vcpu_regs_set(vcpu, &regs);

	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

VIREO_TEST_MAIN
