// SPDX-License-Identifier: GPL-2.0
/*
 * Fast ports (docs/uapi.md 5.7): a 1-byte IN from a VIREO_PIO_FAST_IN port
 * returns in_value in AL (bits 8-63 of RAX kept) and a 1-byte OUT to a
 * VIREO_PIO_FAST_OUT port goes to the VM's write queue, both without an
 * exit to user space; VIREO_PIO_DRAIN hands the queue out oldest first, in
 * chunks of any size, and keeps what a faulting copy did not deliver.  A
 * full queue, wider accesses and directions not enabled exit as usual, the
 * OUT exit reporting the queue's length in run->io.queued.  Ports can be
 * updated and removed, eight at most; the eventfd of VIREO_SET_PIO_NOTIFY
 * is signalled when a record enters an empty queue and when it is set on a
 * non-empty one.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vireo_test.h"

#define OUT_PORT	0xe9	/* VIREO_PIO_FAST_OUT */
#define OUT2_PORT	0x3f8	/* VIREO_PIO_FAST_OUT, beyond imm8 */
#define IN_PORT		0x61	/* VIREO_PIO_FAST_IN */
#define IN_VALUE	0xa7
#define BOTH_PORT	0x80	/* VIREO_PIO_FAST_IN | VIREO_PIO_FAST_OUT */
#define BOTH_VALUE	0x3c

/* The byte the guest writes as its i-th OUT: no two neighbours alike. */
static inline uint8_t out_byte(uint64_t i)
{
	return i * 37 + 11;
}

static int __pio_fast_set(struct vireo_vm *vm, uint16_t port, uint8_t flags,
			  uint8_t in_value)
{
	struct vireo_pio_fast req = {
		.port = port,
		.flags = flags,
		.in_value = in_value,
	};

	return __vm_ioctl(vm, VIREO_SET_PIO_FAST, &req);
}

static void pio_fast_set(struct vireo_vm *vm, uint16_t port, uint8_t flags,
			 uint8_t in_value)
{
	TEST_ASSERT(!__pio_fast_set(vm, port, flags, in_value),
		    "VIREO_SET_PIO_FAST(port=0x%x, flags=%u) failed: %s",
		    port, flags, strerror(errno));
}

/* Raw VIREO_PIO_DRAIN; *count is what the module wrote back. */
static int __pio_drain(struct vireo_vm *vm, void *records, uint32_t max,
		       uint32_t *count)
{
	struct vireo_pio_drain d = {
		.records = (uint64_t)records,
		.max = max,
	};
	int ret = __vm_ioctl(vm, VIREO_PIO_DRAIN, &d);

	*count = d.count;
	return ret;
}

static uint32_t pio_drain(struct vireo_vm *vm, struct vireo_pio_record *rec,
			  uint32_t max)
{
	uint32_t count;

	TEST_ASSERT(!__pio_drain(vm, rec, max, &count),
		    "VIREO_PIO_DRAIN(max=%u) failed: %s", max, strerror(errno));
	TEST_ASSERT(count <= max, "VIREO_PIO_DRAIN(max=%u) gave %u", max, count);
	return count;
}

static int __pio_notify_set(struct vireo_vm *vm, int32_t fd)
{
	struct vireo_pio_notify req = { .fd = fd };

	return __vm_ioctl(vm, VIREO_SET_PIO_NOTIFY, &req);
}

static void pio_notify_set(struct vireo_vm *vm, int32_t fd)
{
	TEST_ASSERT(!__pio_notify_set(vm, fd),
		    "VIREO_SET_PIO_NOTIFY(fd=%d) failed: %s", fd, strerror(errno));
}

/* want[k] = the guest's OUTs first..first+n-1 to @port. */
static void records_fill(struct vireo_pio_record *want, uint16_t port,
			 uint64_t first, uint32_t n)
{
	uint32_t k;

	for (k = 0; k < n; k++)
		want[k] = (struct vireo_pio_record) {
			.port = port,
			.value = out_byte(first + k),
		};
}

