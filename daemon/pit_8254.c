// SPDX-License-Identifier: GPL-2.0
/*
 * The 8254 programmable interval timer at 0x40-0x43, and port 0x61 (NMI
 * status and control: channel 2's gate, the speaker enable and OUT2).
 * Programming model from the Intel 8254 data sheet (order 231164).
 *
 * Counters are not stepped: each channel remembers when its count was
 * loaded and computes its value and OUT from pit_clock_ns() at 1.193182
 * MHz.  What is emulated:
 *  - modes 0-5 (6 and 7 are 2 and 3), binary and BCD counting, LSB / MSB /
 *    LSB-then-MSB access, counter latch and read-back (count and status,
 *    with the null-count bit);
 *  - gates: channels 0 and 1 are tied high; channel 2's is port 0x61 bit 0.
 *    A low gate suspends counting in modes 0 and 4, and in modes 2 and 3
 *    holds OUT high until a rising edge reloads the count; a rising edge
 *    retriggers modes 1 and 5.  Modes 1 and 5 also start when their count
 *    is written (the PC never wires a trigger to channels 0 and 1);
 *  - port 0x61: bits 0-3 read back, bit 4 toggles every 15.085 us (the
 *    refresh-request bit BIOS-era delay loops poll), bit 5 is channel 2's
 *    OUT (Linux polls it to calibrate the TSC), bits 6-7 read 0;
 *  - channel 0's OUT drives ISA IRQ 0 (I/O APIC pin 2) as an edge per
 *    rising OUT: periodically in modes 2 and 3, once in modes 0 and 4, and
 *    never faster than PIT_MIN_PERIOD_NS.  A timer thread, started the
 *    first time the guest arms channel 0 in a VM with an irqchip, sends
 *    the edges; it is idle while the VM is paused.  Edges a busy host made
 *    late are caught up (paced, up to 100 ms of backlog), not lost;
 *  - channel 1 (DRAM refresh) and the speaker make no sound and raise
 *    nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "device.h"
#include "io_bus.h"
#include "irq.h"
#include "log.h"
#include "pit_8254.h"
#include "vm.h"

#define PIT_BASE		0x40
#define PIT_PORT61		0x61
#define PIT_CONTROL		3
#define PIT_ISA_IRQ		0
#define PIT_REFRESH_NS		15085
#define PIT_61_WRITABLE		0x0f
#define PIT_61_GATE2		0x01
#define PIT_61_REFRESH		0x10
#define PIT_61_OUT2		0x20
#define NSEC			1000000000LL
#define PIT_MAX_CATCHUP_NS	(100 * 1000000LL)

struct pit_channel {
	uint8_t mode, access, bcd;	/* access: 1 LSB, 2 MSB, 3 LSB then MSB */
	uint8_t gate;
	uint8_t armed;			/* a count was loaded since the control word */
	uint8_t null_count;		/* status bit 6 */
	uint8_t write_msb, read_msb;	/* next byte is the MSB (access 3) */
	uint8_t write_lsb;		/* the LSB already written */
	uint8_t count_latched;		/* latched bytes left to read: 0-2 */
	uint8_t status_latched, status;
	uint16_t latched_count;
	uint32_t reload;		/* 1..65536, or 1..10000 in BCD */
	uint8_t frozen;			/* counting suspended by the gate */
	uint64_t frozen_ticks;
	int64_t start_ns;		/* pit_clock_ns() at tick 0 */
};

struct pit {
	pthread_mutex_t lock;		/* guards all below */
	pthread_cond_t wake;		/* the timer thread's: state changed */
	struct vm *vm;
	int irq_pin;
	struct pit_channel ch[3];
	uint8_t port61;			/* bits 0-3 */
	/* Channel 0 interrupts. */
	bool irq_armed, paused, quit, thread_started;
	int64_t irq_period_ns;		/* 0: one-shot */
	int64_t irq_due_ns;		/* when OUT0 rises next, on schedule */
	int64_t irq_next_ns;		/* when the thread sends it (>= due) */
	pthread_t thread;
};

static int64_t pit_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

