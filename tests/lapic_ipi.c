// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupts a vCPU's in-kernel LAPIC sends to itself (irqchip VM, docs/
 * uapi.md 7.4): fixed IPIs through the xAPIC ICR (shorthands, physical,
 * broadcast and flat logical destinations), through the x2APIC ICR MSR and
 * the x2APIC SELF IPI MSR; the task priority holding back vectors of its
 * class and below, and CR8 as that priority's class (MOV to CR8 lowering it
 * delivers at once; the sregs' cr8; #GP for bits 63:4); the in-service register, the processor priority and
 * EOI with nested vectors; the highest pending vector first.
 */
#include "vireo_test.h"

#define VEC_A		0x41
#define VEC_B		0x52
#define VEC_C		0x63

#define MAX_SEEN	32

/* Vectors taken, in order; set by the handlers. */
static uint64_t seen[MAX_SEEN];
static uint64_t nseen;
static bool x2apic_mode;

static void record(uint64_t vector)
{
	uint64_t n = READ_ONCE(nseen);

	if (n < MAX_SEEN)
		seen[n] = vector;
	WRITE_ONCE(nseen, n + 1);
}

static void apic_eoi(void)
{
	if (READ_ONCE(x2apic_mode))
		x2apic_eoi();
	else
		xapic_eoi();
}

static void guest_ipi_handler(struct ex_regs *regs)
{
	record(regs->vector);
	apic_eoi();
}

/* Wait (IF set) until @n vectors were taken; the last must be @vector. */
#define GUEST_WAIT_SEEN(n, vector) do {					\
	GUEST_ASSERT(guest_wait_until(READ_ONCE(nseen) >= (n), 2000));	\
	GUEST_ASSERT_EQ(READ_ONCE(nseen), n);				\
	GUEST_ASSERT_EQ(seen[(n) - 1], vector);				\
} while (0)

static struct vireo_vm *ipi_vm_create(struct vireo_vcpu **vcpu,
				      void *guest_code)
{
	static const uint8_t vectors[] = { VEC_A, VEC_B, VEC_C };
	struct vireo_vm *vm = vm_create_irqchip_with_one_vcpu(vcpu, guest_code);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vectors); i++)
		vm_install_interrupt_handler(vm, vectors[i], guest_ipi_handler);
	return vm;
}

/* ---- xAPIC ICR ----------------------------------------------------- */

static void guest_xapic_ipi(void)
{
	xapic_enable();
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ID), 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVR), 0x50014);

	/* Shorthand self with interrupts off: the vector waits in IRR. */
	xapic_send_ipi(0, APIC_DEST_SELF | APIC_DM_FIXED | VEC_A);
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, VEC_A));
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ICR),
			APIC_DEST_SELF | APIC_DM_FIXED | VEC_A);  /* idle */
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 0);
	sti_nop();
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 1);
	GUEST_ASSERT_EQ(seen[0], VEC_A);
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, VEC_A));
	GUEST_ASSERT(!xapic_vector_set(APIC_ISR, VEC_A));

	/* Physical destination: our own APIC ID, then the broadcast 0xff. */
	xapic_send_ipi(0, APIC_DM_FIXED | VEC_B);
	GUEST_WAIT_SEEN(2, VEC_B);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ICR2), 0);
	xapic_send_ipi(0xff, APIC_DM_FIXED | VEC_C);
	GUEST_WAIT_SEEN(3, VEC_C);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ICR2), 0xff000000);

	/* All including self. */
	xapic_send_ipi(0, APIC_DEST_ALLINC | VEC_A);
	GUEST_WAIT_SEEN(4, VEC_A);

	/* Flat logical model: any destination bit shared with LDR[31:24]. */
	xapic_write_reg(APIC_LDR, 0x08000000);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LDR), 0x08000000);
	xapic_send_ipi(0x08, APIC_DEST_LOGICAL | VEC_B);
	GUEST_WAIT_SEEN(5, VEC_B);
	xapic_send_ipi(0x18, APIC_DEST_LOGICAL | VEC_C);
	GUEST_WAIT_SEEN(6, VEC_C);

	/* Nobody there: all but self, another ID, another logical group. */
	xapic_send_ipi(0, APIC_DEST_ALLBUT | VEC_A);
	xapic_send_ipi(3, APIC_DM_FIXED | VEC_A);
	xapic_send_ipi(0x04, APIC_DEST_LOGICAL | VEC_A);
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 6);
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, VEC_A));

	/* Vectors 0-15 are illegal (SDM 10.5.3): not accepted. */
	cli();
	xapic_send_ipi(0, APIC_DEST_SELF | PF_VECTOR);
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, PF_VECTOR));
	sti_nop();
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 6);
	GUEST_DONE();
}

