// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel local APIC, one per vCPU of a VM created with
 * VIREO_VM_FLAG_IRQCHIP.  Interrupts are hot, so they never leave the
 * kernel: the guest's register accesses (xAPIC MMIO page or x2APIC MSRs),
 * the timer (one-shot, periodic, TSC-deadline on an hrtimer), IPIs and
 * delivery into the guest are all handled here.  SDM vol. 3A, chapter 10.
 *
 * Locking: lapic->lock (irq-safe; the hrtimer fires in hard-irq context and
 * other vCPUs send IPIs) guards the register page and the timer state.
 */
#include <linux/kernel.h>
#include <linux/hrtimer.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <asm/msr-index.h>
#include <asm/tsc.h>

#include "vireo_core.h"

#define LAPIC_REG_ID		0x020
#define LAPIC_REG_VERSION	0x030
#define LAPIC_REG_TPR		0x080
#define LAPIC_REG_APR		0x090
#define LAPIC_REG_PPR		0x0a0
#define LAPIC_REG_EOI		0x0b0
#define LAPIC_REG_LDR		0x0d0
#define LAPIC_REG_DFR		0x0e0
#define LAPIC_REG_SVR		0x0f0
#define LAPIC_REG_ISR		0x100
#define LAPIC_REG_TMR		0x180
#define LAPIC_REG_IRR		0x200
#define LAPIC_REG_ESR		0x280
#define LAPIC_REG_ICR		0x300
#define LAPIC_REG_ICR2		0x310
#define LAPIC_REG_LVT_TIMER	0x320
#define LAPIC_REG_LVT_THERMAL	0x330
#define LAPIC_REG_LVT_PERF	0x340
#define LAPIC_REG_LVT_LINT0	0x350
#define LAPIC_REG_LVT_LINT1	0x360
#define LAPIC_REG_LVT_ERROR	0x370
#define LAPIC_REG_TIMER_INIT	0x380
#define LAPIC_REG_TIMER_CUR	0x390
#define LAPIC_REG_TIMER_DIV	0x3e0
#define LAPIC_REG_SELF_IPI	0x3f0	/* x2APIC only */

#define LAPIC_SVR_ENABLE		BIT(8)
#define LAPIC_LVT_MASKED		BIT(16)
#define LAPIC_LVT_TIMER_MODE(v)	(((v) >> 17) & 3)
#define LAPIC_TIMER_ONESHOT	0
#define LAPIC_TIMER_PERIODIC	1
#define LAPIC_TIMER_TSC_DEADLINE	2
#define LAPIC_ICR_DELIVERY(v)	(((v) >> 8) & 7)
#define LAPIC_ICR_LOGICAL	BIT(11)
#define LAPIC_ICR_SHORTHAND(v)	(((v) >> 18) & 3)
#define LAPIC_DM_FIXED		0
#define LAPIC_DM_LOWEST		1
#define LAPIC_DM_NMI		4
#define LAPIC_DM_INIT		5
#define LAPIC_DM_STARTUP		6

/* Version 0x14 (integrated APIC), 6 LVT entries (max LVT index 5). */
#define LAPIC_VERSION_VALUE	(0x14 | (5 << 16))
/* The emulated APIC bus runs at 1 GHz: one tick per nanosecond. */
#define LAPIC_BUS_NS		1

struct vireo_lapic {
	struct vireo_vcpu *vcpu;
	spinlock_t lock;
	u32 regs[0x400 / 4];		/* indexed by offset / 4 */
	struct hrtimer timer;
	ktime_t timer_period;		/* periodic mode, 0 otherwise */
	ktime_t timer_expires;		/* absolute, for TIMER_CUR */
	u64 tsc_deadline;
};

static u32 lapic_get(struct vireo_lapic *apic, u32 reg)
{
	return apic->regs[reg / 4];
}

static void lapic_set(struct vireo_lapic *apic, u32 reg, u32 val)
{
	apic->regs[reg / 4] = val;
}

/* Bit @vec of a 256-bit register array (ISR, TMR, IRR) at @base. */
static u32 *lapic_vec_word(struct vireo_lapic *apic, u32 base, u8 vec)
{
	return &apic->regs[(base + (vec / 32) * 0x10) / 4];
}

