// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the device side: I/O bus, 16550 UART, console ring,
 * device state save/load, and the vCPU exit dispatch table, driven through
 * a detached VM (vm_create_detached: anonymous RAM, exit records in plain
 * memory, no module).  Exit records are filled in as the module would.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errinfo.h"
#include "log.h"
#include "tap.h"
#include "vcpu.h"
#include "vm.h"

static char image_path[] = "/tmp/vireod-image-XXXXXX";

static struct vm *new_vm(void)
{
	struct vm_config cfg = {
		.name = "t", .memory_mib = 2, .vcpus = 2,
		.entry = VM_ENTRY_REAL, .load_address = 0x10000,
	};
	struct errinfo e = { 0 };
	struct vm *vm;

	strcpy(cfg.image, image_path);
	vm = vm_create_detached(&cfg, &e);
	if (!vm)
		printf("# vm_create_detached: %s\n", e.desc);
	return vm;
}

static struct vireo_run *run_of(struct vm *vm)
{
	struct vireo_run *run = vm->vcpus[0]->run;

	memset(run, 0, sizeof(*run));
	return run;
}

static enum vcpu_action io_exit(struct vm *vm, int dir, unsigned int size,
				uint16_t port, uint64_t *data)
{
	struct vireo_run *run = run_of(vm);
	enum vcpu_action action;

	run->exit_reason = VIREO_EXIT_IO;
	run->io.direction = (uint8_t)dir;
	run->io.size = (uint8_t)size;
	run->io.port = port;
	run->io.data = *data;
	action = vcpu_handle_exit(vm->vcpus[0]);
	*data = run->io.data;
	return action;
}

static uint64_t inb(struct vm *vm, uint16_t port)
{
	uint64_t v = 0xdeadbeef;

	io_exit(vm, VIREO_IO_IN, 1, port, &v);
	return v;
}

static void outb(struct vm *vm, uint16_t port, uint8_t value)
{
	uint64_t v = value;

	io_exit(vm, VIREO_IO_OUT, 1, port, &v);
}

static char *console_text(struct vm *vm)
{
	static char buf[CONSOLE_RING_BYTES + 1];
	uint64_t start, end;
	size_t n = console_read(&vm->console, 0, buf, CONSOLE_RING_BYTES, &start, &end);

	buf[n] = '\0';
	return buf;
}

