// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the legacy platform devices: 8259A PICs and ELCR,
 * 8254 PIT and port 0x61 (on a fake clock, plus channel 0's interrupts on
 * the real one), MC146818 RTC/CMOS (on a fake wall clock), the i8042 and
 * the single ports 0x80, 0xed and 0x92.  Everything goes through the port
 * bus of a detached VM, as a guest's IN and OUT would.
 */
#include <inttypes.h>
#include <time.h>

#include "dev_vm.h"
#include "log.h"
#include "pit_8254.h"
#include "rtc_mc146818.h"
#include "tap.h"

static int64_t fake_mono_ns, fake_wall_ns;
static int64_t (*real_mono)(void), (*real_wall)(void);

static int64_t fake_mono(void)
{
	return fake_mono_ns;
}

static int64_t fake_wall(void)
{
	return fake_wall_ns;
}

/* The first nanosecond at which the PIT has counted 'ticks'. */
static int64_t pit_at(uint64_t ticks)
{
	return (int64_t)((ticks * 1000000000ULL + PIT_HZ - 1) / PIT_HZ);
}

static uint16_t pit_latch_read(struct vm *vm, unsigned int ch)
{
	uint8_t lo, hi;

	outb(vm, 0x43, (uint8_t)(ch << 6));	/* counter latch */
	lo = inb(vm, 0x40 + ch);
	hi = inb(vm, 0x40 + ch);
	return (uint16_t)(lo | hi << 8);
}

static uint8_t pit_status(struct vm *vm, unsigned int ch)
{
	outb(vm, 0x43, (uint8_t)(0xe0 | 2u << ch));	/* read-back status only */
	return inb(vm, 0x40 + ch);
}

static void test_pic(void)
{
	struct vm *vm = dev_vm_new(2);
	uint8_t buf[64];
	size_t len = 0;

	if (!ok(vm != NULL, "PIC: detached VM"))
		return;
	ok(inb(vm, 0x21) == 0xff && inb(vm, 0xa1) == 0xff, "PIC: both IMRs masked at reset");

	/* Linux's init_8259A(): ICW1-4 on both, then the masks. */
	outb(vm, 0x20, 0x11);
	outb(vm, 0x21, 0x30);
	outb(vm, 0x21, 0x04);
	outb(vm, 0x21, 0x01);
	outb(vm, 0xa0, 0x11);
	outb(vm, 0xa1, 0x38);
	outb(vm, 0xa1, 0x02);
	outb(vm, 0xa1, 0x01);
	ok(inb(vm, 0x21) == 0x00 && inb(vm, 0xa1) == 0x00,
	   "PIC: ICW1 clears the IMR and ICW2-4 do not land in it");
	outb(vm, 0x21, 0xfb);
	outb(vm, 0xa1, 0xff);
	ok(inb(vm, 0x21) == 0xfb && inb(vm, 0xa1) == 0xff, "PIC: OCW1 masks read back");
	ok(inb(vm, 0x20) == 0x00 && inb(vm, 0xa0) == 0x00, "PIC: IRR reads 0 (nothing drives the PIC)");

	/* Single mode without ICW4: the write after ICW2 is OCW1. */
	outb(vm, 0xa0, 0x12);
	outb(vm, 0xa1, 0x70);
	outb(vm, 0xa1, 0xaa);
	ok(inb(vm, 0xa1) == 0xaa, "PIC: single mode skips ICW3 and ICW4");

	/* Put requests and an in-service level into the master. */
	ok(!dev_vm_sync_one(vm, "pic-8259", DEV_STATE_SAVE, buf, sizeof(buf), &len) && len == 28,
	   "PIC: state saved (%zu bytes)", len);
	buf[0] = 0x11;		/* IRR: IRQ 0 and 4 */
	buf[1] = 0x04;		/* ISR: IRQ 2 */
	ok(!dev_vm_sync_one(vm, "pic-8259", DEV_STATE_LOAD, buf, len, NULL), "PIC: state loaded");
	outb(vm, 0x20, 0x0a);
	ok(inb(vm, 0x20) == 0x11, "PIC: OCW3 RR selects IRR");
	outb(vm, 0x20, 0x0b);
	ok(inb(vm, 0x20) == 0x04, "PIC: OCW3 RR|RIS selects ISR");
	ok(inb(vm, 0x20) == 0x04, "PIC: the selection sticks");
	outb(vm, 0x20, 0x20);
	ok(inb(vm, 0x20) == 0x00, "PIC: non-specific EOI clears the in-service level");
	outb(vm, 0x21, 0x00);	/* unmask all: a poll honours the IMR */
	outb(vm, 0x20, 0x0c);
	ok(inb(vm, 0x20) == 0x80, "PIC: poll answers IRQ 0 first");
	ok(inb(vm, 0x20) == 0x01, "PIC: a poll acknowledges (ISR now IRQ 0; reads ISR again)");
	outb(vm, 0x20, 0x0a);
	ok(inb(vm, 0x20) == 0x10, "PIC: IRR keeps IRQ 4");
	outb(vm, 0x20, 0x60);
	outb(vm, 0x20, 0x0b);
	ok(inb(vm, 0x20) == 0x00, "PIC: specific EOI 0 clears ISR");
	buf[0] = 0x11;
	buf[1] = 0;
	dev_vm_sync_one(vm, "pic-8259", DEV_STATE_LOAD, buf, len, NULL);
	outb(vm, 0x21, 0x00);
	outb(vm, 0x20, 0xc3);	/* set priority: IRQ 3 lowest, so 4 is highest */
	outb(vm, 0x20, 0x0c);
	ok(inb(vm, 0x20) == 0x84, "PIC: OCW2 set-priority rotates the order (poll gives 4)");
	outb(vm, 0x21, 0xff);
	outb(vm, 0x20, 0x0c);
	ok(inb(vm, 0x20) == 0x00, "PIC: masked requests do not poll");
	buf[7] = 9;		/* init_step out of range */
	ok(dev_vm_sync_one(vm, "pic-8259", DEV_STATE_LOAD, buf, len, NULL) == -EINVAL,
	   "PIC: corrupt state refused");

	outb(vm, 0x4d0, 0xff);
	outb(vm, 0x4d1, 0xff);
	ok(inb(vm, 0x4d0) == 0xf8 && inb(vm, 0x4d1) == 0xde,
	   "ELCR: IRQ 0-2, 8 and 13 are edge-only, the rest read back");
	vm_destroy(vm, 0);
}

