// SPDX-License-Identifier: GPL-2.0
/*
 * VIREO_GET_EXIT_TRACE (docs/uapi.md 6.8): the module keeps each vCPU's
 * last 32 world switches, oldest first: RIP and RFLAGS at the entry, the
 * event injected, the exit code and what was in delivery, RIP and RFLAGS
 * at the exit; identical switches in a row share one entry.  A HLT loop's
 * exits at one known RIP merge into one entry with a repeat count; an
 * interrupt shows up as an entry's injected event.  An interrupt whose
 * delivery a nested page fault cuts short (its frame goes to a stack page
 * the guest never touched) shows up as in delivery at that exit, and the
 * guest's handler still runs exactly once.
 */
#include "vireo_test.h"

#define NR_HLT		40
#define IPI_VECTOR	0x61

#define SVM_EXIT_HLT	0x78
#define VMX_EXIT_HLT	12
#define SVM_EXIT_NPF	0x400
#define VMX_EXIT_EPT_VIOLATION	48

/* Two pages of RAM nothing touches before fresh_stack_delivery runs. */
#define FRESH_STACK_TOP	(GUEST_FREE_GPA + 0x3000)

extern const char trace_hlt[];
static uint64_t ipis;

static void __guest_code guest_hlt_loop(void)
{
	/* LOOP leaves RFLAGS alone: every switch after the first is the same. */
	asm volatile("mov %0, %%ecx\n"
		     ".globl trace_hlt\n"
		     "trace_hlt: hlt\n"
		     "loop trace_hlt" : : "i" (NR_HLT) : "rcx", "memory");
	GUEST_DONE();
}

static void get_trace(struct vireo_vcpu *vcpu, struct vireo_exit_trace *t)
{
	memset(t, 0xa5, sizeof(*t));
	TEST_ASSERT(!__vcpu_ioctl(vcpu, VIREO_GET_EXIT_TRACE, t),
		    "VIREO_GET_EXIT_TRACE failed: %s", strerror(errno));
}

TEST(records_the_last_switches)
{
	uint64_t hlt_code = host_cpu_is_intel() ? VMX_EXIT_HLT : SVM_EXIT_HLT;
	struct vireo_exit_trace *t = malloc(sizeof(*t));
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint64_t before, switches = 0, hlt_switches = 0;
	bool merged = false;
	unsigned int i;

	ASSERT_NE(NULL, t);
	vm = vm_create_with_one_vcpu(&vcpu, guest_hlt_loop);
	get_trace(vcpu, t);
	EXPECT_EQ(0, t->count);
	EXPECT_EQ(0, t->total);

	for (i = 0; i < NR_HLT; i++) {
		get_trace(vcpu, t);
		before = t->total;
		vcpu_run(vcpu);
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_HLT);
		get_trace(vcpu, t);
		/* At least this HLT's switch; others (host interrupts) may come. */
		ASSERT_GE(t->total, before + 1);
		/* The newest entry is the exit that came back to user space. */
		ASSERT_EQ(hlt_code, t->entries[t->count - 1].exit_code);
		ASSERT_EQ((uint64_t)trace_hlt, t->entries[t->count - 1].exit_rip);
	}
	EXPECT_EQ(0, t->reserved);
	EXPECT_LE(t->count, VIREO_EXIT_TRACE_LEN);
	for (i = 0; i < t->count; i++) {
		const struct vireo_exit_trace_entry *e = &t->entries[i];

		/* RFLAGS bit 1 is always set; nothing was injected. */
		EXPECT_TRUE(e->entry_rflags & 2);
		EXPECT_TRUE(e->exit_rflags & 2);
		EXPECT_EQ(0, e->event_inj & (1U << 31));
		switches += 1 + e->repeats;
		if (e->exit_code != hlt_code || e->exit_rip != (uint64_t)trace_hlt)
			continue;
		hlt_switches += 1 + e->repeats;
		/* The loop's HLTs after the first: entered just past the previous one. */
		if (e->repeats && e->entry_rip > (uint64_t)trace_hlt &&
		    e->entry_rip - (uint64_t)trace_hlt < 64)
			merged = true;
	}
	/* Identical switches share one entry, so the loop fits in the ring. */
	EXPECT_TRUE(merged);
	EXPECT_LE(switches, t->total);
	if (t->count < VIREO_EXIT_TRACE_LEN) {
		/* Nothing was overwritten: every switch is in the ring. */
		EXPECT_EQ(t->total, switches);
		EXPECT_EQ(NR_HLT, hlt_switches);
	} else {
		EXPECT_GE(hlt_switches, NR_HLT / 2);
	}
	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_EXIT_TRACE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	vm_free(vm);
	free(t);
}

