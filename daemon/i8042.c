// SPDX-License-Identifier: GPL-2.0
/*
 * The 8042 keyboard controller at ports 0x60 (data) and 0x64 (status /
 * command), as the IBM PC/AT and PS/2 technical references describe it,
 * with no keyboard and no mouse attached.  A Vireo guest has no keyboard:
 * the controller is there because kernels probe it, and because its reset
 * line (command 0xFE) is how Linux reboots a PC without ACPI.
 *
 * Emulated:
 *  - status: OBF (data waiting), SYS (= command byte bit 2), A2 (the last
 *    write was a command), "not inhibited", AUX data never, IBF never (the
 *    controller consumes each byte at once), no timeout or parity errors;
 *  - the command byte (controller RAM byte 0) and the rest of the 32-byte
 *    RAM: 0x20-0x3f read, 0x60-0x7f write;
 *  - 0xaa self test (0x55), 0xab keyboard interface test (0x00), 0xa9
 *    mouse interface test (0x02, "clock line stuck": there is no mouse
 *    port), 0xa7/0xa8 and 0xad/0xae disable and enable the ports in the
 *    command byte, 0xc0 input port, 0xd0/0xd1 output port, 0xd2 (a byte for
 *    the output buffer as if from the keyboard), 0xe0 test inputs;
 *  - 0xf0-0xff pulse output-port lines: a 0 in bit 0 (0xfe, as Linux sends)
 *    pulses the reset line, and so does writing the output port (0xd1)
 *    with bit 0 clear: both call vm_request_reset();
 *  - bytes sent to the keyboard are answered 0xfe (resend), so a driver
 *    probing it gives up at once instead of waiting for a timeout;
 *  - ISA IRQ 1 is raised while a byte waits and the command byte enables
 *    the keyboard interrupt, with a new edge for each byte, like the one
 *    output buffer of the real part.
 * Mouse commands (0xd3, 0xd4) and unknown commands are ignored: Linux's
 * probe then finds no mouse port.  The A20 bit of the output port is kept
 * but not emulated (A20 is always enabled).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "device.h"
#include "io_bus.h"
#include "irq.h"
#include "vm.h"

#define I8042_DATA_PORT		0x60
#define I8042_COMMAND_PORT	0x64
#define I8042_KBD_ISA_IRQ	1
#define I8042_RAM_BYTES		32
#define I8042_QUEUE_BYTES	16

#define I8042_STR_OBF		0x01
#define I8042_STR_SYS		0x04
#define I8042_STR_CMD		0x08	/* A2: the last write went to 0x64 */
#define I8042_STR_UNLOCKED	0x10
#define I8042_CTR_KBDINT	0x01
#define I8042_CTR_SYS		0x04
#define I8042_CTR_KBDDIS	0x10
#define I8042_CTR_AUXDIS	0x20
#define I8042_CTR_XLATE		0x40
#define I8042_OUT_RESET		0x01	/* 0 holds the CPU in reset */
#define I8042_OUT_A20		0x02
#define I8042_OUT_KBD_OBF	0x10

#define I8042_NAK		0xfe

struct i8042 {
	pthread_mutex_t lock;	/* guards all below */
	struct vm *vm;
	int irq_pin;
	uint8_t ram[I8042_RAM_BYTES];	/* byte 0: the command byte */
	uint8_t pending;	/* a command waiting for its data byte, or 0 */
	uint8_t out_port;
	uint8_t last_was_command;
	uint8_t queue[I8042_QUEUE_BYTES];
	uint8_t head, count;
	uint8_t last_data;	/* what 0x60 reads with nothing waiting */
	bool irq_level;
};

static void i8042_update_irq(struct i8042 *k)
{
	bool level = k->count && (k->ram[0] & I8042_CTR_KBDINT);

	if (level == k->irq_level)
		return;
	k->irq_level = level;
	irq_set_level(k->vm, k->irq_pin, level);
}

static void i8042_push(struct i8042 *k, uint8_t byte)
{
	if (k->count == I8042_QUEUE_BYTES)
		return;		/* a guest not reading: drop, like a full buffer */
	k->queue[(k->head + k->count) % I8042_QUEUE_BYTES] = byte;
	k->count++;
}

/* Returns true if the guest asked for a reset. */
static bool i8042_command(struct i8042 *k, uint8_t cmd)
{
	if (cmd >= 0x20 && cmd <= 0x3f) {
		i8042_push(k, k->ram[cmd & 0x1f]);
		return false;
	}
	if ((cmd >= 0x60 && cmd <= 0x7f) || cmd == 0xd1 || cmd == 0xd2) {
		k->pending = cmd;
		return false;
	}
	switch (cmd) {
	case 0xa7:
		k->ram[0] |= I8042_CTR_AUXDIS;
		break;
	case 0xa8:
		k->ram[0] &= (uint8_t)~I8042_CTR_AUXDIS;
		break;
	case 0xa9:
		i8042_push(k, 0x02);
		break;
	case 0xaa:
		i8042_push(k, 0x55);
		break;
	case 0xab:
		i8042_push(k, 0x00);
		break;
	case 0xad:
		k->ram[0] |= I8042_CTR_KBDDIS;
		break;
	case 0xae:
		k->ram[0] &= (uint8_t)~I8042_CTR_KBDDIS;
		break;
	case 0xc0:
		i8042_push(k, 0x80);	/* keyboard not inhibited */
		break;
	case 0xd0:
		i8042_push(k, (uint8_t)((k->out_port & (I8042_OUT_RESET | I8042_OUT_A20)) |
					(k->count ? I8042_OUT_KBD_OBF : 0)));
		break;
	case 0xe0:
		i8042_push(k, 0x00);
		break;
	default:
		if (cmd >= 0xf0)	/* pulse the lines whose bit is 0 */
			return !(cmd & I8042_OUT_RESET);
		break;			/* unknown: ignored */
	}
	return false;
}