int64_t (*pit_clock_ns)(void) = pit_monotonic_ns;

static uint64_t pit_ns_to_ticks(int64_t ns)
{
	if (ns <= 0)
		return 0;
	return (uint64_t)((unsigned __int128)ns * PIT_HZ / NSEC);
}

/* Rounded up, so that pit_ns_to_ticks(pit_ticks_to_ns(t)) == t. */
static int64_t pit_ticks_to_ns(uint64_t ticks)
{
	return (int64_t)(((unsigned __int128)ticks * NSEC + PIT_HZ - 1) / PIT_HZ);
}

static uint32_t pit_modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint64_t pit_elapsed(const struct pit_channel *c, int64_t now)
{
	return c->frozen ? c->frozen_ticks : pit_ns_to_ticks(now - c->start_ns);
}

/* The counting element, in binary, before BCD encoding. */
static uint32_t pit_count(const struct pit_channel *c, int64_t now)
{
	uint32_t n = c->reload, m = pit_modulus(c);
	uint64_t t;

	if (!c->armed)
		return n % m;
	t = pit_elapsed(c, now);
	switch (c->mode) {
	case 2:
		return (uint32_t)(n - t % n) % m;
	case 3:
		return (uint32_t)(n - (2 * t) % n) % m;
	default:	/* 0, 1, 4, 5: count down through zero and wrap */
		return (uint32_t)((n + m - t % m) % m);
	}
}

static bool pit_out(const struct pit_channel *c, int64_t now)
{
	uint64_t n = c->reload, t;

	if (!c->armed)
		return c->mode != 0;
	if (!c->gate && (c->mode == 2 || c->mode == 3))
		return true;
	t = pit_elapsed(c, now);
	switch (c->mode) {
	case 0:
	case 1:
		return t >= n;
	case 2:
		return t % n != n - 1;
	case 3:
		return t % n < (n + 1) / 2;
	default:	/* 4, 5: low for one clock at terminal count */
		return t != n;
	}
}