static int lapic_highest(struct vireo_lapic *apic, u32 base)
{
	int word;

	for (word = 7; word >= 0; word--) {
		u32 bits = apic->regs[(base + word * 0x10) / 4];

		if (bits)
			return word * 32 + fls(bits) - 1;
	}
	return -1;
}

static u32 lapic_ppr(struct vireo_lapic *apic)
{
	u32 tpr = lapic_get(apic, LAPIC_REG_TPR) & 0xff;
	int isr = lapic_highest(apic, LAPIC_REG_ISR);
	u32 isrv = isr < 0 ? 0 : isr & 0xf0;

	return (tpr & 0xf0) >= isrv ? tpr : isrv;
}

static bool lapic_enabled(struct vireo_lapic *apic)
{
	return (apic->vcpu->msrs.apic_base & BIT_ULL(11)) &&
	       (lapic_get(apic, LAPIC_REG_SVR) & LAPIC_SVR_ENABLE);
}

/* Set @vec in IRR (and TMR for level triggers).  Caller holds apic->lock. */
static void lapic_accept_irq_locked(struct vireo_lapic *apic, u8 vec,
				    bool level)
{
	u32 *tmr = lapic_vec_word(apic, LAPIC_REG_TMR, vec);

	if (vec < 16 || !lapic_enabled(apic))
		return;		/* vectors 0-15 are illegal (10.5.3) */
	*lapic_vec_word(apic, LAPIC_REG_IRR, vec) |= BIT(vec % 32);
	if (level)
		*tmr |= BIT(vec % 32);
	else
		*tmr &= ~BIT(vec % 32);
}

static void lapic_set_irq(struct vireo_vcpu *vcpu, u8 vec, bool level)
{
	struct vireo_lapic *apic = vcpu->lapic;
	unsigned long flags;

	spin_lock_irqsave(&apic->lock, flags);
	lapic_accept_irq_locked(apic, vec, level);
	spin_unlock_irqrestore(&apic->lock, flags);
	vireo_vcpu_wake(vcpu);
}

void vireo_lapic_set_irq(struct vireo_vcpu *vcpu, u8 vec)
{
	lapic_set_irq(vcpu, vec, false);
}

/* The vector the guest should take next, or -1. */
int vireo_lapic_pending(struct vireo_vcpu *vcpu)
{
	struct vireo_lapic *apic = vcpu->lapic;
	unsigned long flags;
	int irr;

	if (!apic)
		return -1;
	spin_lock_irqsave(&apic->lock, flags);
	irr = lapic_highest(apic, LAPIC_REG_IRR);
	if (irr >= 0 && (irr & 0xf0) <= (lapic_ppr(apic) & 0xf0))
		irr = -1;
	spin_unlock_irqrestore(&apic->lock, flags);
	return irr;
}

/*
 * CR8 is the task priority register's class: a read gives TPR[7:4], a
 * write sets TPR[7:4] and clears TPR[3:0] (SDM vol. 3A, 10.8.6.1).  The
 * next entry delivers whatever a lower priority lets through.
 */
u8 vireo_lapic_get_cr8(struct vireo_vcpu *vcpu)
{
	/* One aligned word: no lock needed for a consistent value. */
	return (READ_ONCE(vcpu->lapic->regs[LAPIC_REG_TPR / 4]) >> 4) & 0xf;
}

void vireo_lapic_set_cr8(struct vireo_vcpu *vcpu, u8 cr8)
{
	struct vireo_lapic *apic = vcpu->lapic;
	unsigned long flags;

	spin_lock_irqsave(&apic->lock, flags);
	lapic_set(apic, LAPIC_REG_TPR, (cr8 & 0xf) << 4);
	spin_unlock_irqrestore(&apic->lock, flags);
}

/* The guest is taking @vec now: move it from IRR to ISR (10.8.4). */
void vireo_lapic_ack(struct vireo_vcpu *vcpu, u8 vec)
{
	struct vireo_lapic *apic = vcpu->lapic;
	unsigned long flags;

	spin_lock_irqsave(&apic->lock, flags);
	*lapic_vec_word(apic, LAPIC_REG_IRR, vec) &= ~BIT(vec % 32);
	*lapic_vec_word(apic, LAPIC_REG_ISR, vec) |= BIT(vec % 32);
	spin_unlock_irqrestore(&apic->lock, flags);
	vireo_count(vcpu, VIREO_STAT_IRQ_INJECTED);
}

