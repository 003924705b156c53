// SPDX-License-Identifier: GPL-2.0
/*
 * HLT in an irqchip VM (docs/uapi.md 7.4) never exits to user space while
 * something can still wake the vCPU: it sleeps inside RUN until an
 * interrupt it can take (RFLAGS.IF set) is pending, and a signal makes RUN
 * fail with EINTR meanwhile, the vCPU staying halted.  With IF clear no
 * interrupt ends the sleep; when every vCPU of the VM is parked that way
 * (cli; hlt, or waiting for a SIPI) nothing ever can, and RUN reports
 * VIREO_EXIT_HLT.  SET_REGS ends a halt: the vCPU resumes at the new RIP;
 * STOP_VM ends the sleep with VIREO_EXIT_STOPPED.
 * Each sleep is counted as "kernel_halt_sleep".  (Without irqchip HLT
 * always exits: hlt_exit.)
 */
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "vireo_test.h"

#define TIMER_VECTOR	0x40
#define PIN		3
#define PIN_VECTOR	0x50
#define SIPI_VECTOR	0x20
#define AP_ID		1

#define ALARM_MS	300
#define ALARM_SLACK_MS	50	/* "not before the alarm", give or take */

static uint64_t irqs;		/* interrupts taken */
static uint64_t irq_rip;	/* RIP in the last one's frame */

static void guest_irq_handler(struct ex_regs *regs)
{
	WRITE_ONCE(irqs, READ_ONCE(irqs) + 1);
	WRITE_ONCE(irq_rip, regs->rip);
	xapic_eoi();
}

static struct vireo_vm *halt_vm_create(struct vireo_vcpu **vcpu,
				       void *guest_code)
{
	struct vireo_vm *vm = vm_create_irqchip_with_one_vcpu(vcpu, guest_code);

	vm_install_interrupt_handler(vm, TIMER_VECTOR, guest_irq_handler);
	vm_install_interrupt_handler(vm, PIN_VECTOR, guest_irq_handler);
	return vm;
}

static void on_alarm(int sig)
{
}

/* One SIGALRM @ms from now, delivered to this (the only) thread. */
static void arm_alarm(struct __test_metadata *_metadata, unsigned int ms)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = {
		.it_value = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 },
	};

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
}

/*
 * RUN must sleep until the alarm, then fail with EINTR; the vCPU is still
 * halted with RIP at @rip.
 */
static void expect_sleep_until_alarm(struct __test_metadata *_metadata,
				     struct vireo_vcpu *vcpu, uint64_t rip)
{
	struct vireo_regs regs;
	uint64_t t0, elapsed;
	char buf[512];
	int r, err;

	arm_alarm(_metadata, ALARM_MS);
	t0 = now_ms();
	r = __vcpu_run(vcpu);
	err = errno;
	elapsed = now_ms() - t0;
	ASSERT_EQ(-1, r) TH_LOG("RUN returned %d after %llu ms: %s", r,
				(unsigned long long)elapsed,
				vcpu_exit_describe(vcpu, buf, sizeof(buf)));
	ASSERT_EQ(EINTR, err);
	EXPECT_EQ(VIREO_EXIT_INTR, vcpu->run->exit_reason);
	EXPECT_GE(elapsed, ALARM_MS - ALARM_SLACK_MS);
	vcpu_regs_get(vcpu, &regs);
	EXPECT_EQ(rip, regs.rip);
}

/* Enter @guest_code afresh on vCPU @vcpu's own stack (SET_REGS). */
static void vcpu_jump(struct vireo_vcpu *vcpu, void *guest_code)
{
	struct vireo_regs regs;

	vcpu_regs_get(vcpu, &regs);
	regs.rip = (uint64_t)guest_code;
	regs.rsp = vm_stack_top(vcpu->vm, vcpu->id) - 8;
	regs.rflags = 0x2;
	vcpu_regs_set(vcpu, &regs);
}

/* ---- sti; hlt: woken by the interrupt, in the kernel --------------- */

extern const char after_sti_hlt[];

static void __guest_code guest_sti_hlt(void)
{
	uint64_t start;

	xapic_enable();
	xapic_write_reg(APIC_TDCR, APIC_TDCR_1);
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	start = rdtsc();
	xapic_write_reg(APIC_TMICT, 20000000);		/* 20 ms */
	asm volatile("sti; hlt\n"
		     ".globl after_sti_hlt\n"
		     "after_sti_hlt:" : : : "memory");
	GUEST_ASSERT_EQ(READ_ONCE(irqs), 1);
	GUEST_ASSERT_LE(18000, guest_tsc_to_us(rdtsc() - start));
	/*
	 * Taken as soon as the halt ended, not one instruction later: the
	 * STI's interrupt shadow covered the HLT only.
	 */
	GUEST_ASSERT_EQ(READ_ONCE(irq_rip), (uint64_t)after_sti_hlt);
	GUEST_DONE();
}