TEST(xapic_icr)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = ipi_vm_create(&vcpu, guest_xapic_ipi);

	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(6, *guest_global(vm, nseen));
	/* Each vector taken was one injection by the module. */
	EXPECT_EQ(6, vireo_nl_vm_stat(vm->id, "kernel_irq_injected"));
	EXPECT_EQ(0, vireo_nl_vm_stat(vm->id, "mmio"));
	vm_free(vm);
}

/* ---- x2APIC MSRs --------------------------------------------------- */

#define FAKE_MMIO_VALUE		0x1234abcd

static void guest_x2apic_ipi(void)
{
	uint64_t v;

	/* In xAPIC mode the x2APIC MSRs do not exist. */
	xapic_enable();
	GUEST_ASSERT_EQ(rdmsr_safe(X2APIC_MSR(APIC_LVR), &v), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(X2APIC_MSR(APIC_SELF_IPI), VEC_A),
			GP_VECTOR);

	x2apic_enable();
	WRITE_ONCE(x2apic_mode, true);
	GUEST_ASSERT(rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_EXTD);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_ID), 0);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_LVR), 0x50014);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_SPIV),
			APIC_SPIV_APIC_ENABLED | APIC_SPURIOUS_VECTOR);

	/* SELF IPI: the vector waits in IRR while interrupts are off. */
	x2apic_self_ipi(VEC_A);
	GUEST_ASSERT(x2apic_vector_set(APIC_IRR, VEC_A));
	sti_nop();
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 1);
	GUEST_ASSERT_EQ(seen[0], VEC_A);
	GUEST_ASSERT(!x2apic_vector_set(APIC_ISR, VEC_A));

	/* ICR: one 64-bit register, physical destination in bits 63:32. */
	cli();
	x2apic_send_ipi(0, APIC_DM_FIXED | VEC_B);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_ICR), APIC_DM_FIXED | VEC_B);
	GUEST_ASSERT(x2apic_vector_set(APIC_IRR, VEC_B));
	sti_nop();
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 2);
	GUEST_ASSERT_EQ(seen[1], VEC_B);

	x2apic_send_ipi(0, APIC_DEST_SELF | VEC_C);
	GUEST_WAIT_SEEN(3, VEC_C);

	/* 32-bit destinations: 0x100 is not us (no aliasing), 1 is nobody. */
	x2apic_send_ipi(0x100, APIC_DM_FIXED | VEC_A);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_ICR),
			0x100ULL << 32 | APIC_DM_FIXED | VEC_A);
	x2apic_send_ipi(1, APIC_DM_FIXED | VEC_A);
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 3);
	GUEST_ASSERT(!x2apic_vector_set(APIC_IRR, VEC_A));

	/* In x2APIC mode the xAPIC page is plain MMIO for user space. */
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVR), FAKE_MMIO_VALUE);
	GUEST_DONE();
}

TEST(x2apic_msrs)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = ipi_vm_create(&vcpu, guest_x2apic_ipi);
	struct vireo_run *run = vcpu->run;

	vcpu_run_expect_sync(vcpu, 1);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_MMIO);
	EXPECT_EQ(APIC_DEFAULT_GPA + APIC_LVR, run->mmio.gpa);
	EXPECT_EQ(4, run->mmio.len);
	EXPECT_EQ(0, run->mmio.is_write);
	run->mmio.data = FAKE_MMIO_VALUE;
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/*
 * Destination 0xffffffff is the x2APIC broadcast, in logical and in
 * physical destination mode alike (SDM vol. 3A, 10.12.9).
 */
static void guest_x2apic_broadcast(uint64_t logical)
{
	x2apic_enable();
	WRITE_ONCE(x2apic_mode, true);
	sti();
	x2apic_send_ipi(0xffffffff, (logical ? APIC_DEST_LOGICAL : 0) |
				    APIC_DM_FIXED | VEC_A);
	GUEST_WAIT_SEEN(1, VEC_A);
	GUEST_DONE();
}

