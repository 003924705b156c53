// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O exits: OUT of 1/2/4 bytes to several ports (imm8 and DX forms)
 * carries port, size and exactly the bytes written, with RIP already past
 * the instruction; IN completes on the next RUN into AL/AX/EAX (upper bits
 * kept for 8/16-bit, EAX zero-extended into RAX); SET_REGS cancels a
 * pending IN; string I/O is refused as an internal error.
 */
#include "vireo_test.h"

extern const char io_after_first_out[], io_in_insn[], io_after_in_insn[];

static void __guest_code guest_outs(void)
{
	asm volatile("outb %%al, $0x80\n"
		     ".globl io_after_first_out\n"
		     "io_after_first_out:"
		     : : "a"(0xaaaaaaaaaaaaaa5aULL) : "memory");
	asm volatile("outw %%ax, %%dx"
		     : : "a"(0xbbbbbbbbbbbb1234ULL), "d"(0x3f8) : "memory");
	asm volatile("outl %%eax, %%dx"
		     : : "a"(0xccccccccdeadbeefULL), "d"(0xcfc) : "memory");
	asm volatile("outb %%al, %%dx"
		     : : "a"(0xffffffffffffff00ULL), "d"(0xfffe) : "memory");
	asm volatile("outw %%ax, $0x70"
		     : : "a"(0x1111111111118001ULL) : "memory");
	asm volatile("outl %%eax, $0xf0"
		     : : "a"(0x2222222280000002ULL) : "memory");
	asm volatile("outb %%al, %%dx"
		     : : "a"(0xa5), "d"(0) : "memory");
	GUEST_DONE();
}

struct io_step {
	uint16_t port;
	uint8_t size;
	uint32_t data;
};

static const struct io_step outs[] = {
	{ 0x80, 1, 0x5a },
	{ 0x3f8, 2, 0x1234 },
	{ 0xcfc, 4, 0xdeadbeef },
	{ 0xfffe, 1, 0x00 },
	{ 0x70, 2, 0x8001 },
	{ 0xf0, 4, 0x80000002 },
	{ 0x0, 1, 0xa5 },
};

TEST(out_sizes_ports_and_data)
{
	struct vireo_vcpu *vcpu;
	struct vireo_regs regs;
	struct vireo_vm *vm;
	unsigned int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_outs);
	for (i = 0; i < ARRAY_SIZE(outs); i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_IO);
		EXPECT_EQ(VIREO_IO_OUT, vcpu->run->io.direction);
		EXPECT_EQ(outs[i].port, vcpu->run->io.port);
		EXPECT_EQ(outs[i].size, vcpu->run->io.size);
		/* Exactly the bytes written, nothing of RAX above them. */
		EXPECT_EQ(outs[i].data, vcpu->run->io.data);
		if (i == 0) {
			/* RIP is already past the OUT. */
			vcpu_regs_get(vcpu, &regs);
			EXPECT_EQ((uint64_t)io_after_first_out, regs.rip);
		}
		if (!_metadata->passed)
			TH_LOG("OUT #%u", i);
	}
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static void __guest_code guest_ins(void)
{
	uint64_t rax;

	rax = 0xaaaaaaaaaaaaaaaaULL;
	asm volatile("inb $0x60, %%al" : "+a"(rax) : : "memory");
	GUEST_ASSERT_EQ(rax, 0xaaaaaaaaaaaaaa5cULL);

	rax = 0xbbbbbbbbbbbbbbbbULL;
	asm volatile("inw %%dx, %%ax" : "+a"(rax) : "d"(0x1f0) : "memory");
	GUEST_ASSERT_EQ(rax, 0xbbbbbbbbbbbbbeefULL);

	rax = 0xccccccccccccccccULL;
	asm volatile("inl %%dx, %%eax" : "+a"(rax) : "d"(0xcfc) : "memory");
	GUEST_ASSERT_EQ(rax, 0x00000000cafef00dULL);

	rax = 0xddddddddddddddddULL;
	asm volatile("inl $0x71, %%eax" : "+a"(rax) : : "memory");
	GUEST_ASSERT_EQ(rax, 0x0000000080000001ULL);

	rax = 0xeeeeeeeeeeeeeeeeULL;
	asm volatile("inw $0x72, %%ax" : "+a"(rax) : : "memory");
	GUEST_ASSERT_EQ(rax, 0xeeeeeeeeeeee0000ULL);

	rax = 0x0123456789abcdefULL;
	asm volatile("inb %%dx, %%al" : "+a"(rax) : "d"(0xffff) : "memory");
	GUEST_ASSERT_EQ(rax, 0x0123456789abcdffULL);
	GUEST_DONE();
}