static void guest_ipi_handler(struct ex_regs *regs)
{
	WRITE_ONCE(ipis, READ_ONCE(ipis) + 1);
	xapic_eoi();
}

static void guest_self_ipi(void)
{
	xapic_enable();
	/* IF clear: the vector waits in IRR until STI. */
	xapic_send_ipi(0, APIC_DEST_SELF | APIC_DM_FIXED | IPI_VECTOR);
	sti_nop();
	GUEST_ASSERT(guest_wait_until(READ_ONCE(ipis) == 1, 2000));
	GUEST_DONE();
}

/* An injected interrupt is in the entry's event: valid bit and vector. */
TEST(shows_an_injected_interrupt)
{
	struct vireo_exit_trace *t = malloc(sizeof(*t));
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	unsigned int i, found = 0;

	ASSERT_NE(NULL, t);
	vm = vm_create_irqchip_with_one_vcpu(&vcpu, guest_self_ipi);
	vm_install_interrupt_handler(vm, IPI_VECTOR, guest_ipi_handler);
	vcpu_run_expect_done(vcpu);
	get_trace(vcpu, t);
	ASSERT_GT(t->count, 0);
	for (i = 0; i < t->count; i++)
		if ((t->entries[i].event_inj & 0x800000ffULL) == (0x80000000ULL | IPI_VECTOR))
			found++;
	EXPECT_EQ(1, found);
	vm_free(vm);
	free(t);
}

static void guest_fresh_stack_ipi(void)
{
	xapic_enable();
	/* IF clear: the vector waits in IRR until STI. */
	xapic_send_ipi(0, APIC_DEST_SELF | APIC_DM_FIXED | IPI_VECTOR);
	/*
	 * Taken on a stack page the guest has never touched: pushing the
	 * interrupt frame faults in the nested page table, mid-delivery.
	 */
	asm volatile("mov %%rsp, %%rbx\n\t"
		     "mov %0, %%rsp\n\t"
		     "sti\n\t"
		     "nop\n\t"
		     "cli\n\t"
		     "mov %%rbx, %%rsp"
		     : : "r" (FRESH_STACK_TOP) : "rbx", "memory");
	GUEST_ASSERT_EQ(READ_ONCE(ipis), 1);
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, IPI_VECTOR));
	GUEST_ASSERT(!xapic_vector_set(APIC_ISR, IPI_VECTOR));
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(ipis), 1);
	GUEST_DONE();
}

/*
 * A delivery cut short is delivered again, once: the trace shows the
 * nested page fault with the vector in delivery (SVM EXITINTINFO or VMX
 * IDT-vectoring information: valid bit and vector; the type is left
 * alone, QEMU's TCG reports an external interrupt as an exception there),
 * and the guest counted one interrupt, with nothing left in IRR or ISR.
 */
TEST(delivery_cut_short_is_delivered_once)
{
	uint64_t npf_code = host_cpu_is_intel() ? VMX_EXIT_EPT_VIOLATION : SVM_EXIT_NPF;
	struct vireo_exit_trace *t = malloc(sizeof(*t));
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	unsigned int i, cut_short = 0;

	ASSERT_NE(NULL, t);
	vm = vm_create_irqchip_with_one_vcpu(&vcpu, guest_fresh_stack_ipi);
	vm_install_interrupt_handler(vm, IPI_VECTOR, guest_ipi_handler);
	vcpu_run_expect_done(vcpu);
	get_trace(vcpu, t);
	for (i = 0; i < t->count; i++) {
		const struct vireo_exit_trace_entry *e = &t->entries[i];

		if (e->exit_code == npf_code &&
		    (e->exit_int_info & 0x800000ffULL) == (0x80000000ULL | IPI_VECTOR))
			cut_short++;
	}
	EXPECT_EQ(1, cut_short);
	vm_free(vm);
	free(t);
}

VIREO_TEST_MAIN
