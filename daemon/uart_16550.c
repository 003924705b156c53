// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550A UART at the legacy COM1 address, port 0x3f8, on ISA IRQ 4
 * (register map and interrupt logic from the TI/National PC16550D data
 * sheet, tables 3 and 4).
 *
 * What the guest sees:
 *  - THR writes go to the VM's console sink (or, with MCR loopback set, to
 *    the receive FIFO, as the chip's loopback mode does).  Output is
 *    consumed synchronously: LSR always reports THRE|TEMT, and the THR is
 *    empty again as soon as it was written;
 *  - received bytes (uart_input(), or loopback) go to a 16-byte FIFO, or a
 *    1-byte holding register while FCR0 is clear; LSR.DR is set while it
 *    holds data, LSR.OE after a byte was lost (cleared by reading LSR);
 *  - FCR: bit 0 enables the FIFOs (changing it empties them), bits 1 and 2
 *    empty them, bits 6-7 set the receive trigger level (1, 4, 8, 14); the
 *    other bits are only programmed when bit 0 is written as 1;
 *  - interrupts, in the data sheet's priority order, each enabled by its
 *    IER bit and reported in IIR bits 3-0 (bits 7-6 set in FIFO mode):
 *	0x6 receiver line status: LSR.OE; cleared by reading LSR
 *	0x4 received data: FIFO at the trigger level (any byte in 16450
 *	    mode); cleared when the guest reads it below the level
 *	0xc character timeout: data below the trigger level.  The chip waits
 *	    four character times of silence; input here arrives in bursts,
 *	    so it is reported at once rather than adding latency
 *	0x2 THR empty: set when IER.ETBEI goes 0 -> 1 and after every THR
 *	    write (the byte leaves at once); cleared by reading IIR while it
 *	    is the source reported, by writing THR, or by clearing ETBEI
 *	0x0 modem status: MSR bits 3-0 (only change in loopback mode, where
 *	    the modem inputs follow MCR); cleared by reading MSR
 *  - the interrupt output drives ISA IRQ 4 as a level through irq.h,
 *    gated by MCR.OUT2 as on PC boards (Linux sets OUT2 to enable it).
 *    A THR write that re-arms THRE makes a falling then rising edge, so an
 *    edge-triggered I/O APIC pin sees every new "THR empty";
 *  - LCR (with the DLAB bit and the divisor latch), MCR and SCR keep what
 *    is written; outside loopback MSR reports carrier, DSR and CTS.
 *
 * Fast ports (pio_fast.h): a guest printing with the UART polled reads LSR
 * and writes THR for every character.  While those accesses change nothing
 * but the console, the module completes them itself: THR is a fast OUT
 * port while DLAB, loopback and ETBEI are clear (the write then only
 * prints; the module queues it and it is replayed here, in order), and LSR
 * a fast IN port answering its current value while no overrun is latched
 * (reading it then clears nothing).  uart_update_fast() re-arms both after
 * every change, under the lock, so the module never answers from stale
 * state.
 *
 * Nothing the guest writes can make this code fail: every register value is
 * accepted and masked to the bits the chip implements.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "device.h"
#include "io_bus.h"
#include "irq.h"
#include "pio_fast.h"
#include "uart_16550.h"
#include "vm.h"

#define UART_COM1_BASE		0x3f8
#define UART_COM1_ISA_IRQ	4
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
#define UART_IER_RDI		0x01	/* received data (and timeout) */
#define UART_IER_THRI		0x02	/* THR empty */
#define UART_IER_RLSI		0x04	/* receiver line status */
#define UART_IER_MSI		0x08	/* modem status */
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
#define UART_FCR_TRIGGER(fcr)	((fcr) >> 6)
#define UART_IIR_NO_INT		0x01
#define UART_IIR_MSI		0x00
#define UART_IIR_THRI		0x02
#define UART_IIR_RDI		0x04
#define UART_IIR_RLSI		0x06
#define UART_IIR_TIMEOUT	0x0c
#define UART_IIR_FIFO_ON	0xc0
#define UART_LSR_DR		0x01
#define UART_LSR_OE		0x02
#define UART_LSR_THRE		0x20
#define UART_LSR_TEMT		0x40
#define UART_MSR_DCTS		0x01
#define UART_MSR_DDSR		0x02
#define UART_MSR_TERI		0x04
#define UART_MSR_DDCD		0x08
#define UART_MSR_DELTAS		0x0f
#define UART_MSR_CTS		0x10
#define UART_MSR_DSR		0x20
#define UART_MSR_RI		0x40
#define UART_MSR_DCD		0x80