/* ------------------------------------------------------------------ */
/* Timer                                                               */
/* ------------------------------------------------------------------ */

static u32 lapic_divisor(struct vireo_lapic *apic)
{
	u32 v = lapic_get(apic, LAPIC_REG_TIMER_DIV);
	u32 code = (v & 3) | ((v & 8) >> 1);

	return code == 7 ? 1 : 2U << code;	/* SDM 10.5.4, figure 10-10 */
}

static enum hrtimer_restart lapic_timer_fire(struct hrtimer *timer)
{
	struct vireo_lapic *apic = container_of(timer, struct vireo_lapic, timer);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	unsigned long flags;
	u32 lvt;

	spin_lock_irqsave(&apic->lock, flags);
	lvt = lapic_get(apic, LAPIC_REG_LVT_TIMER);
	if (!(lvt & LAPIC_LVT_MASKED))
		lapic_accept_irq_locked(apic, lvt & 0xff, false);
	if (LAPIC_LVT_TIMER_MODE(lvt) == LAPIC_TIMER_PERIODIC &&
	    apic->timer_period) {
		hrtimer_forward_now(timer, apic->timer_period);
		apic->timer_expires = hrtimer_get_expires(timer);
		ret = HRTIMER_RESTART;
	} else if (LAPIC_LVT_TIMER_MODE(lvt) == LAPIC_TIMER_TSC_DEADLINE) {
		apic->tsc_deadline = 0;
	}
	spin_unlock_irqrestore(&apic->lock, flags);
	vireo_vcpu_wake(apic->vcpu);
	return ret;
}

/* The count-down time of @count; periods below 50 us would storm the host. */
static u64 lapic_count_ns(struct vireo_lapic *apic, u32 count)
{
	return max_t(u64, (u64)count * lapic_divisor(apic) * LAPIC_BUS_NS,
		     50 * NSEC_PER_USEC);
}

/* Fire in @ns from now, then every @period ns (0: once).  Lock held. */
static void lapic_timer_arm_locked(struct vireo_lapic *apic, u64 ns, u64 period)
{
	apic->timer_period = ns_to_ktime(period);
	apic->timer_expires = ktime_add_ns(ktime_get(), ns);
	hrtimer_start(&apic->timer, apic->timer_expires, HRTIMER_MODE_ABS_HARD);
}

/* (Re)start the count-down timer from TIMER_INIT.  Caller holds the lock. */
static void lapic_timer_start_locked(struct vireo_lapic *apic)
{
	u32 count = lapic_get(apic, LAPIC_REG_TIMER_INIT);
	u32 lvt = lapic_get(apic, LAPIC_REG_LVT_TIMER);
	u64 ns;

	hrtimer_try_to_cancel(&apic->timer);
	apic->timer_period = 0;
	if (!count || LAPIC_LVT_TIMER_MODE(lvt) == LAPIC_TIMER_TSC_DEADLINE)
		return;
	ns = lapic_count_ns(apic, count);
	lapic_timer_arm_locked(apic, ns,
			       LAPIC_LVT_TIMER_MODE(lvt) == LAPIC_TIMER_PERIODIC ? ns : 0);
}

static u32 lapic_timer_current_locked(struct vireo_lapic *apic)
{
	s64 left;

	if (!hrtimer_active(&apic->timer) ||
	    LAPIC_LVT_TIMER_MODE(lapic_get(apic, LAPIC_REG_LVT_TIMER)) ==
	    LAPIC_TIMER_TSC_DEADLINE)
		return 0;
	left = ktime_to_ns(ktime_sub(apic->timer_expires, ktime_get()));
	if (left <= 0)
		return 0;
	return div_u64(left, lapic_divisor(apic) * LAPIC_BUS_NS);
}

static void lapic_set_tsc_deadline_locked(struct vireo_lapic *apic, u64 deadline)
{
	u64 now = rdtsc() + apic->vcpu->tsc_offset, ns = 0;

	hrtimer_try_to_cancel(&apic->timer);
	apic->tsc_deadline = deadline;
	if (!deadline || LAPIC_LVT_TIMER_MODE(lapic_get(apic, LAPIC_REG_LVT_TIMER)) !=
	    LAPIC_TIMER_TSC_DEADLINE)
		return;
	if (deadline > now && tsc_khz)
		ns = mul_u64_u32_div(deadline - now, NSEC_PER_MSEC, tsc_khz);
	apic->timer_expires = ktime_add_ns(ktime_get(), ns);
	hrtimer_start(&apic->timer, apic->timer_expires, HRTIMER_MODE_ABS_HARD);
}