static void run_x2apic_broadcast(bool logical)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = ipi_vm_create(&vcpu, guest_x2apic_broadcast);

	vcpu_args_set(vcpu, 1, (uint64_t)logical);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

TEST(x2apic_logical_broadcast)
{
	run_x2apic_broadcast(true);
}

TEST(x2apic_physical_broadcast)
{
	run_x2apic_broadcast(false);
}

/* ---- task priority ------------------------------------------------- */

#define VEC_CLASS4	0x45
#define VEC_CLASS6	0x61

static void guest_tpr(void)
{
	xapic_enable();
	sti();
	xapic_write_reg(APIC_TASKPRI, 0x50);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI), 0x50);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0x50);

	/* Class 4 is below TPR class 5: held in IRR, interrupts on or not. */
	xapic_send_ipi(0, APIC_DEST_SELF | VEC_CLASS4);
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 0);
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, VEC_CLASS4));

	/* Class 6 is above it: taken at once, class 4 still waits. */
	xapic_send_ipi(0, APIC_DEST_SELF | VEC_CLASS6);
	GUEST_WAIT_SEEN(1, VEC_CLASS6);
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, VEC_CLASS4));

	/* A TPR of the same class still holds it (only above PPR goes). */
	xapic_write_reg(APIC_TASKPRI, 0x4f);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0x4f);
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 1);

	/* Lowering TPR below the class delivers it. */
	xapic_write_reg(APIC_TASKPRI, 0x30);
	GUEST_WAIT_SEEN(2, VEC_CLASS4);
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, VEC_CLASS4));
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0x30);
	xapic_write_reg(APIC_TASKPRI, 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0);
	GUEST_DONE();
}

TEST(tpr_holds_back_lower_classes)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = ipi_vm_create(&vcpu, guest_tpr);

	vm_install_interrupt_handler(vm, VEC_CLASS4, guest_ipi_handler);
	vm_install_interrupt_handler(vm, VEC_CLASS6, guest_ipi_handler);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* ---- CR8 is the TPR's class (SDM vol. 3A, 10.8.6.1) --------------- */

static uint64_t read_cr8(void)
{
	uint64_t v;

	asm volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

static void write_cr8(uint64_t v)
{
	asm volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

static void guest_cr8(void)
{
	xapic_enable();
	sti();
	xapic_write_reg(APIC_TASKPRI, 0x5a);
	GUEST_ASSERT_EQ(read_cr8(), 5);
	/* A write sets TPR[7:4] and clears TPR[3:0]; R9 takes a REX prefix. */
	asm volatile("mov %0, %%r9; mov %%r9, %%cr8" : : "r"(3ULL) : "r9", "memory");
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI), 0x30);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0x30);

	/* Class 4 held back by CR8 5, then delivered as soon as CR8 drops. */
	write_cr8(5);
	xapic_send_ipi(0, APIC_DEST_SELF | VEC_CLASS4);
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 0);
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, VEC_CLASS4));
	write_cr8(4);
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 0);		/* same class: still held */
	write_cr8(0);
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 1);		/* before the next instruction */
	GUEST_ASSERT_EQ(seen[0], VEC_CLASS4);

	/* The host sees and sets the same register through the sregs. */
	write_cr8(9);
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI), 0x20);
	GUEST_ASSERT_EQ(read_cr8(), 2);
	write_cr8(0);
	GUEST_DONE();
}

static void guest_cr8_gp_handler(struct ex_regs *regs)
{
	record(regs->vector);
	regs->rip += 4;		/* mov %rax, %cr8: 44 0f 22 c0 */
}

static void guest_cr8_reserved(void)
{
	xapic_enable();
	/* Bits 63:4 are reserved: #GP(0), and CR8 keeps its value. */
	write_cr8(6);
	asm volatile(".byte 0x44, 0x0f, 0x22, 0xc0" : : "a"(16ULL) : "memory");
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 1);
	GUEST_ASSERT_EQ(seen[0], 13);
	GUEST_ASSERT_EQ(read_cr8(), 6);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI), 0x60);
	GUEST_DONE();
}

TEST(cr8_is_the_tpr_class)
{
	struct vireo_sregs sregs;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = ipi_vm_create(&vcpu, guest_cr8);

	vm_install_interrupt_handler(vm, VEC_CLASS4, guest_ipi_handler);
	vcpu_run_expect_sync(vcpu, 1);
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_EQ(9, sregs.cr8);
	sregs.cr8 = 2;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);

	vm = ipi_vm_create(&vcpu, guest_cr8_reserved);
	vm_install_exception_handler(vm, 13, guest_cr8_gp_handler);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* ---- nesting, ISR, PPR, EOI ---------------------------------------- */