TEST(sti_hlt_sleeps_until_interrupt)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = halt_vm_create(&vcpu, guest_sti_hlt);

	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(0, vireo_nl_vm_stat(vm->id, "hlt"));
	EXPECT_LE(1, vireo_nl_vm_stat(vm->id, "kernel_halt_sleep"));
	EXPECT_EQ(1, vireo_nl_vm_stat(vm->id, "kernel_irq_injected"));
	vm_free(vm);
}

/* ---- sti; hlt with nothing pending: signals, then an I/O APIC pin -- */

extern const char after_wait_pin_hlt[];

static void __guest_code guest_wait_pin(void)
{
	xapic_enable();
	ioapic_write_redir(PIN, IOAPIC_REDIR_VECTOR(PIN_VECTOR) |
				IOAPIC_REDIR_DEST(0));
	GUEST_SYNC(1);
	asm volatile("sti; hlt\n"
		     ".globl after_wait_pin_hlt\n"
		     "after_wait_pin_hlt:" : : : "memory");
	GUEST_ASSERT_EQ(READ_ONCE(irqs), 1);
	GUEST_SYNC(2);
	GUEST_DONE();
}

struct line_raiser {
	struct vireo_vm *vm;
	unsigned int delay_ms;
};

static void *line_raiser_main(void *arg)
{
	struct line_raiser *l = arg;

	usleep(l->delay_ms * 1000);
	vm_irq_line(l->vm, PIN, 1);
	return NULL;
}

TEST(sti_hlt_survives_signals_and_wakes_on_irq_line)
{
	struct line_raiser raiser = { .delay_ms = 200 };
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = halt_vm_create(&vcpu, guest_wait_pin);
	pthread_t thread;
	uint64_t t0;

	vcpu_run_expect_sync(vcpu, 1);
	expect_sleep_until_alarm(_metadata, vcpu, (uint64_t)after_wait_pin_hlt);
	expect_sleep_until_alarm(_metadata, vcpu, (uint64_t)after_wait_pin_hlt);
	EXPECT_EQ(0, *guest_global(vm, irqs));

	/* Another thread raises the pin while RUN sleeps. */
	raiser.vm = vm;
	t0 = now_ms();
	ASSERT_EQ(0, pthread_create(&thread, NULL, line_raiser_main, &raiser));
	vcpu_run_expect_sync(vcpu, 2);
	EXPECT_GE(now_ms() - t0, raiser.delay_ms - ALARM_SLACK_MS);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	vcpu_run_expect_done(vcpu);

	EXPECT_EQ(0, vireo_nl_vm_stat(vm->id, "hlt"));
	EXPECT_EQ(2, vireo_nl_vm_stat(vm->id, "signal"));
	EXPECT_LE(3, vireo_nl_vm_stat(vm->id, "kernel_halt_sleep"));
	vm_free(vm);
}

/* ---- STOP_VM wakes a sleeping vCPU --------------------------------- */

struct stopper {
	uint32_t vm_id;
	unsigned int delay_ms;
	int ret;
};

static void *stopper_main(void *arg)
{
	struct stopper *s = arg;
	struct vireo_nl nl;

	usleep(s->delay_ms * 1000);
	s->ret = vireo_nl_open(&nl);
	if (!s->ret) {
		s->ret = vireo_nl_stop_vm(&nl, s->vm_id);
		vireo_nl_close(&nl);
	}
	return NULL;
}

TEST(stop_vm_ends_halt_sleep)
{
	struct stopper stopper = { .delay_ms = 200 };
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = halt_vm_create(&vcpu, guest_wait_pin);
	pthread_t thread;
	uint64_t t0;
	char buf[512];

	vcpu_run_expect_sync(vcpu, 1);
	stopper.vm_id = vm->id;
	t0 = now_ms();
	ASSERT_EQ(0, pthread_create(&thread, NULL, stopper_main, &stopper));
	ASSERT_EQ(0, __vcpu_run(vcpu))
		TH_LOG("%s", vcpu_exit_describe(vcpu, buf, sizeof(buf)));
	EXPECT_EQ(VIREO_EXIT_STOPPED, vcpu->run->exit_reason);
	EXPECT_GE(now_ms() - t0, stopper.delay_ms - ALARM_SLACK_MS);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, stopper.ret);
	/* A stopped VM stays stopped. */
	ASSERT_EQ(0, __vcpu_run(vcpu));
	EXPECT_EQ(VIREO_EXIT_STOPPED, vcpu->run->exit_reason);
	EXPECT_EQ(0, *guest_global(vm, irqs));
	vm_free(vm);
}

