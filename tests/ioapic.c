// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel I/O APIC of an irqchip VM (docs/uapi.md 5.6 and 7.4):
 * its registers through IOREGSEL/IOWIN, the redirection table (delivery
 * status and remote IRR read-only), and pins driven from user space with
 * VIREO_IRQ_LINE: an edge pin sends once per 0 -> 1 transition, a level
 * pin sends while asserted, again after each EOI, and not after it is
 * deasserted; a masked pin sends nothing; destinations are matched
 * physically or logically.  VIREO_IRQ_LINE checks its arguments and needs
 * an irqchip VM.
 */
#include <sys/ioctl.h>

#include "vireo_test.h"

#define IOAPIC_VERSION_VALUE	0x00170011	/* version 0x11, 24 pins */

#define EDGE_PIN	4
#define EDGE_VECTOR	0x41
#define LEVEL_PIN	9
#define LEVEL_VECTOR	0x62
#define MASKED_PIN	5
#define MASKED_VECTOR	0x73	/* a class above MASKED_LEVEL_VECTOR's */
#define MASKED_LEVEL_PIN 6
#define MASKED_LEVEL_VECTOR 0x54

static struct vireo_vm *ioapic_vm_create(struct vireo_vcpu **vcpu,
					 void *guest_code)
{
	struct vireo_vm *vm = vm_create_irqchip_with_one_vcpu(vcpu, guest_code);

	vm_install_interrupt_handler(vm, EDGE_VECTOR, guest_irq_count_eoi);
	vm_install_interrupt_handler(vm, MASKED_VECTOR, guest_irq_count_eoi);
	vm_install_interrupt_handler(vm, LEVEL_VECTOR, guest_irq_count);
	vm_install_interrupt_handler(vm, MASKED_LEVEL_VECTOR,
				     guest_irq_count);
	return vm;
}

/* ---- registers ----------------------------------------------------- */

static void guest_registers(void)
{
	uint64_t entry, written;
	unsigned int pin;

	GUEST_ASSERT_EQ(ioapic_read_reg(IOAPIC_REG_VERSION),
			IOAPIC_VERSION_VALUE);
	/* IOREGSEL keeps what was selected. */
	ioapic_mmio_write(IOAPIC_IOREGSEL, IOAPIC_REG_VERSION);
	GUEST_ASSERT_EQ(ioapic_mmio_read(IOAPIC_IOREGSEL), IOAPIC_REG_VERSION);

	/* ID: bits 27:24; arbitration reads the same. */
	GUEST_ASSERT_EQ(ioapic_read_reg(IOAPIC_REG_ID), 0);
	ioapic_write_reg(IOAPIC_REG_ID, 0xffffffff);
	GUEST_ASSERT_EQ(ioapic_read_reg(IOAPIC_REG_ID), 0x0f000000);
	GUEST_ASSERT_EQ(ioapic_read_reg(IOAPIC_REG_ARB), 0x0f000000);
	/* The version is read-only. */
	ioapic_write_reg(IOAPIC_REG_VERSION, 0);
	GUEST_ASSERT_EQ(ioapic_read_reg(IOAPIC_REG_VERSION),
			IOAPIC_VERSION_VALUE);

	/* Reset: every pin masked, everything else 0. */
	for (pin = 0; pin < VIREO_IOAPIC_PINS; pin++)
		GUEST_ASSERT_EQ(ioapic_read_redir(pin), IOAPIC_REDIR_MASKED);

	/* Round trip of every writable bit; DELIVS and remote IRR stay 0. */
	entry = IOAPIC_REDIR_VECTOR(0xa7) | IOAPIC_REDIR_LOWEST |
		IOAPIC_REDIR_LOGICAL | IOAPIC_REDIR_POLARITY_LOW |
		IOAPIC_REDIR_LEVEL | IOAPIC_REDIR_MASKED |
		IOAPIC_REDIR_DEST(0xa5);
	written = entry | IOAPIC_REDIR_DELIVS | IOAPIC_REDIR_REMOTE_IRR;
	ioapic_write_redir(17, written);
	GUEST_ASSERT_EQ(ioapic_read_redir(17), entry);
	/* Each half is its own register; the neighbours are untouched. */
	ioapic_write_reg(IOAPIC_REG_REDTBL(17) + 1, 0x3c000000);
	GUEST_ASSERT_EQ(ioapic_read_redir(17),
			(entry & 0xffffffff) | IOAPIC_REDIR_DEST(0x3c));
	GUEST_ASSERT_EQ(ioapic_read_redir(16), IOAPIC_REDIR_MASKED);
	GUEST_ASSERT_EQ(ioapic_read_redir(18), IOAPIC_REDIR_MASKED);
	ioapic_write_redir(23, IOAPIC_REDIR_VECTOR(0x99) | IOAPIC_REDIR_MASKED);
	GUEST_ASSERT_EQ(ioapic_read_redir(23),
			IOAPIC_REDIR_VECTOR(0x99) | IOAPIC_REDIR_MASKED);

	/* Past pin 23 there is nothing; other offsets read 0. */
	GUEST_ASSERT_EQ(ioapic_read_reg(IOAPIC_REG_REDTBL(VIREO_IOAPIC_PINS)),
			0xffffffff);
	GUEST_ASSERT_EQ(ioapic_read_reg(0x03), 0xffffffff);
	GUEST_ASSERT_EQ(ioapic_mmio_read(0x20), 0);
	GUEST_ASSERT_EQ(ioapic_mmio_read(0x40), 0);
	GUEST_DONE();
}

