// SPDX-License-Identifier: GPL-2.0
/*
 * The two cascaded 8259A programmable interrupt controllers of the PC
 * (master at 0x20-0x21, slave at 0xa0-0xa1 on master input 2) and the
 * PIIX-style edge/level control registers (ELCR) at 0x4d0-0x4d1.
 * Programming model from the Intel 8259A data sheet (order 231468).
 *
 * The PICs are registers only: they never deliver an interrupt.  Every
 * ISA interrupt of a Vireo VM goes to the in-kernel I/O APIC (irq.h), and
 * the firmware tables tell the guest so; Linux then masks the 8259s (all
 * ones in both IMRs) and never looks back.  What a kernel can observe is
 * still what the data sheet says:
 *  - the ICW1-ICW4 initialisation sequence (ICW3 skipped in single mode,
 *    ICW4 only when ICW1 asked for it), then OCW1 (IMR) on the odd port;
 *  - IMR reads back; OCW3 selects whether the even port reads IRR or ISR,
 *    and its poll command makes the next even-port read a poll word;
 *  - OCW2 EOIs (specific, non-specific, with rotation) and priority
 *    setting act on ISR and the priority order.
 * Nothing drives the inputs, so IRR and ISR read as zero unless state was
 * loaded; a poll answers "no interrupt" (0x00).  ELCR bits for IRQ 0, 1, 2,
 * 8 and 13 are hard-wired to edge (0) as on the PIIX.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "device.h"
#include "io_bus.h"
#include "vm.h"

#define PIC_MASTER_BASE		0x20
#define PIC_SLAVE_BASE		0xa0
#define PIC_ELCR_BASE		0x4d0

#define PIC_ICW1		0x10	/* even port, bit 4: ICW1 */
#define PIC_ICW1_IC4		0x01	/* ICW4 follows */
#define PIC_ICW1_SNGL		0x02	/* single PIC: no ICW3 */
#define PIC_ICW1_LTIM		0x08	/* level-triggered inputs */
#define PIC_OCW3		0x08	/* even port, bits 4-3 = 01: OCW3 */
#define PIC_OCW3_RIS		0x01	/* read ISR (else IRR), with RR */
#define PIC_OCW3_RR		0x02
#define PIC_OCW3_POLL		0x04
#define PIC_OCW3_SMM		0x20	/* special mask mode, with ESMM */
#define PIC_OCW3_ESMM		0x40
#define PIC_ICW4_AEOI		0x02
#define PIC_ICW4_MASK		0x1f

#define PIC_ELCR_MASTER_MASK	0xf8	/* IRQ 0-2 are edge only */
#define PIC_ELCR_SLAVE_MASK	0xde	/* IRQ 8 and 13 are edge only */

/* Where an initialisation sequence is. */
enum pic_init_step {
	PIC_READY = 0,		/* OCWs accepted */
	PIC_WANT_ICW2 = 2,
	PIC_WANT_ICW3 = 3,
	PIC_WANT_ICW4 = 4,
};

struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t icw1, icw2, icw3, icw4;
	uint8_t init_step;	/* enum pic_init_step */
	uint8_t read_isr;	/* OCW3 RR/RIS chose ISR */
	uint8_t poll;		/* the next even-port read is a poll */
	uint8_t special_mask;
	uint8_t rotate_aeoi;	/* OCW2 R=1 SL=0 EOI=0 */
	uint8_t lowest;		/* the lowest-priority level (7 after ICW1) */
	uint8_t elcr;
};

struct pic {
	pthread_mutex_t lock;	/* guards both chips */
	struct pic_chip chip[2];	/* master, slave */
};

static const uint8_t pic_elcr_mask[2] = { PIC_ELCR_MASTER_MASK, PIC_ELCR_SLAVE_MASK };

/* The in-service level of highest priority, or -1. */
static int pic_highest_in_service(const struct pic_chip *c)
{
	for (int i = 1; i <= 8; i++) {
		int level = (c->lowest + i) & 7;

		if (c->isr & (1u << level))
			return level;
	}
	return -1;
}

