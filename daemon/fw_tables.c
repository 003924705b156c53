// SPDX-License-Identifier: GPL-2.0
/*
 * The MP table of fw_tables.h.  Structure layouts and field meanings are
 * from the Intel MultiProcessor Specification 1.4, chapter 4 (section
 * numbers below); everything is little-endian and byte-packed.
 */
#include <errno.h>
#include <string.h>

#include "errinfo.h"
#include "fw_tables.h"
#include "vireo.h"

/* The tables must describe the interrupt controllers the module emulates. */
#ifdef VIREO_IOAPIC_BASE
_Static_assert(FW_IOAPIC_GPA == VIREO_IOAPIC_BASE && FW_IOAPIC_PINS == VIREO_IOAPIC_PINS,
	       "the MP table's IOAPIC is the module's");
#endif
#ifdef VIREO_LAPIC_BASE
_Static_assert(FW_LAPIC_GPA == VIREO_LAPIC_BASE, "the MP table's local APIC address is the module's");
#endif

/* 4.1: MP floating pointer structure, 16 bytes on a 16-byte boundary. */
struct mp_floating_pointer {
	char signature[4];		/* "_MP_" */
	uint32_t config_gpa;		/* the configuration table */
	uint8_t length;			/* in 16-byte units: 1 */
	uint8_t spec_rev;		/* 4 for 1.4 */
	uint8_t checksum;		/* all 16 bytes sum to 0 */
	uint8_t feature1;		/* 0: a configuration table is present */
	uint8_t feature2;		/* bit 7 IMCRP clear: virtual-wire mode */
	uint8_t feature3_5[3];
} __attribute__((packed));

/* 4.2: configuration table header, 44 bytes. */
struct mp_config_header {
	char signature[4];		/* "PCMP" */
	uint16_t base_length;		/* header + base entries */
	uint8_t spec_rev;
	uint8_t checksum;		/* the base table sums to 0 */
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table_gpa;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_gpa;
	uint16_t ext_length;		/* no extended entries */
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

/* 4.3.1: processor entry. */
struct mp_processor {
	uint8_t type;
	uint8_t lapic_id;
	uint8_t lapic_version;
	uint8_t flags;			/* bit 0 EN, bit 1 BP */
	uint32_t signature;		/* CPUID.1:EAX stepping/model/family */
	uint32_t features;		/* CPUID.1:EDX */
	uint8_t reserved[8];
} __attribute__((packed));

/* 4.3.2: bus entry. */
struct mp_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6];		/* "ISA   " */
} __attribute__((packed));

/* 4.3.3: I/O APIC entry. */
struct mp_ioapic {
	uint8_t type;
	uint8_t id;
	uint8_t version;
	uint8_t flags;			/* bit 0 EN */
	uint32_t gpa;
} __attribute__((packed));

/* 4.3.4 and 4.3.5: I/O and local interrupt assignment entries. */
struct mp_interrupt {
	uint8_t type;
	uint8_t irq_type;
	uint16_t flags;			/* 0: polarity and trigger as the bus says */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;		/* 0xff: every local APIC (local entries) */
	uint8_t dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating_pointer) == 16, "MP spec 4.1");
_Static_assert(sizeof(struct mp_config_header) == 44, "MP spec 4.2");
_Static_assert(sizeof(struct mp_processor) == 20, "MP spec 4.3.1");
_Static_assert(sizeof(struct mp_bus) == 8 && sizeof(struct mp_ioapic) == 8 &&
	       sizeof(struct mp_interrupt) == 8, "MP spec 4.3.2-4.3.5");

#define MP_SPEC_REV_1_4		4
#define MP_CPU_ENABLED		0x01
#define MP_CPU_BSP		0x02
#define MP_IOAPIC_ENABLED	0x01
#define MP_ALL_LAPICS		0xff
#define MP_ISA_IRQ_ENTRIES	(FW_ISA_IRQS - 1)	/* all but the cascade */
#define MP_LOCAL_IRQ_ENTRIES	2			/* ExtINT, NMI */

/* Any VM the module can create fits (the Linux loader relies on it). */
_Static_assert(sizeof(struct mp_config_header) + VIREO_MAX_VCPUS * sizeof(struct mp_processor) +
	       sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +
	       (MP_ISA_IRQ_ENTRIES + MP_LOCAL_IRQ_ENTRIES) * sizeof(struct mp_interrupt) <=
	       FW_MP_CONFIG_MAX, "the MP table page is too small for VIREO_MAX_VCPUS");

int fw_isa_irq_pin(unsigned int irq)
{
	if (irq == 0)
		return 2;	/* the PIT, as ACPI's usual IRQ0 -> GSI 2 override */
	if (irq == 2 || irq >= FW_ISA_IRQS)
		return -1;
	return (int)irq;
}

unsigned int fw_ioapic_id(unsigned int nr_vcpus)
{
	return nr_vcpus;
}

