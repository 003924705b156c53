// SPDX-License-Identifier: GPL-2.0
/*
 * VIREO_GET_IOAPIC / VIREO_SET_IOAPIC (docs/uapi.md 5.8): user space reads
 * the in-kernel I/O APIC of an irqchip VM as the guest and VIREO_IRQ_LINE
 * left it (redirection table with remote IRR, ID, IOREGSEL, pin levels)
 * and loads one back: a level interrupt saved while in service is still in
 * service in the VM it is loaded into (held back until the guest's EOI,
 * sent again after it while the line is high), an unmasked level pin that
 * is asserted and not in service sends at once, and what is stored is what
 * the guest reads.  Bad input is refused before anything changes.
 */
#include "vireo_test.h"

#define LEVEL_PIN	9
#define LEVEL_VECTOR	0x62
#define EDGE_PIN	4
#define EDGE_VECTOR	0x41
#define MASKED_PIN	6
#define MASKED_VECTOR	0x54
#define IOAPIC_ID_VALUE	0x05000000

#define LEVEL_ENTRY	(IOAPIC_REDIR_VECTOR(LEVEL_VECTOR) | \
			 IOAPIC_REDIR_LEVEL | IOAPIC_REDIR_DEST(0))
#define EDGE_ENTRY	(IOAPIC_REDIR_VECTOR(EDGE_VECTOR) | IOAPIC_REDIR_DEST(0))
#define MASKED_ENTRY	(IOAPIC_REDIR_VECTOR(MASKED_VECTOR) | \
			 IOAPIC_REDIR_LEVEL | IOAPIC_REDIR_MASKED | \
			 IOAPIC_REDIR_DEST(0))

static struct vireo_vm *state_vm_create(struct vireo_vcpu **vcpu,
					void *guest_code)
{
	struct vireo_vm *vm = vm_create_irqchip_with_one_vcpu(vcpu, guest_code);

	vm_install_interrupt_handler(vm, EDGE_VECTOR, guest_irq_count_eoi);
	vm_install_interrupt_handler(vm, LEVEL_VECTOR, guest_irq_count);
	vm_install_interrupt_handler(vm, MASKED_VECTOR, guest_irq_count);
	return vm;
}

static void ioapic_get(struct vireo_vm *vm, struct vireo_ioapic_state *s)
{
	memset(s, 0xa5, sizeof(*s));
	TEST_ASSERT(!__vm_ioctl(vm, VIREO_GET_IOAPIC, s),
		    "VIREO_GET_IOAPIC failed: %s", strerror(errno));
}

static void ioapic_set(struct vireo_vm *vm, const struct vireo_ioapic_state *s)
{
	TEST_ASSERT(!__vm_ioctl(vm, VIREO_SET_IOAPIC, (void *)s),
		    "VIREO_SET_IOAPIC failed: %s", strerror(errno));
}

static void lapic_get(struct vireo_vcpu *vcpu, struct vireo_lapic_state *s)
{
	TEST_ASSERT(!__vcpu_ioctl(vcpu, VIREO_GET_LAPIC, s),
		    "VIREO_GET_LAPIC failed: %s", strerror(errno));
}

static void lapic_set(struct vireo_vcpu *vcpu, const struct vireo_lapic_state *s)
{
	TEST_ASSERT(!__vcpu_ioctl(vcpu, VIREO_SET_LAPIC, (void *)s),
		    "VIREO_SET_LAPIC failed: %s", strerror(errno));
}

/* Bit @vec of the LAPIC's 256-bit register at @base (ISR, TMR, IRR). */
static bool lapic_vec_set(const struct vireo_lapic_state *s, unsigned int base,
			  uint8_t vec)
{
	return s->regs[(base + (vec / 32) * 0x10) / 4] & (1U << (vec % 32));
}

static void guest_idle(void)
{
	GUEST_SYNC(1);
	GUEST_DONE();
}

/* ---- GET shows what the guest and VIREO_IRQ_LINE did ------------------ */