static void test_pit(void)
{
	struct vm *vm = dev_vm_new(2);

	if (!ok(vm != NULL, "PIT: detached VM"))
		return;
	pit_clock_ns = fake_mono;
	fake_mono_ns = 5000000;

	/* Channel 0, LSB then MSB, mode 2, count 100. */
	outb(vm, 0x43, 0x34);
	ok((pit_status(vm, 0) & 0x7f) == 0x74, "PIT: status after the control word: null count, lo/hi, mode 2");
	outb(vm, 0x40, 100);
	outb(vm, 0x40, 0);
	ok(pit_status(vm, 0) == 0xb4, "PIT: count loaded: OUT high, null count clear");
	ok(pit_latch_read(vm, 0) == 100, "PIT mode 2: starts at the count");
	fake_mono_ns += pit_at(10);
	ok(pit_latch_read(vm, 0) == 90, "PIT mode 2: 10 ticks later reads 90");
	fake_mono_ns = 5000000 + pit_at(99);
	ok(pit_latch_read(vm, 0) == 1 && !(pit_status(vm, 0) & 0x80), "PIT mode 2: at 1, OUT low");
	fake_mono_ns = 5000000 + pit_at(100);
	ok(pit_latch_read(vm, 0) == 100 && (pit_status(vm, 0) & 0x80), "PIT mode 2: reloads, OUT high");
	fake_mono_ns = 5000000 + pit_at(1234);
	ok(pit_latch_read(vm, 0) == 66, "PIT mode 2: periodic (tick 1234 reads 66)");
	outb(vm, 0x43, 0x00);
	fake_mono_ns += pit_at(7);
	ok(inb(vm, 0x40) == 66 && inb(vm, 0x40) == 0, "PIT: a latched count holds while time passes");
	outb(vm, 0x43, 0x00);
	outb(vm, 0x43, 0x00);	/* a second latch before reading is ignored */
	fake_mono_ns += pit_at(3);
	ok(pit_latch_read(vm, 0) == 59, "PIT: the first of two latches wins");
	ok(inb(vm, 0x40) == 56 && inb(vm, 0x40) == 0, "PIT: unlatched reads are live, LSB then MSB");
	ok(inb(vm, 0x43) == 0xff, "PIT: the control port reads 0xff");

	/* Channel 2, gate from port 0x61, mode 3 (square wave), count 1000. */
	outb(vm, 0x61, 0x01);
	fake_mono_ns = 7000000;
	outb(vm, 0x43, 0xb6);
	outb(vm, 0x42, 1000 & 0xff);
	outb(vm, 0x42, 1000 >> 8);
	ok((inb(vm, 0x61) & 0x21) == 0x21, "port 0x61: gate 2 reads back, OUT2 high");
	fake_mono_ns = 7000000 + pit_at(100);
	ok(pit_latch_read(vm, 2) == 800, "PIT mode 3: counts down by two");
	fake_mono_ns = 7000000 + pit_at(499);
	ok(inb(vm, 0x61) & 0x20, "PIT mode 3: OUT2 high for the first half");
	fake_mono_ns = 7000000 + pit_at(500);
	ok(!(inb(vm, 0x61) & 0x20), "PIT mode 3: OUT2 low for the second half");
	fake_mono_ns = 7000000 + pit_at(1000);
	ok(inb(vm, 0x61) & 0x20, "PIT mode 3: OUT2 high again after the period");
	fake_mono_ns = 7000000 + pit_at(1700);
	outb(vm, 0x61, 0x00);
	ok(inb(vm, 0x61) & 0x20, "PIT mode 3: gate low forces OUT2 high");

	/* Linux's TSC calibration: gate high, mode 0 on channel 2, poll OUT2. */
	outb(vm, 0x61, (inb(vm, 0x61) & ~0x02) | 0x01);
	fake_mono_ns = 9000000;
	outb(vm, 0x43, 0xb0);
	ok(!(inb(vm, 0x61) & 0x20), "PIT mode 0: OUT2 low once programmed");
	outb(vm, 0x42, 50);
	outb(vm, 0x42, 0);
	fake_mono_ns = 9000000 + pit_at(20);
	outb(vm, 0x61, 0x00);	/* gate low: counting stops */
	fake_mono_ns = 9000000 + pit_at(200);
	ok(pit_latch_read(vm, 2) == 30 && !(inb(vm, 0x61) & 0x20), "PIT mode 0: a low gate suspends counting");
	outb(vm, 0x61, 0x01);
	fake_mono_ns += pit_at(29);
	ok(!(inb(vm, 0x61) & 0x20), "PIT mode 0: resumes where it stopped (1 tick to go)");
	fake_mono_ns += pit_at(1);
	ok(inb(vm, 0x61) & 0x20, "PIT mode 0: OUT2 rises at terminal count");
	fake_mono_ns += pit_at(5);
	ok(pit_latch_read(vm, 2) == 0xfffb && (inb(vm, 0x61) & 0x20),
	   "PIT mode 0: the counter wraps, OUT2 stays high");

	/* LSB-only access, and BCD counting. */
	outb(vm, 0x43, 0x90);
	outb(vm, 0x42, 0x40);
	fake_mono_ns += pit_at(0x10);
	ok(inb(vm, 0x42) == 0x30 && inb(vm, 0x42) == 0x30, "PIT: LSB-only access reads the LSB every time");
	outb(vm, 0x43, 0x31);
	outb(vm, 0x40, 0x34);
	outb(vm, 0x40, 0x12);
	fake_mono_ns += pit_at(34);
	ok(pit_latch_read(vm, 0) == 0x1200 && (pit_status(vm, 0) & 0x01), "PIT: BCD counting (1234 - 34 = 1200)");
	outb(vm, 0x43, 0x3f);	/* mode 7 is mode 3 */
	ok((pit_status(vm, 0) & 0x0e) == 0x06, "PIT: mode 7 reads back as mode 3");

	fake_mono_ns = 0;
	ok(!(inb(vm, 0x61) & 0x10), "port 0x61: refresh bit low ...");
	fake_mono_ns = 15085;
	ok(inb(vm, 0x61) & 0x10, "port 0x61: ... toggles after 15.085 us");
	outb(vm, 0x61, 0xff);
	ok((inb(vm, 0x61) & 0xcf) == 0x0f, "port 0x61: bits 0-3 writable, 6-7 read 0");
	pit_clock_ns = real_mono;
	vm_destroy(vm, 0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Channel 0 on the real clock with a fake irqchip: edges on pin 2.  Upper
 * bounds follow the time that really passed: on a loaded machine a 100 ms
 * sleep can last much longer, and a 1 kHz timer then rightly fires more.
 */
static void test_pit_irq(void)
{
	struct vm *vm = dev_vm_new(2);
	double t0, elapsed;
	int rises;

	if (!vm)
		return;
	irq_record_reset();
	outb(vm, 0x43, 0x34);
	outb(vm, 0x40, 0xa9);
	outb(vm, 0x40, 0x04);	/* 1193: 1 ms */
	ok(atomic_load(&irq_rises_of[2]) == 0, "PIT IRQ: nothing without an irqchip");
	dev_vm_fake_irqchip(vm);
	t0 = mono_ms();
	outb(vm, 0x43, 0x34);
	outb(vm, 0x40, 0xa9);
	outb(vm, 0x40, 0x04);
	sleep_ms(100);
	rises = atomic_load(&irq_rises_of[2]);
	elapsed = mono_ms() - t0;
	ok(rises >= 20 && rises <= elapsed + 10,
	   "PIT IRQ: mode 2 at 1 kHz: %d edges on pin 2 in %.0f ms", rises, elapsed);
	ok(atomic_load(&irq_rises_of[0]) == 0, "PIT IRQ: ISA IRQ 0 is I/O APIC pin 2, not 0");
	outb(vm, 0x43, 0x34);
	outb(vm, 0x40, 2);
	outb(vm, 0x40, 0);
	irq_record_reset();
	t0 = mono_ms();
	sleep_ms(50);
	rises = atomic_load(&irq_rises_of[2]);
	elapsed = mono_ms() - t0;
	ok(rises > 0 && rises <= elapsed * 10 + 10,
	   "PIT IRQ: count 2 is capped at 100 us: %d edges in %.0f ms", rises, elapsed);
	outb(vm, 0x43, 0x30);	/* mode 0, no count yet: stopped */
	sleep_ms(5);
	irq_record_reset();
	sleep_ms(20);
	ok(atomic_load(&irq_rises_of[2]) == 0, "PIT IRQ: a control word stops the interrupts");
	outb(vm, 0x40, 0x4d);
	outb(vm, 0x40, 0x17);	/* 5965: 5 ms one-shot */
	sleep_ms(40);
	ok(atomic_load(&irq_rises_of[2]) == 1, "PIT IRQ: mode 0 fires once");
	device_pause_all(vm);
	outb(vm, 0x43, 0x34);
	outb(vm, 0x40, 0xa9);
	outb(vm, 0x40, 0x04);
	irq_record_reset();
	sleep_ms(20);
	ok(atomic_load(&irq_rises_of[2]) == 0, "PIT IRQ: none while the VM is paused");
	device_resume_all(vm);
	sleep_ms(20);
	ok(atomic_load(&irq_rises_of[2]) > 0, "PIT IRQ: back after resume");
	vm_destroy(vm, 0);	/* joins the timer thread */
	irq_set_test_sink(NULL);
}

static uint8_t cmos(struct vm *vm, uint8_t index)
{
	outb(vm, 0x70, index);
	return inb(vm, 0x71);
}

static void cmos_write(struct vm *vm, uint8_t index, uint8_t value)
{
	outb(vm, 0x70, index);
	outb(vm, 0x71, value);
}

static void test_rtc(void)
{
	struct tm when = { .tm_year = 124, .tm_mon = 1, .tm_mday = 29,
			   .tm_hour = 23, .tm_min = 59, .tm_sec = 58 };
	int64_t base = (int64_t)timegm(&when) * 1000000000LL;
	struct vm *vm;
	uint16_t sum = 0;

	rtc_clock_ns = fake_wall;
	fake_wall_ns = base;
	vm = dev_vm_new(64);
	if (!ok(vm != NULL, "RTC: detached VM with 64 MiB"))
		return;
	ok(cmos(vm, 0x0b) == 0x02 && cmos(vm, 0x0a) == 0x26 && cmos(vm, 0x0d) == 0x80,
	   "RTC: B 24-hour BCD, A 32.768 kHz / 1024 Hz, D valid");
	ok(cmos(vm, 0) == 0x58 && cmos(vm, 2) == 0x59 && cmos(vm, 4) == 0x23,
	   "RTC BCD: 23:59:58");
	ok(cmos(vm, 7) == 0x29 && cmos(vm, 8) == 0x02 && cmos(vm, 9) == 0x24 &&
	   cmos(vm, 0x32) == 0x20 && cmos(vm, 6) == 5,
	   "RTC BCD: Thursday 29 February 2024 (century byte 0x20)");
	cmos_write(vm, 0x0b, 0x00);
	ok(cmos(vm, 4) == 0x91, "RTC 12-hour: 11 PM reads 0x91");
	cmos_write(vm, 0x0b, 0x06);
	ok(cmos(vm, 0) == 58 && cmos(vm, 4) == 23 && cmos(vm, 9) == 24, "RTC binary: 58 s, 23 h, year 24");
	fake_wall_ns = base + 2000000000LL;
	ok(cmos(vm, 0) == 0 && cmos(vm, 4) == 0 && cmos(vm, 7) == 1 && cmos(vm, 8) == 3,
	   "RTC: two seconds later it is 1 March, 00:00:00");

	fake_wall_ns = base + 2999800000LL;
	ok(cmos(vm, 0x0a) & 0x80, "RTC: UIP set in the last 244 us of a second");
	fake_wall_ns = base + 3000000000LL;
	ok(!(cmos(vm, 0x0a) & 0x80), "RTC: UIP clear once the second turned");

	/* Set the clock as Linux's mc146818_set_time does. */
	cmos_write(vm, 0x0b, 0x86);
	cmos_write(vm, 4, 7);
	cmos_write(vm, 2, 30);
	cmos_write(vm, 0, 0);
	cmos_write(vm, 9, 30);
	fake_wall_ns += 10000000000LL;
	ok(cmos(vm, 4) == 7 && cmos(vm, 0) == 0, "RTC: SET freezes the time being written");
	cmos_write(vm, 0x0b, 0x06);
	fake_wall_ns += 5000000000LL;
	ok(cmos(vm, 4) == 7 && cmos(vm, 2) == 30 && cmos(vm, 0) == 5 && cmos(vm, 9) == 30,
	   "RTC: clearing SET starts the clock from the written time (2030, 07:30:05)");

	cmos(vm, 0x0c);
	ok(cmos(vm, 0x0c) == 0x00, "RTC: C cleared by reading");
	fake_wall_ns += 1000000000LL;
	ok(cmos(vm, 0x0c) == 0x50, "RTC: C has UF and PF after a second, no IRQF");
	cmos_write(vm, 0x0b, 0x16);
	fake_wall_ns += 1000000000LL;
	ok((cmos(vm, 0x0c) & 0x90) == 0x90, "RTC: with UIE, IRQF too");
	cmos_write(vm, 0x0c, 0xff);
	cmos_write(vm, 0x0d, 0x00);
	ok(cmos(vm, 0x0d) == 0x80, "RTC: D is read-only");

	outb(vm, 0x70, 0x8d);	/* NMI disabled, register D */
	ok(inb(vm, 0x71) == 0x80 && inb(vm, 0x70) == 0xff,
	   "RTC: index bit 7 (NMI disable) is not part of the index; 0x70 reads 0xff");
	ok(cmos(vm, 0x10) == 0 && cmos(vm, 0x12) == 0 && cmos(vm, 0x14) == 0x02,
	   "CMOS: no floppy, no fixed disk, FPU");
	ok(cmos(vm, 0x15) == 0x80 && cmos(vm, 0x16) == 0x02, "CMOS: 640 KiB base memory");
	ok(cmos(vm, 0x17) == 0x00 && cmos(vm, 0x18) == 0xfc && cmos(vm, 0x30) == 0x00 &&
	   cmos(vm, 0x31) == 0xfc, "CMOS: 63 MiB extended memory (0xfc00 KiB)");
	ok(cmos(vm, 0x34) == 0x00 && cmos(vm, 0x35) == 0x03 && cmos(vm, 0x5b) == 0 &&
	   cmos(vm, 0x5f) == 0, "CMOS: 48 MiB above 16 MiB (0x300 x 64 KiB), none above 4 GiB, 1 CPU");
	for (uint8_t i = 0x10; i <= 0x2d; i++)
		sum += cmos(vm, i);
	ok(sum == (cmos(vm, 0x2e) << 8 | cmos(vm, 0x2f)), "CMOS: checksum of 0x10-0x2d at 0x2e");
	cmos_write(vm, 0x40, 0x5a);
	ok(cmos(vm, 0x40) == 0x5a, "CMOS: RAM bytes keep what is written");
	vm_destroy(vm, 0);
	rtc_clock_ns = real_wall;
}

static void test_i8042(void)
{
	struct vm *vm = dev_vm_new(2);

	if (!ok(vm != NULL, "i8042: detached VM"))
		return;
	ok(inb(vm, 0x64) == 0x14, "i8042: status: not inhibited, SYS, empty");
	outb(vm, 0x64, 0xaa);
	ok(inb(vm, 0x64) == 0x1d, "i8042: a reply waits (OBF, last write a command)");
	ok(inb(vm, 0x60) == 0x55 && !(inb(vm, 0x64) & 0x01), "i8042: 0xaa self test passes (0x55)");
	outb(vm, 0x64, 0xab);
	ok(inb(vm, 0x60) == 0x00, "i8042: 0xab keyboard interface test passes");
	outb(vm, 0x64, 0xa9);
	ok(inb(vm, 0x60) == 0x02, "i8042: 0xa9 reports no mouse port");
	outb(vm, 0x64, 0x20);
	ok(inb(vm, 0x60) == 0x45, "i8042: command byte 0x45");
	outb(vm, 0x64, 0x60);
	outb(vm, 0x60, 0x70);
	outb(vm, 0x64, 0x20);
	ok(inb(vm, 0x60) == 0x70 && !(inb(vm, 0x64) & 0x04), "i8042: 0x60 writes the command byte (SYS follows)");
	outb(vm, 0x64, 0xae);
	outb(vm, 0x64, 0x20);
	ok(inb(vm, 0x60) == 0x60, "i8042: 0xae enables the keyboard port");
	outb(vm, 0x60, 0xf2);
	ok(inb(vm, 0x60) == 0xfe, "i8042: bytes for the keyboard are answered 0xfe");
	ok(inb(vm, 0x60) == 0xfe && !(inb(vm, 0x64) & 0x01), "i8042: an empty buffer rereads the last byte");
	outb(vm, 0x64, 0xd0);
	ok(inb(vm, 0x60) == 0x03, "i8042: output port: running, A20 on");

	/* IRQ 1: one edge per byte, like the single output buffer. */
	dev_vm_fake_irqchip(vm);
	irq_record_reset();
	outb(vm, 0x64, 0x60);
	outb(vm, 0x60, 0x47);
	outb(vm, 0x60, 0xf2);
	outb(vm, 0x60, 0xf5);
	ok(atomic_load(&irq_level_of[1]) && atomic_load(&irq_rises_of[1]) == 1,
	   "i8042: IRQ 1 raised for keyboard data");
	inb(vm, 0x60);
	ok(atomic_load(&irq_level_of[1]) && atomic_load(&irq_rises_of[1]) == 2,
	   "i8042: reading one byte makes a new edge for the next");
	inb(vm, 0x60);
	ok(!atomic_load(&irq_level_of[1]), "i8042: IRQ 1 dropped once empty");
	irq_set_test_sink(NULL);

	ok(!atomic_load(&vm->stop_requested), "i8042: no reset so far");
	outb(vm, 0x64, 0xfe);
	ok(atomic_load(&vm->stop_requested) && !strcmp(vm->stop_reason, "reset requested by guest"),
	   "i8042: 0xfe pulses reset: VM stop '%s'", vm->stop_reason);
	vm_destroy(vm, 0);

	vm = dev_vm_new(2);
	if (!vm)
		return;
	outb(vm, 0x64, 0xd1);
	outb(vm, 0x60, 0x03);
	ok(!atomic_load(&vm->stop_requested), "i8042: output port write keeping reset high is harmless");
	outb(vm, 0x64, 0xd1);
	outb(vm, 0x60, 0x02);
	ok(atomic_load(&vm->stop_requested), "i8042: output port bit 0 low resets");
	vm_destroy(vm, 0);
}

static void test_legacy_ports(void)
{
	struct vm *vm = dev_vm_new(2);

	if (!ok(vm != NULL, "ports: detached VM"))
		return;
	outb(vm, 0x80, 0x42);
	ok(inb(vm, 0x80) == 0x42, "port 0x80 keeps the last POST code");
	outb(vm, 0xed, 0x42);
	ok(inb(vm, 0xed) == 0xff, "port 0xed ignores writes");
	ok(inb(vm, 0x92) == 0x02, "port 0x92: A20 on");
	outb(vm, 0x92, 0x00);
	ok(inb(vm, 0x92) == 0x00 && !atomic_load(&vm->stop_requested), "port 0x92: A20 bit writable, no reset");
	outb(vm, 0x92, 0x01);
	ok(atomic_load(&vm->stop_requested), "port 0x92: bit 0 rising resets");
	vm_destroy(vm, 0);
}

/* Every device's state in one buffer, into a second VM at the same time. */
static void test_round_trip(void)
{
	static uint8_t buf[4096];
	struct vm *vm = dev_vm_new(2), *other = dev_vm_new(2);
	struct dev_state st;
	int ret;

	if (!vm || !other)
		return;
	pit_clock_ns = fake_mono;
	rtc_clock_ns = fake_wall;
	fake_mono_ns = 1000;
	outb(vm, 0x21, 0x5a);
	outb(vm, 0x43, 0x34);
	outb(vm, 0x40, 0x10);
	outb(vm, 0x40, 0x27);
	fake_mono_ns += pit_at(1000);
	cmos_write(vm, 0x0b, 0x06);
	cmos_write(vm, 0x50, 0x77);
	outb(vm, 0x64, 0xaa);
	outb(vm, 0x80, 0x99);
	dev_state_init(&st, DEV_STATE_SAVE, buf, sizeof(buf));
	ret = device_sync_all(vm, &st);
	ok(!ret, "round trip: all devices saved (%zu bytes)", st.pos);
	dev_state_init(&st, DEV_STATE_LOAD, buf, st.pos);
	ok(!device_sync_all(other, &st), "round trip: loaded into another VM");
	ok(inb(other, 0x21) == 0x5a && pit_latch_read(other, 0) == 9000 && cmos(other, 0x50) == 0x77 &&
	   cmos(other, 0x0b) == 0x06 && inb(other, 0x60) == 0x55 && inb(other, 0x80) == 0x99,
	   "round trip: PIC mask, PIT count, CMOS, i8042 buffer and POST code carried over");
	vm_destroy(vm, 0);
	vm_destroy(other, 0);
	pit_clock_ns = real_mono;
	rtc_clock_ns = real_wall;
}

/*
 * Guest-controlled input never breaks a device: random accesses to every
 * legacy port, then random saved states (each either loads or is refused
 * with -EINVAL), then accesses again.  Run under ASan/UBSan in CI.
 */
static void test_random_io(void)
{
	static const uint16_t ports[] = {
		0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x43, 0x61,
		0x70, 0x71, 0x60, 0x64, 0x80, 0xed, 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc,
		0x3fd, 0x3fe, 0x3ff,
	};
	static uint8_t buf[2048];
	struct vm *vm = dev_vm_new(2);
	unsigned int seed = 12345, refused = 0, loaded = 0;
	struct dev_state st;

	if (!vm)
		return;
	dev_vm_fake_irqchip(vm);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 100000; i++) {
			uint16_t port = ports[rand_r(&seed) % (sizeof(ports) / sizeof(ports[0]))];

			if (rand_r(&seed) & 1)
				inb(vm, port);
			else if (port == 0x43 && (rand_r(&seed) & 1))
				outb(vm, port, 0x34);	/* keep channel 0 busy */
			else
				outb(vm, port, (uint8_t)rand_r(&seed));
		}
		for (int i = 0; i < 2000; i++) {
			size_t len = (size_t)rand_r(&seed) % sizeof(buf);
			int ret;

			dev_state_init(&st, DEV_STATE_SAVE, buf, sizeof(buf));
			device_sync_all(vm, &st);
			for (int j = rand_r(&seed) % 8; j >= 0; j--)
				buf[rand_r(&seed) % st.pos] = (uint8_t)rand_r(&seed);
			dev_state_init(&st, DEV_STATE_LOAD, buf, (i & 1) ? st.pos : len);
			ret = device_sync_all(vm, &st);
			if (ret == -EINVAL)
				refused++;
			else if (!ret)
				loaded++;
		}
	}
	ok(refused + loaded == 4000 && refused && loaded,
	   "random I/O and states: %u loaded, %u refused with EINVAL, no crash", loaded, refused);
	ok(vm_get_state(vm, NULL, 0) == VM_STATE_CREATED, "random I/O never crashed the VM");
	vm_destroy(vm, 0);
	irq_set_test_sink(NULL);
}