size_t fw_mptable_config_bytes(unsigned int nr_vcpus)
{
	return sizeof(struct mp_config_header) +
	       nr_vcpus * sizeof(struct mp_processor) +
	       sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +
	       (MP_ISA_IRQ_ENTRIES + MP_LOCAL_IRQ_ENTRIES) * sizeof(struct mp_interrupt);
}

uint8_t fw_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* Appends one entry at *pos; the caller has checked that all of them fit. */
static void mp_put(uint8_t *table, size_t *pos, const void *entry, size_t len)
{
	memcpy(table + *pos, entry, len);
	*pos += len;
}

static void mp_put_interrupt(uint8_t *table, size_t *pos, uint8_t type, uint8_t irq_type,
			     uint8_t src_irq, uint8_t dst_apic, uint8_t dst_pin)
{
	struct mp_interrupt irq = {
		.type = type, .irq_type = irq_type, .src_bus = FW_ISA_BUS_ID,
		.src_irq = src_irq, .dst_apic = dst_apic, .dst_pin = dst_pin,
	};

	mp_put(table, pos, &irq, sizeof(irq));
}

int fw_mptable_write(uint8_t *ram, unsigned int nr_vcpus, uint32_t cpu_signature,
		     uint32_t cpu_features, struct errinfo *e)
{
	uint8_t *table = ram + FW_MP_CONFIG_GPA;
	struct mp_config_header hdr = {
		.signature = "PCMP", .spec_rev = MP_SPEC_REV_1_4,
		.oem_id = "VIREO   ", .product_id = "VIREO VM    ",
		.lapic_gpa = (uint32_t)FW_LAPIC_GPA,
	};
	struct mp_floating_pointer fp = {
		.signature = "_MP_", .config_gpa = (uint32_t)FW_MP_CONFIG_GPA,
		.length = 1, .spec_rev = MP_SPEC_REV_1_4,
	};
	struct mp_bus bus = { .type = FW_MP_BUS, .bus_id = FW_ISA_BUS_ID, .bus_type = "ISA   " };
	struct mp_ioapic ioapic = {
		.type = FW_MP_IOAPIC, .id = (uint8_t)fw_ioapic_id(nr_vcpus),
		.version = FW_IOAPIC_VERSION, .flags = MP_IOAPIC_ENABLED,
		.gpa = (uint32_t)FW_IOAPIC_GPA,
	};
	size_t bytes = fw_mptable_config_bytes(nr_vcpus), pos = sizeof(hdr);
	unsigned int entries = 0;

	/* APIC ID 0xff means "all"; the IOAPIC takes the ID after the CPUs. */
	if (!nr_vcpus || nr_vcpus >= MP_ALL_LAPICS || bytes > FW_MP_CONFIG_MAX) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "an MP table cannot describe %u vCPUs (1-%zu fit in its %u bytes)",
			    nr_vcpus,
			    (FW_MP_CONFIG_MAX - fw_mptable_config_bytes(0)) / sizeof(struct mp_processor),
			    FW_MP_CONFIG_MAX);
		return -EINVAL;
	}
	memset(ram + FW_TABLES_GPA, 0, FW_TABLES_END - FW_TABLES_GPA);

	for (unsigned int i = 0; i < nr_vcpus; i++, entries++) {
		struct mp_processor cpu = {
			.type = FW_MP_PROCESSOR, .lapic_id = (uint8_t)i,
			.lapic_version = FW_LAPIC_VERSION,
			.flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.signature = cpu_signature, .features = cpu_features,
		};

		mp_put(table, &pos, &cpu, sizeof(cpu));
	}
	mp_put(table, &pos, &bus, sizeof(bus));
	mp_put(table, &pos, &ioapic, sizeof(ioapic));
	entries += 2;
	for (unsigned int irq = 0; irq < FW_ISA_IRQS; irq++) {
		int pin = fw_isa_irq_pin(irq);

		if (pin < 0)
			continue;
		mp_put_interrupt(table, &pos, FW_MP_IO_INTERRUPT, FW_MP_IRQ_INT, (uint8_t)irq,
				 ioapic.id, (uint8_t)pin);
		entries++;
	}
	/* The 8259 reaches the CPUs through LINT0 (virtual wire), NMI through LINT1. */
	mp_put_interrupt(table, &pos, FW_MP_LOCAL_INTERRUPT, FW_MP_IRQ_EXTINT, 0, MP_ALL_LAPICS, 0);
	mp_put_interrupt(table, &pos, FW_MP_LOCAL_INTERRUPT, FW_MP_IRQ_NMI, 0, MP_ALL_LAPICS, 1);
	entries += MP_LOCAL_IRQ_ENTRIES;

	hdr.base_length = (uint16_t)pos;
	hdr.entry_count = (uint16_t)entries;
	memcpy(table, &hdr, sizeof(hdr));
	table[offsetof(struct mp_config_header, checksum)] = fw_checksum(table, pos);

	memcpy(ram + FW_MP_FLOATING_GPA, &fp, sizeof(fp));
	ram[FW_MP_FLOATING_GPA + offsetof(struct mp_floating_pointer, checksum)] =
		fw_checksum(ram + FW_MP_FLOATING_GPA, sizeof(fp));
	return 0;
}