/* ------------------------------------------------------------------ */
/* IPIs                                                                */
/* ------------------------------------------------------------------ */

static bool lapic_matches(struct vireo_lapic *apic, u32 dest, bool logical,
			  bool x2apic)
{
	/* 0xffffffff is the x2APIC broadcast ID in both modes (10.12.9). */
	if (!logical)
		return x2apic ? dest == 0xffffffff || dest == apic->vcpu->id :
				(dest & 0xff) == 0xff ||
				(dest & 0xff) == apic->vcpu->id;
	/* Flat logical model: the destination is a bit mask over LDR[31:24]. */
	if (x2apic)
		return dest == 0xffffffff;
	return ((lapic_get(apic, LAPIC_REG_LDR) >> 24) & dest) != 0;
}

/* Hand one interrupt message to a target vCPU's LAPIC. */
static void lapic_deliver_one(struct vireo_vcpu *t, u32 mode, u8 vector,
			      bool level)
{
	switch (mode) {
	case LAPIC_DM_FIXED:
	case LAPIC_DM_LOWEST:	/* already arbitrated: this is the one */
		lapic_set_irq(t, vector, level);
		break;
	case LAPIC_DM_INIT:
		vireo_vcpu_request_init(t);
		break;
	case LAPIC_DM_STARTUP:
		vireo_vcpu_request_sipi(t, vector);
		break;
	case LAPIC_DM_NMI:	/* the vector field is ignored (10.6.1) */
		vireo_vcpu_queue_nmi(t);
		break;
	default:	/* SMI, ExtINT: not delivered */
		pr_info_ratelimited(VIREO_LOG_PREFIX "vm %u: interrupt delivery mode %u not supported\n",
				    t->vm->id, mode);
	}
}

/*
 * Deliver to the vCPUs in @targets (a bit per vCPU id).  Lowest-priority
 * delivery (SDM vol. 3A, 10.6.2.4) goes to one of them only: the one with
 * the lowest processor priority, ties broken round-robin so that equal
 * vCPUs share the load.  The targets' PPRs are read without their locks:
 * a stale value only changes which vCPU is chosen.
 */
static void lapic_deliver_mask(struct vireo_vm *vm, u64 targets, u32 mode,
			       u8 vector, bool level)
{
	u32 ppr[VIREO_MAX_VCPUS], best_ppr = U32_MAX, ties = 0, pick, i;

	if (mode == LAPIC_DM_LOWEST && targets) {
		for (i = 0; i < VIREO_MAX_VCPUS; i++) {
			if (!(targets & BIT_ULL(i)))
				continue;
			ppr[i] = lapic_ppr(READ_ONCE(vm->vcpus[i])->lapic) & 0xf0;
			if (ppr[i] < best_ppr) {
				best_ppr = ppr[i];
				ties = 0;
			}
			ties += ppr[i] == best_ppr;
		}
		/* The next in turn among those at the lowest priority. */
		pick = (u32)atomic_inc_return(&vm->lowest_prio_rr) % ties;
		for (i = 0; i < VIREO_MAX_VCPUS; i++) {
			if (!(targets & BIT_ULL(i)) || ppr[i] != best_ppr)
				continue;
			if (!pick--)
				break;
		}
		targets = BIT_ULL(i);
	}
	for (i = 0; i < VIREO_MAX_VCPUS; i++)
		if (targets & BIT_ULL(i))
			lapic_deliver_one(READ_ONCE(vm->vcpus[i]), mode, vector,
					  level);
}

/* An interrupt message from the I/O APIC (or an MSI, later). */
void vireo_lapic_deliver(struct vireo_vm *vm, u32 dest, bool logical,
			 u32 mode, u8 vector, bool level)
{
	u64 targets = 0;
	u32 i;

	for (i = 0; i < VIREO_MAX_VCPUS; i++) {
		struct vireo_vcpu *t = READ_ONCE(vm->vcpus[i]);

		if (t && t->lapic &&
		    lapic_matches(t->lapic, dest, logical,
				  t->msrs.apic_base & BIT_ULL(10)))
			targets |= BIT_ULL(i);
	}
	lapic_deliver_mask(vm, targets, mode, vector, level);
}