/* got[0..n) must be want[0..n); @first numbers them in the report. */
static void records_check(const struct vireo_pio_record *got,
			  const struct vireo_pio_record *want, uint32_t n,
			  uint32_t first)
{
	uint32_t k;

	for (k = 0; k < n; k++)
		TEST_ASSERT(got[k].port == want[k].port &&
			    got[k].value == want[k].value && !got[k].padding,
			    "record %u: port 0x%x value 0x%x padding %u, expected port 0x%x value 0x%x",
			    first + k, got[k].port, got[k].value,
			    got[k].padding, want[k].port, want[k].value);
}

/*
 * Drain n records in rounds of at most @chunk and check them against
 * want[0..n), in order; the queue may hold more.
 */
static void drain_expect(struct vireo_vm *vm,
			 const struct vireo_pio_record *want, uint32_t n,
			 uint32_t chunk)
{
	struct vireo_pio_record got[VIREO_PIO_QUEUE_LEN];
	uint32_t done, count;

	TEST_ASSERT(chunk <= VIREO_PIO_QUEUE_LEN, "chunk %u too large", chunk);
	for (done = 0; done < n; done += count) {
		count = pio_drain(vm, got, chunk < n - done ? chunk : n - done);
		TEST_ASSERT(count, "queue empty after %u of %u records", done, n);
		records_check(got, want + done, count, done);
	}
}

/* drain_expect(), and then the queue must be empty. */
static void drain_expect_all(struct vireo_vm *vm,
			     const struct vireo_pio_record *want, uint32_t n,
			     uint32_t chunk)
{
	struct vireo_pio_record got[VIREO_PIO_QUEUE_LEN];

	drain_expect(vm, want, n, chunk);
	TEST_ASSERT_EQ(0, pio_drain(vm, got, VIREO_PIO_QUEUE_LEN));
}

/* Asserts the exit is a port I/O exit with these fields. */
static void expect_io_exit(struct vireo_vcpu *vcpu, uint8_t direction,
			   uint16_t port, uint8_t size, uint32_t queued)
{
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_IO);
	TEST_ASSERT_EQ(direction, vcpu->run->io.direction);
	TEST_ASSERT_EQ(port, vcpu->run->io.port);
	TEST_ASSERT_EQ(size, vcpu->run->io.size);
	TEST_ASSERT_EQ(queued, vcpu->run->io.queued);
}

/* ---- the fast path ------------------------------------------------- */

static void guest_out_in_loop(uint64_t n)
{
	uint64_t i, sum = 0;

	for (i = 0; i < n; i++) {
		outb(OUT_PORT, out_byte(i));
		sum += inb(IN_PORT);
		GUEST_ASSERT_EQ(sum, (i + 1) * IN_VALUE);
	}
	GUEST_DONE();
}

#define LOOP_N	300

TEST(loop_without_exits)
{
	static struct vireo_pio_record want[LOOP_N];
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint64_t exits;

	vm = vm_create_with_one_vcpu(&vcpu, guest_out_in_loop);
	pio_fast_set(vm, OUT_PORT, VIREO_PIO_FAST_OUT, 0);
	pio_fast_set(vm, IN_PORT, VIREO_PIO_FAST_IN, IN_VALUE);
	vcpu_args_set(vcpu, 1, LOOP_N);
	exits = vcpu->run->exit_count;
	vcpu_run_expect_done(vcpu);
	/* The GUEST_DONE() was the only exit, and the OUTs came before it. */
	EXPECT_EQ(exits + 1, vcpu->run->exit_count);
	EXPECT_EQ(LOOP_N, vcpu->run->io.queued);
	EXPECT_EQ(2 * LOOP_N, vireo_nl_vm_stat(vm->id, "kernel_pio_fast"));
	EXPECT_EQ(1, vireo_nl_vm_stat(vm->id, "io"));

	records_fill(want, OUT_PORT, 0, LOOP_N);
	drain_expect_all(vm, want, LOOP_N, VIREO_PIO_QUEUE_LEN);
	vm_free(vm);
}

static void guest_in_keeps_rax(void)
{
	uint64_t rax;

	rax = 0x1122334455667788ULL;
	asm volatile("inb %1, %%al" : "+a"(rax) : "N"(IN_PORT) : "memory");
	GUEST_ASSERT_EQ(rax, 0x11223344556677ULL << 8 | IN_VALUE);
	rax = 0xffffffffffffff00ULL;
	asm volatile("inb %%dx, %%al" : "+a"(rax) : "d"(IN_PORT) : "memory");
	GUEST_ASSERT_EQ(rax, 0xffffffffffffff00ULL | IN_VALUE);
	GUEST_DONE();
}