static void guest_program(void)
{
	xapic_enable();
	ioapic_write_reg(IOAPIC_REG_ID, IOAPIC_ID_VALUE);
	/* The low half last: IOREGSEL is left on it. */
	ioapic_write_redir(LEVEL_PIN, LEVEL_ENTRY);
	/* IF stays clear: what the pin sends stays in IRR. */
	GUEST_SYNC(1);
	GUEST_DONE();
}

TEST(get_shows_the_state)
{
	struct vireo_ioapic_state s;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = state_vm_create(&vcpu, guest_program);
	unsigned int i;

	/* Reset: every entry masked and nothing else. */
	ioapic_get(vm, &s);
	for (i = 0; i < VIREO_IOAPIC_PINS; i++) {
		EXPECT_EQ(IOAPIC_REDIR_MASKED, s.redir[i]) TH_LOG("pin %u", i);
	}
	EXPECT_EQ(0, s.id);
	EXPECT_EQ(0, s.select);
	EXPECT_EQ(0, s.asserted);
	for (i = 0; i < ARRAY_SIZE(s.reserved); i++)
		EXPECT_EQ(0, s.reserved[i]);

	vcpu_run_expect_sync(vcpu, 1);
	ioapic_get(vm, &s);
	EXPECT_EQ(LEVEL_ENTRY, s.redir[LEVEL_PIN]);
	for (i = 0; i < VIREO_IOAPIC_PINS; i++) {
		if (i == LEVEL_PIN)
			continue;
		EXPECT_EQ(IOAPIC_REDIR_MASKED, s.redir[i]) TH_LOG("pin %u", i);
	}
	EXPECT_EQ(IOAPIC_ID_VALUE, s.id);
	EXPECT_EQ(IOAPIC_REG_REDTBL(LEVEL_PIN), s.select);
	EXPECT_EQ(0, s.asserted);

	/* Asserted: the level pin sends and is in service (remote IRR). */
	vm_irq_line(vm, LEVEL_PIN, 1);
	ioapic_get(vm, &s);
	EXPECT_EQ(1U << LEVEL_PIN, s.asserted);
	EXPECT_EQ(LEVEL_ENTRY | IOAPIC_REDIR_REMOTE_IRR, s.redir[LEVEL_PIN]);
	EXPECT_EQ(IOAPIC_ID_VALUE, s.id);
	for (i = 0; i < ARRAY_SIZE(s.reserved); i++)
		EXPECT_EQ(0, s.reserved[i]);
	/* A deasserted line reads 0 again; remote IRR waits for the EOI. */
	vm_irq_line(vm, LEVEL_PIN, 0);
	ioapic_get(vm, &s);
	EXPECT_EQ(0, s.asserted);
	EXPECT_EQ(LEVEL_ENTRY | IOAPIC_REDIR_REMOTE_IRR, s.redir[LEVEL_PIN]);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* ---- remote IRR survives a save and restore -------------------------- */

/* VM A: take the level interrupt and leave it in service (no EOI). */
static void guest_leave_in_service(void)
{
	xapic_enable();
	ioapic_write_redir(LEVEL_PIN, LEVEL_ENTRY);
	sti();
	GUEST_SYNC(1);			/* host: asserts the pin */
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 1);
	GUEST_ASSERT(xapic_vector_set(APIC_ISR, LEVEL_VECTOR));
	GUEST_SYNC(2);			/* host: saves both APICs */
	GUEST_DONE();
}

