// SPDX-License-Identifier: GPL-2.0
/*
 * Guest exceptions through the library's IDT (exception.h): an exception
 * nobody handles is reported as UCALL_UNHANDLED with its vector, error
 * code, RIP (and CR2 for #PF) instead of a triple fault; an installed
 * handler sees the whole frame and can resume anywhere; GUEST_ASM_SAFE()
 * fixups return the vector and win over a handler.  The VM stays alive.
 */
#include "vireo_test.h"

#define UNMAPPED_GVA		(8ULL << 30)	/* above the identity map */
#define NONCANONICAL_GVA	0x8000000000000000ULL

extern const char ud2_insn[], gp_insn[], gp_after[], frame_ud2_insn[];

static void __guest_code guest_ud2(void)
{
	GUEST_SYNC(1);
	asm volatile(".globl ud2_insn\n"
		     "ud2_insn: ud2" : : : "memory");
	GUEST_DONE();
}

static void guest_page_fault(void)
{
	GUEST_SYNC(1);
	*(volatile uint64_t *)UNMAPPED_GVA = 1;
	GUEST_DONE();
}

/* Run to GUEST_SYNC(1), then to the unhandled exception's ucall. */
static void run_to_unhandled(struct __test_metadata *_metadata,
			     struct vireo_vcpu *vcpu, struct ucall *uc)
{
	char buf[512];

	vcpu_run_expect_sync(vcpu, 1);
	ASSERT_EQ(0, __vcpu_run(vcpu));
	ASSERT_EQ(UCALL_UNHANDLED, get_ucall(vcpu, uc)) {
		TH_LOG("%s", vcpu_exit_describe(vcpu, buf, sizeof(buf)));
	}
	ASSERT_EQ(4, uc->nargs);
	TH_LOG("reported as: %s", ucall_format_unhandled(uc, buf, sizeof(buf)));
}

TEST(unhandled_ud_is_reported)
{
	struct vireo_vcpu *vcpu;
	struct vireo_nl_vm info;
	struct vireo_vm *vm;
	struct vireo_nl nl;
	char buf[512];
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_ud2);
	run_to_unhandled(_metadata, vcpu, &uc);
	EXPECT_EQ(UD_VECTOR, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);		/* #UD has no error code */
	EXPECT_EQ((uint64_t)ud2_insn, uc.args[2]);
	ucall_format_unhandled(&uc, buf, sizeof(buf));
	EXPECT_NE(NULL, strstr(buf, "#UD"));
	EXPECT_NE(NULL, strstr(buf, "guest_ud2"));

	/* Not a triple fault: the VM was not stopped. */
	ASSERT_EQ(0, vireo_nl_open(&nl));
	ASSERT_EQ(0, vireo_nl_get_vm(&nl, vm->id, &info));
	EXPECT_NE(VIREO_VM_STATE_CRASHED, info.state);
	EXPECT_EQ(0, info.exits[VIREO_EXIT_SHUTDOWN]);
	vireo_nl_close(&nl);
	vm_free(vm);
}

TEST(unhandled_page_fault_reports_cr2)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_page_fault);
	run_to_unhandled(_metadata, vcpu, &uc);
	EXPECT_EQ(PF_VECTOR, uc.args[0]);
	/* A supervisor write to a not-present page: W=1, P=0 (APM 8.4.2). */
	EXPECT_EQ(0x2, uc.args[1]);
	EXPECT_EQ(UNMAPPED_GVA, uc.args[3]);
	vm_free(vm);
}

/* The handler checks the frame the guest set up below and changes RAX. */
static uint64_t frame_checks;

static void guest_frame_handler(struct ex_regs *regs)
{
	GUEST_ASSERT_EQ(regs->vector, UD_VECTOR);
	GUEST_ASSERT_EQ(regs->error_code, 0);
	GUEST_ASSERT_EQ(regs->rip, (uint64_t)frame_ud2_insn);
	GUEST_ASSERT_EQ(regs->cs & 0xffff, GDT_SEL_CODE);
	GUEST_ASSERT_EQ(regs->ss & 0xffff, GDT_SEL_DATA);
	GUEST_ASSERT(regs->rflags & 0x2);
	GUEST_ASSERT_EQ(regs->rax, 0xa0);
	GUEST_ASSERT_EQ(regs->rcx, 0xa1);
	GUEST_ASSERT_EQ(regs->rdx, 0xa2);
	GUEST_ASSERT_EQ(regs->rbx, 0xa3);
	GUEST_ASSERT_EQ(regs->rsi, 0xa6);
	GUEST_ASSERT_EQ(regs->rdi, 0xa7);
	GUEST_ASSERT_EQ(regs->r8, 0xa8);
	GUEST_ASSERT_EQ(regs->r9, 0xa9);
	GUEST_ASSERT_EQ(regs->r10, 0xaa);
	GUEST_ASSERT_EQ(regs->r11, 0xab);
	GUEST_ASSERT_EQ(regs->r12, 0xac);
	GUEST_ASSERT_EQ(regs->r13, 0xad);
	GUEST_ASSERT_EQ(regs->r14, 0xae);
	GUEST_ASSERT_EQ(regs->r15, 0xaf);
	frame_checks++;
	regs->rax = 0x600d;
	regs->rip += 2;			/* past the ud2 */
}

