// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel LAPIC timer of an irqchip VM (docs/uapi.md 7.4): the
 * APIC bus runs at 1 GHz, so one count is `divisor` nanoseconds.  A
 * one-shot count fires once after count * divisor ns; a periodic one fires
 * until masked, and masking does not stop the count; TSC-deadline mode
 * fires at a guest TSC value written to MSR 0x6e0 (whatever the CPUID
 * policy says: the module does not look at CPUID.1:ECX[24]); the current
 * count runs down at the divided rate.  Times are checked against the guest
 * TSC, with VIREO_GET_TSC_KHZ (guest_tsc_khz) to convert: never early,
 * and late only within loose bounds, as the nested test VM is slow.
 */
#include "vireo_test.h"

#define TIMER_VECTOR		0x40
#define MAX_TICKS		16

/* Loose upper bound for "on time" in the emulated test VM. */
#define LATE_US			500000

static uint64_t ticks;			/* timer interrupts taken */
static uint64_t tick_tsc[MAX_TICKS];	/* guest TSC in each handler */

static void guest_timer_handler(struct ex_regs *regs)
{
	uint64_t n = READ_ONCE(ticks);

	if (n < MAX_TICKS)
		tick_tsc[n] = rdtsc();
	WRITE_ONCE(ticks, n + 1);
	xapic_eoi();
}

static struct vireo_vm *timer_vm_create(struct vireo_vcpu **vcpu,
					void *guest_code)
{
	struct vireo_vm *vm = vm_create_irqchip_with_one_vcpu(vcpu, guest_code);

	TEST_ASSERT(vm->tsc_khz, "VIREO_GET_TSC_KHZ gave no TSC frequency");
	vm_install_interrupt_handler(vm, TIMER_VECTOR, guest_timer_handler);
	return vm;
}

static void run_to_done(void *guest_code)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = timer_vm_create(&vcpu, guest_code);

	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* Sleep in HLT until @n timer interrupts were taken; IF is set after. */
static void halt_until_ticks(uint64_t n)
{
	for (;;) {
		cli();
		if (READ_ONCE(ticks) >= n)
			break;
		safe_halt();
	}
	sti();
}

/* ---- one-shot ------------------------------------------------------ */

/* 10 ms with the divide-by-16 setting: 625000 counts of 16 ns. */
#define ONESHOT_US		10000
#define ONESHOT_COUNT		(ONESHOT_US * 1000 / 16)

static void guest_one_shot(void)
{
	uint64_t start, us;

	xapic_enable();
	xapic_write_reg(APIC_TDCR, APIC_TDCR_16);
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TDCR), APIC_TDCR_16);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVTT), TIMER_VECTOR);

	start = rdtsc();
	xapic_write_reg(APIC_TMICT, ONESHOT_COUNT);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMICT), ONESHOT_COUNT);
	halt_until_ticks(1);

	/* On time: not before count * 16 ns (the divisor applies). */
	us = guest_tsc_to_us(tick_tsc[0] - start);
	GUEST_ASSERT_LE(ONESHOT_US * 9 / 10, us);
	GUEST_ASSERT_LT(us, LATE_US);

	/* Once: five more periods bring nothing, and the count stays 0. */
	guest_udelay(5 * ONESHOT_US);
	GUEST_ASSERT_EQ(READ_ONCE(ticks), 1);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, TIMER_VECTOR));
	GUEST_ASSERT(!xapic_vector_set(APIC_ISR, TIMER_VECTOR));

	/* Rewriting the initial count starts it again (divide by 1: 2 ms). */
	xapic_write_reg(APIC_TDCR, APIC_TDCR_1);
	start = rdtsc();
	xapic_write_reg(APIC_TMICT, 2000000);
	halt_until_ticks(2);
	us = guest_tsc_to_us(tick_tsc[1] - start);
	GUEST_ASSERT_LE(2000 * 9 / 10, us);
	GUEST_ASSERT_LT(us, LATE_US);
	GUEST_DONE();
}