static void lapic_send_ipi(struct vireo_lapic *src, u32 icr, u32 dest,
			   bool x2apic)
{
	struct vireo_vm *vm = src->vcpu->vm;
	u32 shorthand = LAPIC_ICR_SHORTHAND(icr);
	u64 targets = 0;
	u32 i;

	/*
	 * "INIT level de-assert" (level-triggered INIT with the level bit
	 * clear) only resynchronises arbitration IDs: it resets no one
	 * (SDM vol. 3A, 10.6.1).  Linux sends it between INIT and SIPI.
	 */
	if (LAPIC_ICR_DELIVERY(icr) == LAPIC_DM_INIT &&
	    (icr & BIT(15)) && !(icr & BIT(14)))
		return;

	for (i = 0; i < VIREO_MAX_VCPUS; i++) {
		struct vireo_vcpu *t = READ_ONCE(vm->vcpus[i]);
		bool hit;

		if (!t || !t->lapic)
			continue;
		switch (shorthand) {
		case 1:	/* self */
			hit = t->lapic == src;
			break;
		case 2:	/* all including self */
			hit = true;
			break;
		case 3:	/* all excluding self */
			hit = t->lapic != src;
			break;
		default:
			hit = lapic_matches(t->lapic, dest,
					    icr & LAPIC_ICR_LOGICAL, x2apic);
		}
		if (hit)
			targets |= BIT_ULL(i);
	}
	lapic_deliver_mask(vm, targets, LAPIC_ICR_DELIVERY(icr), icr & 0xff,
			   false);
}

/* ------------------------------------------------------------------ */
/* Register access                                                     */
/* ------------------------------------------------------------------ */

static u32 lapic_read_locked(struct vireo_lapic *apic, u32 reg)
{
	switch (reg) {
	case LAPIC_REG_PPR:
		return lapic_ppr(apic);
	case LAPIC_REG_TIMER_CUR:
		return lapic_timer_current_locked(apic);
	case LAPIC_REG_EOI:
		return 0;
	}
	return lapic_get(apic, reg);
}

/* Returns the vector if the I/O APIC must see this (level) EOI, else -1. */
static int lapic_eoi_locked(struct vireo_lapic *apic)
{
	int isr = lapic_highest(apic, LAPIC_REG_ISR);

	if (isr < 0)
		return -1;
	*lapic_vec_word(apic, LAPIC_REG_ISR, isr) &= ~BIT(isr % 32);
	if (*lapic_vec_word(apic, LAPIC_REG_TMR, isr) & BIT(isr % 32))
		return isr;
	return -1;
}

/*
 * Returns true if the write needs an IPI sent after the lock is dropped;
 * *eoi_vec is set to a level-triggered vector whose EOI goes to the I/O APIC.
 */
