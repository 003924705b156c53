// SPDX-License-Identifier: GPL-2.0
/*
 * Three single ports of the PC platform that kernels touch at boot:
 *  - 0x80, the POST diagnostic port.  Linux writes it as an I/O delay
 *    (outb_p, io_delay=0x80); the last value written reads back, which is
 *    what most chipsets do;
 *  - 0xed, the alternative delay port (io_delay=0xed): writes are ignored,
 *    reads return 0xff;
 *  - 0x92, System Control Port A (PS/2, PIIX): bit 1 is the fast A20 gate,
 *    kept but not emulated (A20 is always enabled); a 0 -> 1 transition of
 *    bit 0 is the "fast reset" and calls vm_request_reset().  Bits 2-7
 *    read 0.
 * These three are claimed so that they never show up as unclaimed ports
 * and so that their writes cost nothing beyond the exit.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "device.h"
#include "io_bus.h"
#include "vm.h"

#define LEGACY_POST_PORT	0x80
#define LEGACY_DELAY_PORT	0xed
#define LEGACY_SYSCTL_A_PORT	0x92
#define LEGACY_SYSCTL_RESET	0x01
#define LEGACY_SYSCTL_A20	0x02
#define LEGACY_SYSCTL_MASK	0x03

struct legacy_ports {
	pthread_mutex_t lock;	/* guards the two bytes below */
	struct vm *vm;
	uint8_t post_code;
	uint8_t sysctl_a;
};

static uint64_t post_read(void *opaque, uint64_t offset, unsigned size)
{
	struct legacy_ports *lp = opaque;
	uint8_t value;

	(void)offset;
	(void)size;
	pthread_mutex_lock(&lp->lock);
	value = lp->post_code;
	pthread_mutex_unlock(&lp->lock);
	return value;
}

static void post_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct legacy_ports *lp = opaque;

	(void)offset;
	(void)size;
	pthread_mutex_lock(&lp->lock);
	lp->post_code = (uint8_t)value;
	pthread_mutex_unlock(&lp->lock);
}

static uint64_t delay_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return 0xff;
}

static void delay_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)opaque;
	(void)offset;
	(void)size;
	(void)value;
}

static uint64_t sysctl_read(void *opaque, uint64_t offset, unsigned size)
{
	struct legacy_ports *lp = opaque;
	uint8_t value;

	(void)offset;
	(void)size;
	pthread_mutex_lock(&lp->lock);
	value = lp->sysctl_a;
	pthread_mutex_unlock(&lp->lock);
	return value;
}

static void sysctl_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct legacy_ports *lp = opaque;
	bool reset;

	(void)offset;
	(void)size;
	pthread_mutex_lock(&lp->lock);
	reset = (value & LEGACY_SYSCTL_RESET) && !(lp->sysctl_a & LEGACY_SYSCTL_RESET);
	lp->sysctl_a = value & LEGACY_SYSCTL_MASK;
	pthread_mutex_unlock(&lp->lock);
	if (reset)
		vm_request_reset(lp->vm);
}

static const struct io_ops post_ops = {
	.read = post_read, .write = post_write, .max_access = 1,
};
static const struct io_ops delay_ops = {
	.read = delay_read, .write = delay_write, .max_access = 1,
};
static const struct io_ops sysctl_ops = {
	.read = sysctl_read, .write = sysctl_write, .max_access = 1,
};

static int legacy_ports_create(struct vm *vm, void **opaque)
{
	struct legacy_ports *lp = calloc(1, sizeof(*lp));
	int ret;

	if (!lp)
		return -ENOMEM;
	pthread_mutex_init(&lp->lock, NULL);
	lp->vm = vm;
	lp->sysctl_a = LEGACY_SYSCTL_A20;
	ret = io_bus_register(&vm->pio, LEGACY_POST_PORT, 1, &post_ops, lp, "POST port 0x80");
	if (!ret)
		ret = io_bus_register(&vm->pio, LEGACY_DELAY_PORT, 1, &delay_ops, lp,
				      "delay port 0xed");
	if (!ret)
		ret = io_bus_register(&vm->pio, LEGACY_SYSCTL_A_PORT, 1, &sysctl_ops, lp,
				      "system control port A");
	if (ret) {
		pthread_mutex_destroy(&lp->lock);
		free(lp);
		return ret;
	}
	*opaque = lp;
	return 0;
}

static void legacy_ports_destroy(void *opaque)
{
	struct legacy_ports *lp = opaque;

	pthread_mutex_destroy(&lp->lock);
	free(lp);
}

static int legacy_ports_sync_state(void *opaque, struct dev_state *st)
{
	struct legacy_ports *lp = opaque;

	pthread_mutex_lock(&lp->lock);
	dev_state_u8(st, &lp->post_code);
	dev_state_u8(st, &lp->sysctl_a);
	if (st->dir == DEV_STATE_LOAD && !st->error && (lp->sysctl_a & ~LEGACY_SYSCTL_MASK)) {
		lp->sysctl_a &= LEGACY_SYSCTL_MASK;
		st->error = -EINVAL;
	}
	pthread_mutex_unlock(&lp->lock);
	return st->error;
}

static const struct device_model legacy_ports_model = {
	.name = "legacy-ports",
	.create = legacy_ports_create,
	.destroy = legacy_ports_destroy,
	.sync_state = legacy_ports_sync_state,
};
DEVICE_MODEL_REGISTER(legacy_ports_model);