/* ---- cli; hlt while another vCPU can still run --------------------- */

extern const char after_ap_cli_hlt[];

static void guest_bsp_start_ap(void)
{
	xapic_enable();
	xapic_start_ap(AP_ID, SIPI_VECTOR);
	GUEST_SYNC(1);
	GUEST_DONE();
}

static void __guest_code guest_ap_cli_hlt(void)
{
	xapic_enable();
	xapic_write_reg(APIC_TDCR, APIC_TDCR_1);
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	xapic_write_reg(APIC_TMICT, 10000000);	/* 10 ms, before the alarm */
	asm volatile("cli; hlt\n"
		     ".globl after_ap_cli_hlt\n"
		     "after_ap_cli_hlt:" : : : "memory");
	GUEST_FAIL("cli; hlt ended without SET_REGS");
}

static void guest_ap_resumed(void)
{
	/* The timer's interrupt waited in IRR all along. */
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, TIMER_VECTOR));
	GUEST_ASSERT_EQ(READ_ONCE(irqs), 0);
	sti_nop();
	GUEST_ASSERT_EQ(READ_ONCE(irqs), 1);
	GUEST_DONE();
}

TEST(cli_hlt_sleeps_until_signal)
{
	struct vireo_vcpu *bsp, *ap;
	struct vireo_vm *vm = halt_vm_create(&bsp, guest_bsp_start_ap);

	/* vCPU 1 runs the halting code; vCPU 0 stays runnable meanwhile. */
	ap = vm_vcpu_add(vm, AP_ID, NULL);
	vm_install_sipi_trampoline(vm, SIPI_VECTOR);
	vcpu_run_expect_sync(bsp, 1);
	vcpu_run(ap);
	TEST_ASSERT_EXIT_REASON(ap, VIREO_EXIT_IO);
	ASSERT_EQ(SIPI_TRAMPOLINE_PORT, ap->run->io.port);
	vcpu_setup_long_mode(ap, guest_ap_cli_hlt);

	/* The LAPIC timer fires meanwhile: with IF clear it changes nothing. */
	expect_sleep_until_alarm(_metadata, ap, (uint64_t)after_ap_cli_hlt);
	/* Still halted: the next RUN sleeps again. */
	expect_sleep_until_alarm(_metadata, ap, (uint64_t)after_ap_cli_hlt);
	EXPECT_EQ(0, vireo_nl_vm_stat(vm->id, "hlt"));
	EXPECT_LE(2, vireo_nl_vm_stat(vm->id, "kernel_halt_sleep"));

	/* SET_REGS ends the halt. */
	vcpu_jump(ap, guest_ap_resumed);
	vcpu_run_expect_done(ap);
	vcpu_run_expect_done(bsp);
	vm_free(vm);
}

/* ---- cli; hlt everywhere: the VM is halted for good ---------------- */

extern const char after_cli_hlt[];

static void __guest_code guest_cli_hlt(void)
{
	GUEST_SYNC(1);
	asm volatile("cli; hlt\n"
		     ".globl after_cli_hlt\n"
		     "after_cli_hlt:" : : : "memory");
	GUEST_FAIL("cli; hlt ended without SET_REGS");
}

static void guest_resumed(void)
{
	GUEST_SYNC(3);
	GUEST_DONE();
}

/* vCPU 0 in cli; hlt and vCPU 1 waiting for a SIPI: nothing can run. */
TEST(cli_hlt_on_every_vcpu_reports_hlt)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = halt_vm_create(&vcpu, guest_cli_hlt);
	struct vireo_run *run = vcpu->run;
	uint64_t t0;
	int i;

	vm_vcpu_add(vm, AP_ID, NULL);
	vcpu_run_expect_sync(vcpu, 1);
	/* Reported at once, and again on the next RUN: it stays halted. */
	for (i = 0; i < 2; i++) {
		t0 = now_ms();
		vcpu_run(vcpu);
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_HLT);
		EXPECT_EQ((uint64_t)after_cli_hlt, run->rip);
		EXPECT_LT(now_ms() - t0, 5000);
	}
	EXPECT_EQ(2, vireo_nl_vm_stat(vm->id, "hlt"));

	vcpu_jump(vcpu, guest_resumed);
	vcpu_run_expect_sync(vcpu, 3);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

VIREO_TEST_MAIN