static void __guest_code guest_frame(void)
{
	register uint64_t r8 asm("r8") = 0xa8;
	register uint64_t r9 asm("r9") = 0xa9;
	register uint64_t r10 asm("r10") = 0xaa;
	register uint64_t r11 asm("r11") = 0xab;
	register uint64_t r12 asm("r12") = 0xac;
	register uint64_t r13 asm("r13") = 0xad;
	register uint64_t r14 asm("r14") = 0xae;
	register uint64_t r15 asm("r15") = 0xaf;
	uint64_t rax = 0xa0, rcx = 0xa1, rdx = 0xa2, rbx = 0xa3;
	uint64_t rsi = 0xa6, rdi = 0xa7, rsp_before, rsp_after;

	asm volatile("mov %%rsp, %[before]\n\t"
		     ".globl frame_ud2_insn\n"
		     "frame_ud2_insn: ud2\n\t"
		     "mov %%rsp, %[after]"
		     : "+a"(rax), "+c"(rcx), "+d"(rdx), "+b"(rbx), "+S"(rsi),
		       "+D"(rdi), "+r"(r8), "+r"(r9), "+r"(r10), "+r"(r11),
		       "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15),
		       [before] "=m"(rsp_before), [after] "=m"(rsp_after)
		     : : "memory");
	GUEST_ASSERT_EQ(frame_checks, 1);
	GUEST_ASSERT_EQ(rax, 0x600d);	/* written by the handler */
	GUEST_ASSERT_EQ(rcx, 0xa1);
	GUEST_ASSERT_EQ(rbx, 0xa3);
	GUEST_ASSERT_EQ(rdi, 0xa7);
	GUEST_ASSERT_EQ(r8, 0xa8);
	GUEST_ASSERT_EQ(r11, 0xab);
	GUEST_ASSERT_EQ(r15, 0xaf);
	GUEST_ASSERT_EQ(rsp_before, rsp_after);
	GUEST_DONE();
}

TEST(handler_sees_frame_and_resumes)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_frame);
	vm_install_exception_handler(vm, UD_VECTOR, guest_frame_handler);
	vcpu_run_expect_done(vcpu);
	sync_global_from_guest(vm, frame_checks);
	EXPECT_EQ(1, frame_checks);
	vm_free(vm);
}

/* #GP pushes an error code: the other kind of stub. */
static uint64_t gp_count, gp_error_code;

static void guest_gp_handler(struct ex_regs *regs)
{
	GUEST_ASSERT_EQ(regs->vector, GP_VECTOR);
	GUEST_ASSERT_EQ(regs->rip, (uint64_t)gp_insn);
	gp_error_code = regs->error_code;
	gp_count++;
	regs->rip = (uint64_t)gp_after;
}

/* Out of line: the labels must exist once, whatever the loop becomes. */
static void __guest_code noncanonical_store(void)
{
	asm volatile(".globl gp_insn\n"
		     "gp_insn: movq $1, (%0)\n"
		     ".globl gp_after\n"
		     "gp_after:"
		     : : "r"(NONCANONICAL_GVA) : "memory");
}

static void guest_gp(void)
{
	int i;

	for (i = 0; i < 3; i++)
		noncanonical_store();
	GUEST_ASSERT_EQ(gp_count, 3);
	GUEST_ASSERT_EQ(gp_error_code, 0);
	GUEST_DONE();
}

TEST(handler_for_error_code_vector)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_gp);
	vm_install_exception_handler(vm, GP_VECTOR, guest_gp_handler);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static void guest_never_handler(struct ex_regs *regs)
{
	GUEST_FAIL("the handler ran although a fixup applied");
}

static uint8_t ud2_safe(void)
{
	register uint64_t vector asm("r9");
	register uint64_t error asm("r10");

	asm volatile(GUEST_ASM_SAFE("ud2")
		     : "=&r"(vector), "=&r"(error) : : "memory");
	return vector;
}

static uint8_t nop_safe(void)
{
	register uint64_t vector asm("r9");
	register uint64_t error asm("r10");

	asm volatile(GUEST_ASM_SAFE("nop")
		     : "=&r"(vector), "=&r"(error) : : "memory");
	return vector;
}

static void guest_safe(void)
{
	GUEST_ASSERT_EQ(nop_safe(), 0);
	GUEST_ASSERT_EQ(ud2_safe(), UD_VECTOR);
	GUEST_ASSERT_EQ(ud2_safe(), UD_VECTOR);
	GUEST_ASSERT_EQ(nop_safe(), 0);
	GUEST_DONE();
}

TEST(safe_fixup_returns_vector)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_safe);
	vm_install_exception_handler(vm, UD_VECTOR, guest_never_handler);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* Removing a handler brings the default report back. */
TEST(handler_uninstalled)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_ud2);
	vm_install_exception_handler(vm, UD_VECTOR, guest_never_handler);
	vm_install_exception_handler(vm, UD_VECTOR, NULL);
	run_to_unhandled(_metadata, vcpu, &uc);
	EXPECT_EQ(UD_VECTOR, uc.args[0]);
	vm_free(vm);
}

VIREO_TEST_MAIN