static void test_uart(void)
{
	struct vm *vm = new_vm();
	uint64_t v;

	if (!ok(vm != NULL, "detached VM with the UART"))
		return;
	ok(inb(vm, 0x3fd) == 0x60, "LSR: transmitter empty, no data");
	ok(inb(vm, 0x3fa) == 0x01, "IIR: no interrupt pending");
	ok(inb(vm, 0x3fe) == 0xb0, "MSR: DCD, DSR, CTS");
	outb(vm, 0x3f8, 'H');
	outb(vm, 0x3f8, 'i');
	ok(!strcmp(console_text(vm), "Hi"), "THR writes reach the console");
	v = 'A' | ('B' << 8);
	io_exit(vm, VIREO_IO_OUT, 2, 0x3f8, &v);
	ok(!strcmp(console_text(vm), "HiA") && inb(vm, 0x3f9) == ('B' & 0x0f),
	   "16-bit OUT splits into THR and IER bytes (IER masked)");
	outb(vm, 0x3f9, 0);

	outb(vm, 0x3fb, 0x83);
	outb(vm, 0x3f8, 0x0c);
	outb(vm, 0x3f9, 0x00);
	ok(inb(vm, 0x3f8) == 0x0c && inb(vm, 0x3f9) == 0 && inb(vm, 0x3fb) == 0x83,
	   "DLAB: divisor latch written and read back");
	outb(vm, 0x3fb, 0x03);
	ok(!strcmp(console_text(vm), "HiA"), "divisor writes do not reach the console");
	outb(vm, 0x3fa, 0x07);
	ok(inb(vm, 0x3fa) == 0xc1, "FCR enable: IIR reports FIFOs on");
	outb(vm, 0x3ff, 0x5a);
	ok(inb(vm, 0x3ff) == 0x5a, "SCR keeps its value");

	outb(vm, 0x3fc, 0x10 | 0x02);	/* loopback + RTS */
	ok(inb(vm, 0x3fe) == 0x1a, "loopback: MSR mirrors MCR (RTS -> CTS; DSR, DCD drop: DDSR, DDCD)");
	outb(vm, 0x3f8, 'x');
	ok(inb(vm, 0x3fd) == 0x61 && inb(vm, 0x3f8) == 'x' && inb(vm, 0x3fd) == 0x60,
	   "loopback: byte goes to the receive FIFO, DR set then cleared");
	for (int i = 0; i < 20; i++)
		outb(vm, 0x3f8, (uint8_t)('a' + i));
	ok(inb(vm, 0x3fd) == 0x63 && inb(vm, 0x3fd) == 0x61, "loopback overflow: OE set once");
	for (int i = 0; i < 16; i++)
		v = inb(vm, 0x3f8);
	ok(v == 'a' + 15 && inb(vm, 0x3fd) == 0x60, "FIFO drains in order");
	outb(vm, 0x3fc, 0);
	ok(!strcmp(console_text(vm), "HiA"), "loopback output never reached the console");

	/* Save the UART, load it into a fresh VM: same registers. */
	{
		uint8_t buf[4096];
		struct dev_state st;
		struct vm *other = new_vm();

		outb(vm, 0x3fb, 0x1b);
		outb(vm, 0x3ff, 0x77);
		dev_state_init(&st, DEV_STATE_SAVE, buf, sizeof(buf));
		ok(!device_sync_all(vm, &st) && st.pos > 0, "device state saved (%zu bytes)", st.pos);
		dev_state_init(&st, DEV_STATE_LOAD, buf, st.pos);
		ok(other && !device_sync_all(other, &st) && inb(other, 0x3fb) == 0x1b &&
		   inb(other, 0x3ff) == 0x77 && inb(other, 0x3fa) == 0xc1,
		   "device state loaded into another VM");
		dev_state_init(&st, DEV_STATE_LOAD, buf, 5);
		ok(device_sync_all(other, &st) == -EINVAL, "truncated state rejected");
		buf[9] = 200;	/* rx_count */
		dev_state_init(&st, DEV_STATE_LOAD, buf, sizeof(buf));
		ok(device_sync_all(other, &st) == -EINVAL && inb(other, 0x3fd) == 0x60,
		   "corrupt FIFO count rejected, device left consistent");
		dev_state_init(&st, DEV_STATE_SAVE, buf, 3);
		ok(device_sync_all(vm, &st) == -ENOSPC, "save into a short buffer fails");
		vm_destroy(other, 0);
	}
	vm_destroy(vm, 0);
}