/* VM B: programmed the same, then given VM A's state. */
static void guest_restored_in_service(void)
{
	xapic_enable();
	ioapic_write_redir(LEVEL_PIN, LEVEL_ENTRY);
	GUEST_SYNC(1);			/* host: loads VM A's LAPIC and I/O APIC */

	/* In service: the line is high, but remote IRR holds it back. */
	sti();
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 0);
	GUEST_ASSERT(ioapic_read_redir(LEVEL_PIN) & IOAPIC_REDIR_REMOTE_IRR);
	GUEST_ASSERT(xapic_vector_set(APIC_ISR, LEVEL_VECTOR));
	GUEST_ASSERT(!xapic_vector_set(APIC_IRR, LEVEL_VECTOR));

	/* The EOI of the interrupt VM A took: still high, so it comes again. */
	xapic_eoi();
	GUEST_ASSERT(guest_wait_until(READ_ONCE(guest_irqs) == 1, 2000));
	GUEST_ASSERT_EQ(READ_ONCE(guest_last_vector), LEVEL_VECTOR);
	GUEST_ASSERT(ioapic_read_redir(LEVEL_PIN) & IOAPIC_REDIR_REMOTE_IRR);
	GUEST_SYNC(2);			/* host: deasserts the pin */

	/* Low now: this EOI ends it. */
	xapic_eoi();
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 1);
	GUEST_ASSERT(!(ioapic_read_redir(LEVEL_PIN) & IOAPIC_REDIR_REMOTE_IRR));
	GUEST_DONE();
}

TEST(remote_irr_survives_restore)
{
	struct vireo_ioapic_state io, io_b;
	struct vireo_lapic_state lapic, lapic_b;
	struct vireo_vcpu *vcpu_a, *vcpu_b;
	struct vireo_vm *a = state_vm_create(&vcpu_a, guest_leave_in_service);
	struct vireo_vm *b;

	vcpu_run_expect_sync(vcpu_a, 1);
	vm_irq_line(a, LEVEL_PIN, 1);
	vcpu_run_expect_sync(vcpu_a, 2);
	ioapic_get(a, &io);
	EXPECT_EQ(LEVEL_ENTRY | IOAPIC_REDIR_REMOTE_IRR, io.redir[LEVEL_PIN]);
	EXPECT_EQ(1U << LEVEL_PIN, io.asserted);
	lapic_get(vcpu_a, &lapic);
	EXPECT_TRUE(lapic_vec_set(&lapic, APIC_ISR, LEVEL_VECTOR));
	EXPECT_TRUE(lapic_vec_set(&lapic, APIC_TMR, LEVEL_VECTOR));
	EXPECT_FALSE(lapic_vec_set(&lapic, APIC_IRR, LEVEL_VECTOR));
	vcpu_run_expect_done(vcpu_a);
	vm_free(a);

	b = state_vm_create(&vcpu_b, guest_restored_in_service);
	vcpu_run_expect_sync(vcpu_b, 1);
	/* The LAPIC first: the I/O APIC may send to it. */
	lapic_set(vcpu_b, &lapic);
	ioapic_set(b, &io);

	/* Nothing sent: a SET that lost remote IRR would have sent. */
	ioapic_get(b, &io_b);
	EXPECT_EQ(0, memcmp(&io, &io_b, sizeof(io)));
	lapic_get(vcpu_b, &lapic_b);
	EXPECT_TRUE(lapic_vec_set(&lapic_b, APIC_ISR, LEVEL_VECTOR));
	EXPECT_FALSE(lapic_vec_set(&lapic_b, APIC_IRR, LEVEL_VECTOR));

	vcpu_run_expect_sync(vcpu_b, 2);
	vm_irq_line(b, LEVEL_PIN, 0);
	vcpu_run_expect_done(vcpu_b);
	EXPECT_EQ(1, *guest_global(b, guest_irqs));
	vm_free(b);
}

/* ---- SET of an asserted level pin sends ------------------------------- */

static void guest_set_sends(void)
{
	xapic_enable();
	GUEST_SYNC(1);			/* host: SET with three asserted pins */

	/* Sent by the SET while IF was clear: pending, level-triggered. */
	GUEST_ASSERT(xapic_vector_set(APIC_IRR, LEVEL_VECTOR));
	GUEST_ASSERT(xapic_vector_set(APIC_TMR, LEVEL_VECTOR));
	sti_nop();
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 1);
	GUEST_ASSERT_EQ(READ_ONCE(guest_last_vector), LEVEL_VECTOR);
	GUEST_ASSERT(ioapic_read_redir(LEVEL_PIN) & IOAPIC_REDIR_REMOTE_IRR);
	/* Neither the edge pin nor the masked level pin sent anything. */
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 1);
	GUEST_SYNC(2);			/* host: level pin low, edge pin high again */

	/* The edge pin was high already: no edge, nothing sent. */
	xapic_eoi();
	guest_udelay(10000);
	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 1);
	GUEST_ASSERT(!(ioapic_read_redir(LEVEL_PIN) & IOAPIC_REDIR_REMOTE_IRR));
	GUEST_SYNC(3);			/* host: edge pin low, then high */

	GUEST_ASSERT_EQ(READ_ONCE(guest_irqs), 2);
	GUEST_ASSERT_EQ(READ_ONCE(guest_last_vector), EDGE_VECTOR);
	GUEST_DONE();
}

