// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the 16550's interrupts and FIFOs: IER/IIR with the
 * data sheet's priorities, the THR-empty interrupt, receive trigger levels,
 * console input through uart_input(), and IRQ 4 as the module would see it
 * (a fake irqchip that records the pin's level and rising edges); which of
 * THR and LSR the module may complete as fast ports, and with what answer.
 */
#include "dev_vm.h"
#include "io_bus.h"
#include "log.h"
#include "pio_fast.h"
#include "tap.h"
#include "uart_16550.h"

#define COM1		0x3f8
#define RBR		(COM1 + 0)
#define IER		(COM1 + 1)
#define IIR		(COM1 + 2)
#define FCR		(COM1 + 2)
#define LCR		(COM1 + 3)
#define MCR		(COM1 + 4)
#define LSR		(COM1 + 5)
#define MSR		(COM1 + 6)
#define PIN		4

static int level(void)
{
	return atomic_load(&irq_level_of[PIN]);
}

static int rises(void)
{
	return atomic_load(&irq_rises_of[PIN]);
}

static void test_thre(struct vm *vm)
{
	int before;

	ok(inb(vm, IIR) == 0x01 && !level(), "no interrupt pending at reset");
	outb(vm, IER, 0x02);
	ok(!level(), "THRE pending but MCR.OUT2 clear: IRQ 4 stays low");
	outb(vm, MCR, 0x0b);	/* DTR, RTS, OUT2: what Linux sets */
	ok(level() && rises() == 1, "OUT2 set: IRQ 4 asserted");
	ok(inb(vm, IIR) == 0x02, "IIR: THR empty");
	ok(inb(vm, IIR) == 0x01 && !level(), "reading IIR acknowledged THRE, IRQ 4 deasserted");
	outb(vm, IER, 0x00);
	outb(vm, IER, 0x02);
	ok(level() && rises() == 2, "enabling ETBEI again with the THR empty interrupts at once");
	before = rises();
	outb(vm, RBR, 'x');
	ok(level() && rises() == before + 1,
	   "a THR write clears THRE and the byte leaves at once: a new edge");
	ok(inb(vm, IIR) == 0x02 && inb(vm, IIR) == 0x01, "one THRE per THR write");
	outb(vm, RBR, 'y');
	outb(vm, IER, 0x00);
	ok(!level() && inb(vm, IIR) == 0x01, "clearing ETBEI withdraws THRE");

	/* Linux's UART_BUG_THRE probe: IER=THRI, IIR, IER=0, IER=THRI, IIR. */
	outb(vm, IER, 0x02);
	ok((inb(vm, IIR) & 0x0f) == 0x02, "8250 THRE probe: first IIR shows THRE");
	outb(vm, IER, 0x00);
	outb(vm, IER, 0x02);
	ok((inb(vm, IIR) & 0x0f) == 0x02, "8250 THRE probe: and again after re-enabling");
	outb(vm, IER, 0x00);
}

static void test_receive(struct vm *vm)
{
	char text[32];
	size_t n;

	outb(vm, IER, 0x01);
	ok(uart_input(vm, "ab", 2) == 1, "16450 mode holds one received byte");
	ok(inb(vm, IIR) == 0x04 && level(), "IIR: received data, IRQ 4 asserted");
	ok(inb(vm, LSR) == 0x61 && inb(vm, RBR) == 'a', "LSR.DR, then the byte");
	ok(inb(vm, IIR) == 0x01 && !level(), "reading RBR clears the interrupt");
	ok(uart_input(vm, "b", 1) == 1 && inb(vm, RBR) == 'b', "the rest comes once there is room");

	outb(vm, FCR, 0xc7);	/* FIFO on, both cleared, trigger 14 */
	ok(uart_input(vm, "123", 3) == 3 && inb(vm, IIR) == 0xcc && level(),
	   "below the trigger level: character timeout (0xcc)");
	ok(uart_input(vm, "45678901234567890", 17) == 13, "the FIFO takes 16 bytes in all");
	ok(inb(vm, IIR) == 0xc4, "at the trigger level: received data (0xc4)");
	for (n = 0; n < 16 && (inb(vm, LSR) & 0x01); n++)
		text[n] = (char)inb(vm, RBR);
	text[n] = '\0';
	ok(!strcmp(text, "1234567890123456"), "FIFO drains in order: %s", text);
	ok(inb(vm, IIR) == 0xc1 && !level(), "empty FIFO: no interrupt");
	outb(vm, FCR, 0x47);	/* trigger 4 */
	uart_input(vm, "wxyz", 4);
	ok(inb(vm, IIR) == 0xc4, "trigger level 4 reached with 4 bytes");
	outb(vm, FCR, 0x43);
	ok(!(inb(vm, LSR) & 0x01) && inb(vm, IIR) == 0xc1, "FCR bit 1 empties the receive FIFO");
	uart_input(vm, "q", 1);
	outb(vm, FCR, 0x00);
	ok(!(inb(vm, LSR) & 0x01) && inb(vm, IIR) == 0x01, "clearing FCR0 empties the FIFO, IIR bits 7-6 clear");
	outb(vm, FCR, 0x01);
	outb(vm, IER, 0x00);
}

static void test_priorities(struct vm *vm)
{
	outb(vm, FCR, 0x07);	/* FIFO on, trigger 1 */
	outb(vm, MCR, 0x19);	/* loopback, OUT2, DTR: CTS follows RTS, drops */
	for (int i = 0; i < 17; i++)
		outb(vm, RBR, (uint8_t)('a' + i));
	outb(vm, IER, 0x0f);
	ok(inb(vm, IIR) == 0xc6, "overrun with everything enabled: line status first (0xc6)");
	ok(inb(vm, LSR) == 0x63, "LSR: OE, DR");
	ok(inb(vm, IIR) == 0xc4, "then received data");
	while (inb(vm, LSR) & 0x01)
		inb(vm, RBR);
	ok(inb(vm, IIR) == 0xc2, "then THR empty");
	ok(inb(vm, IIR) == 0xc0, "then modem status (loopback changed the inputs)");
	ok(inb(vm, MSR) == 0xa1 && inb(vm, IIR) == 0xc1, "MSR: DCD, DSR, delta CTS; reading clears it");
	outb(vm, MCR, 0x1b);	/* raise RTS */
	ok(inb(vm, IIR) == 0xc0 && inb(vm, MSR) == 0xb1, "loopback: raising RTS sets CTS and DCTS");
	ok(uart_input(vm, "zz", 2) == 2 && !(inb(vm, LSR) & 0x01),
	   "input is discarded in loopback (the line is disconnected)");
	outb(vm, IER, 0x00);
	outb(vm, MCR, 0x0b);
	inb(vm, MSR);
	ok(inb(vm, IIR) == 0xc1 && !level(), "all quiet again");
}

static void test_state(struct vm *vm)
{
	static uint8_t buf[4096];
	struct vm *other = dev_vm_new(2);
	struct dev_state st;

	if (!other)
		return;
	dev_vm_fake_irqchip(other);
	outb(vm, IER, 0x03);
	uart_input(vm, "s", 1);
	dev_state_init(&st, DEV_STATE_SAVE, buf, sizeof(buf));
	ok(!device_sync_all(vm, &st), "state with pending interrupts saved");
	irq_record_reset();
	dev_state_init(&st, DEV_STATE_LOAD, buf, st.pos);
	ok(!device_sync_all(other, &st) && level(), "loaded: the other VM's IRQ 4 is asserted");
	ok(inb(other, IIR) == 0xc4 && inb(other, RBR) == 's' && inb(other, IIR) == 0xc2,
	   "loaded: received data, then THRE, as saved");
	vm_destroy(other, 0);
}

/* What the UART last asked of the module, per port (-1: never). */
static int fast_flags[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
static int fast_value[8];

static void fast_sink(struct vm *vm, uint16_t port, unsigned int flags, uint8_t in_value)
{
	(void)vm;
	if (port >= COM1 && port < COM1 + 8) {
		fast_flags[port - COM1] = (int)flags;
		fast_value[port - COM1] = in_value;
	}
}

static bool thr_fast(void)
{
	return fast_flags[0] == VIREO_PIO_FAST_OUT;
}

/* LSR is a fast IN port answering exactly what a read returns now. */
static bool lsr_fast_is(struct vm *vm, int value)
{
	return fast_flags[5] == VIREO_PIO_FAST_IN && fast_value[5] == value &&
	       inb(vm, LSR) == value;
}

static void test_fast_ports(void)
{
	struct vm *vm;
	bool others = true;

	pio_fast_set_test_sink(fast_sink);
	vm = dev_vm_new(1);
	if (!ok(vm != NULL, "fast ports: a fresh VM"))
		return;
	ok(thr_fast() && lsr_fast_is(vm, 0x60), "at reset THR is a fast OUT port, LSR answers 0x60");
	for (int i = 1; i < 8; i++)
		others &= fast_flags[i] == -1 || i == 5;
	ok(others, "no other UART port is ever made fast");

	outb(vm, LCR, 0x83);
	ok(fast_flags[0] == 0, "DLAB set: THR is the divisor latch, an ordinary port");
	outb(vm, LCR, 0x03);
	ok(thr_fast(), "DLAB clear: fast again");
	outb(vm, IER, 0x02);
	ok(fast_flags[0] == 0, "ETBEI set: a THR write re-arms THRE, so it must exit");
	outb(vm, IER, 0x01);
	ok(thr_fast(), "ETBEI clear (receive interrupts only): fast again");
	outb(vm, MCR, 0x10);
	ok(fast_flags[0] == 0, "loopback: THR bytes go to the receiver, so they exit");
	outb(vm, MCR, 0x0b);
	ok(thr_fast(), "loopback off: fast again");

	ok(uart_input(vm, "k", 1) == 1 && lsr_fast_is(vm, 0x61), "a received byte: LSR answers DR");
	ok(inb(vm, RBR) == 'k' && lsr_fast_is(vm, 0x60), "read: DR gone from the answer");
	outb(vm, MCR, 0x1b);	/* loopback, 16450 mode: the second byte overruns */
	outb(vm, RBR, 'x');
	outb(vm, RBR, 'y');
	ok(fast_flags[5] == 0, "overrun latched: LSR exits (reading it clears OE)");
	ok(inb(vm, LSR) == 0x63 && lsr_fast_is(vm, 0x61), "OE read and cleared: fast again with DR");
	ok(inb(vm, RBR) == 'y' && lsr_fast_is(vm, 0x60), "the overrunning byte replaced the first");
	outb(vm, MCR, 0x0b);
	ok(thr_fast(), "loopback off: fast again");
	vm_destroy(vm, 0);
	pio_fast_set_test_sink(NULL);
}

/* A replayed run of THR writes: one console write, or byte by byte. */
static void test_write_bytes(void)
{
	struct vm *vm = dev_vm_new(1);
	char out[16] = "";
	uint64_t start, end, before;
	size_t n;

	if (!ok(vm != NULL, "write_bytes: a fresh VM"))
		return;
	before = console_total(&vm->console);
	io_bus_write_bytes(&vm->pio, RBR, (const uint8_t *)"hello", 5);
	n = console_read(&vm->console, before, out, sizeof(out) - 1, &start, &end);
	ok(n == 5 && !memcmp(out, "hello", 5), "a burst of THR writes reaches the console whole");
	outb(vm, FCR, 0x01);
	outb(vm, MCR, 0x10);
	io_bus_write_bytes(&vm->pio, RBR, (const uint8_t *)"abc", 3);
	ok(console_total(&vm->console) == before + 5, "in loopback the burst does not print");
	ok(inb(vm, RBR) == 'a' && inb(vm, RBR) == 'b' && inb(vm, RBR) == 'c' &&
	   !(inb(vm, LSR) & 1), "it goes to the receive FIFO byte by byte, in order");
	vm_destroy(vm, 0);
}

int main(void)
{
	struct vm *vm;

	log_init("test_uart_irq", getenv("VERBOSE") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	tap_start();
	if (!dev_vm_setup())
		return 1;
	vm = dev_vm_new(2);
	if (!ok(vm != NULL, "detached VM with the UART"))
		return tap_done();
	ok(uart_input(vm, "", 0) == 0, "empty input is fine");
	dev_vm_fake_irqchip(vm);
	test_thre(vm);
	test_receive(vm);
	test_priorities(vm);
	test_state(vm);
	vm_destroy(vm, 0);
	test_fast_ports();
	test_write_bytes();
	irq_set_test_sink(NULL);
	dev_vm_teardown();
	return tap_done();
}
