/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interrupt lines for device models.
 *
 * A VM created with VIREO_VM_FLAG_IRQCHIP (vm->irqchip) has an in-kernel
 * I/O APIC with VIREO_IOAPIC_PINS input pins; devices drive those pins
 * through here and the module does the rest (redirection, delivery, EOI).
 * On any other VM (the flat demo guests) every call is a no-op, so device
 * models never need to ask whether interrupts exist.
 *
 * Pins are I/O APIC pins; an ISA device looks its pin up once with
 * irq_isa_pin(), which follows the routing the firmware tables publish
 * (fw_tables.h: ISA IRQ 0 on pin 2, IRQ n on pin n otherwise).
 *
 * Levels: a level-style device (the 16550) calls irq_set_level() with the
 * state of its interrupt output whenever it may have changed; the module
 * ignores repeated levels, and an edge-triggered pin fires on 0 -> 1.  An
 * edge-style source (the PIT's OUT0) calls irq_pulse().
 *
 * Thread safety: callable from any thread, with the device's lock held
 * (which keeps a device's level changes in order).
 */
#ifndef VIREOD_IRQ_H
#define VIREOD_IRQ_H

#include <stdbool.h>

struct vm;

/* The I/O APIC pin of ISA IRQ 'isa_irq', or -1 if it has none. */
int irq_isa_pin(unsigned int isa_irq);

void irq_set_level(struct vm *vm, int pin, bool level);
/* A rising then a falling edge. */
void irq_pulse(struct vm *vm, int pin);

/*
 * Unit tests: replace VIREO_IRQ_LINE by 'sink' for every VM that has
 * vm->irqchip set (NULL restores the ioctl).
 */
typedef void (*irq_sink_fn)(struct vm *vm, int pin, bool level);
void irq_set_test_sink(irq_sink_fn sink);

#endif