static void pic_icw1(struct pic_chip *c, uint8_t value)
{
	/* Data sheet: ICW1 clears IMR, sets IR7 lowest, resets SMM and RR. */
	c->icw1 = value;
	c->imr = 0;
	c->isr = 0;
	c->irr = 0;
	c->lowest = 7;
	c->special_mask = 0;
	c->read_isr = 0;
	c->poll = 0;
	c->rotate_aeoi = 0;
	if (!(value & PIC_ICW1_IC4))
		c->icw4 = 0;
	c->init_step = PIC_WANT_ICW2;
}

static void pic_ocw2(struct pic_chip *c, uint8_t value)
{
	unsigned int command = value >> 5, level = value & 7;
	int served;

	switch (command) {
	case 0:		/* clear rotate in automatic EOI mode */
	case 4:		/* set rotate in automatic EOI mode */
		c->rotate_aeoi = command == 4;
		break;
	case 1:		/* non-specific EOI */
	case 5:		/* rotate on non-specific EOI */
		served = pic_highest_in_service(c);
		if (served < 0)
			break;
		c->isr &= (uint8_t)~(1u << served);
		if (command == 5)
			c->lowest = (uint8_t)served;
		break;
	case 3:		/* specific EOI */
	case 7:		/* rotate on specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		if (command == 7)
			c->lowest = (uint8_t)level;
		break;
	case 6:		/* set priority: 'level' becomes the lowest */
		c->lowest = (uint8_t)level;
		break;
	default:	/* 2: no operation */
		break;
	}
}

static void pic_ocw3(struct pic_chip *c, uint8_t value)
{
	if (value & PIC_OCW3_ESMM)
		c->special_mask = !!(value & PIC_OCW3_SMM);
	if (value & PIC_OCW3_RR)
		c->read_isr = !!(value & PIC_OCW3_RIS);
	c->poll = !!(value & PIC_OCW3_POLL);
}

static void pic_write_even(struct pic_chip *c, uint8_t value)
{
	if (value & PIC_ICW1)
		pic_icw1(c, value);
	else if (value & PIC_OCW3)
		pic_ocw3(c, value);
	else
		pic_ocw2(c, value);
}

static void pic_write_odd(struct pic_chip *c, uint8_t value)
{
	switch (c->init_step) {
	case PIC_WANT_ICW2:
		c->icw2 = value & 0xf8;	/* x86 mode: T7-T3 of the vector */
		if (!(c->icw1 & PIC_ICW1_SNGL))
			c->init_step = PIC_WANT_ICW3;
		else
			c->init_step = (c->icw1 & PIC_ICW1_IC4) ? PIC_WANT_ICW4 : PIC_READY;
		break;
	case PIC_WANT_ICW3:
		c->icw3 = value;
		c->init_step = (c->icw1 & PIC_ICW1_IC4) ? PIC_WANT_ICW4 : PIC_READY;
		break;
	case PIC_WANT_ICW4:
		c->icw4 = value & PIC_ICW4_MASK;
		c->init_step = PIC_READY;
		break;
	default:
		c->imr = value;	/* OCW1 */
		break;
	}
}

/*
 * A poll acts as an interrupt acknowledge.  With no input ever raised
 * nothing is pending except what a loaded state put in IRR.
 */
static uint8_t pic_poll(struct pic_chip *c)
{
	uint8_t pending = c->irr & (uint8_t)~c->imr;

	c->poll = 0;
	for (int i = 1; i <= 8; i++) {
		int level = (c->lowest + i) & 7;

		if (pending & (1u << level)) {
			c->irr &= (uint8_t)~(1u << level);
			if (!(c->icw4 & PIC_ICW4_AEOI))
				c->isr |= (uint8_t)(1u << level);
			return (uint8_t)(0x80 | level);
		}
	}
	return 0;
}

static uint64_t pic_read(void *opaque, uint64_t offset, unsigned size, unsigned int which)
{
	struct pic *p = opaque;
	struct pic_chip *c = &p->chip[which];
	uint8_t value;

	(void)size;
	pthread_mutex_lock(&p->lock);
	if (offset == 1)
		value = c->imr;
	else if (c->poll)
		value = pic_poll(c);
	else
		value = c->read_isr ? c->isr : c->irr;
	pthread_mutex_unlock(&p->lock);
	return value;
}