static bool lapic_write_locked(struct vireo_lapic *apic, u32 reg, u32 val,
			       int *eoi_vec)
{
	u32 i;

	switch (reg) {
	case LAPIC_REG_ID:
		lapic_set(apic, reg, val & 0xff000000);
		break;
	case LAPIC_REG_TPR:
		lapic_set(apic, reg, val & 0xff);
		break;
	case LAPIC_REG_EOI:
		*eoi_vec = lapic_eoi_locked(apic);
		break;
	case LAPIC_REG_LDR:
		lapic_set(apic, reg, val & 0xff000000);
		break;
	case LAPIC_REG_DFR:
		lapic_set(apic, reg, val | 0x0fffffff);
		break;
	case LAPIC_REG_SVR:
		lapic_set(apic, reg, val & 0x3ff);
		if (!(val & LAPIC_SVR_ENABLE))	/* disabling masks every LVT */
			for (i = LAPIC_REG_LVT_TIMER; i <= LAPIC_REG_LVT_ERROR; i += 0x10)
				lapic_set(apic, i, lapic_get(apic, i) | LAPIC_LVT_MASKED);
		break;
	case LAPIC_REG_ESR:
		lapic_set(apic, reg, 0);
		break;
	case LAPIC_REG_ICR:
		lapic_set(apic, reg, val & ~BIT(12));	/* never busy */
		return true;
	case LAPIC_REG_ICR2:
		lapic_set(apic, reg, val & 0xff000000);
		break;
	case LAPIC_REG_LVT_TIMER:
		if (LAPIC_LVT_TIMER_MODE(val) !=
		    LAPIC_LVT_TIMER_MODE(lapic_get(apic, reg))) {
			hrtimer_try_to_cancel(&apic->timer);
			apic->tsc_deadline = 0;
		}
		if (!(lapic_get(apic, LAPIC_REG_SVR) & LAPIC_SVR_ENABLE))
			val |= LAPIC_LVT_MASKED;
		lapic_set(apic, reg, val & 0x710ff);
		break;
	case LAPIC_REG_LVT_THERMAL:
	case LAPIC_REG_LVT_PERF:
	case LAPIC_REG_LVT_LINT0:
	case LAPIC_REG_LVT_LINT1:
	case LAPIC_REG_LVT_ERROR:
		if (!(lapic_get(apic, LAPIC_REG_SVR) & LAPIC_SVR_ENABLE))
			val |= LAPIC_LVT_MASKED;
		lapic_set(apic, reg, val & 0x1a7ff);
		break;
	case LAPIC_REG_TIMER_INIT:
		lapic_set(apic, reg, val);
		lapic_timer_start_locked(apic);
		break;
	case LAPIC_REG_TIMER_DIV:
		lapic_set(apic, reg, val & 0xb);
		break;
	default:
		break;		/* read-only or reserved: ignored */
	}
	return false;
}

/* xAPIC MMIO: 32-bit accesses to 16-byte aligned registers (10.4.1). */
bool vireo_lapic_mmio(struct vireo_vcpu *vcpu, u64 gpa, unsigned int len,
		      bool write, u64 *val)
{
	struct vireo_lapic *apic = vcpu->lapic;
	u64 base = vcpu->msrs.apic_base & GENMASK_ULL(51, 12);
	unsigned long flags;
	bool ipi = false;
	int eoi_vec = -1;
	u32 reg, icr = 0, dest = 0;

	if (!apic || !(vcpu->msrs.apic_base & BIT_ULL(11)) ||
	    (vcpu->msrs.apic_base & BIT_ULL(10)) ||
	    gpa < base || gpa >= base + PAGE_SIZE)
		return false;
	reg = (gpa - base) & ~0xfULL;
	spin_lock_irqsave(&apic->lock, flags);
	if (write) {
		ipi = lapic_write_locked(apic, reg, *val, &eoi_vec);
		icr = lapic_get(apic, LAPIC_REG_ICR);
		dest = lapic_get(apic, LAPIC_REG_ICR2) >> 24;
	} else {
		*val = reg < 0x400 ? lapic_read_locked(apic, reg) : 0;
	}
	spin_unlock_irqrestore(&apic->lock, flags);
	if (ipi)
		lapic_send_ipi(apic, icr, dest, false);
	if (eoi_vec >= 0)
		vireo_ioapic_eoi(vcpu->vm, eoi_vec);
	return true;
}