TEST(one_shot_fires_once)
{
	run_to_done(guest_one_shot);
}

static void guest_one_shot_masked(void)
{
	xapic_enable();
	sti();
	xapic_write_reg(APIC_TDCR, APIC_TDCR_1);
	xapic_write_reg(APIC_LVTT, APIC_LVT_MASKED | TIMER_VECTOR);
	/* 50 ms, masked: it counts down, but nothing is delivered. */
	xapic_write_reg(APIC_TMICT, 50000000);
	GUEST_ASSERT_NE(xapic_read_reg(APIC_TMCCT), 0);
	GUEST_ASSERT(guest_wait_until(xapic_read_reg(APIC_TMCCT) == 0, 2000));
	guest_udelay(5000);
	GUEST_ASSERT_EQ(READ_ONCE(ticks), 0);
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, TIMER_VECTOR));

	/* The expiry was not latched: unmasking afterwards brings nothing. */
	xapic_write_reg(APIC_LVTT, TIMER_VECTOR);
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(ticks), 0);
	GUEST_DONE();
}

TEST(one_shot_masked_does_not_fire)
{
	run_to_done(guest_one_shot_masked);
}

/* ---- periodic ------------------------------------------------------ */

#define PERIOD_US		2000
#define NR_PERIODS		5

static void guest_periodic(void)
{
	uint64_t start, n, i;

	xapic_enable();
	sti();
	xapic_write_reg(APIC_TDCR, APIC_TDCR_1);
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
	start = rdtsc();
	xapic_write_reg(APIC_TMICT, PERIOD_US * 1000);
	GUEST_ASSERT(guest_wait_until(READ_ONCE(ticks) >= NR_PERIODS, 5000));

	/*
	 * Tick k is never earlier than k periods after the start (expiries
	 * that pile up while the vCPU is away only merge into one).
	 */
	for (i = 0; i < NR_PERIODS; i++)
		GUEST_ASSERT_LE((i + 1) * PERIOD_US * 9 / 10,
				guest_tsc_to_us(tick_tsc[i] - start));
	GUEST_ASSERT_LT(guest_tsc_to_us(tick_tsc[NR_PERIODS - 1] - start),
			NR_PERIODS * LATE_US);
	GUEST_ASSERT_LE(xapic_read_reg(APIC_TMCCT), PERIOD_US * 1000);

	/* Masking stops the interrupts; one latched before may still come. */
	xapic_write_reg(APIC_LVTT, APIC_LVT_MASKED | APIC_LVT_TIMER_PERIODIC |
				   TIMER_VECTOR);
	guest_udelay(2 * PERIOD_US);
	n = READ_ONCE(ticks);
	guest_udelay(10 * PERIOD_US);
	GUEST_ASSERT_EQ(READ_ONCE(ticks), n);

	/* ... but not the timer: unmasked again, it goes on firing. */
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
	GUEST_ASSERT(guest_wait_until(READ_ONCE(ticks) >= n + 2, 5000));

	/* An initial count of 0 stops it for good. */
	xapic_write_reg(APIC_TMICT, 0);
	guest_udelay(2 * PERIOD_US);
	n = READ_ONCE(ticks);
	guest_udelay(10 * PERIOD_US);
	GUEST_ASSERT_EQ(READ_ONCE(ticks), n);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);
	GUEST_DONE();
}

TEST(periodic_fires_until_masked)
{
	run_to_done(guest_periodic);
}

/* ---- TSC deadline -------------------------------------------------- */

#define DEADLINE_US		20000

