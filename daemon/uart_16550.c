// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550A UART at the legacy COM1 address, port 0x3f8 (register map from
 * the TI/National PC16550D data sheet).
 *
 * What the guest sees:
 *  - THR writes go to the VM's console sink (or, with MCR loopback set, to
 *    the receive FIFO, as the chip's loopback mode does);
 *  - LSR always reports the transmitter empty (THRE|TEMT): output is
 *    consumed synchronously, so a polling driver never waits;
 *  - LSR.DR is set while the receive FIFO holds data;
 *  - IER, LCR (with the DLAB bit and the divisor latch), MCR and SCR keep
 *    what is written; MSR reports carrier, DSR and CTS asserted;
 *  - no interrupts yet: there is no interrupt controller, so IIR always
 *    reads "no interrupt pending".
 *
 * Nothing the guest writes can make this code fail: every register value is
 * accepted and masked to the bits the chip implements.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "device.h"
#include "io_bus.h"
#include "vm.h"

#define UART_COM1_BASE		0x3f8
#define UART_NR_PORTS		8
#define UART_RX_FIFO_BYTES	16

/* Register offsets from the base port. */
#define UART_RBR_THR_DLL	0	/* DLAB=0: RBR/THR, DLAB=1: divisor low */
#define UART_IER_DLM		1	/* DLAB=0: IER, DLAB=1: divisor high */
#define UART_IIR_FCR		2	/* read: IIR, write: FCR */
#define UART_LCR		3
#define UART_MCR		4
#define UART_LSR		5
#define UART_MSR		6
#define UART_SCR		7

#define UART_LCR_DLAB		0x80
#define UART_IER_MASK		0x0f
#define UART_MCR_MASK		0x1f
#define UART_MCR_DTR		0x01
#define UART_MCR_RTS		0x02
#define UART_MCR_OUT1		0x04
#define UART_MCR_OUT2		0x08
#define UART_MCR_LOOP		0x10
#define UART_FCR_ENABLE		0x01
#define UART_FCR_CLEAR_RX	0x02
#define UART_FCR_KEEP		0xc9	/* enable, DMA mode, trigger level */
#define UART_IIR_NO_INT		0x01
#define UART_IIR_FIFO_ON	0xc0
#define UART_LSR_DR		0x01
#define UART_LSR_OE		0x02
#define UART_LSR_THRE		0x20
#define UART_LSR_TEMT		0x40
#define UART_MSR_CTS		0x10
#define UART_MSR_DSR		0x20
#define UART_MSR_RI		0x40
#define UART_MSR_DCD		0x80

struct uart {
	pthread_mutex_t lock;		/* guards all below: vCPUs race here */
	struct console *console;	/* the VM's; outlives the device */
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	uint8_t overrun;		/* LSR.OE, cleared by reading LSR */
	uint8_t rx_fifo[UART_RX_FIFO_BYTES];
	uint8_t rx_head, rx_count;
};

static void uart_rx_push(struct uart *u, uint8_t byte)
{
	if (u->rx_count == UART_RX_FIFO_BYTES) {
		u->overrun = 1;
		return;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % UART_RX_FIFO_BYTES] = byte;
	u->rx_count++;
}