static const struct io_step ins[] = {
	{ 0x60, 1, 0x5c },
	{ 0x1f0, 2, 0xbeef },
	{ 0xcfc, 4, 0xcafef00d },
	{ 0x71, 4, 0x80000001 },
	{ 0x72, 2, 0x0000 },
	{ 0xffff, 1, 0xff },
};

TEST(in_completes_into_al_ax_eax)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	unsigned int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_ins);
	for (i = 0; i < ARRAY_SIZE(ins); i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_IO);
		ASSERT_EQ(VIREO_IO_IN, vcpu->run->io.direction);
		ASSERT_EQ(ins[i].port, vcpu->run->io.port);
		ASSERT_EQ(ins[i].size, vcpu->run->io.size);
		vcpu->run->io.data = ins[i].data;
	}
	/* The guest checked each register value itself. */
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static void __guest_code guest_in_once(void)
{
	uint64_t rax = 0x1122334455667788ULL;

	asm volatile(".globl io_in_insn\n"
		     "io_in_insn: inb $0x62, %%al\n"
		     ".globl io_after_in_insn\n"
		     "io_after_in_insn:"
		     : "+a"(rax) : : "memory");
	GUEST_ASSERT_EQ(rax, 0x1122334455667722ULL);
	GUEST_DONE();
}

TEST(in_rip_advances_on_completion)
{
	struct vireo_vcpu *vcpu;
	struct vireo_regs regs;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_in_once);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_IO);
	ASSERT_EQ(VIREO_IO_IN, vcpu->run->io.direction);
	/* Not completed yet: RIP still at the IN, RAX untouched. */
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uint64_t)io_in_insn, regs.rip);
	EXPECT_EQ(0x1122334455667788ULL, regs.rax);
	vcpu->run->io.data = 0x22;
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

TEST(set_regs_cancels_pending_in)
{
	struct vireo_vcpu *vcpu;
	struct vireo_regs regs;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_in_once);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_IO);
	ASSERT_EQ(0x62, vcpu->run->io.port);
	/* This value must never reach the guest... */
	vcpu->run->io.data = 0x11;
	/* ...because SET_REGS drops the pending completion. */
	vcpu_regs_get(vcpu, &regs);
	vcpu_regs_set(vcpu, &regs);

	/* So the IN executes again and exits again. */
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_IO);
	ASSERT_EQ(VIREO_IO_IN, vcpu->run->io.direction);
	ASSERT_EQ(0x62, vcpu->run->io.port);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uint64_t)io_in_insn, regs.rip);
	vcpu->run->io.data = 0x22;
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

TEST(immediate_exit_still_completes_pending_in)
{
	struct vireo_vcpu *vcpu;
	struct vireo_regs regs;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_in_once);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_IO);
	vcpu->run->io.data = 0x22;
	/* RUN finishes the IN before it looks at immediate_exit. */
	vcpu->run->immediate_exit = 1;
	ASSERT_EQ(-1, __vcpu_run(vcpu));
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(VIREO_EXIT_INTR, vcpu->run->exit_reason);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(0x1122334455667722ULL, regs.rax);
	EXPECT_EQ((uint64_t)io_after_in_insn, regs.rip);
	vcpu->run->immediate_exit = 0;
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static uint8_t string_buf[16] = "vireo";
extern const char io_outsb_insn[], io_insb_insn[];

static void __guest_code guest_outsb(void)
{
	asm volatile(".globl io_outsb_insn\n"
		     "io_outsb_insn: outsb"
		     : : "S"(string_buf), "d"(0x80) : "memory");
	GUEST_DONE();
}

static void __guest_code guest_rep_insb(void)
{
	asm volatile(".globl io_insb_insn\n"
		     "io_insb_insn: rep insb"
		     : : "D"(string_buf), "d"(0x81), "c"(4) : "memory");
	GUEST_DONE();
}

static void expect_string_io_refused(struct __test_metadata *_metadata,
				     void *guest_code, uint16_t port,
				     const char *insn)
{
	struct vireo_vcpu *vcpu;
	struct vireo_regs regs;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_INTERNAL_ERROR);
	EXPECT_EQ(VIREO_INTERNAL_STRING_IO, vcpu->run->internal.suberror);
	/* The port is reported in internal.gpa; RIP stays at the insn. */
	EXPECT_EQ(port, vcpu->run->internal.gpa);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ((uint64_t)insn, regs.rip);
	vm_free(vm);
}

TEST(outs_is_internal_error)
{
	expect_string_io_refused(_metadata, guest_outsb, 0x80, io_outsb_insn);
}

TEST(rep_ins_is_internal_error)
{
	expect_string_io_refused(_metadata, guest_rep_insb, 0x81, io_insb_insn);
}

VIREO_TEST_MAIN