#define WALK_FAILED	(~0ULL)

static uint64_t walk(const struct vm *vm, uint64_t cr3, uint64_t gva)
{
	uint64_t gpa;

	return vm_guest_translate(vm, cr3, gva, &gpa) ? gpa : WALK_FAILED;
}

/* vm_guest_translate(): the long-mode walk vireod's hang reports use. */
static void test_page_walk(void)
{
	struct vm *vm = dev_vm_new(16);
	uint64_t gpa, v;

#define PTE(table, idx, val) \
	memcpy(vm->ram + (table) + (idx) * 8, &(uint64_t){ (val) }, 8)
	/* 4 KiB: PML4 0x1000 [511] -> PDPT 0x2000 [510] -> PD 0x3000 [8] -> PT 0x4000 [0] */
	PTE(0x1000, 511, 0x2000 | 3);
	PTE(0x2000, 510, 0x3000 | 3);
	PTE(0x3000, 8, 0x4000 | 3);
	PTE(0x4000, 0, 0x200000 | 3);
	/* 1 GiB: PML4 [273] -> PDPT 0x5000 [0], PS, frame 0 */
	PTE(0x1000, 273, 0x5000 | 3);
	PTE(0x5000, 0, 0x80 | 3);
	/* 2 MiB: PML4 [0] -> PDPT 0x6000 [0] -> PD 0x7000 [1], PS, frame 0x400000 (PAT bit 12 set) */
	PTE(0x1000, 0, 0x6000 | 3);
	PTE(0x6000, 0, 0x7000 | 3);
	PTE(0x7000, 1, 0x400000 | 0x1000 | 0x80 | 3);
	/* A table outside RAM. */
	PTE(0x1000, 1, 0x40000000ULL | 3);
#undef PTE
	gpa = walk(vm, 0x1000, 0xffffffff81000abcULL);
	ok(gpa == 0x200abc, "4 KiB page: 0xffffffff81000abc -> %#" PRIx64, gpa);
	gpa = walk(vm, 0x1000 | 0x18, 0xffff888000123456ULL);
	ok(gpa == 0x123456, "1 GiB page (CR3 flag bits ignored) -> %#" PRIx64, gpa);
	gpa = walk(vm, 0x1000, 0x201234);
	ok(gpa == 0x401234, "2 MiB page, its PAT bit not taken as address -> %#" PRIx64, gpa);
	ok(walk(vm, 0x1000, 0xffffffff81001000ULL) == WALK_FAILED, "a PTE that is not present fails");
	ok(walk(vm, 0x1000, 0x8000000000ULL) == WALK_FAILED, "a table outside RAM fails");
	ok(!vm_guest_read_u64(vm, 0x1004, &v) && !vm_guest_read_u64(vm, 16 << 20, &v) &&
	   vm_guest_read_u64(vm, (16 << 20) - 8, &v),
	   "vm_guest_read_u64: unaligned and out-of-RAM reads fail, the last qword reads");
	vm_destroy(vm, 0);
}

int main(void)
{
	real_mono = pit_clock_ns;
	real_wall = rtc_clock_ns;
	log_init("test_platform", getenv("VERBOSE") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	tap_start();
	if (!dev_vm_setup())
		return 1;
	test_pic();
	test_pit();
	test_pit_irq();
	test_rtc();
	test_i8042();
	test_legacy_ports();
	test_round_trip();
	test_random_io();
	test_page_walk();
	dev_vm_teardown();
	return tap_done();
}
