// SPDX-License-Identifier: GPL-2.0
/*
 * IPIs between two vCPUs of an irqchip VM (docs/uapi.md 7.4).  vCPU 1
 * starts in wait-for-SIPI: its RUN sleeps until vCPU 0 sends INIT and a
 * start-up IPI, and then it runs in real mode at vector << 12.  A fixed IPI
 * by physical destination wakes it from HLT; a SIPI to a vCPU that is not
 * waiting for one is ignored; an INIT sends a running vCPU back to
 * wait-for-SIPI with its LAPIC reset; a lowest-priority IPI to both vCPUs
 * reaches exactly one of them, the one with the lower task priority, and
 * at equal priority both get their share.  Each vCPU runs in its own
 * thread while the other one's RUN sleeps.
 */
#include <pthread.h>
#include <unistd.h>

#include "vireo_test.h"

#define SIPI_VECTOR		0x20	/* trampoline at 0x20000 */
#define SIPI_VECTOR_AGAIN	0x21
#define AP_VECTOR		0x50
#define AP_ID			1

/* Long enough to tell "sleeps in RUN" from "returned". */
#define STILL_ASLEEP_MS		300
#define WAKE_TIMEOUT_MS		10000

enum scenario {
	WAKE_WITH_FIXED_IPI = 1,
	INIT_AGAIN,
	LOWEST_PRIORITY,
};

static uint64_t ap_ipis;

/* Lowest priority: IPIs taken per APIC ID, and the AP's stop flag. */
#define LOWEST_VECTOR		0x51
#define LOWEST_WAIT_MS		10000
static uint64_t lowest_hits[2];
static uint64_t lowest_done;

static void guest_lowest_handler(struct ex_regs *regs)
{
	uint32_t id = xapic_read_reg(APIC_ID) >> 24;

	/* EOI first: once counted, this vCPU's PPR is back to its TPR. */
	xapic_eoi();
	if (id < 2)
		WRITE_ONCE(lowest_hits[id], READ_ONCE(lowest_hits[id]) + 1);
}

static uint64_t lowest_total(void)
{
	return READ_ONCE(lowest_hits[0]) + READ_ONCE(lowest_hits[1]);
}

/*
 * Flat logical model: the BSP is LDR bit 0, the AP bit 1.  Each IPI goes
 * to both (destination 0x03); the next is sent once it has been taken, so
 * none merges with one still pending in an IRR.
 */
static void lowest_send(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t before = lowest_total();

		xapic_send_ipi(0x03, APIC_DEST_LOGICAL | APIC_DM_LOWEST |
				     LOWEST_VECTOR);
		GUEST_ASSERT(guest_wait_until(lowest_total() == before + 1,
					      LOWEST_WAIT_MS));
	}
}

static void guest_bsp_lowest(void)
{
	xapic_write_reg(APIC_DFR, 0xffffffff);
	xapic_write_reg(APIC_LDR, 0x01 << 24);
	sti();
	/* BSP at task priority 4, the AP at 0: all four go to the AP. */
	xapic_write_reg(APIC_TASKPRI, 0x40);
	lowest_send(4);
	GUEST_ASSERT_EQ(READ_ONCE(lowest_hits[0]), 0);
	GUEST_ASSERT_EQ(READ_ONCE(lowest_hits[1]), 4);
	/* Equal priorities: each vCPU gets some of the next eight. */
	xapic_write_reg(APIC_TASKPRI, 0);
	lowest_send(8);
	GUEST_ASSERT_NE(READ_ONCE(lowest_hits[0]), 0);
	GUEST_ASSERT_NE(READ_ONCE(lowest_hits[1]), 4);
	WRITE_ONCE(lowest_done, 1);
	xapic_send_ipi(AP_ID, APIC_DM_FIXED | AP_VECTOR);	/* wake-up */
}

static void guest_ap_handler(struct ex_regs *regs)
{
	WRITE_ONCE(ap_ipis, READ_ONCE(ap_ipis) + 1);
	xapic_eoi();
}

static void guest_bsp(uint64_t scenario)
{
	xapic_enable();
	xapic_start_ap(AP_ID, SIPI_VECTOR);
	GUEST_SYNC(1);
	switch (scenario) {
	case WAKE_WITH_FIXED_IPI:
		/* The AP is past its SIPI: another one must change nothing. */
		xapic_send_ipi(AP_ID, APIC_DM_STARTUP | SIPI_VECTOR);
		xapic_send_ipi(AP_ID, APIC_DM_FIXED | AP_VECTOR);
		break;
	case INIT_AGAIN:
		xapic_start_ap(AP_ID, SIPI_VECTOR_AGAIN);
		break;
	case LOWEST_PRIORITY:
		guest_bsp_lowest();
		break;
	}
	GUEST_SYNC(2);
	GUEST_DONE();
}

/*
 * Sleep in HLT until an interrupt handler has set *@flag.  The flag is
 * tested with IF=0 and sti;hlt closes the window, so no wake-up is missed.
 */
static void halt_until_set(uint64_t *flag)
{
	for (;;) {
		cli();
		if (READ_ONCE(*flag))
			break;
		safe_halt();
	}
	sti();
}