static uint16_t pit_to_bcd(uint32_t v)
{
	return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

/* Nibbles above 9 are not BCD: read them as 9 rather than fail. */
static uint32_t pit_from_bcd(uint16_t v)
{
	uint32_t out = 0;

	for (int shift = 12; shift >= 0; shift -= 4) {
		uint32_t digit = (v >> shift) & 0xf;

		out = out * 10 + (digit > 9 ? 9 : digit);
	}
	return out;
}

static uint16_t pit_read_value(const struct pit_channel *c, int64_t now)
{
	uint32_t v = pit_count(c, now);

	return c->bcd ? pit_to_bcd(v) : (uint16_t)v;
}

static void *pit_thread(void *arg);

static void pit_thread_start(struct pit *p)
{
	sigset_t all, old;
	int ret;

	/* The thread inherits a full mask: signals are for vCPU threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&p->thread, NULL, pit_thread, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		log_warn("vm %s: cannot start the PIT timer thread: %s; no timer interrupts",
			 p->vm->config.name, strerror(ret));
		return;
	}
	p->thread_started = true;
}

/* Recomputes channel 0's next interrupt after any change to it. */
static void pit_irq_rearm(struct pit *p, int64_t now)
{
	const struct pit_channel *c = &p->ch[0];
	int64_t first;

	p->irq_armed = false;
	if (!p->vm->irqchip || !c->armed || c->frozen || p->quit)
		return;
	switch (c->mode) {
	case 2:
	case 3:
		p->irq_period_ns = pit_ticks_to_ns(c->reload);
		if (p->irq_period_ns < PIT_MIN_PERIOD_NS)
			p->irq_period_ns = PIT_MIN_PERIOD_NS;
		first = c->start_ns + p->irq_period_ns;
		if (first < now)	/* after a load or resume: skip the edges gone by */
			first += ((now - first) / p->irq_period_ns + 1) * p->irq_period_ns;
		p->irq_due_ns = p->irq_next_ns = first;
		break;
	case 0:
	case 4:
		p->irq_period_ns = 0;
		p->irq_due_ns = c->start_ns + pit_ticks_to_ns(c->reload + (c->mode == 4));
		p->irq_next_ns = p->irq_due_ns;
		break;
	default:
		return;
	}
	if (!p->thread_started)
		pit_thread_start(p);
	p->irq_armed = p->thread_started;
	pthread_cond_signal(&p->wake);
}

static void *pit_thread(void *arg)
{
	struct pit *p = arg;

	pthread_setname_np(pthread_self(), "pit");
	prctl(PR_SET_TIMERSLACK, 1UL);	/* wake on time: the default slack is 50 us */
	pthread_mutex_lock(&p->lock);
	while (!p->quit) {
		int64_t now = pit_clock_ns();

		if (!p->irq_armed || p->paused) {
			pthread_cond_wait(&p->wake, &p->lock);
			continue;
		}
		if (now < p->irq_next_ns) {
			struct timespec deadline;
			int64_t at;

			clock_gettime(CLOCK_MONOTONIC, &deadline);
			at = deadline.tv_sec * NSEC + deadline.tv_nsec + (p->irq_next_ns - now);
			deadline.tv_sec = at / NSEC;
			deadline.tv_nsec = at % NSEC;
			pthread_cond_timedwait(&p->wake, &p->lock, &deadline);
			continue;
		}
		irq_pulse(p->vm, p->irq_pin);
		if (!p->irq_period_ns) {
			p->irq_armed = false;
			continue;
		}
		/*
		 * Late (a busy host): send the edges owed, PIT_MIN_PERIOD_NS
		 * apart, so that a guest counting ticks (Linux calibrating its
		 * local APIC timer) still sees the right number over time.  A
		 * backlog older than PIT_MAX_CATCHUP_NS is dropped instead.
		 */
		p->irq_due_ns += p->irq_period_ns;
		if (now - p->irq_due_ns > PIT_MAX_CATCHUP_NS)
			p->irq_due_ns += ((now - p->irq_due_ns) / p->irq_period_ns + 1) *
					 p->irq_period_ns;
		p->irq_next_ns = p->irq_due_ns;
		if (p->irq_next_ns < now + PIT_MIN_PERIOD_NS)
			p->irq_next_ns = now + PIT_MIN_PERIOD_NS;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void pit_start_counting(struct pit_channel *c, int64_t now)
{
	bool held = !c->gate && c->mode != 1 && c->mode != 5;

	c->frozen = held;
	c->frozen_ticks = 0;
	c->start_ns = now;
}

static void pit_load(struct pit *p, unsigned int i, uint16_t raw, int64_t now)
{
	struct pit_channel *c = &p->ch[i];
	uint32_t n = c->bcd ? pit_from_bcd(raw) : raw;

	c->reload = n ? n : pit_modulus(c);	/* 0 is the largest count */
	c->armed = 1;
	c->null_count = 0;
	pit_start_counting(c, now);
	if (i == 0)
		pit_irq_rearm(p, now);
}

static void pit_set_gate(struct pit_channel *c, uint8_t gate, int64_t now)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!c->armed)
		return;
	if (!gate && c->mode != 1 && c->mode != 5) {
		c->frozen_ticks = pit_elapsed(c, now);
		c->frozen = 1;
	} else if (gate && (c->mode == 0 || c->mode == 4)) {
		c->start_ns = now - pit_ticks_to_ns(c->frozen_ticks);	/* resume */
		c->frozen = 0;
	} else if (gate) {
		pit_start_counting(c, now);	/* modes 1, 2, 3, 5: (re)trigger */
	}
}

static void pit_latch_count(struct pit_channel *c, int64_t now)
{
	if (c->count_latched)
		return;		/* the first latch wins until it is read */
	c->latched_count = pit_read_value(c, now);
	c->count_latched = c->access == 3 ? 2 : 1;
}

static void pit_control(struct pit *p, uint8_t value, int64_t now)
{
	unsigned int sc = value >> 6, rw = (value >> 4) & 3;
	struct pit_channel *c;

	if (sc == 3) {		/* read-back: bits 3-1 select, 5 = !COUNT, 4 = !STATUS */
		for (unsigned int i = 0; i < 3; i++) {
			c = &p->ch[i];
			if (!(value & (2u << i)))
				continue;
			if (!(value & 0x20))
				pit_latch_count(c, now);
			if (!(value & 0x10) && !c->status_latched) {
				c->status = (uint8_t)(pit_out(c, now) << 7 | c->null_count << 6 |
						      c->access << 4 | c->mode << 1 | c->bcd);
				c->status_latched = 1;
			}
		}
		return;
	}
	c = &p->ch[sc];
	if (rw == 0) {
		pit_latch_count(c, now);
		return;
	}
	c->access = (uint8_t)rw;
	c->mode = (value >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;	/* 6 and 7 are aliases of 2 and 3 */
	c->bcd = value & 1;
	c->armed = 0;
	c->null_count = 1;
	c->write_msb = c->read_msb = 0;
	c->count_latched = c->status_latched = 0;
	if (sc == 0)
		pit_irq_rearm(p, now);
}

static uint8_t pit_read_channel(struct pit_channel *c, int64_t now)
{
	uint16_t v;
	bool msb;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		v = c->latched_count;
		msb = c->access == 2 || (c->access == 3 && c->count_latched == 1);
		c->count_latched--;
		return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
	}
	v = pit_read_value(c, now);
	msb = c->access == 2 || (c->access == 3 && c->read_msb);
	if (c->access == 3)
		c->read_msb ^= 1;
	return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
}

static void pit_write_channel(struct pit *p, unsigned int i, uint8_t value, int64_t now)
{
	struct pit_channel *c = &p->ch[i];

	switch (c->access) {
	case 1:
		pit_load(p, i, value, now);
		break;
	case 2:
		pit_load(p, i, (uint16_t)(value << 8), now);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = value;
			c->write_msb = 1;
			if (c->mode == 0) {	/* the first byte stops mode 0 */
				c->armed = 0;
				if (i == 0)
					pit_irq_rearm(p, now);
			}
			break;
		}
		c->write_msb = 0;
		pit_load(p, i, (uint16_t)(c->write_lsb | value << 8), now);
		break;
	}
}

static uint64_t pit_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pit *p = opaque;
	uint8_t value = 0xff;	/* the control port is write-only */

	(void)size;
	pthread_mutex_lock(&p->lock);
	if (offset < PIT_CONTROL)
		value = pit_read_channel(&p->ch[offset], pit_clock_ns());
	pthread_mutex_unlock(&p->lock);
	return value;
}

