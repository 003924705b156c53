// SPDX-License-Identifier: GPL-2.0
/*
 * VIREO_GET_LAPIC / VIREO_SET_LAPIC (docs/uapi.md 6.5): user space reads a
 * vCPU's local APIC as the guest left it (registers, PPR computed, the
 * timer's count left, the TSC deadline) and loads one back: a pending
 * vector set through SET is delivered, a count-down timer restarts from the
 * count left (not the initial count), a periodic one keeps its period, a
 * TSC deadline is armed again.  Bad input is refused before anything
 * changes.
 */
#include "vireo_test.h"

#define VEC_PENDING	0x41	/* left in IRR by the guest, IF clear */
#define VEC_SET		0x52	/* put in IRR by SET_LAPIC */
#define TIMER_VECTOR	0x60
#define TPR_VALUE	0x20

#define LONG_COUNT	4000000000U	/* ns at divisor 1: 4 s */
#define SHORT_COUNT	2000000U	/* 2 ms */
#define PERIOD_COUNT	10000000U	/* 10 ms */

#define REG(s, off)	((s)->regs[(off) / 4])

static uint64_t ticks;		/* timer interrupts taken */
static uint64_t set_taken;	/* VEC_SET taken */

static void guest_timer_handler(struct ex_regs *regs)
{
	WRITE_ONCE(ticks, READ_ONCE(ticks) + 1);
	xapic_eoi();
}

static void guest_set_handler(struct ex_regs *regs)
{
	WRITE_ONCE(set_taken, READ_ONCE(set_taken) + 1);
	xapic_eoi();
}

static struct vireo_vm *state_vm_create(struct vireo_vcpu **vcpu, void *guest_code)
{
	struct vireo_vm *vm = vm_create_irqchip_with_one_vcpu(vcpu, guest_code);

	vm_install_interrupt_handler(vm, TIMER_VECTOR, guest_timer_handler);
	vm_install_interrupt_handler(vm, VEC_SET, guest_set_handler);
	return vm;
}

static void lapic_get(struct vireo_vcpu *vcpu, struct vireo_lapic_state *s)
{
	memset(s, 0xa5, sizeof(*s));
	TEST_ASSERT(!__vcpu_ioctl(vcpu, VIREO_GET_LAPIC, s),
		    "VIREO_GET_LAPIC failed: %s", strerror(errno));
}

static void lapic_set(struct vireo_vcpu *vcpu, const struct vireo_lapic_state *s)
{
	TEST_ASSERT(!__vcpu_ioctl(vcpu, VIREO_SET_LAPIC, (void *)s),
		    "VIREO_SET_LAPIC failed: %s", strerror(errno));
}

static bool vec_set(const struct vireo_lapic_state *s, unsigned int base, uint8_t vec)
{
	return s->regs[(base + (vec / 32) * 0x10) / 4] & (1U << (vec % 32));
}

/* ---- GET shows what the guest did ------------------------------------ */

static void guest_leave_state(void)
{
	xapic_enable();
	xapic_write_reg(APIC_TASKPRI, TPR_VALUE);
	xapic_write_reg(APIC_LDR, 0x04000000);
	/* IF clear: the self IPI stays in IRR. */
	xapic_send_ipi(0, APIC_DEST_SELF | APIC_DM_FIXED | VEC_PENDING);
	xapic_write_reg(APIC_TDCR, APIC_TDCR_1);
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	xapic_write_reg(APIC_TMICT, LONG_COUNT);
	GUEST_SYNC(1);
	GUEST_DONE();
}