TEST(in_keeps_rax_bits_8_to_63)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint64_t exits;

	vm = vm_create_with_one_vcpu(&vcpu, guest_in_keeps_rax);
	pio_fast_set(vm, IN_PORT, VIREO_PIO_FAST_IN, IN_VALUE);
	exits = vcpu->run->exit_count;
	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(exits + 1, vcpu->run->exit_count);
	vm_free(vm);
}

/* ---- what still exits ---------------------------------------------- */

static void guest_slow_accesses(void)
{
	outw(BOTH_PORT, 0x1234);
	GUEST_ASSERT_EQ(inw(BOTH_PORT), 0xbeef);
	outl(BOTH_PORT, 0xdeadbeef);
	GUEST_ASSERT_EQ(inl(BOTH_PORT), 0xcafef00d);
	outb(IN_PORT, 0x5a);			/* IN-only port */
	GUEST_ASSERT_EQ(inb(OUT_PORT), 0x42);	/* OUT-only port */
	/* Both directions at BOTH_PORT: fast. */
	outb(BOTH_PORT, 0x77);
	GUEST_ASSERT_EQ(inb(BOTH_PORT), BOTH_VALUE);
	GUEST_DONE();
}

struct io_exit_step {
	uint8_t direction;
	uint16_t port;
	uint8_t size;
	uint32_t data;		/* written (OUT) or returned (IN) */
};

static const struct io_exit_step slow_steps[] = {
	{ VIREO_IO_OUT, BOTH_PORT, 2, 0x1234 },
	{ VIREO_IO_IN, BOTH_PORT, 2, 0xbeef },
	{ VIREO_IO_OUT, BOTH_PORT, 4, 0xdeadbeef },
	{ VIREO_IO_IN, BOTH_PORT, 4, 0xcafef00d },
	{ VIREO_IO_OUT, IN_PORT, 1, 0x5a },
	{ VIREO_IO_IN, OUT_PORT, 1, 0x42 },
};

TEST(wide_and_disabled_directions_exit)
{
	const struct vireo_pio_record want = { .port = BOTH_PORT, .value = 0x77 };
	const struct io_exit_step *s;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_slow_accesses);
	pio_fast_set(vm, OUT_PORT, VIREO_PIO_FAST_OUT, 0);
	pio_fast_set(vm, IN_PORT, VIREO_PIO_FAST_IN, IN_VALUE);
	pio_fast_set(vm, BOTH_PORT, VIREO_PIO_FAST_ALL, BOTH_VALUE);
	for (s = slow_steps; s < slow_steps + ARRAY_SIZE(slow_steps); s++) {
		vcpu_run(vcpu);
		expect_io_exit(vcpu, s->direction, s->port, s->size, 0);
		if (s->direction == VIREO_IO_OUT)
			TEST_ASSERT_EQ(s->data, vcpu->run->io.data);
		else
			vcpu->run->io.data = s->data;
	}
	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(1, vcpu->run->io.queued);
	drain_expect_all(vm, &want, 1, 1);
	vm_free(vm);
}

/* ---- the queue ----------------------------------------------------- */

static void guest_outs(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		outb(OUT_PORT, out_byte(i));
	GUEST_DONE();
}

#define FULL_EXTRA	100	/* OUTs after the one that found the queue full */
#define FULL_FIRST	300	/* records drained before the guest goes on */

/*
 * The OUT that finds the queue full exits with the queue's length, and
 * the guest goes on after a partial drain: the new records follow the old
 * ones, across the end of the ring.
 */
