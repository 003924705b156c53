// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt handlers that count what the guest took (apic.h).  They run
 * inside the guest: built with the guest flags, see Makefile.
 */
#include "apic.h"
#include "exception.h"

uint64_t guest_irqs;
uint64_t guest_last_vector;

void guest_irq_count(struct ex_regs *regs)
{
	WRITE_ONCE(guest_irqs, READ_ONCE(guest_irqs) + 1);
	WRITE_ONCE(guest_last_vector, regs->vector);
}

void guest_irq_count_eoi(struct ex_regs *regs)
{
	guest_irq_count(regs);
	xapic_eoi();
}