TEST(registers)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = ioapic_vm_create(&vcpu, guest_registers);

	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* ---- edge-triggered pin -------------------------------------------- */

/* Report the number of interrupts taken, forever; IF is set. */
static void __attribute__((noreturn)) sync_irqs_forever(void)
{
	sti();
	for (;;)
		GUEST_SYNC(READ_ONCE(guest_irqs));
}

static void guest_edge(void)
{
	xapic_enable();
	ioapic_write_redir(EDGE_PIN, IOAPIC_REDIR_VECTOR(EDGE_VECTOR) |
				     IOAPIC_REDIR_DEST(0));
	sync_irqs_forever();
}

/*
 * The guest reports its interrupt count at each RUN; an interrupt the
 * I/O APIC sent between two RUNs is taken before the next report.
 */
#define EXPECT_IRQS(vcpu, n) vcpu_run_expect_sync(vcpu, n)

TEST(edge_pin_fires_once_per_rising_edge)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = ioapic_vm_create(&vcpu, guest_edge);

	EXPECT_IRQS(vcpu, 0);
	vm_irq_line(vm, EDGE_PIN, 1);
	EXPECT_IRQS(vcpu, 1);
	/* Still high: no edge, nothing sent. */
	vm_irq_line(vm, EDGE_PIN, 1);
	EXPECT_IRQS(vcpu, 1);
	EXPECT_IRQS(vcpu, 1);
	/* The falling edge sends nothing either. */
	vm_irq_line(vm, EDGE_PIN, 0);
	EXPECT_IRQS(vcpu, 1);
	vm_irq_line(vm, EDGE_PIN, 1);
	EXPECT_IRQS(vcpu, 2);
	/* Two edges between two RUNs: two sends, one interrupt (IRR). */
	vm_irq_line(vm, EDGE_PIN, 0);
	vm_irq_line(vm, EDGE_PIN, 1);
	vm_irq_line(vm, EDGE_PIN, 0);
	vm_irq_line(vm, EDGE_PIN, 1);
	EXPECT_IRQS(vcpu, 3);
	EXPECT_EQ(EDGE_VECTOR, *guest_global(vm, guest_last_vector));
	vm_free(vm);
}

/* ---- level-triggered pin ------------------------------------------- */

static void guest_level(void)
{
	xapic_enable();
	ioapic_write_redir(LEVEL_PIN, IOAPIC_REDIR_VECTOR(LEVEL_VECTOR) |
				      IOAPIC_REDIR_LEVEL |
				      IOAPIC_REDIR_DEST(0));
	sti();
	GUEST_SYNC(1);			/* host: asserts the pin */

	/* Taken at once, and in service: remote IRR set, TMR says level. */
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 1);
	GUEST_ASSERT(ioapic_read_redir(LEVEL_PIN) & IOAPIC_REDIR_REMOTE_IRR);
	GUEST_ASSERT(xapic_vector_set(APIC_ISR, LEVEL_VECTOR));
	GUEST_ASSERT(xapic_vector_set(APIC_TMR, LEVEL_VECTOR));
	GUEST_SYNC(2);			/* host: asserts it again */

	/* Remote IRR holds it back until the EOI... */
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 1);
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, LEVEL_VECTOR));

	/* ...which, the line still being high, brings it back at once. */
	xapic_eoi();
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 2);
	GUEST_ASSERT(ioapic_read_redir(LEVEL_PIN) & IOAPIC_REDIR_REMOTE_IRR);
	GUEST_SYNC(3);			/* host: deasserts the pin */

	/* After the line went low, the EOI ends it. */
	xapic_eoi();
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 2);
	GUEST_ASSERT(!(ioapic_read_redir(LEVEL_PIN) & IOAPIC_REDIR_REMOTE_IRR));
	GUEST_ASSERT(!xapic_vector_set(APIC_ISR, LEVEL_VECTOR));
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, LEVEL_VECTOR));
	GUEST_SYNC(4);			/* host: asserts it once more */

	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 3);
	GUEST_SYNC(5);			/* host: deasserts it */
	xapic_eoi();
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 3);
	GUEST_DONE();
}