static bool i8042_data(struct i8042 *k, uint8_t value)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	if (cmd >= 0x60 && cmd <= 0x7f) {
		k->ram[cmd & 0x1f] = value;
	} else if (cmd == 0xd1) {
		k->out_port = value;
		return !(value & I8042_OUT_RESET);
	} else if (cmd == 0xd2) {
		i8042_push(k, value);
	} else {
		i8042_push(k, I8042_NAK);	/* to the keyboard: nobody there */
	}
	return false;
}

/* 'offset' is 0 for the data port, 1 for the status/command port. */
static uint8_t i8042_read(struct i8042 *k, unsigned int offset)
{
	uint8_t value;

	pthread_mutex_lock(&k->lock);
	if (offset == 0) {
		if (k->count) {
			k->last_data = k->queue[k->head];
			k->head = (k->head + 1) % I8042_QUEUE_BYTES;
			k->count--;
			/* OBF dropped: the next byte, if any, is a new edge. */
			if (k->irq_level) {
				k->irq_level = false;
				irq_set_level(k->vm, k->irq_pin, false);
			}
		}
		value = k->last_data;
	} else {
		value = I8042_STR_UNLOCKED;
		if (k->count)
			value |= I8042_STR_OBF;
		if (k->ram[0] & I8042_CTR_SYS)
			value |= I8042_STR_SYS;
		if (k->last_was_command)
			value |= I8042_STR_CMD;
	}
	i8042_update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return value;
}

static void i8042_write(struct i8042 *k, unsigned int offset, uint8_t value)
{
	bool reset;

	pthread_mutex_lock(&k->lock);
	k->last_was_command = offset != 0;
	if (offset == 0) {
		reset = i8042_data(k, value);
	} else {
		k->pending = 0;		/* a command cancels a pending one */
		reset = i8042_command(k, value);
	}
	i8042_update_irq(k);
	pthread_mutex_unlock(&k->lock);
	if (reset)
		vm_request_reset(k->vm);
}

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)offset;
	(void)size;
	return i8042_read(opaque, 0);
}

static void i8042_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)offset;
	(void)size;
	i8042_write(opaque, 0, (uint8_t)value);
}

static uint64_t i8042_status_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)offset;
	(void)size;
	return i8042_read(opaque, 1);
}

static void i8042_command_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)offset;
	(void)size;
	i8042_write(opaque, 1, (uint8_t)value);
}

static const struct io_ops i8042_data_ops = {
	.read = i8042_data_read, .write = i8042_data_write, .max_access = 1,
};
static const struct io_ops i8042_command_ops = {
	.read = i8042_status_read, .write = i8042_command_write, .max_access = 1,
};

static int i8042_create(struct vm *vm, void **opaque)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	pthread_mutex_init(&k->lock, NULL);
	k->vm = vm;
	k->irq_pin = irq_isa_pin(I8042_KBD_ISA_IRQ);
	k->ram[0] = I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_XLATE;
	k->out_port = I8042_OUT_RESET | I8042_OUT_A20;
	ret = io_bus_register(&vm->pio, I8042_DATA_PORT, 1, &i8042_data_ops, k, "i8042 data");
	if (!ret)
		ret = io_bus_register(&vm->pio, I8042_COMMAND_PORT, 1, &i8042_command_ops, k,
				      "i8042 status/command");
	if (ret) {
		pthread_mutex_destroy(&k->lock);
		free(k);
		return ret;
	}
	*opaque = k;
	return 0;
}

static void i8042_destroy(void *opaque)
{
	struct i8042 *k = opaque;

	pthread_mutex_destroy(&k->lock);
	free(k);
}

static int i8042_sync_state(void *opaque, struct dev_state *st)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	dev_state_bytes(st, k->ram, sizeof(k->ram));
	dev_state_u8(st, &k->pending);
	dev_state_u8(st, &k->out_port);
	dev_state_u8(st, &k->last_was_command);
	dev_state_bytes(st, k->queue, sizeof(k->queue));
	dev_state_u8(st, &k->head);
	dev_state_u8(st, &k->count);
	dev_state_u8(st, &k->last_data);
	if (st->dir == DEV_STATE_LOAD && !st->error &&
	    (k->head >= I8042_QUEUE_BYTES || k->count > I8042_QUEUE_BYTES ||
	     k->last_was_command > 1)) {
		k->head = k->count = 0;
		k->last_was_command = 0;
		st->error = -EINVAL;
	}
	if (st->dir == DEV_STATE_LOAD)
		i8042_update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return st->error;
}

static const struct device_model i8042_model = {
	.name = "i8042",
	.create = i8042_create,
	.destroy = i8042_destroy,
	.sync_state = i8042_sync_state,
};
DEVICE_MODEL_REGISTER(i8042_model);