TEST(full_queue_exits)
{
	static struct vireo_pio_record want[VIREO_PIO_QUEUE_LEN + FULL_EXTRA];
	const uint32_t rest = VIREO_PIO_QUEUE_LEN - FULL_FIRST;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint64_t exits;

	vm = vm_create_with_one_vcpu(&vcpu, guest_outs);
	pio_fast_set(vm, OUT_PORT, VIREO_PIO_FAST_OUT, 0);
	vcpu_args_set(vcpu, 1, VIREO_PIO_QUEUE_LEN + 1 + FULL_EXTRA);
	exits = vcpu->run->exit_count;
	vcpu_run(vcpu);
	expect_io_exit(vcpu, VIREO_IO_OUT, OUT_PORT, 1, VIREO_PIO_QUEUE_LEN);
	ASSERT_EQ(out_byte(VIREO_PIO_QUEUE_LEN), vcpu->run->io.data);
	ASSERT_EQ(exits + 1, vcpu->run->exit_count);

	records_fill(want, OUT_PORT, 0, VIREO_PIO_QUEUE_LEN);
	drain_expect(vm, want, FULL_FIRST, 100);

	vcpu_run_expect_done(vcpu);
	ASSERT_EQ(rest + FULL_EXTRA, vcpu->run->io.queued);
	ASSERT_EQ(exits + 2, vcpu->run->exit_count);
	records_fill(want + VIREO_PIO_QUEUE_LEN, OUT_PORT,
		     VIREO_PIO_QUEUE_LEN + 1, FULL_EXTRA);
	drain_expect_all(vm, want + FULL_FIRST, rest + FULL_EXTRA, 100);
	vm_free(vm);
}

static void guest_two_ports(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		outb(i & 1 ? OUT2_PORT : OUT_PORT, out_byte(i));
	GUEST_DONE();
}

#define TWO_PORTS_N	200

TEST(two_ports_keep_global_order)
{
	struct vireo_pio_record want[TWO_PORTS_N];
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint32_t i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_two_ports);
	pio_fast_set(vm, OUT_PORT, VIREO_PIO_FAST_OUT, 0);
	pio_fast_set(vm, OUT2_PORT, VIREO_PIO_FAST_OUT, 0);
	vcpu_args_set(vcpu, 1, TWO_PORTS_N);
	vcpu_run_expect_done(vcpu);
	ASSERT_EQ(TWO_PORTS_N, vcpu->run->io.queued);
	for (i = 0; i < TWO_PORTS_N; i++)
		records_fill(&want[i], i & 1 ? OUT2_PORT : OUT_PORT, i, 1);
	drain_expect_all(vm, want, TWO_PORTS_N, 7);
	vm_free(vm);
}

#define FAULT_N		100
#define FAULT_FIT	70	/* records that fit before the PROT_NONE page */

TEST(drain_fault_keeps_records)
{
	struct vireo_pio_record want[FAULT_N], *edge;
	long page = sysconf(_SC_PAGESIZE);
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint32_t count;
	char *map;

	vm = vm_create_with_one_vcpu(&vcpu, guest_outs);
	pio_fast_set(vm, OUT_PORT, VIREO_PIO_FAST_OUT, 0);
	vcpu_args_set(vcpu, 1, FAULT_N);
	vcpu_run_expect_done(vcpu);
	ASSERT_EQ(FAULT_N, vcpu->run->io.queued);

	/* Not a user address anyone could map. */
	ASSERT_EQ(-1, __pio_drain(vm, (void *)1, FAULT_N, &count));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, count);

	/* A page that was mapped and is no longer. */
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + page, page));
	ASSERT_EQ(-1, __pio_drain(vm, map + page, FAULT_N, &count));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, count);

	/*
	 * A buffer that runs into an inaccessible page: what count says was
	 * delivered is there and left the queue; the rest is still queued.
	 */
	ASSERT_NE(MAP_FAILED, mmap(map + page, page, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				   -1, 0));
	edge = (struct vireo_pio_record *)(map + page) - FAULT_FIT;
	ASSERT_EQ(-1, __pio_drain(vm, edge, FAULT_N, &count));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_LE(count, FAULT_FIT);
	records_fill(want, OUT_PORT, 0, FAULT_N);
	records_check(edge, want, count, 0);

	drain_expect_all(vm, want + count, FAULT_N - count, FAULT_N);
	munmap(map, 2 * page);
	vm_free(vm);
}

/* ---- changing the ports -------------------------------------------- */