static void pit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pit *p = opaque;

	(void)size;
	pthread_mutex_lock(&p->lock);
	if (offset == PIT_CONTROL)
		pit_control(p, (uint8_t)value, pit_clock_ns());
	else
		pit_write_channel(p, (unsigned int)offset, (uint8_t)value, pit_clock_ns());
	pthread_mutex_unlock(&p->lock);
}

static uint64_t pit_port61_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pit *p = opaque;
	int64_t now = pit_clock_ns();
	uint8_t value;

	(void)offset;
	(void)size;
	pthread_mutex_lock(&p->lock);
	value = p->port61;
	if ((now / PIT_REFRESH_NS) & 1)
		value |= PIT_61_REFRESH;
	if (pit_out(&p->ch[2], now))
		value |= PIT_61_OUT2;
	pthread_mutex_unlock(&p->lock);
	return value;
}

static void pit_port61_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pit *p = opaque;

	(void)offset;
	(void)size;
	pthread_mutex_lock(&p->lock);
	p->port61 = value & PIT_61_WRITABLE;
	pit_set_gate(&p->ch[2], value & PIT_61_GATE2, pit_clock_ns());
	pthread_mutex_unlock(&p->lock);
}

static const struct io_ops pit_io_ops = {
	.read = pit_read, .write = pit_write, .max_access = 1,
};
static const struct io_ops pit_port61_ops = {
	.read = pit_port61_read, .write = pit_port61_write, .max_access = 1,
};