/* x2APIC MSRs 0x800-0x8ff, and TSC_DEADLINE.  -ENOENT: not ours. */
int vireo_lapic_msr(struct vireo_vcpu *vcpu, u32 index, bool write, u64 *val)
{
	struct vireo_lapic *apic = vcpu->lapic;
	unsigned long flags;
	bool ipi = false;
	int eoi_vec = -1;
	u32 reg;

	if (!apic)
		return -ENOENT;
	if (index == MSR_IA32_TSC_DEADLINE) {
		spin_lock_irqsave(&apic->lock, flags);
		if (write)
			lapic_set_tsc_deadline_locked(apic, *val);
		else
			*val = apic->tsc_deadline;
		spin_unlock_irqrestore(&apic->lock, flags);
		return 0;
	}
	if (index < 0x800 || index > 0x8ff)
		return -ENOENT;
	if (!(vcpu->msrs.apic_base & BIT_ULL(10)))
		return -EINVAL;		/* x2APIC not enabled: #GP */
	reg = (index - 0x800) << 4;

	spin_lock_irqsave(&apic->lock, flags);
	if (write) {
		if (reg == LAPIC_REG_ICR) {
			lapic_set(apic, LAPIC_REG_ICR2, *val >> 32);
			ipi = lapic_write_locked(apic, reg, (u32)*val, &eoi_vec);
		} else if (reg == LAPIC_REG_SELF_IPI) {
			lapic_accept_irq_locked(apic, *val & 0xff, false);
		} else {
			lapic_write_locked(apic, reg, *val, &eoi_vec);
		}
	} else if (reg == LAPIC_REG_ID) {
		*val = vcpu->id;	/* x2APIC ID is 32 bits (10.12.5) */
	} else if (reg == LAPIC_REG_ICR) {
		*val = lapic_get(apic, LAPIC_REG_ICR) |
		       ((u64)lapic_get(apic, LAPIC_REG_ICR2) << 32);
	} else {
		*val = lapic_read_locked(apic, reg);
	}
	spin_unlock_irqrestore(&apic->lock, flags);
	if (ipi)
		lapic_send_ipi(apic, (u32)*val, *val >> 32, true);
	if (reg == LAPIC_REG_SELF_IPI && write)
		vireo_vcpu_wake(vcpu);
	if (eoi_vec >= 0)
		vireo_ioapic_eoi(vcpu->vm, eoi_vec);
	return 0;
}

/* ------------------------------------------------------------------ */
/* State for user space: VIREO_GET_LAPIC / VIREO_SET_LAPIC             */
/* ------------------------------------------------------------------ */

int vireo_lapic_get_state(struct vireo_vcpu *vcpu, struct vireo_lapic_state *s)
{
	struct vireo_lapic *apic = vcpu->lapic;
	unsigned long flags;

	if (!apic)
		return -ENXIO;
	memset(s, 0, sizeof(*s));
	spin_lock_irqsave(&apic->lock, flags);
	BUILD_BUG_ON(sizeof(s->regs) != sizeof(apic->regs));
	memcpy(s->regs, apic->regs, sizeof(s->regs));
	s->regs[LAPIC_REG_PPR / 4] = lapic_ppr(apic);
	s->regs[LAPIC_REG_TIMER_CUR / 4] = lapic_timer_current_locked(apic);
	s->tsc_deadline = apic->tsc_deadline;
	spin_unlock_irqrestore(&apic->lock, flags);
	return 0;
}

/*
 * Loads @s as if the guest had written each register (the same bits are
 * kept; VERSION, PPR, APR and ESR are not taken; ISR, TMR and IRR are, but
 * for vectors 0-15), then restarts the timer
 * where @s left it.  The caller holds vcpu->mutex, so this vCPU is not in
 * the guest and nothing but the timer itself can arm the timer meanwhile.
 */