#define VEC_LOW		0x40
#define VEC_LOW_TOO	0x4a	/* same class as VEC_LOW */
#define VEC_HIGH	0x80
#define EOI_MARK	0x1000	/* in seen[]: VEC_LOW's handler sent EOI */

static void guest_high_handler(struct ex_regs *regs)
{
	record(regs->vector);
	/* Both in service; the higher one sets the priority. */
	GUEST_ASSERT(xapic_vector_set(APIC_ISR, VEC_HIGH));
	GUEST_ASSERT(xapic_vector_set(APIC_ISR, VEC_LOW));
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), VEC_HIGH & 0xf0);
	/* EOI retires the highest vector in service only. */
	xapic_eoi();
	GUEST_ASSERT(!xapic_vector_set(APIC_ISR, VEC_HIGH));
	GUEST_ASSERT(xapic_vector_set(APIC_ISR, VEC_LOW));
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), VEC_LOW & 0xf0);
}

static void guest_low_handler(struct ex_regs *regs)
{
	record(regs->vector);
	GUEST_ASSERT(xapic_vector_set(APIC_ISR, VEC_LOW));
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, VEC_LOW));
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), VEC_LOW & 0xf0);

	/* A higher class interrupts this handler once IF is set. */
	sti();
	xapic_send_ipi(0, APIC_DEST_SELF | VEC_HIGH);
	GUEST_ASSERT(guest_wait_until(READ_ONCE(nseen) == 2, 2000));
	GUEST_ASSERT_EQ(seen[1], VEC_HIGH);

	/* The same class waits for our EOI, IF or not. */
	xapic_send_ipi(0, APIC_DEST_SELF | VEC_LOW_TOO);
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 2);
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, VEC_LOW_TOO));

	/* With IF clear, our EOI lets it through only after IRETQ. */
	cli();
	record(EOI_MARK);
	xapic_eoi();
	GUEST_ASSERT(!xapic_vector_set(APIC_ISR, VEC_LOW));
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0);
	GUEST_ASSERT_EQ(READ_ONCE(nseen), 3);
}

static void guest_nested(void)
{
	xapic_enable();
	sti();
	xapic_send_ipi(0, APIC_DEST_SELF | VEC_LOW);
	GUEST_ASSERT(guest_wait_until(READ_ONCE(nseen) == 4, 2000));
	GUEST_ASSERT_EQ(seen[0], VEC_LOW);
	GUEST_ASSERT_EQ(seen[1], VEC_HIGH);
	GUEST_ASSERT_EQ(seen[2], EOI_MARK);
	GUEST_ASSERT_EQ(seen[3], VEC_LOW_TOO);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ISR + 0x20), 0);	/* 0x40-0x5f */
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ISR + 0x40), 0);	/* 0x80-0x9f */
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0);
	GUEST_DONE();
}

TEST(nested_vectors_isr_ppr_eoi)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = vm_create_irqchip_with_one_vcpu(&vcpu,
							      guest_nested);

	vm_install_interrupt_handler(vm, VEC_LOW, guest_low_handler);
	vm_install_interrupt_handler(vm, VEC_HIGH, guest_high_handler);
	vm_install_interrupt_handler(vm, VEC_LOW_TOO, guest_ipi_handler);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* Several pending at once: taken highest vector first. */
static void guest_priority_order(void)
{
	xapic_enable();
	xapic_send_ipi(0, APIC_DEST_SELF | VEC_A);
	xapic_send_ipi(0, APIC_DEST_SELF | VEC_C);
	xapic_send_ipi(0, APIC_DEST_SELF | VEC_B);
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, VEC_A));
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, VEC_B));
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, VEC_C));
	sti();
	GUEST_ASSERT(guest_wait_until(READ_ONCE(nseen) == 3, 2000));
	GUEST_ASSERT_EQ(seen[0], VEC_C);
	GUEST_ASSERT_EQ(seen[1], VEC_B);
	GUEST_ASSERT_EQ(seen[2], VEC_A);
	GUEST_DONE();
}

TEST(highest_pending_first)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = ipi_vm_create(&vcpu, guest_priority_order);

	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

VIREO_TEST_MAIN