static void test_bus(void)
{
	struct vm *vm = new_vm();
	struct vireo_run *run;
	uint64_t v;

	if (!vm)
		return;
	v = 0;
	io_exit(vm, VIREO_IO_IN, 2, 0x2f8, &v);
	ok(v == 0xffff, "unclaimed port reads all-ones (16-bit)");
	v = 0;
	io_exit(vm, VIREO_IO_IN, 4, 0xcf8, &v);
	ok(v == 0xffffffff, "unclaimed port reads all-ones (32-bit)");
	v = 0x12;
	ok(io_exit(vm, VIREO_IO_OUT, 1, 0x2f8, &v) == VCPU_RESUME, "unclaimed port write ignored");
	v = 0;
	io_exit(vm, VIREO_IO_IN, 4, 0x3fd, &v);
	ok(v == (0xffu << 24 | 0x00u << 16 | 0xb0u << 8 | 0x60u),
	   "32-bit IN across the end of the UART: LSR, MSR, SCR, then an unclaimed byte");
	v = 0;
	io_exit(vm, VIREO_IO_IN, 2, 0xffff, &v);
	ok(v == 0xffff, "access at the top of the port space");

	ok(io_bus_register(&vm->pio, 0x3f8, 1, vm->pio.ranges[0].ops, NULL, "dup") == -EEXIST,
	   "overlapping registration refused");
	ok(io_bus_register(&vm->pio, 0xffff, 2, vm->pio.ranges[0].ops, NULL, "big") == -EINVAL,
	   "registration past the port space refused");

	run = run_of(vm);
	run->exit_reason = VIREO_EXIT_MMIO;
	run->mmio.gpa = 0xfee00000;
	run->mmio.len = 8;
	ok(vcpu_handle_exit(vm->vcpus[0]) == VCPU_RESUME && run->mmio.data == ~0ULL,
	   "unclaimed MMIO read returns all-ones");
	run->mmio.is_write = 1;
	run->mmio.len = 4;
	ok(vcpu_handle_exit(vm->vcpus[0]) == VCPU_RESUME, "unclaimed MMIO write ignored");

	run = run_of(vm);
	run->exit_reason = VIREO_EXIT_HYPERCALL;
	run->hypercall.nr = 42;
	ok(vcpu_handle_exit(vm->vcpus[0]) == VCPU_RESUME && run->hypercall.ret == (uint64_t)-1,
	   "unknown hypercall returns -1");
	run = run_of(vm);
	run->exit_reason = VIREO_EXIT_HLT;
	ok(vcpu_handle_exit(vm->vcpus[0]) == VCPU_HALT, "HLT ends the vCPU");
	run = run_of(vm);
	run->exit_reason = VIREO_EXIT_INTR;
	ok(vcpu_handle_exit(vm->vcpus[0]) == VCPU_RESUME, "INTR without a stop request resumes");
	ok(vm_get_state(vm, NULL, 0) == VM_STATE_CREATED, "none of that crashed the VM");
	vm_request_stop(vm, "test");
	ok(vm->vcpus[0]->run->immediate_exit == 1 && vm->vcpus[1]->run->immediate_exit == 1,
	   "a stop request sets immediate_exit on every vCPU");
	run = run_of(vm);
	run->exit_reason = VIREO_EXIT_INTR;
	ok(vcpu_handle_exit(vm->vcpus[0]) == VCPU_STOP, "INTR after a stop request stops");
	vm_destroy(vm, 0);
}

/* Each fatal exit crashes its VM with a report naming the problem. */
static void expect_fatal(void (*fill)(struct vireo_run *run), const char *needle,
			 const char *what)
{
	struct vm *vm = new_vm();
	enum vcpu_action action;
	char why[512];

	if (!vm)
		return;
	fill(run_of(vm));
	action = vcpu_handle_exit(vm->vcpus[0]);
	vm_get_state(vm, NULL, 0);
	snprintf(why, sizeof(why), "%s", vm->error);
	ok(action == VCPU_FATAL && vm->crashed && strstr(why, needle) &&
	   atomic_load(&vm->stop_requested), "%s: fatal, reported as '%s'", what, why);
	vm_destroy(vm, 0);
}

static void fill_shutdown(struct vireo_run *r)
{
	r->exit_reason = VIREO_EXIT_SHUTDOWN;
	r->rip = 0x1234;
	r->hw.hw_exit_code = 0x7f;
}

static void fill_fail_entry(struct vireo_run *r)
{
	r->exit_reason = VIREO_EXIT_FAIL_ENTRY;
	r->hw.hw_exit_code = (uint64_t)-1;
}

static void fill_unknown(struct vireo_run *r)
{
	r->exit_reason = VIREO_EXIT_UNKNOWN;
	r->hw.hw_exit_code = 0x400;
	r->hw.info1 = 0xabc;
}

static void fill_internal(struct vireo_run *r)
{
	r->exit_reason = VIREO_EXIT_INTERNAL_ERROR;
	r->internal.suberror = VIREO_INTERNAL_DECODE;
	r->internal.ninsn = 0xffffffff;	/* nonsense: must be clamped */
	r->internal.insn[0] = 0x0f;
	r->internal.insn[1] = 0x0b;
}

static void fill_internal_bad(struct vireo_run *r)
{
	r->exit_reason = VIREO_EXIT_INTERNAL_ERROR;
	r->internal.suberror = 77;
}

static void fill_bad_reason(struct vireo_run *r)
{
	r->exit_reason = 0xdead;
}

static void fill_none(struct vireo_run *r)
{
	r->exit_reason = VIREO_EXIT_NONE;
}

static void fill_bad_io_size(struct vireo_run *r)
{
	r->exit_reason = VIREO_EXIT_IO;
	r->io.size = 3;
	r->io.port = 0x3f8;
}

static void fill_bad_io_dir(struct vireo_run *r)
{
	r->exit_reason = VIREO_EXIT_IO;
	r->io.size = 1;
	r->io.direction = 9;
}