TEST(level_pin_refires_after_eoi_while_asserted)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = ioapic_vm_create(&vcpu, guest_level);

	vcpu_run_expect_sync(vcpu, 1);
	vm_irq_line(vm, LEVEL_PIN, 1);
	vcpu_run_expect_sync(vcpu, 2);
	vm_irq_line(vm, LEVEL_PIN, 1);
	vcpu_run_expect_sync(vcpu, 3);
	vm_irq_line(vm, LEVEL_PIN, 0);
	vcpu_run_expect_sync(vcpu, 4);
	vm_irq_line(vm, LEVEL_PIN, 1);
	vcpu_run_expect_sync(vcpu, 5);
	vm_irq_line(vm, LEVEL_PIN, 0);
	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(LEVEL_VECTOR, *guest_global(vm, guest_last_vector));
	vm_free(vm);
}

/* ---- masked pins --------------------------------------------------- */

static void guest_masked(void)
{
	uint64_t edge = IOAPIC_REDIR_VECTOR(MASKED_VECTOR) |
			IOAPIC_REDIR_DEST(0);
	uint64_t level = IOAPIC_REDIR_VECTOR(MASKED_LEVEL_VECTOR) |
			 IOAPIC_REDIR_LEVEL | IOAPIC_REDIR_DEST(0);

	xapic_enable();
	ioapic_write_redir(MASKED_PIN, edge | IOAPIC_REDIR_MASKED);
	ioapic_write_redir(MASKED_LEVEL_PIN, level | IOAPIC_REDIR_MASKED);
	sti();
	GUEST_SYNC(1);			/* host: raises both pins */

	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 0);
	GUEST_ASSERT(!(ioapic_read_redir(MASKED_LEVEL_PIN) &
		       IOAPIC_REDIR_REMOTE_IRR));

	/* The edge that came while masked is lost: unmasking sends nothing. */
	ioapic_write_redir(MASKED_PIN, edge);
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 0);

	/* A level pin still asserted sends as soon as it is unmasked. */
	ioapic_write_redir(MASKED_LEVEL_PIN, level);
	GUEST_ASSERT(guest_wait_until(READ_ONCE(guest_irqs) == 1, 2000));
	GUEST_ASSERT_EQ(READ_ONCE(guest_last_vector), MASKED_LEVEL_VECTOR);
	GUEST_SYNC(2);			/* host: a new edge on the edge pin */

	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 2);
	GUEST_ASSERT_EQ(READ_ONCE(guest_last_vector), MASKED_VECTOR);
	/*
	 * Masked again while in service and still asserted: the EOI clears
	 * remote IRR but sends nothing.
	 */
	ioapic_write_redir(MASKED_LEVEL_PIN, level | IOAPIC_REDIR_MASKED);
	xapic_eoi();
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 2);
	GUEST_ASSERT(!(ioapic_read_redir(MASKED_LEVEL_PIN) &
		       IOAPIC_REDIR_REMOTE_IRR));
	GUEST_SYNC(3);			/* host: lowers and raises it */

	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 2);
	GUEST_DONE();
}

TEST(masked_pin_does_not_fire)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = ioapic_vm_create(&vcpu, guest_masked);

	vcpu_run_expect_sync(vcpu, 1);
	vm_irq_line(vm, MASKED_PIN, 1);
	vm_irq_line(vm, MASKED_LEVEL_PIN, 1);
	vcpu_run_expect_sync(vcpu, 2);
	vm_irq_line(vm, MASKED_PIN, 0);
	vm_irq_line(vm, MASKED_PIN, 1);
	vcpu_run_expect_sync(vcpu, 3);
	vm_irq_line(vm, MASKED_LEVEL_PIN, 0);
	vm_irq_line(vm, MASKED_LEVEL_PIN, 1);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* ---- destinations -------------------------------------------------- */