/* The AP in long mode: enable its LAPIC, then sleep until an IPI. */
static void guest_ap(void)
{
	xapic_enable();
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ID), AP_ID << 24);
	GUEST_ASSERT(!(rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_BSP));
	GUEST_SYNC(1);
	halt_until_set(&ap_ipis);
	GUEST_ASSERT_EQ(READ_ONCE(ap_ipis), 1);
	GUEST_DONE();
}

/* The AP for LOWEST_PRIORITY: LDR bit 1, TPR 0, halts until told to stop. */
static void guest_ap_lowest(void)
{
	xapic_enable();
	xapic_write_reg(APIC_DFR, 0xffffffff);
	xapic_write_reg(APIC_LDR, 0x02 << 24);
	xapic_write_reg(APIC_TASKPRI, 0);
	GUEST_SYNC(1);
	halt_until_set(&lowest_done);
	GUEST_DONE();
}

/* After an INIT: the LAPIC is back in its reset state, APIC_BASE is not. */
static void guest_ap_after_init(void)
{
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_SPIV), 0xff);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ID), AP_ID << 24);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVTT), APIC_LVT_MASKED);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_APICBASE),
			APIC_DEFAULT_GPA | MSR_IA32_APICBASE_ENABLE);
	GUEST_DONE();
}

/* RUN of one vCPU in a thread of its own. */
struct vcpu_runner {
	struct vireo_vcpu *vcpu;
	pthread_t thread;
	bool returned;
};

static void *vcpu_runner_main(void *arg)
{
	struct vcpu_runner *r = arg;

	vcpu_run(r->vcpu);
	__atomic_store_n(&r->returned, true, __ATOMIC_RELEASE);
	return NULL;
}

static void runner_start(struct vcpu_runner *r, struct vireo_vcpu *vcpu)
{
	r->vcpu = vcpu;
	r->returned = false;
	TEST_ASSERT(!pthread_create(&r->thread, NULL, vcpu_runner_main, r),
		    "pthread_create failed");
}

/* True (and the thread joined) if its RUN returned within @ms. */
static bool runner_wait(struct vcpu_runner *r, uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	while (!__atomic_load_n(&r->returned, __ATOMIC_ACQUIRE) &&
	       now_ms() < end)
		usleep(1000);
	if (!__atomic_load_n(&r->returned, __ATOMIC_ACQUIRE))
		return false;
	TEST_ASSERT(!pthread_join(r->thread, NULL), "pthread_join failed");
	return true;
}

static struct vireo_vm *smp_vm_create(struct vireo_vcpu **bsp,
				      struct vireo_vcpu **ap,
				      enum scenario scenario)
{
	struct vireo_vm *vm = vm_create_irqchip_with_one_vcpu(bsp, guest_bsp);

	vcpu_args_set(*bsp, 1, (uint64_t)scenario);
	*ap = vm_vcpu_add(vm, AP_ID, NULL);
	vm_install_sipi_trampoline(vm, SIPI_VECTOR);
	vm_install_sipi_trampoline(vm, SIPI_VECTOR_AGAIN);
	vm_install_interrupt_handler(vm, AP_VECTOR, guest_ap_handler);
	vm_install_interrupt_handler(vm, LOWEST_VECTOR, guest_lowest_handler);
	return vm;
}

/*
 * The AP's RUN (in a thread) sleeps until the BSP's INIT and SIPI, then
 * returns the trampoline's OUT; check it ran in real mode at @vector.
 */
static void check_trampoline_exit(struct __test_metadata *_metadata,
				  struct vireo_vcpu *ap, uint8_t vector)
{
	struct vireo_run *run = ap->run;
	struct vireo_sregs sregs;
	struct vireo_regs regs;

	TEST_ASSERT_EXIT_REASON(ap, VIREO_EXIT_IO);
	EXPECT_EQ(SIPI_TRAMPOLINE_PORT, run->io.port);
	EXPECT_EQ(VIREO_IO_OUT, run->io.direction);
	EXPECT_EQ(2, run->io.size);
	EXPECT_EQ(SIPI_TRAMPOLINE_DATA, run->io.data);
	vcpu_sregs_get(ap, &sregs);
	EXPECT_EQ((uint64_t)vector << 12, sregs.cs.base);
	EXPECT_EQ(vector << 8, sregs.cs.selector);
	EXPECT_EQ(0, sregs.cr0 & X86_CR0_PE);		/* real mode */
	EXPECT_EQ(0, sregs.efer & X86_EFER_LME);
	vcpu_regs_get(ap, &regs);
	EXPECT_EQ(5, regs.rip);		/* past "mov $imm16, %ax; out" */
	EXPECT_EQ(5, run->rip);
}

static void start_ap(struct __test_metadata *_metadata,
		     struct vireo_vcpu *bsp, struct vireo_vcpu *ap)
{
	struct vcpu_runner runner;
	char buf[512];