static void fill_bad_mmio_len(struct vireo_run *r)
{
	r->exit_reason = VIREO_EXIT_MMIO;
	r->mmio.len = 16;
}

static void test_fatal_exits(void)
{
	printf("# the crash reports on stderr from here on are expected\n");
	expect_fatal(fill_shutdown, "hw_exit_code 0x7f", "SHUTDOWN");
	expect_fatal(fill_fail_entry, "VM entry failed", "FAIL_ENTRY");
	expect_fatal(fill_unknown, "info1 0xabc", "UNKNOWN");
	expect_fatal(fill_internal, "insn 0f 0b 00", "INTERNAL_ERROR");
	expect_fatal(fill_internal_bad, "unknown suberror", "INTERNAL_ERROR with a bad suberror");
	expect_fatal(fill_bad_reason, "unexpected exit reason 57005", "out-of-range exit reason");
	expect_fatal(fill_none, "NONE", "exit reason NONE");
	expect_fatal(fill_bad_io_size, "malformed IO", "IO exit of size 3");
	expect_fatal(fill_bad_io_dir, "malformed IO", "IO exit with a bad direction");
	expect_fatal(fill_bad_mmio_len, "malformed MMIO", "MMIO exit of 16 bytes");
}

static void test_console_ring(void)
{
	struct console c;
	static char big[CONSOLE_RING_BYTES + 100];
	char out[64];
	uint64_t start, end;
	size_t n;

	console_init(&c, -1);
	console_write(&c, "abc", 3);
	n = console_read(&c, 1, out, sizeof(out), &start, &end);
	ok(n == 2 && !memcmp(out, "bc", 2) && start == 1 && end == 3, "console read from an offset");
	n = console_read(&c, 99, out, sizeof(out), &start, &end);
	ok(n == 0 && start == 3 && end == 3, "console read past the end is empty");
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('0' + i % 10);
	console_write(&c, big, sizeof(big));
	n = console_read(&c, 0, out, 10, &start, &end);
	ok(n == 10 && start == 3 + sizeof(big) - CONSOLE_RING_BYTES &&
	   !memcmp(out, big + sizeof(big) - CONSOLE_RING_BYTES, 10),
	   "console ring keeps the newest bytes after wrapping");
	ok(console_total(&c) == 3 + sizeof(big), "console counts every byte");
	console_destroy(&c);
}

static int oops_calls;

static void count_oops(void *arg)
{
	(void)arg;
	oops_calls++;
}

/* The oops watch: once, for a text split across writes, not for near misses. */
static void test_console_oops_watch(void)
{
	static char big[2000];
	struct console c;

	console_init(&c, -1);
	c.on_oops = count_oops;
	console_write(&c, "[ 1.0] BU", 9);
	console_write(&c, "G; not it, and Oops without the colon\n", 38);
	ok(oops_calls == 0, "console watch: no call for near misses");
	console_write(&c, "[ 4.1] B", 8);
	console_write(&c, "UG: ENTRY_TRAMPOLINE stack guard page was hit\n", 47);
	ok(oops_calls == 1, "console watch: 'BUG: ' split across two writes is found");
	console_write(&c, "Kernel panic - not syncing\n", 27);
	ok(oops_calls == 1, "console watch: called once per console");
	console_destroy(&c);

	/* Deep inside a long write (past the first 512-byte window). */
	oops_calls = 0;
	memset(big, 'x', sizeof(big));
	memcpy(big + 1500, "Kernel panic", 12);
	console_init(&c, -1);
	c.on_oops = count_oops;
	console_write(&c, big, sizeof(big));
	ok(oops_calls == 1, "console watch: a panic 1500 bytes into one write is found");
	console_destroy(&c);
}

int main(void)
{
	int fd;

	log_init("test_devices", getenv("VERBOSE") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	tap_start();
	fd = mkstemp(image_path);
	if (fd < 0 || write(fd, "\xf4", 1) != 1) {
		printf("Bail out! cannot create a test image\n");
		return 1;
	}
	close(fd);
	test_uart();
	test_bus();
	test_fatal_exits();
	test_console_ring();
	test_console_oops_watch();
	unlink(image_path);
	return tap_done();
}