static void guest_tsc_deadline(void)
{
	uint64_t delta = guest_us_to_tsc(DEADLINE_US), deadline, start;

	xapic_enable();
	sti();
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | TIMER_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), 0);

	start = rdtsc();
	deadline = start + delta;
	wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), deadline);
	/* The count-down registers play no part in this mode. */
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);
	GUEST_ASSERT(guest_wait_until(READ_ONCE(ticks) == 1, 5000));
	/* Not early (a tenth of slack for tsc_khz rounding), not too late. */
	GUEST_ASSERT_LE(deadline - delta / 10, tick_tsc[0]);
	GUEST_ASSERT_LT(guest_tsc_to_us(tick_tsc[0] - start), LATE_US);
	/* A deadline that fired reads 0, and fires only once. */
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	guest_udelay(DEADLINE_US);
	GUEST_ASSERT_EQ(READ_ONCE(ticks), 1);

	/* A deadline already passed fires at once. */
	start = rdtsc();
	wrmsr(MSR_IA32_TSC_DEADLINE, 1);
	GUEST_ASSERT(guest_wait_until(READ_ONCE(ticks) == 2, 5000));
	GUEST_ASSERT_LT(guest_tsc_to_us(tick_tsc[1] - start), LATE_US);

	/* Writing 0 disarms. */
	wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() + delta);
	wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	guest_udelay(2 * DEADLINE_US);
	GUEST_ASSERT_EQ(READ_ONCE(ticks), 2);

	/* Leaving TSC-deadline mode disarms too, and clears the MSR. */
	wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() + delta);
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | TIMER_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	guest_udelay(2 * DEADLINE_US);
	GUEST_ASSERT_EQ(READ_ONCE(ticks), 2);

	/* In one-shot mode a deadline write arms nothing. */
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() + delta / 4);
	guest_udelay(2 * DEADLINE_US);
	GUEST_ASSERT_EQ(READ_ONCE(ticks), 2);
	GUEST_DONE();
}

TEST(tsc_deadline)
{
	run_to_done(guest_tsc_deadline);
}

/* ---- current count ------------------------------------------------- */

static uint64_t tsc_to_ns(uint64_t ticks)
{
	return ticks * 1000000 / guest_tsc_khz;
}

/*
 * TMCCT between two reads went down by the time between them divided by
 * the divisor; that time is bracketed by TSC reads around each of them.
 */
static void check_count_rate(uint32_t tdcr, uint32_t divisor)
{
	uint64_t t0, t1, t2, t3, lo, hi;
	uint32_t c1, c2;

	xapic_write_reg(APIC_TDCR, tdcr);
	xapic_write_reg(APIC_TMICT, 0xffffffff);
	t0 = rdtsc();
	c1 = xapic_read_reg(APIC_TMCCT);
	t1 = rdtsc();
	guest_udelay(5000);
	t2 = rdtsc();
	c2 = xapic_read_reg(APIC_TMCCT);
	t3 = rdtsc();

	GUEST_ASSERT_NE(c2, 0);
	GUEST_ASSERT_LT(c2, c1);
	/* A quarter of slack each way for the TSC against the host clock. */
	lo = tsc_to_ns(t2 - t1) / divisor * 3 / 4;
	hi = tsc_to_ns(t3 - t0) / divisor * 5 / 4 + 1;
	GUEST_ASSERT_LE(lo, c1 - c2);
	GUEST_ASSERT_LE(c1 - c2, hi);
}

static void guest_current_count(void)
{
	uint32_t c;

	xapic_enable();
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);	/* not running */

	check_count_rate(APIC_TDCR_1, 1);
	check_count_rate(APIC_TDCR_16, 16);
	check_count_rate(APIC_TDCR_128, 128);

	/* A new initial count restarts from it. */
	xapic_write_reg(APIC_TDCR, APIC_TDCR_1);
	xapic_write_reg(APIC_TMICT, 0x40000000);	/* about 1 s */
	c = xapic_read_reg(APIC_TMCCT);
	GUEST_ASSERT_LE(c, 0x40000000);
	GUEST_ASSERT_LT(0x40000000 - c, 500000000);

	/* 0 stops it. */
	xapic_write_reg(APIC_TMICT, 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);
	GUEST_ASSERT_EQ(READ_ONCE(ticks), 0);
	GUEST_DONE();
}

TEST(current_count_counts_down)
{
	run_to_done(guest_current_count);
}

VIREO_TEST_MAIN