static void guest_port_changes(void)
{
	GUEST_ASSERT_EQ(inb(IN_PORT), 0x11);
	outb(OUT_PORT, 1);
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(inb(IN_PORT), 0x22);	/* in_value updated */
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(inb(IN_PORT), 0x33);	/* now IN and OUT */
	outb(IN_PORT, 2);
	GUEST_SYNC(3);
	GUEST_ASSERT_EQ(inb(IN_PORT), 0x44);	/* removed: these exit */
	outb(OUT_PORT, 3);
	outb(IN_PORT, 4);
	GUEST_DONE();
}

TEST(update_and_remove)
{
	const struct vireo_pio_record want[] = {
		{ .port = OUT_PORT, .value = 1 },
		{ .port = IN_PORT, .value = 2 },
	};
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_port_changes);
	pio_fast_set(vm, IN_PORT, VIREO_PIO_FAST_IN, 0x11);
	pio_fast_set(vm, OUT_PORT, VIREO_PIO_FAST_OUT, 0);
	vcpu_run_expect_sync(vcpu, 1);
	pio_fast_set(vm, IN_PORT, VIREO_PIO_FAST_IN, 0x22);
	vcpu_run_expect_sync(vcpu, 2);
	pio_fast_set(vm, IN_PORT, VIREO_PIO_FAST_ALL, 0x33);
	vcpu_run_expect_sync(vcpu, 3);
	ASSERT_EQ(2, vcpu->run->io.queued);

	/* Queued records stay; removing a port never set succeeds. */
	pio_fast_set(vm, IN_PORT, 0, 0);
	pio_fast_set(vm, OUT_PORT, 0, 0);
	pio_fast_set(vm, 0x1234, 0, 0);
	vcpu_run(vcpu);
	expect_io_exit(vcpu, VIREO_IO_IN, IN_PORT, 1, 2);
	vcpu->run->io.data = 0x44;
	vcpu_run(vcpu);
	expect_io_exit(vcpu, VIREO_IO_OUT, OUT_PORT, 1, 2);
	EXPECT_EQ(3, vcpu->run->io.data);
	vcpu_run(vcpu);
	expect_io_exit(vcpu, VIREO_IO_OUT, IN_PORT, 1, 2);
	EXPECT_EQ(4, vcpu->run->io.data);
	vcpu_run_expect_done(vcpu);
	drain_expect_all(vm, want, ARRAY_SIZE(want), 1);
	vm_free(vm);
}

TEST(ninth_port_is_enospc)
{
	struct vireo_vm *vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	uint16_t i;

	for (i = 0; i < VIREO_MAX_FAST_PORTS; i++)
		pio_fast_set(vm, 0x100 + i, VIREO_PIO_FAST_IN, i);
	ASSERT_EQ(-1, __pio_fast_set(vm, 0x200, VIREO_PIO_FAST_OUT, 0));
	EXPECT_EQ(ENOSPC, errno);
	/* A port already set still changes; removing one makes room. */
	pio_fast_set(vm, 0x100, VIREO_PIO_FAST_ALL, 0x55);
	pio_fast_set(vm, 0x103, 0, 0);
	pio_fast_set(vm, 0x200, VIREO_PIO_FAST_OUT, 0);
	ASSERT_EQ(-1, __pio_fast_set(vm, 0x103, VIREO_PIO_FAST_IN, 0));
	EXPECT_EQ(ENOSPC, errno);
	vm_free(vm);
}

