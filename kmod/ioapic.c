// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel I/O APIC (82093AA model, 24 pins) of a VIREO_VM_FLAG_IRQCHIP
 * VM, at the conventional 0xfec00000.  Device models in user space drive
 * its pins with VIREO_IRQ_LINE; it routes them to the local APICs through
 * its redirection table.  Level-triggered pins are re-delivered after the
 * guest's EOI while they stay asserted (remote IRR protocol).
 * Intel 82093AA datasheet, sections 3.0-3.2.
 */
#include <linux/kernel.h>
#include <linux/slab.h>

#include "vireo_core.h"

#define IOAPIC_REG_SELECT	0x00
#define IOAPIC_REG_WINDOW	0x10
#define IOAPIC_REG_EOI		0x40
#define IOAPIC_ID		0x00
#define IOAPIC_VERSION		0x01
#define IOAPIC_ARB		0x02
#define IOAPIC_REDIR_BASE	0x10
#define IOAPIC_VERSION_VALUE	(0x11 | ((VIREO_IOAPIC_PINS - 1) << 16))

#define REDIR_VECTOR(e)		((e) & 0xff)
#define REDIR_DELIVERY(e)	(((e) >> 8) & 7)
#define REDIR_LOGICAL		BIT_ULL(11)
#define REDIR_DELIVS		BIT_ULL(12)	/* delivery status */
#define REDIR_REMOTE_IRR	BIT_ULL(14)
#define REDIR_LEVEL		BIT_ULL(15)
#define REDIR_MASKED		BIT_ULL(16)
#define REDIR_DEST(e)		((u32)((e) >> 56))
/* Bits the guest may write: all but delivery status and remote IRR. */
#define REDIR_WRITABLE		(~(REDIR_DELIVS | REDIR_REMOTE_IRR))
#define IOAPIC_ID_MASK		0x0f000000	/* ID in bits 27:24 */

struct vireo_ioapic {
	struct vireo_vm *vm;
	spinlock_t lock;
	u32 select;
	u32 id;
	u64 redir[VIREO_IOAPIC_PINS];
	u32 asserted;			/* pin levels as driven by devices */
};

/* Deliver pin @pin's interrupt.  Caller holds the lock. */
static void ioapic_deliver_locked(struct vireo_ioapic *io, unsigned int pin)
{
	u64 e = io->redir[pin];

	if (e & REDIR_MASKED)
		return;
	if (e & REDIR_LEVEL) {
		if (e & REDIR_REMOTE_IRR)
			return;		/* still in service: wait for the EOI */
		io->redir[pin] |= REDIR_REMOTE_IRR;
	}
	vireo_lapic_deliver(io->vm, REDIR_DEST(e), e & REDIR_LOGICAL,
			    REDIR_DELIVERY(e), REDIR_VECTOR(e), e & REDIR_LEVEL);
}

int vireo_ioapic_set_irq(struct vireo_vm *vm, u32 pin, bool level)
{
	struct vireo_ioapic *io = vm->ioapic;
	unsigned long flags;
	bool was;

	if (!io)
		return -ENXIO;
	if (pin >= VIREO_IOAPIC_PINS)
		return -EINVAL;
	spin_lock_irqsave(&io->lock, flags);
	was = io->asserted & BIT(pin);
	if (level)
		io->asserted |= BIT(pin);
	else
		io->asserted &= ~BIT(pin);
	/* Edge pins fire on the rising edge; level pins while asserted. */
	if (level && (!was || (io->redir[pin] & REDIR_LEVEL)))
		ioapic_deliver_locked(io, pin);
	spin_unlock_irqrestore(&io->lock, flags);
	return 0;
}

/* A local APIC took the EOI of a level-triggered @vector. */
void vireo_ioapic_eoi(struct vireo_vm *vm, u8 vector)
{
	struct vireo_ioapic *io = vm->ioapic;
	unsigned long flags;
	unsigned int pin;

	if (!io)
		return;
	spin_lock_irqsave(&io->lock, flags);
	for (pin = 0; pin < VIREO_IOAPIC_PINS; pin++) {
		u64 e = io->redir[pin];

		if (REDIR_VECTOR(e) != vector || !(e & REDIR_LEVEL) ||
		    !(e & REDIR_REMOTE_IRR))
			continue;
		io->redir[pin] &= ~REDIR_REMOTE_IRR;
		if (io->asserted & BIT(pin))
			ioapic_deliver_locked(io, pin);
	}
	spin_unlock_irqrestore(&io->lock, flags);
}

static u32 ioapic_read_window_locked(struct vireo_ioapic *io)
{
	u32 reg = io->select, pin;

	switch (reg) {
	case IOAPIC_ID:
	case IOAPIC_ARB:
		return io->id;
	case IOAPIC_VERSION:
		return IOAPIC_VERSION_VALUE;
	}
	pin = (reg - IOAPIC_REDIR_BASE) / 2;
	if (reg < IOAPIC_REDIR_BASE || pin >= VIREO_IOAPIC_PINS)
		return 0xffffffff;
	return (reg & 1) ? io->redir[pin] >> 32 : (u32)io->redir[pin];
}