	runner_start(&runner, ap);
	ASSERT_FALSE(runner_wait(&runner, STILL_ASLEEP_MS))
		TH_LOG("vCPU 1 ran before any SIPI: %s",
		       vcpu_exit_describe(ap, buf, sizeof(buf)));
	vcpu_run_expect_sync(bsp, 1);		/* INIT and SIPI sent */
	ASSERT_TRUE(runner_wait(&runner, WAKE_TIMEOUT_MS))
		TH_LOG("the SIPI did not start vCPU 1");
	check_trampoline_exit(_metadata, ap, SIPI_VECTOR);
}

TEST(sipi_starts_ap_in_real_mode)
{
	struct vireo_vcpu *bsp, *ap;
	struct vireo_vm *vm = smp_vm_create(&bsp, &ap, WAKE_WITH_FIXED_IPI);

	start_ap(_metadata, bsp, ap);
	vm_free(vm);
}

/* Wait for the AP's RUN to come back with a ucall; report its failures. */
static void expect_ap_done(struct __test_metadata *_metadata,
			   struct vireo_vcpu *ap)
{
	struct ucall uc;
	char buf[512];

	switch (get_ucall(ap, &uc)) {
	case UCALL_DONE:
		return;
	case UCALL_ASSERT:
		REPORT_GUEST_ASSERT(ap->vm, &uc);
	default:
		TEST_FAIL("vCPU 1: expected GUEST_DONE(), got %s",
			  vcpu_exit_describe(ap, buf, sizeof(buf)));
	}
}

TEST(fixed_ipi_wakes_halted_ap)
{
	struct vireo_vcpu *bsp, *ap;
	struct vcpu_runner runner;
	struct vireo_vm *vm = smp_vm_create(&bsp, &ap, WAKE_WITH_FIXED_IPI);
	char buf[512];

	start_ap(_metadata, bsp, ap);
	/* User space takes the AP over: long mode, guest C code. */
	vcpu_setup_long_mode(ap, guest_ap);
	vcpu_run_expect_sync(ap, 1);

	/* sti; hlt sleeps in the kernel: no exit. */
	runner_start(&runner, ap);
	ASSERT_FALSE(runner_wait(&runner, STILL_ASLEEP_MS))
		TH_LOG("vCPU 1 left HLT without an interrupt: %s",
		       vcpu_exit_describe(ap, buf, sizeof(buf)));
	vcpu_run_expect_sync(bsp, 2);		/* SIPI, then the fixed IPI */
	ASSERT_TRUE(runner_wait(&runner, WAKE_TIMEOUT_MS))
		TH_LOG("the fixed IPI did not wake vCPU 1");
	expect_ap_done(_metadata, ap);
	EXPECT_EQ(1, *guest_global(vm, ap_ipis));
	vcpu_run_expect_done(bsp);
	vm_free(vm);
}

TEST(init_sends_running_ap_back_to_wait_for_sipi)
{
	struct vireo_vcpu *bsp, *ap;
	struct vcpu_runner runner;
	struct vireo_vm *vm = smp_vm_create(&bsp, &ap, INIT_AGAIN);

	start_ap(_metadata, bsp, ap);
	vcpu_setup_long_mode(ap, guest_ap);
	vcpu_run_expect_sync(ap, 1);

	runner_start(&runner, ap);
	ASSERT_FALSE(runner_wait(&runner, STILL_ASLEEP_MS));
	vcpu_run_expect_sync(bsp, 2);		/* INIT, SIPI to 0x21000 */
	ASSERT_TRUE(runner_wait(&runner, WAKE_TIMEOUT_MS))
		TH_LOG("INIT and SIPI did not restart vCPU 1");
	check_trampoline_exit(_metadata, ap, SIPI_VECTOR_AGAIN);
	EXPECT_EQ(0, *guest_global(vm, ap_ipis));

	vcpu_setup_long_mode(ap, guest_ap_after_init);
	vcpu_run_expect_done(ap);
	vcpu_run_expect_done(bsp);
	vm_free(vm);
}

TEST(lowest_priority_ipi_reaches_one_vcpu)
{
	struct vireo_vcpu *bsp, *ap;
	struct vcpu_runner runner;
	struct vireo_vm *vm = smp_vm_create(&bsp, &ap, LOWEST_PRIORITY);
	uint64_t *hits;

	start_ap(_metadata, bsp, ap);
	vcpu_setup_long_mode(ap, guest_ap_lowest);
	vcpu_run_expect_sync(ap, 1);		/* LDR and TPR set */

	runner_start(&runner, ap);
	vcpu_run_expect_sync(bsp, 2);		/* all IPIs taken, AP told */
	ASSERT_TRUE(runner_wait(&runner, WAKE_TIMEOUT_MS))
		TH_LOG("vCPU 1 did not stop after the last IPI");
	expect_ap_done(_metadata, ap);
	hits = *guest_global(vm, lowest_hits);
	TH_LOG("lowest-priority IPIs taken: BSP %lu, AP %lu",
	       (unsigned long)hits[0], (unsigned long)hits[1]);
	EXPECT_EQ(12, hits[0] + hits[1]);
	vcpu_run_expect_done(bsp);
	vm_free(vm);
}

VIREO_TEST_MAIN