TEST(get_shows_the_guest_state)
{
	struct vireo_lapic_state s;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = state_vm_create(&vcpu, guest_leave_state);
	unsigned int i;

	/* Before the guest ran: the reset state. */
	lapic_get(vcpu, &s);
	EXPECT_EQ(0x50014, REG(&s, APIC_LVR));
	EXPECT_EQ(0xff, REG(&s, APIC_SPIV));
	EXPECT_EQ(APIC_LVT_MASKED, REG(&s, APIC_LVTT));
	EXPECT_EQ(0, REG(&s, APIC_TMCCT));
	EXPECT_EQ(0, s.tsc_deadline);
	for (i = 0; i < ARRAY_SIZE(s.reserved); i++)
		EXPECT_EQ(0, s.reserved[i]);

	vcpu_run_expect_sync(vcpu, 1);
	lapic_get(vcpu, &s);
	EXPECT_EQ(0, REG(&s, APIC_ID));
	EXPECT_TRUE(REG(&s, APIC_SPIV) & APIC_SPIV_APIC_ENABLED);
	EXPECT_EQ(TPR_VALUE, REG(&s, APIC_TASKPRI));
	EXPECT_EQ(TPR_VALUE, REG(&s, APIC_PROCPRI));	/* computed */
	EXPECT_EQ(0x04000000, REG(&s, APIC_LDR));
	EXPECT_TRUE(vec_set(&s, APIC_IRR, VEC_PENDING));
	EXPECT_FALSE(vec_set(&s, APIC_ISR, VEC_PENDING));
	EXPECT_EQ(APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR, REG(&s, APIC_LVTT));
	EXPECT_EQ(LONG_COUNT, REG(&s, APIC_TMICT));
	/* The count left: started, not yet run out. */
	EXPECT_GT(REG(&s, APIC_TMCCT), 0);
	EXPECT_LT(REG(&s, APIC_TMCCT), LONG_COUNT);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* ---- SET: a pending vector, the timer from the count left ------------ */

static void guest_wait_for_set(void)
{
	xapic_enable();
	xapic_write_reg(APIC_TDCR, APIC_TDCR_1);
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	xapic_write_reg(APIC_TMICT, LONG_COUNT);
	GUEST_SYNC(1);
	/* The host put VEC_SET in IRR and cut the count left to 2 ms. */
	sti_nop();
	GUEST_ASSERT(guest_wait_until(READ_ONCE(set_taken) == 1, 2000));
	GUEST_ASSERT(guest_wait_until(READ_ONCE(ticks) == 1, 2000));
	/* One-shot: once only; the initial count is what the guest wrote. */
	guest_udelay(20000);
	GUEST_ASSERT_EQ(READ_ONCE(ticks), 1);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMICT), LONG_COUNT);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);
	GUEST_DONE();
}

TEST(set_delivers_and_restarts_the_count_left)
{
	struct vireo_lapic_state s;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = state_vm_create(&vcpu, guest_wait_for_set);

	vcpu_run_expect_sync(vcpu, 1);
	lapic_get(vcpu, &s);
	s.regs[(APIC_IRR + (VEC_SET / 32) * 0x10) / 4] |= 1U << (VEC_SET % 32);
	REG(&s, APIC_TMCCT) = SHORT_COUNT;
	lapic_set(vcpu, &s);

	/* Read back: the same state, the count running down from 2 ms. */
	lapic_get(vcpu, &s);
	EXPECT_TRUE(vec_set(&s, APIC_IRR, VEC_SET));
	EXPECT_EQ(LONG_COUNT, REG(&s, APIC_TMICT));
	EXPECT_LE(REG(&s, APIC_TMCCT), SHORT_COUNT);
	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(1, *guest_global(vm, set_taken));
	EXPECT_EQ(1, *guest_global(vm, ticks));
	vm_free(vm);
}

/* ---- SET: periodic, TSC deadline, a disabled APIC -------------------- */

static void guest_periodic_after_set(void)
{
	xapic_enable();
	GUEST_SYNC(1);
	/* The host loaded a periodic timer: 10 ms period, 2 ms left. */
	sti_nop();
	GUEST_ASSERT(guest_wait_until(READ_ONCE(ticks) >= 3, 5000));
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVTT),
			APIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
	GUEST_ASSERT_LE(xapic_read_reg(APIC_TMCCT), PERIOD_COUNT);
	xapic_write_reg(APIC_TMICT, 0);
	GUEST_DONE();
}

TEST(set_periodic_keeps_its_period)
{
	struct vireo_lapic_state s;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = state_vm_create(&vcpu, guest_periodic_after_set);

	vcpu_run_expect_sync(vcpu, 1);
	lapic_get(vcpu, &s);
	REG(&s, APIC_TDCR) = APIC_TDCR_1;
	REG(&s, APIC_LVTT) = APIC_LVT_TIMER_PERIODIC | TIMER_VECTOR;
	REG(&s, APIC_TMICT) = PERIOD_COUNT;
	REG(&s, APIC_TMCCT) = SHORT_COUNT;
	lapic_set(vcpu, &s);
	vcpu_run_expect_done(vcpu);
	EXPECT_GE(*guest_global(vm, ticks), 3);
	vm_free(vm);
}