TEST(set_sends_an_asserted_level_pin)
{
	struct vireo_ioapic_state s;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = state_vm_create(&vcpu, guest_set_sends);

	vcpu_run_expect_sync(vcpu, 1);
	ioapic_get(vm, &s);
	s.redir[LEVEL_PIN] = LEVEL_ENTRY;
	s.redir[EDGE_PIN] = EDGE_ENTRY;
	s.redir[MASKED_PIN] = MASKED_ENTRY;
	s.asserted = 1U << LEVEL_PIN | 1U << EDGE_PIN | 1U << MASKED_PIN;
	ioapic_set(vm, &s);

	/* The level pin is in service now; the other two are as set. */
	ioapic_get(vm, &s);
	EXPECT_EQ(LEVEL_ENTRY | IOAPIC_REDIR_REMOTE_IRR, s.redir[LEVEL_PIN]);
	EXPECT_EQ(EDGE_ENTRY, s.redir[EDGE_PIN]);
	EXPECT_EQ(MASKED_ENTRY, s.redir[MASKED_PIN]);
	EXPECT_EQ(1U << LEVEL_PIN | 1U << EDGE_PIN | 1U << MASKED_PIN,
		  s.asserted);

	vcpu_run_expect_sync(vcpu, 2);
	vm_irq_line(vm, LEVEL_PIN, 0);
	vm_irq_line(vm, EDGE_PIN, 1);
	vcpu_run_expect_sync(vcpu, 3);
	vm_irq_line(vm, EDGE_PIN, 0);
	vm_irq_line(vm, EDGE_PIN, 1);
	vcpu_run_expect_done(vcpu);
	EXPECT_EQ(2, *guest_global(vm, guest_irqs));
	vm_free(vm);
}

/* ---- what SET stores is what the guest reads -------------------------- */

#define SET_SELECT	(IOAPIC_REG_REDTBL(1) + 1)	/* pin 1, high half */

/* Every bit but destination and vector, which say which pin it is. */
static uint64_t full_entry(unsigned int pin)
{
	return IOAPIC_REDIR_DEST(pin) | IOAPIC_REDIR_VECTOR(0x80 + pin) |
	       IOAPIC_REDIR_LOWEST | IOAPIC_REDIR_LOGICAL |
	       IOAPIC_REDIR_DELIVS | IOAPIC_REDIR_POLARITY_LOW |
	       IOAPIC_REDIR_REMOTE_IRR | IOAPIC_REDIR_LEVEL |
	       IOAPIC_REDIR_MASKED;
}

static void guest_read_back(void)
{
	unsigned int pin;

	GUEST_SYNC(1);			/* host: SET */
	/* IOREGSEL as set, and IOWIN reads the register it selects. */
	GUEST_ASSERT_EQ(ioapic_mmio_read(IOAPIC_IOREGSEL), SET_SELECT);
	GUEST_ASSERT_EQ(ioapic_mmio_read(IOAPIC_IOWIN), 1U << 24);
	GUEST_ASSERT_EQ(ioapic_read_reg(IOAPIC_REG_ID), 0x0f000000);
	/* Delivery status reads 0; remote IRR is kept. */
	for (pin = 0; pin < VIREO_IOAPIC_PINS; pin++)
		GUEST_ASSERT_EQ(ioapic_read_redir(pin),
				full_entry(pin) & ~IOAPIC_REDIR_DELIVS);
	GUEST_DONE();
}