TEST(bad_arguments)
{
	struct vireo_vm *vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	struct vireo_pio_fast fast = { .port = IN_PORT };
	struct vireo_pio_notify notify = { .fd = -1 };
	struct vireo_pio_drain drain = { 0 };
	struct vireo_pio_record rec;
	int pipefd[2], efd;
	uint32_t count;

	fast.flags = VIREO_PIO_FAST_ALL + 1;		/* unknown bit 2 */
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_SET_PIO_FAST, &fast));
	EXPECT_EQ(EINVAL, errno);
	fast.flags = 0x80 | VIREO_PIO_FAST_IN;
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_SET_PIO_FAST, &fast));
	EXPECT_EQ(EINVAL, errno);
	fast.flags = VIREO_PIO_FAST_IN;
	fast.reserved = 1;
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_SET_PIO_FAST, &fast));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_SET_PIO_FAST, NULL));
	EXPECT_EQ(EFAULT, errno);

	/* count must be 0 on input; max 0 and an empty queue give 0. */
	drain.records = (uint64_t)&rec;
	drain.max = 1;
	drain.count = 1;
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_PIO_DRAIN, &drain));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_PIO_DRAIN, NULL));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, __pio_drain(vm, &rec, 0, &count));
	EXPECT_EQ(0, count);
	ASSERT_EQ(0, __pio_drain(vm, &rec, 1, &count));
	EXPECT_EQ(0, count);

	ASSERT_EQ(-1, __pio_notify_set(vm, -2));
	EXPECT_EQ(EINVAL, errno);
	notify.reserved = 1;
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_SET_PIO_NOTIFY, &notify));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ(-1, __pio_notify_set(vm, pipefd[0]));
	EXPECT_EQ(EINVAL, errno);
	/* A closed fd: the pipe's, closed, is the lowest free number. */
	ASSERT_EQ(0, close(pipefd[0]));
	ASSERT_EQ(-1, __pio_notify_set(vm, pipefd[0]));
	EXPECT_EQ(EBADF, errno);
	close(pipefd[1]);
	/* -1 with nothing set, an eventfd, and -1 again. */
	pio_notify_set(vm, -1);
	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	pio_notify_set(vm, efd);
	pio_notify_set(vm, -1);
	close(efd);
	vm_free(vm);
}

/* ---- notification -------------------------------------------------- */

/* The eventfd's counter, reset to 0 by the read; 0 if nothing came. */
static uint64_t eventfd_take(int efd)
{
	uint64_t v;

	if (read(efd, &v, sizeof(v)) == sizeof(v))
		return v;
	TEST_ASSERT(errno == EAGAIN, "read(eventfd): %s", strerror(errno));
	return 0;
}

static void guest_notify(void)
{
	outb(OUT_PORT, out_byte(0));
	outb(OUT_PORT, out_byte(1));
	outb(OUT_PORT, out_byte(2));
	GUEST_SYNC(1);
	outb(OUT_PORT, out_byte(3));
	outb(OUT_PORT, out_byte(4));
	GUEST_SYNC(2);
	outb(OUT_PORT, out_byte(5));
	GUEST_SYNC(3);
	outb(OUT_PORT, out_byte(6));
	GUEST_DONE();
}

TEST(notify_eventfd)
{
	struct vireo_pio_record want[7];
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	int efd, efd2;

	vm = vm_create_with_one_vcpu(&vcpu, guest_notify);
	pio_fast_set(vm, OUT_PORT, VIREO_PIO_FAST_OUT, 0);
	records_fill(want, OUT_PORT, 0, ARRAY_SIZE(want));
	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	efd2 = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd2);
	pio_notify_set(vm, efd);
	EXPECT_EQ(0, eventfd_take(efd));	/* nothing queued yet */

	/* Three records, but only the first entered an empty queue. */
	vcpu_run_expect_sync(vcpu, 1);
	EXPECT_EQ(1, eventfd_take(efd));
	drain_expect_all(vm, want, 3, 3);

	/* Empty again: the next record signals again. */
	vcpu_run_expect_sync(vcpu, 2);
	EXPECT_EQ(1, eventfd_take(efd));
	/* Set on a non-empty queue: signalled at once; efd is not used. */
	pio_notify_set(vm, efd2);
	EXPECT_EQ(1, eventfd_take(efd2));

	/* A record that joins a non-empty queue signals nothing. */
	vcpu_run_expect_sync(vcpu, 3);
	EXPECT_EQ(0, eventfd_take(efd2));
	EXPECT_EQ(0, eventfd_take(efd));
	drain_expect_all(vm, want + 3, 3, 3);

	/* Removed: a record entering the empty queue signals nothing. */
	pio_notify_set(vm, -1);
	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(0, eventfd_take(efd2));
	EXPECT_EQ(0, eventfd_take(efd));
	drain_expect_all(vm, want + 6, 1, 1);
	close(efd);
	close(efd2);
	vm_free(vm);
}

VIREO_TEST_MAIN