#define ROUTE_LDR_BIT	0x04

/* Edge pin EDGE_PIN with destination @dest: does one edge arrive? */
static bool edge_arrives(uint64_t dest_bits)
{
	uint64_t before = READ_ONCE(guest_irqs);

	ioapic_write_redir(EDGE_PIN, IOAPIC_REDIR_VECTOR(EDGE_VECTOR) |
				     dest_bits);
	GUEST_SYNC(1);			/* host: one rising edge */
	guest_udelay(5000);
	return READ_ONCE(guest_irqs) != before;
}

static void guest_destinations(void)
{
	xapic_enable();
	xapic_write_reg(APIC_LDR, ROUTE_LDR_BIT << 24);
	sti();
	GUEST_ASSERT(edge_arrives(IOAPIC_REDIR_DEST(0)));
	GUEST_ASSERT(!edge_arrives(IOAPIC_REDIR_DEST(1)));
	GUEST_ASSERT(!edge_arrives(IOAPIC_REDIR_DEST(0x10)));
	GUEST_ASSERT(edge_arrives(IOAPIC_REDIR_DEST(0xff)));	/* broadcast */
	GUEST_ASSERT(edge_arrives(IOAPIC_REDIR_LOGICAL |
				  IOAPIC_REDIR_DEST(ROUTE_LDR_BIT)));
	GUEST_ASSERT(edge_arrives(IOAPIC_REDIR_LOGICAL |
				  IOAPIC_REDIR_DEST(0xf0 | ROUTE_LDR_BIT)));
	GUEST_ASSERT(!edge_arrives(IOAPIC_REDIR_LOGICAL |
				   IOAPIC_REDIR_DEST(0xff & ~ROUTE_LDR_BIT)));
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 4);
	GUEST_DONE();
}

TEST(destination_physical_and_logical)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = ioapic_vm_create(&vcpu, guest_destinations);
	struct ucall uc;

	while (vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC) {
		vm_irq_line(vm, EDGE_PIN, 1);
		vm_irq_line(vm, EDGE_PIN, 0);
	}
	ASSERT_EQ(UCALL_DONE, uc.cmd);
	vm_free(vm);
}

/* ---- VIREO_IRQ_LINE errors ----------------------------------------- */

static void expect_irq_line_error(struct __test_metadata *_metadata,
				  struct vireo_vm *vm, uint32_t pin,
				  uint32_t level, int err)
{
	errno = 0;
	EXPECT_EQ(-1, __vm_irq_line(vm, pin, level))
		TH_LOG("pin %u level %u", pin, level);
	EXPECT_EQ(err, errno) TH_LOG("pin %u level %u: %s", pin, level,
				     strerror(errno));
}

TEST(irq_line_errors)
{
	struct vireo_vm *vm = vm_create_barebones_flags(VM_DEFAULT_RAM_BYTES,
							VIREO_VM_FLAG_IRQCHIP);
	struct vireo_vm *plain = vm_create_barebones(VM_DEFAULT_RAM_BYTES);

	EXPECT_EQ(0, __vm_irq_line(vm, 0, 1));
	EXPECT_EQ(0, __vm_irq_line(vm, 0, 0));
	EXPECT_EQ(0, __vm_irq_line(vm, VIREO_IOAPIC_PINS - 1, 1));
	expect_irq_line_error(_metadata, vm, VIREO_IOAPIC_PINS, 1, EINVAL);
	expect_irq_line_error(_metadata, vm, 0xffffffff, 0, EINVAL);
	expect_irq_line_error(_metadata, vm, 0, 2, EINVAL);
	expect_irq_line_error(_metadata, vm, 0, 0xffffffff, EINVAL);

	/* Without irqchip: ENXIO, after the level check (docs/uapi.md 5.6). */
	expect_irq_line_error(_metadata, plain, 0, 1, ENXIO);
	expect_irq_line_error(_metadata, plain, VIREO_IOAPIC_PINS, 1, ENXIO);
	expect_irq_line_error(_metadata, plain, 0, 2, EINVAL);

	errno = 0;
	EXPECT_EQ(-1, ioctl(vm->fd, VIREO_IRQ_LINE, NULL));
	EXPECT_EQ(EFAULT, errno);
	vm_free(plain);
	vm_free(vm);
}

VIREO_TEST_MAIN