static uint8_t uart_rx_pop(struct uart *u)
{
	uint8_t byte;

	if (!u->rx_count)
		return 0;
	byte = u->rx_fifo[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_RX_FIFO_BYTES;
	u->rx_count--;
	return byte;
}

/* In loopback mode the modem inputs are wired to the modem outputs. */
static uint8_t uart_msr(const struct uart *u)
{
	uint8_t msr = 0;

	if (!(u->mcr & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	if (u->mcr & UART_MCR_RTS)
		msr |= UART_MSR_CTS;
	if (u->mcr & UART_MCR_DTR)
		msr |= UART_MSR_DSR;
	if (u->mcr & UART_MCR_OUT1)
		msr |= UART_MSR_RI;
	if (u->mcr & UART_MCR_OUT2)
		msr |= UART_MSR_DCD;
	return msr;
}

static uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart *u = opaque;
	uint8_t value = 0xff;

	(void)size;	/* always 1: max_access below */
	pthread_mutex_lock(&u->lock);
	switch (offset) {
	case UART_RBR_THR_DLL:
		value = (u->lcr & UART_LCR_DLAB) ? u->dll : uart_rx_pop(u);
		break;
	case UART_IER_DLM:
		value = (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR_FCR:
		value = UART_IIR_NO_INT;
		if (u->fcr & UART_FCR_ENABLE)
			value |= UART_IIR_FIFO_ON;
		break;
	case UART_LCR:
		value = u->lcr;
		break;
	case UART_MCR:
		value = u->mcr;
		break;
	case UART_LSR:
		value = UART_LSR_THRE | UART_LSR_TEMT;
		if (u->rx_count)
			value |= UART_LSR_DR;
		if (u->overrun)
			value |= UART_LSR_OE;
		u->overrun = 0;
		break;
	case UART_MSR:
		value = uart_msr(u);
		break;
	case UART_SCR:
		value = u->scr;
		break;
	}
	pthread_mutex_unlock(&u->lock);
	return value;
}

static void uart_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct uart *u = opaque;
	uint8_t byte = (uint8_t)value;

	(void)size;
	pthread_mutex_lock(&u->lock);
	switch (offset) {
	case UART_RBR_THR_DLL:
		if (u->lcr & UART_LCR_DLAB)
			u->dll = byte;
		else if (u->mcr & UART_MCR_LOOP)
			uart_rx_push(u, byte);
		else
			console_write(u->console, &byte, 1);
		break;
	case UART_IER_DLM:
		if (u->lcr & UART_LCR_DLAB)
			u->dlm = byte;
		else
			u->ier = byte & UART_IER_MASK;
		break;
	case UART_IIR_FCR:
		if (byte & UART_FCR_CLEAR_RX) {
			u->rx_count = 0;
			u->rx_head = 0;
		}
		u->fcr = byte & UART_FCR_KEEP;
		break;
	case UART_LCR:
		u->lcr = byte;
		break;
	case UART_MCR:
		u->mcr = byte & UART_MCR_MASK;
		break;
	case UART_SCR:
		u->scr = byte;
		break;
	default:
		break;	/* LSR and MSR are read-only */
	}
	pthread_mutex_unlock(&u->lock);
}

static const struct io_ops uart_io_ops = {
	.read = uart_read,
	.write = uart_write,
	.max_access = 1,
};

static int uart_create(struct vm *vm, void **opaque)
{
	struct uart *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return -ENOMEM;
	pthread_mutex_init(&u->lock, NULL);
	u->console = &vm->console;
	u->dll = 0x01;		/* 115200 baud with the usual 1.8432 MHz clock */
	u->lcr = 0x03;		/* 8N1 */
	ret = io_bus_register(&vm->pio, UART_COM1_BASE, UART_NR_PORTS,
			      &uart_io_ops, u, "uart-16550 (COM1)");
	if (ret) {
		pthread_mutex_destroy(&u->lock);
		free(u);
		return ret;
	}
	*opaque = u;
	return 0;
}

static void uart_destroy(void *opaque)
{
	struct uart *u = opaque;

	pthread_mutex_destroy(&u->lock);
	free(u);
}

static int uart_sync_state(void *opaque, struct dev_state *st)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	dev_state_u8(st, &u->ier);
	dev_state_u8(st, &u->lcr);
	dev_state_u8(st, &u->mcr);
	dev_state_u8(st, &u->scr);
	dev_state_u8(st, &u->fcr);
	dev_state_u8(st, &u->dll);
	dev_state_u8(st, &u->dlm);
	dev_state_u8(st, &u->overrun);
	dev_state_u8(st, &u->rx_head);
	dev_state_u8(st, &u->rx_count);
	dev_state_bytes(st, u->rx_fifo, sizeof(u->rx_fifo));
	if (st->dir == DEV_STATE_LOAD && !st->error &&
	    (u->rx_head >= UART_RX_FIFO_BYTES || u->rx_count > UART_RX_FIFO_BYTES ||
	     (u->ier & ~UART_IER_MASK) || (u->mcr & ~UART_MCR_MASK) ||
	     (u->fcr & ~UART_FCR_KEEP) || u->overrun > 1)) {
		/* Leave a consistent device behind, never an out-of-range index. */
		u->rx_head = 0;
		u->rx_count = 0;
		u->ier &= UART_IER_MASK;
		u->mcr &= UART_MCR_MASK;
		u->fcr &= UART_FCR_KEEP;
		u->overrun = 0;
		st->error = -EINVAL;
	}
	pthread_mutex_unlock(&u->lock);
	return st->error;
}

static const struct device_model uart_16550_model = {
	.name = "uart-16550",
	.create = uart_create,
	.destroy = uart_destroy,
	.sync_state = uart_sync_state,
};
DEVICE_MODEL_REGISTER(uart_16550_model);