TEST(set_stores_what_the_guest_reads)
{
	struct vireo_ioapic_state s;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = state_vm_create(&vcpu, guest_read_back);
	unsigned int i;

	vcpu_run_expect_sync(vcpu, 1);
	memset(&s, 0, sizeof(s));
	for (i = 0; i < VIREO_IOAPIC_PINS; i++)
		s.redir[i] = full_entry(i);
	s.id = 0xffffffff;		/* only bits 27:24 are kept */
	s.select = SET_SELECT;
	s.asserted = 0x00ffffff;	/* every pin high, all masked */
	ioapic_set(vm, &s);

	ioapic_get(vm, &s);
	for (i = 0; i < VIREO_IOAPIC_PINS; i++) {
		EXPECT_EQ(full_entry(i) & ~IOAPIC_REDIR_DELIVS, s.redir[i])
			TH_LOG("pin %u", i);
	}
	EXPECT_EQ(0x0f000000, s.id);
	EXPECT_EQ(SET_SELECT, s.select);
	EXPECT_EQ(0x00ffffff, s.asserted);
	vcpu_run_expect_done(vcpu);
	/* All masked: nothing was sent. */
	EXPECT_EQ(0, *guest_global(vm, guest_irqs));
	vm_free(vm);
}

/* ---- errors --------------------------------------------------------- */

static void expect_set_einval(struct __test_metadata *_metadata,
			      struct vireo_vm *vm,
			      const struct vireo_ioapic_state *s,
			      const char *what)
{
	errno = 0;
	EXPECT_EQ(-1, __vm_ioctl(vm, VIREO_SET_IOAPIC, (void *)s))
		TH_LOG("%s", what);
	EXPECT_EQ(EINVAL, errno) TH_LOG("%s: %s", what, strerror(errno));
}

TEST(bad_input_is_refused)
{
	struct vireo_ioapic_state good, s, before, after;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm = state_vm_create(&vcpu, guest_idle);

	ioapic_get(vm, &before);
	/*
	 * A state that would change everything and send at once: if a
	 * refused SET took any of it, GET would show it.
	 */
	good = before;
	good.redir[LEVEL_PIN] = LEVEL_ENTRY;
	good.id = IOAPIC_ID_VALUE;
	good.select = 0x20;
	good.asserted = 1U << LEVEL_PIN;

	s = good;
	s.reserved[4] = 1;
	expect_set_einval(_metadata, vm, &s, "reserved[4] = 1");
	s = good;
	s.reserved[0] = 0x80000000;
	expect_set_einval(_metadata, vm, &s, "reserved[0] = 0x80000000");
	s = good;
	s.asserted |= 1U << VIREO_IOAPIC_PINS;
	expect_set_einval(_metadata, vm, &s, "asserted bit 24");
	s = good;
	s.asserted = 0x80000000;
	expect_set_einval(_metadata, vm, &s, "asserted bit 31");
	s = good;
	s.select = 0x100;
	expect_set_einval(_metadata, vm, &s, "select 0x100");
	ioapic_get(vm, &after);
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)));

	/* The limits themselves are accepted. */
	s = good;
	s.select = 0xff;
	s.asserted = 0x00ffffff;
	EXPECT_EQ(0, __vm_ioctl(vm, VIREO_SET_IOAPIC, &s));

	errno = 0;
	EXPECT_EQ(-1, __vm_ioctl(vm, VIREO_GET_IOAPIC, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, __vm_ioctl(vm, VIREO_SET_IOAPIC, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	vm_free(vm);

	/* No in-kernel I/O APIC, no state. */
	vm = vm_create_with_one_vcpu(&vcpu, guest_idle);
	errno = 0;
	EXPECT_EQ(-1, __vm_ioctl(vm, VIREO_GET_IOAPIC, &s));
	EXPECT_EQ(ENXIO, errno);
	errno = 0;
	EXPECT_EQ(-1, __vm_ioctl(vm, VIREO_SET_IOAPIC, &before));
	EXPECT_EQ(ENXIO, errno);
	vm_free(vm);
}

VIREO_TEST_MAIN