int vireo_lapic_set_state(struct vireo_vcpu *vcpu, const struct vireo_lapic_state *s)
{
	static const struct { u16 reg; u32 keep; } writable[] = {
		{ LAPIC_REG_ID, 0xff000000 },	{ LAPIC_REG_TPR, 0xff },
		{ LAPIC_REG_LDR, 0xff000000 },	{ LAPIC_REG_SVR, 0x3ff },
		{ LAPIC_REG_ICR, ~(u32)BIT(12) },	{ LAPIC_REG_ICR2, 0xff000000 },
		{ LAPIC_REG_LVT_TIMER, 0x710ff },
		{ LAPIC_REG_LVT_THERMAL, 0x1a7ff }, { LAPIC_REG_LVT_PERF, 0x1a7ff },
		{ LAPIC_REG_LVT_LINT0, 0x1a7ff }, { LAPIC_REG_LVT_LINT1, 0x1a7ff },
		{ LAPIC_REG_LVT_ERROR, 0x1a7ff }, { LAPIC_REG_TIMER_INIT, ~0U },
		{ LAPIC_REG_TIMER_DIV, 0xb },
	};
	struct vireo_lapic *apic = vcpu->lapic;
	u32 lvt, init, cur, reg;
	unsigned long flags;
	unsigned int i;

	if (!apic)
		return -ENXIO;
	for (i = 0; i < ARRAY_SIZE(s->reserved); i++)
		if (s->reserved[i])
			return -EINVAL;
	lvt = s->regs[LAPIC_REG_LVT_TIMER / 4];
	init = s->regs[LAPIC_REG_TIMER_INIT / 4];
	cur = s->regs[LAPIC_REG_TIMER_CUR / 4];
	if (LAPIC_LVT_TIMER_MODE(lvt) != LAPIC_TIMER_TSC_DEADLINE && cur > init)
		return -EINVAL;		/* more left than the count started with */

	hrtimer_cancel(&apic->timer);
	spin_lock_irqsave(&apic->lock, flags);
	memset(apic->regs, 0, sizeof(apic->regs));
	lapic_set(apic, LAPIC_REG_VERSION, LAPIC_VERSION_VALUE);
	lapic_set(apic, LAPIC_REG_DFR, s->regs[LAPIC_REG_DFR / 4] | 0x0fffffff);
	for (i = 0; i < ARRAY_SIZE(writable); i++)
		lapic_set(apic, writable[i].reg,
			  s->regs[writable[i].reg / 4] & writable[i].keep);
	/* ISR, TMR, IRR, without the illegal vectors 0-15 (10.5.3) */
	for (reg = LAPIC_REG_ISR; reg < LAPIC_REG_ESR; reg += 0x10)
		lapic_set(apic, reg, s->regs[reg / 4] &
			  ((reg & 0x70) ? ~0U : 0xffff0000U));
	if (!(lapic_get(apic, LAPIC_REG_SVR) & LAPIC_SVR_ENABLE))
		for (reg = LAPIC_REG_LVT_TIMER; reg <= LAPIC_REG_LVT_ERROR; reg += 0x10)
			lapic_set(apic, reg, lapic_get(apic, reg) | LAPIC_LVT_MASKED);

	apic->timer_period = 0;
	/* Stored in every mode, armed only in TSC-deadline mode. */
	lapic_set_tsc_deadline_locked(apic, s->tsc_deadline);
	if (LAPIC_LVT_TIMER_MODE(lvt) != LAPIC_TIMER_TSC_DEADLINE && init && cur)
		lapic_timer_arm_locked(apic, (u64)cur * lapic_divisor(apic) * LAPIC_BUS_NS,
				       LAPIC_LVT_TIMER_MODE(lvt) == LAPIC_TIMER_PERIODIC ?
				       lapic_count_ns(apic, init) : 0);
	spin_unlock_irqrestore(&apic->lock, flags);
	/* IRR may hold something deliverable now. */
	vireo_vcpu_wake(vcpu);
	return 0;
}

void vireo_lapic_reset(struct vireo_vcpu *vcpu)
{
	struct vireo_lapic *apic = vcpu->lapic;
	unsigned long flags;
	u32 reg;

	hrtimer_cancel(&apic->timer);
	spin_lock_irqsave(&apic->lock, flags);
	memset(apic->regs, 0, sizeof(apic->regs));
	lapic_set(apic, LAPIC_REG_ID, vcpu->id << 24);
	lapic_set(apic, LAPIC_REG_VERSION, LAPIC_VERSION_VALUE);
	lapic_set(apic, LAPIC_REG_DFR, 0xffffffff);
	lapic_set(apic, LAPIC_REG_SVR, 0xff);
	for (reg = LAPIC_REG_LVT_TIMER; reg <= LAPIC_REG_LVT_ERROR; reg += 0x10)
		lapic_set(apic, reg, LAPIC_LVT_MASKED);
	apic->timer_period = 0;
	apic->tsc_deadline = 0;
	spin_unlock_irqrestore(&apic->lock, flags);
}

int vireo_lapic_create(struct vireo_vcpu *vcpu)
{
	struct vireo_lapic *apic = kzalloc(sizeof(*apic), GFP_KERNEL_ACCOUNT);

	if (!apic)
		return -ENOMEM;
	apic->vcpu = vcpu;
	spin_lock_init(&apic->lock);
	hrtimer_init(&apic->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	apic->timer.function = lapic_timer_fire;
	vcpu->lapic = apic;
	vireo_lapic_reset(vcpu);
	return 0;
}

void vireo_lapic_free(struct vireo_vcpu *vcpu)
{
	if (!vcpu->lapic)
		return;
	hrtimer_cancel(&vcpu->lapic->timer);
	kfree(vcpu->lapic);
	vcpu->lapic = NULL;
}