static const struct device_model uart_16550_model;

struct uart {
	pthread_mutex_t lock;		/* guards all below: vCPUs race here */
	struct vm *vm;			/* owns the device */
	struct console *console;	/* the VM's; outlives the device */
	int irq_pin;			/* I/O APIC pin of ISA IRQ 4 */
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	uint8_t overrun;		/* LSR.OE, cleared by reading LSR */
	uint8_t rx_fifo[UART_RX_FIFO_BYTES];
	uint8_t rx_head, rx_count;
	uint8_t thre_pending;		/* the THR-empty interrupt is pending */
	uint8_t msr_delta;		/* MSR bits 3-0, cleared by reading MSR */
	bool irq_level;			/* what we last drove on the pin */
	/* What the module was last told (pio_fast_set()); -1: nothing yet. */
	int fast_thr_flags, fast_lsr_flags, fast_lsr;
};

static unsigned int uart_rx_capacity(const struct uart *u)
{
	return (u->fcr & UART_FCR_ENABLE) ? UART_RX_FIFO_BYTES : 1;
}

static void uart_rx_clear(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/*
 * A byte arriving from the line.  With the FIFO full, the data sheet keeps
 * the FIFO and loses the new byte; in 16450 mode the new byte overwrites
 * the holding register.  Either way LSR.OE reports it.
 */
static void uart_rx_push(struct uart *u, uint8_t byte)
{
	if (u->rx_count >= uart_rx_capacity(u)) {
		u->overrun = 1;
		if (!(u->fcr & UART_FCR_ENABLE))
			u->rx_fifo[u->rx_head] = byte;
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

/* Modem inputs (MSR bits 7-4); in loopback mode they are the MCR outputs. */
static uint8_t uart_modem_inputs(const struct uart *u)
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

/* The highest-priority pending interrupt, as IIR bits 3-0. */
static uint8_t uart_iir_id(const struct uart *u)
{
	static const uint8_t trigger[4] = { 1, 4, 8, 14 };

	if ((u->ier & UART_IER_RLSI) && u->overrun)
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count) {
		if (!(u->fcr & UART_FCR_ENABLE) ||
		    u->rx_count >= trigger[UART_FCR_TRIGGER(u->fcr)])
			return UART_IIR_RDI;
		return UART_IIR_TIMEOUT;
	}
	if ((u->ier & UART_IER_THRI) && u->thre_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && u->msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/* Drives IRQ 4 from the interrupt state; called after every change. */
static void uart_update_irq(struct uart *u)
{
	bool level = uart_iir_id(u) != UART_IIR_NO_INT && (u->mcr & UART_MCR_OUT2);

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	irq_set_level(u->vm, u->irq_pin, level);
}

/* The LSR as a read returns it (clearing OE is the caller's business). */
static uint8_t uart_lsr(const struct uart *u)
{
	uint8_t value = UART_LSR_THRE | UART_LSR_TEMT;

	if (u->rx_count)
		value |= UART_LSR_DR;
	if (u->overrun)
		value |= UART_LSR_OE;
	return value;
}

/*
 * A THR write would only print: not the divisor latch, no loopback, and no
 * THR-empty interrupt to re-arm.
 */
static bool uart_thr_only_prints(const struct uart *u)
{
	return !(u->lcr & UART_LCR_DLAB) && !(u->mcr & UART_MCR_LOOP) &&
	       !(u->ier & UART_IER_THRI);
}

/* Tells the module which of THR and LSR it may complete; lock held. */
static void uart_update_fast(struct uart *u)
{
	int thr = uart_thr_only_prints(u) ? VIREO_PIO_FAST_OUT : 0;
	int lsr = u->overrun ? 0 : VIREO_PIO_FAST_IN;
	int lsr_value = uart_lsr(u);

	if (thr != u->fast_thr_flags) {
		pio_fast_set(u->vm, UART_COM1_BASE + UART_RBR_THR_DLL, thr, 0);
		u->fast_thr_flags = thr;
	}
	if (lsr != u->fast_lsr_flags || lsr_value != u->fast_lsr) {
		pio_fast_set(u->vm, UART_COM1_BASE + UART_LSR, lsr, lsr_value);
		u->fast_lsr_flags = lsr;
		u->fast_lsr = lsr_value;
	}
}

static void uart_write_thr(struct uart *u, uint8_t byte)
{
	u->thre_pending = 0;
	uart_update_irq(u);
	if (u->mcr & UART_MCR_LOOP)
		uart_rx_push(u, byte);
	else
		console_write(u->console, &byte, 1);
	/* The byte left at once: the THR is empty again. */
	if (u->ier & UART_IER_THRI)
		u->thre_pending = 1;
}

static void uart_write_fcr(struct uart *u, uint8_t byte)
{
	/* Changing FCR0 empties both FIFOs (the transmitter's always is). */
	if ((byte ^ u->fcr) & UART_FCR_ENABLE)
		uart_rx_clear(u);
	if (!(byte & UART_FCR_ENABLE)) {
		u->fcr = 0;
		return;
	}
	if (byte & UART_FCR_CLEAR_RX)
		uart_rx_clear(u);
	u->fcr = byte & UART_FCR_KEEP;
}

static void uart_write_mcr(struct uart *u, uint8_t byte)
{
	uint8_t before = uart_modem_inputs(u), after, changed;

	u->mcr = byte & UART_MCR_MASK;
	after = uart_modem_inputs(u);
	changed = before ^ after;
	if (changed & UART_MSR_CTS)
		u->msr_delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		u->msr_delta |= UART_MSR_DDSR;
	if ((before & UART_MSR_RI) && !(after & UART_MSR_RI))
		u->msr_delta |= UART_MSR_TERI;	/* trailing edge only */
	if (changed & UART_MSR_DCD)
		u->msr_delta |= UART_MSR_DDCD;
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
		value = uart_iir_id(u);
		if (value == UART_IIR_THRI)
			u->thre_pending = 0;	/* reading IIR acknowledges THRE */
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
		value = uart_lsr(u);
		u->overrun = 0;
		break;
	case UART_MSR:
		value = uart_modem_inputs(u) | u->msr_delta;
		u->msr_delta = 0;
		break;
	case UART_SCR:
		value = u->scr;
		break;
	}
	uart_update_irq(u);
	uart_update_fast(u);
	pthread_mutex_unlock(&u->lock);
	return value;
}

/* One register write; lock held. */
static void uart_write_locked(struct uart *u, uint64_t offset, uint8_t byte)
{
	switch (offset) {
	case UART_RBR_THR_DLL:
		if (u->lcr & UART_LCR_DLAB)
			u->dll = byte;
		else
			uart_write_thr(u, byte);
		break;
	case UART_IER_DLM:
		if (u->lcr & UART_LCR_DLAB) {
			u->dlm = byte;
			break;
		}
		/* Enabling ETBEI with the THR empty interrupts at once. */
		if ((byte & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
			u->thre_pending = 1;
		else if (!(byte & UART_IER_THRI))
			u->thre_pending = 0;
		u->ier = byte & UART_IER_MASK;
		break;
	case UART_IIR_FCR:
		uart_write_fcr(u, byte);
		break;
	case UART_LCR:
		u->lcr = byte;
		break;
	case UART_MCR:
		uart_write_mcr(u, byte);
		break;
	case UART_SCR:
		u->scr = byte;
		break;
	default:
		break;	/* LSR and MSR are read-only */
	}
}

static void uart_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct uart *u = opaque;

	(void)size;
	pthread_mutex_lock(&u->lock);
	uart_write_locked(u, offset, (uint8_t)value);
	uart_update_irq(u);
	uart_update_fast(u);
	pthread_mutex_unlock(&u->lock);
}

/*
 * Replayed THR writes: while a THR write only prints (what made THR a
 * fast port), a run of them is one console write; otherwise byte by byte.
 */
static void uart_write_bytes(void *opaque, uint64_t offset, const uint8_t *bytes, size_t n)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	if (offset == UART_RBR_THR_DLL && uart_thr_only_prints(u))
		console_write(u->console, bytes, n);
	else
		for (size_t i = 0; i < n; i++)
			uart_write_locked(u, offset, bytes[i]);
	uart_update_irq(u);
	uart_update_fast(u);
	pthread_mutex_unlock(&u->lock);
}

static const struct io_ops uart_io_ops = {
	.read = uart_read,
	.write = uart_write,
	.write_bytes = uart_write_bytes,
	.max_access = 1,
};

size_t uart_input(struct vm *vm, const void *buf, size_t len)
{
	const uint8_t *bytes = buf;
	struct uart *u = NULL;
	size_t taken = 0;

	for (size_t i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].model == &uart_16550_model)
			u = vm->devices[i].opaque;
	if (!u)
		return 0;
	pthread_mutex_lock(&u->lock);
	if (u->mcr & UART_MCR_LOOP)
		taken = len;	/* the serial input is disconnected */
	while (taken < len && u->rx_count < uart_rx_capacity(u))
		uart_rx_push(u, bytes[taken++]);
	uart_update_irq(u);
	uart_update_fast(u);
	pthread_mutex_unlock(&u->lock);
	return taken;
}

static int uart_create(struct vm *vm, void **opaque)
{
	struct uart *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return -ENOMEM;
	pthread_mutex_init(&u->lock, NULL);
	u->vm = vm;
	u->console = &vm->console;
	u->irq_pin = irq_isa_pin(UART_COM1_ISA_IRQ);
	u->dll = 0x01;		/* 115200 baud with the usual 1.8432 MHz clock */
	u->lcr = 0x03;		/* 8N1 */
	u->fast_thr_flags = u->fast_lsr_flags = u->fast_lsr = -1;
	ret = io_bus_register(&vm->pio, UART_COM1_BASE, UART_NR_PORTS,
			      &uart_io_ops, u, "uart-16550 (COM1)");
	if (ret) {
		pthread_mutex_destroy(&u->lock);
		free(u);
		return ret;
	}
	pthread_mutex_lock(&u->lock);
	uart_update_fast(u);
	pthread_mutex_unlock(&u->lock);
	*opaque = u;
	return 0;
}

static void uart_destroy(void *opaque)
{
	struct uart *u = opaque;

	pthread_mutex_destroy(&u->lock);
	free(u);
}

static bool uart_state_valid(const struct uart *u)
{
	return u->rx_head < UART_RX_FIFO_BYTES && u->rx_count <= UART_RX_FIFO_BYTES &&
	       !(u->ier & ~UART_IER_MASK) && !(u->mcr & ~UART_MCR_MASK) &&
	       !(u->fcr & ~UART_FCR_KEEP) && u->overrun <= 1 && u->thre_pending <= 1 &&
	       !(u->msr_delta & ~UART_MSR_DELTAS);
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
	dev_state_u8(st, &u->thre_pending);
	dev_state_u8(st, &u->msr_delta);
	if (st->dir == DEV_STATE_LOAD && !st->error && !uart_state_valid(u)) {
		/* Leave a consistent device behind, never an out-of-range index. */
		uart_rx_clear(u);
		u->ier &= UART_IER_MASK;
		u->mcr &= UART_MCR_MASK;
		u->fcr &= UART_FCR_KEEP;
		u->overrun = 0;
		u->thre_pending = 0;
		u->msr_delta = 0;
		st->error = -EINVAL;
	}
	if (st->dir == DEV_STATE_LOAD) {
		/* The line and the fast ports follow the loaded state. */
		uart_update_irq(u);
		uart_update_fast(u);
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
