/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Firmware tables for Linux guests: how the kernel finds its CPUs and
 * interrupt controllers without a BIOS.
 *
 * Vireo writes an Intel MultiProcessor Specification 1.4 table (not ACPI;
 * docs/boot.md says why).  Linux looks for the MP floating pointer in the
 * first KiB of RAM, in the last KiB below 640 KiB and in 0xF0000-0xFFFFF
 * (arch/x86/kernel/mpparse.c), whenever it finds no ACPI RSDP.  The tables
 * live in one 4 KiB firmware page that the e820 map marks reserved:
 *
 *	0x9f000  MP configuration table (header, then entries by type)
 *	0x9fc00  MP floating pointer structure (16 bytes)
 *
 * The platform they describe, and that the module's LAPIC/IOAPIC must
 * match (MP spec 1.4 chapter 4 and appendix D):
 *  - vCPU n has local APIC ID n, version 0x14, enabled; vCPU 0 is the BSP;
 *    the local APICs are at 0xFEE00000;
 *  - one ISA bus, id 0;
 *  - one IOAPIC, ID = number of vCPUs, version 0x11, 24 pins, at 0xFEC00000;
 *  - ISA IRQ 0 (the PIT) on IOAPIC pin 2, ISA IRQ n on pin n for n = 1 and
 *    3..15 (IRQ 2 is the cascade and has no entry); edge-triggered, active
 *    high, as the ISA bus defines;
 *  - the 8259 (ExtINT) on LINT0 and NMI on LINT1 of every local APIC;
 *  - virtual-wire mode (no IMCR).
 */
#ifndef VIREOD_FW_TABLES_H
#define VIREOD_FW_TABLES_H

#include <stddef.h>
#include <stdint.h>

struct errinfo;

#define FW_TABLES_GPA		0x9f000ULL	/* e820 reserved: FW_TABLES_GPA..END */
#define FW_TABLES_END		0xa0000ULL
#define FW_MP_CONFIG_GPA	0x9f000ULL
#define FW_MP_CONFIG_MAX	0xc00		/* up to the floating pointer */
#define FW_MP_FLOATING_GPA	0x9fc00ULL	/* 639 KiB: scanned by Linux */

#define FW_LAPIC_GPA		0xfee00000ULL
#define FW_IOAPIC_GPA		0xfec00000ULL
#define FW_LAPIC_VERSION	0x14	/* integrated xAPIC */
#define FW_IOAPIC_VERSION	0x11
#define FW_IOAPIC_PINS		24
#define FW_ISA_IRQS		16
#define FW_ISA_BUS_ID		0

/* MP spec 1.4 table 4-3: entry types, in the order they must appear. */
enum fw_mp_entry_type {
	FW_MP_PROCESSOR = 0,		/* 20 bytes */
	FW_MP_BUS = 1,			/* 8 bytes, and 8 for the rest */
	FW_MP_IOAPIC = 2,
	FW_MP_IO_INTERRUPT = 3,
	FW_MP_LOCAL_INTERRUPT = 4,
};

/* MP spec 1.4 table 4-7: interrupt types. */
enum fw_mp_irq_type {
	FW_MP_IRQ_INT = 0,
	FW_MP_IRQ_NMI = 1,
	FW_MP_IRQ_SMI = 2,
	FW_MP_IRQ_EXTINT = 3,
};

/* IOAPIC pin of an ISA IRQ (the routing above); -1 for IRQ 2 and > 15. */
int fw_isa_irq_pin(unsigned int irq);
/* The IOAPIC's ID for a VM of nr_vcpus: the first ID no local APIC uses. */
unsigned int fw_ioapic_id(unsigned int nr_vcpus);
/* Bytes of the MP configuration table for nr_vcpus. */
size_t fw_mptable_config_bytes(unsigned int nr_vcpus);
/* The byte that makes the 'len' bytes at 'p' sum to zero (mod 256). */
uint8_t fw_checksum(const uint8_t *p, size_t len);

/*
 * Writes the floating pointer and the configuration table into guest RAM
 * (which must extend past FW_TABLES_END).  cpu_signature and cpu_features
 * are CPUID leaf 1 EAX and EDX, copied into every processor entry.
 * 0, or -EINVAL with 'e' set if nr_vcpus is 0 or too large for the page.
 */
int fw_mptable_write(uint8_t *ram, unsigned int nr_vcpus, uint32_t cpu_signature,
		     uint32_t cpu_features, struct errinfo *e);

#endif