static void ioapic_write_window_locked(struct vireo_ioapic *io, u32 val)
{
	u32 reg = io->select, pin;
	u64 e, kept;

	if (reg == IOAPIC_ID) {
		io->id = val & IOAPIC_ID_MASK;
		return;
	}
	pin = (reg - IOAPIC_REDIR_BASE) / 2;
	if (reg < IOAPIC_REDIR_BASE || pin >= VIREO_IOAPIC_PINS)
		return;
	e = io->redir[pin];
	kept = e & ~REDIR_WRITABLE;
	if (reg & 1)
		e = (e & 0xffffffffULL) | ((u64)val << 32);
	else
		e = (e & ~0xffffffffULL) | val;
	io->redir[pin] = (e & REDIR_WRITABLE) | kept;
	/* An unmasked level pin that is still asserted fires now. */
	if ((io->redir[pin] & REDIR_LEVEL) && (io->asserted & BIT(pin)))
		ioapic_deliver_locked(io, pin);
}

bool vireo_ioapic_mmio(struct vireo_vcpu *vcpu, u64 gpa, unsigned int len,
		       bool write, u64 *val)
{
	struct vireo_ioapic *io = vcpu->vm->ioapic;
	unsigned long flags;
	u32 off;

	if (!io || gpa < VIREO_IOAPIC_BASE || gpa >= VIREO_IOAPIC_BASE + 0x100)
		return false;
	off = gpa - VIREO_IOAPIC_BASE;
	spin_lock_irqsave(&io->lock, flags);
	switch (off & ~0xfU) {
	case IOAPIC_REG_SELECT:
		if (write)
			io->select = *val & 0xff;
		else
			*val = io->select;
		break;
	case IOAPIC_REG_WINDOW:
		if (write)
			ioapic_write_window_locked(io, *val);
		else
			*val = ioapic_read_window_locked(io);
		break;
	default:
		if (!write)
			*val = 0;
	}
	spin_unlock_irqrestore(&io->lock, flags);
	return true;
}

/* ------------------------------------------------------------------ */
/* State for user space: VIREO_GET_IOAPIC / VIREO_SET_IOAPIC           */
/* ------------------------------------------------------------------ */

int vireo_ioapic_get_state(struct vireo_vm *vm, struct vireo_ioapic_state *s)
{
	struct vireo_ioapic *io = vm->ioapic;
	unsigned long flags;

	if (!io)
		return -ENXIO;
	memset(s, 0, sizeof(*s));
	spin_lock_irqsave(&io->lock, flags);
	BUILD_BUG_ON(sizeof(s->redir) != sizeof(io->redir));
	memcpy(s->redir, io->redir, sizeof(s->redir));
	s->id = io->id;
	s->select = io->select;
	s->asserted = io->asserted;
	spin_unlock_irqrestore(&io->lock, flags);
	return 0;
}

/*
 * Loads @s: the ID's writable bits, IOREGSEL, the pin levels, and each
 * redirection entry with its remote IRR (a level interrupt still in
 * service stays in service) but without delivery status.  Then, as after a
 * guest write to an entry, each unmasked level pin that is asserted and not
 * in service sends.  Nothing changes if @s is refused.
 */
int vireo_ioapic_set_state(struct vireo_vm *vm,
			   const struct vireo_ioapic_state *s)
{
	struct vireo_ioapic *io = vm->ioapic;
	unsigned long flags;
	unsigned int i;

	if (!io)
		return -ENXIO;
	for (i = 0; i < ARRAY_SIZE(s->reserved); i++)
		if (s->reserved[i])
			return -EINVAL;
	if ((s->asserted & ~GENMASK(VIREO_IOAPIC_PINS - 1, 0)) ||
	    s->select > 0xff)
		return -EINVAL;

	spin_lock_irqsave(&io->lock, flags);
	io->id = s->id & IOAPIC_ID_MASK;
	io->select = s->select;
	io->asserted = s->asserted;
	for (i = 0; i < VIREO_IOAPIC_PINS; i++)
		io->redir[i] = s->redir[i] & ~REDIR_DELIVS;
	/* Masked pins, edge pins and remote IRR are ioapic_deliver_locked's. */
	for (i = 0; i < VIREO_IOAPIC_PINS; i++)
		if ((io->redir[i] & REDIR_LEVEL) && (io->asserted & BIT(i)))
			ioapic_deliver_locked(io, i);
	spin_unlock_irqrestore(&io->lock, flags);
	return 0;
}

int vireo_ioapic_create(struct vireo_vm *vm)
{
	struct vireo_ioapic *io = kzalloc(sizeof(*io), GFP_KERNEL_ACCOUNT);
	unsigned int pin;

	if (!io)
		return -ENOMEM;
	io->vm = vm;
	spin_lock_init(&io->lock);
	for (pin = 0; pin < VIREO_IOAPIC_PINS; pin++)
		io->redir[pin] = REDIR_MASKED;
	vm->ioapic = io;
	return 0;
}

void vireo_ioapic_free(struct vireo_vm *vm)
{
	kfree(vm->ioapic);
	vm->ioapic = NULL;
}