static void guest_deadline_after_set(void)
{
	xapic_enable();
	GUEST_SYNC(1);
	sti_nop();
	GUEST_ASSERT(guest_wait_until(READ_ONCE(ticks) == 1, 5000));
	/* A deadline that fired reads 0. */
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	GUEST_DONE();
}

TEST(set_arms_the_tsc_deadline)
{
	struct vireo_lapic_state s;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = state_vm_create(&vcpu, guest_deadline_after_set);
	uint64_t deadline;

	vcpu_run_expect_sync(vcpu, 1);
	lapic_get(vcpu, &s);
	REG(&s, APIC_LVTT) = APIC_LVT_TIMER_TSCDEADLINE | TIMER_VECTOR;
	/* Any guest TSC value: one already passed fires at once. */
	s.tsc_deadline = 1;
	lapic_set(vcpu, &s);
	lapic_get(vcpu, &s);
	deadline = s.tsc_deadline;
	/* Fired already (reads 0) or still armed with the value set. */
	EXPECT_TRUE(deadline == 0 || deadline == 1);
	EXPECT_EQ(0, REG(&s, APIC_TMCCT));
	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(1, *guest_global(vm, ticks));
	vm_free(vm);
}

static void guest_idle(void)
{
	GUEST_SYNC(1);
	GUEST_DONE();
}

/* What a guest write keeps is what SET keeps. */
TEST(set_keeps_the_writable_bits)
{
	struct vireo_lapic_state s;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = state_vm_create(&vcpu, guest_idle);

	memset(&s, 0, sizeof(s));
	memset(s.regs, 0xff, sizeof(s.regs));
	REG(&s, APIC_SPIV) = 0xff;		/* APIC software-disabled */
	REG(&s, APIC_TMICT) = 0;
	REG(&s, APIC_TMCCT) = 0;
	lapic_set(vcpu, &s);
	lapic_get(vcpu, &s);
	EXPECT_EQ(0x50014, REG(&s, APIC_LVR));	/* read-only */
	EXPECT_EQ(0xff000000, REG(&s, APIC_ID));
	EXPECT_EQ(0xff, REG(&s, APIC_TASKPRI));
	EXPECT_EQ(0, REG(&s, APIC_ARBPRI));
	EXPECT_EQ(0, REG(&s, APIC_ESR));
	EXPECT_EQ(0xffffffff, REG(&s, APIC_DFR));
	EXPECT_EQ(0xff, REG(&s, APIC_SPIV));
	EXPECT_EQ(0xffffffffU & ~(1U << 12), REG(&s, APIC_ICR));
	EXPECT_EQ(0xff000000, REG(&s, APIC_ICR2));
	/* Disabled: every LVT forced masked. */
	EXPECT_EQ(0x710ff, REG(&s, APIC_LVTT));
	EXPECT_EQ(0x1a7ff, REG(&s, APIC_LVT0));
	EXPECT_EQ(0xb, REG(&s, APIC_TDCR));
	EXPECT_EQ(0xffffffff, REG(&s, APIC_IRR + 0x70));
	/* Vectors 0-15 are illegal: never pending or in service. */
	EXPECT_EQ(0xffff0000, REG(&s, APIC_IRR));
	EXPECT_EQ(0xffff0000, REG(&s, APIC_ISR));
	EXPECT_EQ(0, REG(&s, 0x3c0));			/* reserved */
	vcpu_run_expect_sync(vcpu, 1);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* ---- errors --------------------------------------------------------- */

TEST(bad_input_is_refused)
{
	struct vireo_lapic_state s, before, after;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = state_vm_create(&vcpu, guest_idle);

	lapic_get(vcpu, &before);
	s = before;
	s.reserved[6] = 1;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_LAPIC, &s));
	EXPECT_EQ(EINVAL, errno);

	/* More left than the count started with. */
	s = before;
	REG(&s, APIC_TASKPRI) = 0x30;
	REG(&s, APIC_TMICT) = 100;
	REG(&s, APIC_TMCCT) = 101;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_LAPIC, &s));
	EXPECT_EQ(EINVAL, errno);
	lapic_get(vcpu, &after);
	EXPECT_EQ(REG(&before, APIC_TASKPRI), REG(&after, APIC_TASKPRI));

	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_LAPIC, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_LAPIC, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	vm_free(vm);

	/* No in-kernel APIC, no state. */
	vm = vm_create_with_one_vcpu(&vcpu, guest_idle);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_LAPIC, &s));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_LAPIC, &before));
	EXPECT_EQ(ENXIO, errno);
	vm_free(vm);
}

VIREO_TEST_MAIN