static int pit_create(struct vm *vm, void **opaque)
{
	struct pit *p = calloc(1, sizeof(*p));
	pthread_condattr_t attr;
	int ret;

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &attr);
	pthread_condattr_destroy(&attr);
	p->vm = vm;
	p->irq_pin = irq_isa_pin(PIT_ISA_IRQ);
	for (int i = 0; i < 3; i++) {
		p->ch[i] = (struct pit_channel){ .access = 3, .reload = 65536, .gate = i != 2 };
	}
	ret = io_bus_register(&vm->pio, PIT_BASE, 4, &pit_io_ops, p, "8254 PIT");
	if (!ret)
		ret = io_bus_register(&vm->pio, PIT_PORT61, 1, &pit_port61_ops, p,
				      "port 0x61 (PIT channel 2 gate, speaker)");
	if (ret) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return ret;
	}
	*opaque = p;
	return 0;
}

static void pit_destroy(void *opaque)
{
	struct pit *p = opaque;

	pthread_mutex_lock(&p->lock);
	p->quit = true;
	p->irq_armed = false;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	if (p->thread_started)
		pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static void pit_pause(void *opaque)
{
	struct pit *p = opaque;

	pthread_mutex_lock(&p->lock);
	p->paused = true;
	pthread_mutex_unlock(&p->lock);
}

static void pit_resume(void *opaque)
{
	struct pit *p = opaque;

	/* A due one-shot fires now; periodic edges missed while paused are not owed. */
	pthread_mutex_lock(&p->lock);
	p->paused = false;
	if (p->irq_armed && p->irq_period_ns)
		pit_irq_rearm(p, pit_clock_ns());
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

static bool pit_channel_valid(const struct pit_channel *c)
{
	return c->mode <= 5 && c->access >= 1 && c->access <= 3 && c->bcd <= 1 &&
	       c->gate <= 1 && c->armed <= 1 && c->null_count <= 1 && c->write_msb <= 1 &&
	       c->read_msb <= 1 && c->count_latched <= 2 && c->status_latched <= 1 &&
	       c->frozen <= 1 && c->reload >= 1 && c->reload <= pit_modulus(c);
}

/* Counters travel as ticks elapsed, so they survive a change of host. */
static int pit_sync_state(void *opaque, struct dev_state *st)
{
	struct pit *p = opaque;
	int64_t now = pit_clock_ns();
	uint8_t oneshot_pending;

	pthread_mutex_lock(&p->lock);
	oneshot_pending = p->irq_armed && !p->irq_period_ns;
	for (int i = 0; i < 3; i++) {
		struct pit_channel *c = &p->ch[i];
		uint8_t *fields[] = {
			&c->mode, &c->access, &c->bcd, &c->gate, &c->armed, &c->null_count,
			&c->write_msb, &c->read_msb, &c->write_lsb, &c->count_latched,
			&c->status_latched, &c->status, &c->frozen,
		};
		uint64_t elapsed = pit_elapsed(c, now);
		struct pit_channel saved = *c;

		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
			dev_state_u8(st, fields[f]);
		dev_state_u16(st, &c->latched_count);
		dev_state_u32(st, &c->reload);
		dev_state_u64(st, &elapsed);
		if (st->dir != DEV_STATE_LOAD || st->error)
			continue;
		if (!pit_channel_valid(c)) {
			*c = saved;
			st->error = -EINVAL;
			continue;
		}
		c->frozen_ticks = elapsed;
		c->start_ns = now - pit_ticks_to_ns(elapsed);
	}
	dev_state_u8(st, &p->port61);
	dev_state_u8(st, &oneshot_pending);
	p->port61 &= PIT_61_WRITABLE;
	if (st->dir == DEV_STATE_LOAD && !st->error) {
		pit_irq_rearm(p, now);
		if (!p->irq_period_ns && !oneshot_pending)
			p->irq_armed = false;	/* it fired before the save */
	}
	pthread_mutex_unlock(&p->lock);
	return st->error;
}

static const struct device_model pit_8254_model = {
	.name = "pit-8254",
	.create = pit_create,
	.destroy = pit_destroy,
	.pause = pit_pause,
	.resume = pit_resume,
	.sync_state = pit_sync_state,
};
DEVICE_MODEL_REGISTER(pit_8254_model);
