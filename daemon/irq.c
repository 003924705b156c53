// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt lines for device models: VIREO_IRQ_LINE on the VM fd when the
 * VM has the in-kernel irqchip, nothing otherwise.  See irq.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fw_tables.h"
#include "irq.h"
#include "log.h"
#include "vm.h"

static _Atomic(irq_sink_fn) irq_test_sink;
/* One warning per process is enough to say the module refuses the ioctl. */
static atomic_bool irq_warned;

int irq_isa_pin(unsigned int isa_irq)
{
	return fw_isa_irq_pin(isa_irq);
}

void irq_set_test_sink(irq_sink_fn sink)
{
	atomic_store(&irq_test_sink, sink);
}

void irq_set_level(struct vm *vm, int pin, bool level)
{
	struct vireo_irq_line line = { .level = level ? 1 : 0 };
	irq_sink_fn sink;

	if (!vm->irqchip || pin < 0 || pin >= VIREO_IOAPIC_PINS)
		return;
	sink = atomic_load(&irq_test_sink);
	if (sink) {
		sink(vm, pin, level);
		return;
	}
	if (vm->fd < 0)
		return;
	line.pin = (__u32)pin;
	/*
	 * A refused line costs the guest an interrupt, not the VM: say so
	 * once and carry on (a guest driver will time out and complain).
	 */
	if (ioctl(vm->fd, VIREO_IRQ_LINE, &line) < 0 && !atomic_exchange(&irq_warned, true))
		log_warn("vm %s: VIREO_IRQ_LINE pin %d level %u: %s; interrupts may be lost",
			 vm->config.name, pin, line.level, strerror(errno));
}

void irq_pulse(struct vm *vm, int pin)
{
	irq_set_level(vm, pin, true);
	irq_set_level(vm, pin, false);
}
