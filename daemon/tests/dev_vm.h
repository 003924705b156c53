/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the device unit tests: a detached VM (no module) running a
 * one-byte real-mode image, port I/O straight onto its bus, and a fake
 * interrupt sink that records what irq.h would have sent to the module.
 *
 *	dev_vm_setup();			// once, before any VM
 *	struct vm *vm = dev_vm_new(16);	// MiB of RAM
 *	outb(vm, 0x43, 0x34);
 *	...
 *	dev_vm_teardown();
 */
#ifndef VIREOD_TESTS_DEV_VM_H
#define VIREOD_TESTS_DEV_VM_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errinfo.h"
#include "irq.h"
#include "vm.h"

static char dev_vm_image[] = "/tmp/vireod-devtest-XXXXXX";

static inline bool dev_vm_setup(void)
{
	int fd = mkstemp(dev_vm_image);

	if (fd < 0 || write(fd, "\xf4", 1) != 1) {
		printf("Bail out! cannot create a test image\n");
		return false;
	}
	close(fd);
	return true;
}

static inline void dev_vm_teardown(void)
{
	unlink(dev_vm_image);
}

static inline struct vm *dev_vm_new(uint64_t memory_mib)
{
	struct vm_config cfg = {
		.name = "t", .memory_mib = memory_mib, .vcpus = 1,
		.entry = VM_ENTRY_REAL, .load_address = 0x10000,
	};
	struct errinfo e = { 0 };
	struct vm *vm;

	strcpy(cfg.image, dev_vm_image);
	vm = vm_create_detached(&cfg, &e);
	if (!vm)
		printf("# vm_create_detached: %s\n", e.desc);
	return vm;
}

static inline uint8_t inb(struct vm *vm, uint16_t port)
{
	return (uint8_t)io_bus_read(&vm->pio, port, 1);
}

static inline void outb(struct vm *vm, uint16_t port, uint8_t value)
{
	io_bus_write(&vm->pio, port, 1, value);
}

/* The fake interrupt sink: per-pin level and count of rising edges. */
static _Atomic int irq_level_of[VIREO_IOAPIC_PINS];
static _Atomic int irq_rises_of[VIREO_IOAPIC_PINS];

static inline void irq_record(struct vm *vm, int pin, bool level)
{
	(void)vm;
	if (level && !atomic_load(&irq_level_of[pin]))
		atomic_fetch_add(&irq_rises_of[pin], 1);
	atomic_store(&irq_level_of[pin], level);
}

static inline void irq_record_reset(void)
{
	for (int i = 0; i < VIREO_IOAPIC_PINS; i++) {
		atomic_store(&irq_level_of[i], 0);
		atomic_store(&irq_rises_of[i], 0);
	}
}

/* Makes 'vm' behave as if it had the in-kernel irqchip, with the sink. */
static inline void dev_vm_fake_irqchip(struct vm *vm)
{
	irq_set_test_sink(irq_record);
	vm->irqchip = true;
}

/* The state of one device instance, for white-box save/load tests. */
static inline void *dev_vm_device(struct vm *vm, const char *model)
{
	for (size_t i = 0; i < vm->nr_devices; i++)
		if (!strcmp(vm->devices[i].model->name, model))
			return vm->devices[i].opaque;
	return NULL;
}

static inline int dev_vm_sync_one(struct vm *vm, const char *model, enum dev_state_dir dir,
				  uint8_t *buf, size_t len, size_t *used)
{
	const struct device_model *m = device_model_find(model);
	struct dev_state st;
	int ret;

	dev_state_init(&st, dir, buf, len);
	ret = m->sync_state(dev_vm_device(vm, model), &st);
	if (used)
		*used = st.pos;
	return ret;
}

#endif