static void pic_write(void *opaque, uint64_t offset, uint64_t value, unsigned int which)
{
	struct pic *p = opaque;

	pthread_mutex_lock(&p->lock);
	if (offset == 1)
		pic_write_odd(&p->chip[which], (uint8_t)value);
	else
		pic_write_even(&p->chip[which], (uint8_t)value);
	pthread_mutex_unlock(&p->lock);
}

static uint64_t pic_master_read(void *opaque, uint64_t offset, unsigned size)
{
	return pic_read(opaque, offset, size, 0);
}

static void pic_master_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)size;
	pic_write(opaque, offset, value, 0);
}

static uint64_t pic_slave_read(void *opaque, uint64_t offset, unsigned size)
{
	return pic_read(opaque, offset, size, 1);
}

static void pic_slave_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)size;
	pic_write(opaque, offset, value, 1);
}

static uint64_t pic_elcr_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pic *p = opaque;
	uint8_t value;

	(void)size;
	pthread_mutex_lock(&p->lock);
	value = p->chip[offset].elcr;
	pthread_mutex_unlock(&p->lock);
	return value;
}

static void pic_elcr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pic *p = opaque;

	(void)size;
	pthread_mutex_lock(&p->lock);
	p->chip[offset].elcr = (uint8_t)value & pic_elcr_mask[offset];
	pthread_mutex_unlock(&p->lock);
}

static const struct io_ops pic_master_ops = {
	.read = pic_master_read, .write = pic_master_write, .max_access = 1,
};
static const struct io_ops pic_slave_ops = {
	.read = pic_slave_read, .write = pic_slave_write, .max_access = 1,
};
static const struct io_ops pic_elcr_ops = {
	.read = pic_elcr_read, .write = pic_elcr_write, .max_access = 1,
};

static int pic_create(struct vm *vm, void **opaque)
{
	struct pic *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	for (int i = 0; i < 2; i++) {
		p->chip[i].lowest = 7;
		p->chip[i].imr = 0xff;	/* masked until programmed */
	}
	ret = io_bus_register(&vm->pio, PIC_MASTER_BASE, 2, &pic_master_ops, p, "8259A master");
	if (!ret)
		ret = io_bus_register(&vm->pio, PIC_SLAVE_BASE, 2, &pic_slave_ops, p, "8259A slave");
	if (!ret)
		ret = io_bus_register(&vm->pio, PIC_ELCR_BASE, 2, &pic_elcr_ops, p, "ELCR");
	if (ret) {
		/* Ranges stay registered but the VM is being torn down. */
		pthread_mutex_destroy(&p->lock);
		free(p);
		return ret;
	}
	*opaque = p;
	return 0;
}

static void pic_destroy(void *opaque)
{
	struct pic *p = opaque;

	pthread_mutex_destroy(&p->lock);
	free(p);
}

static int pic_sync_state(void *opaque, struct dev_state *st)
{
	struct pic *p = opaque;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < 2; i++) {
		struct pic_chip *c = &p->chip[i];
		uint8_t *fields[] = {
			&c->irr, &c->isr, &c->imr, &c->icw1, &c->icw2, &c->icw3, &c->icw4,
			&c->init_step, &c->read_isr, &c->poll, &c->special_mask,
			&c->rotate_aeoi, &c->lowest, &c->elcr,
		};

		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
			dev_state_u8(st, fields[f]);
		if (st->dir == DEV_STATE_LOAD && !st->error &&
		    ((c->init_step != PIC_READY && (c->init_step < PIC_WANT_ICW2 ||
						    c->init_step > PIC_WANT_ICW4)) ||
		     c->lowest > 7 || (c->elcr & ~pic_elcr_mask[i]) || c->read_isr > 1 ||
		     c->poll > 1 || c->special_mask > 1 || c->rotate_aeoi > 1)) {
			c->init_step = PIC_READY;
			c->lowest = 7;
			c->elcr &= pic_elcr_mask[i];
			c->read_isr = c->poll = c->special_mask = c->rotate_aeoi = 0;
			st->error = -EINVAL;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return st->error;
}

static const struct device_model pic_8259_model = {
	.name = "pic-8259",
	.create = pic_create,
	.destroy = pic_destroy,
	.sync_state = pic_sync_state,
};
DEVICE_MODEL_REGISTER(pic_8259_model);
