/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest helpers for the interrupt controllers of an irqchip VM
 * (vm_create_irqchip_with_one_vcpu(), VIREO_VM_FLAG_IRQCHIP):
 *
 *   - the local APIC in xAPIC mode, a 4 KiB MMIO page at 0xfee00000
 *     (xapic_*), and in x2APIC mode, MSRs 0x800-0x8ff (x2apic_*);
 *   - the I/O APIC at 0xfec00000: IOREGSEL / IOWIN and the redirection
 *     table (ioapic_*).
 *
 * Register names and bits follow SDM vol. 3A, chapter 10, and the Intel
 * 82093AA datasheet.  The MMIO accessors are single 32-bit MOVs, which is
 * what the APICs expect and what the module's MMIO decoder handles.
 * Interrupt handlers are installed with vm_install_interrupt_handler()
 * (exception.h) and send their own EOI.
 */
#ifndef VIREO_TEST_APIC_H
#define VIREO_TEST_APIC_H

#include <stdbool.h>
#include <stdint.h>

#include "processor.h"
#include "vireo.h"

/* IA32_APIC_BASE (SDM 10.4.4) and the TSC-deadline MSR (10.5.4.1). */
#define MSR_IA32_APICBASE		0x1b
#define MSR_IA32_APICBASE_BSP		(1ULL << 8)
#define MSR_IA32_APICBASE_EXTD		(1ULL << 10)	/* x2APIC mode */
#define MSR_IA32_APICBASE_ENABLE	(1ULL << 11)
#define MSR_IA32_TSC_DEADLINE		0x6e0

#define APIC_DEFAULT_GPA	VIREO_LAPIC_BASE
/* x2APIC MSR of the register at xAPIC offset @reg (10.12.1.2). */
#define APIC_BASE_MSR		0x800
#define X2APIC_MSR(reg)		(APIC_BASE_MSR + ((reg) >> 4))

/* Local APIC registers, as xAPIC offsets (table 10-1). */
#define APIC_ID		0x020
#define APIC_LVR	0x030
#define APIC_TASKPRI	0x080
#define APIC_ARBPRI	0x090
#define APIC_PROCPRI	0x0a0
#define APIC_EOI	0x0b0
#define APIC_LDR	0x0d0
#define APIC_DFR	0x0e0
#define APIC_SPIV	0x0f0
#define APIC_ISR	0x100
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_ESR	0x280
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define APIC_LVTT	0x320
#define APIC_LVTTHMR	0x330
#define APIC_LVTPC	0x340
#define APIC_LVT0	0x350
#define APIC_LVT1	0x360
#define APIC_LVTERR	0x370
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0
#define APIC_SELF_IPI	0x3f0	/* x2APIC only */

#define APIC_SPIV_APIC_ENABLED	(1U << 8)
#define APIC_SPURIOUS_VECTOR	0xff

/* LVT entries (10.5.1). */
#define APIC_LVT_MASKED		(1U << 16)
#define APIC_LVT_TIMER_ONESHOT	(0U << 17)
#define APIC_LVT_TIMER_PERIODIC	(1U << 17)
#define APIC_LVT_TIMER_TSCDEADLINE (2U << 17)

/* Divide configuration register values (10.5.4, figure 10-10). */
#define APIC_TDCR_2		0x0
#define APIC_TDCR_4		0x1
#define APIC_TDCR_8		0x2
#define APIC_TDCR_16		0x3
#define APIC_TDCR_32		0x8
#define APIC_TDCR_64		0x9
#define APIC_TDCR_128		0xa
#define APIC_TDCR_1		0xb

/* ICR (10.6.1). */
#define APIC_DM_FIXED		0x00000
#define APIC_DM_LOWEST		0x00100
#define APIC_DM_NMI		0x00400
#define APIC_DM_INIT		0x00500
#define APIC_DM_STARTUP		0x00600
#define APIC_DEST_LOGICAL	0x00800
#define APIC_ICR_BUSY		0x01000
#define APIC_INT_ASSERT		0x04000
#define APIC_INT_LEVELTRIG	0x08000
#define APIC_DEST_SELF		0x40000
#define APIC_DEST_ALLINC	0x80000
#define APIC_DEST_ALLBUT	0xc0000

/* ---- xAPIC: the MMIO page -------------------------------------------- */

static inline uint32_t xapic_read_reg(unsigned int reg)
{
	uint32_t v;

	asm volatile("movl (%1), %0"
		     : "=r"(v) : "r"(APIC_DEFAULT_GPA + reg) : "memory");
	return v;
}

static inline void xapic_write_reg(unsigned int reg, uint32_t v)
{
	asm volatile("movl %0, (%1)"
		     : : "r"(v), "r"(APIC_DEFAULT_GPA + reg) : "memory");
}

/*
 * Enable the LAPIC in xAPIC mode: the global enable in IA32_APIC_BASE,
 * then the software enable in SVR with the spurious vector 0xff.
 */
static inline void xapic_enable(void)
{
	uint64_t base = rdmsr(MSR_IA32_APICBASE);

	wrmsr(MSR_IA32_APICBASE, (base & ~MSR_IA32_APICBASE_EXTD) |
				 MSR_IA32_APICBASE_ENABLE);
	xapic_write_reg(APIC_SPIV, APIC_SPIV_APIC_ENABLED |
				   APIC_SPURIOUS_VECTOR);
}

static inline void xapic_eoi(void)
{
	xapic_write_reg(APIC_EOI, 0);
}

/* ICR high (destination in bits 31:24), then ICR low, which sends. */
static inline void xapic_send_ipi(uint8_t dest, uint32_t icr)
{
	xapic_write_reg(APIC_ICR2, (uint32_t)dest << 24);
	xapic_write_reg(APIC_ICR, icr);
}

/*
 * Start application processor @apic_id at real-mode address
 * @sipi_vector << 12: INIT, then a start-up IPI (SDM 8.4.4.1; one SIPI is
 * enough for a vCPU).  vm_install_sipi_trampoline() puts code there.
 */
static inline void xapic_start_ap(uint8_t apic_id, uint8_t sipi_vector)
{
	xapic_send_ipi(apic_id, APIC_DM_INIT | APIC_INT_ASSERT);
	xapic_send_ipi(apic_id, APIC_DM_STARTUP | sipi_vector);
}

/* Bit @vector of a 256-bit register (APIC_ISR, APIC_TMR, APIC_IRR). */
static inline bool xapic_vector_set(unsigned int base, uint8_t vector)
{
	return (xapic_read_reg(base + (vector / 32) * 0x10) >>
		(vector % 32)) & 1;
}

/* ---- x2APIC: MSRs -------------------------------------------------- */

static inline uint64_t x2apic_read_reg(unsigned int reg)
{
	return rdmsr(X2APIC_MSR(reg));
}

static inline void x2apic_write_reg(unsigned int reg, uint64_t v)
{
	wrmsr(X2APIC_MSR(reg), v);
}

/* Switch to x2APIC mode (EXTD and EN in IA32_APIC_BASE) and enable SVR. */
static inline void x2apic_enable(void)
{
	wrmsr(MSR_IA32_APICBASE, rdmsr(MSR_IA32_APICBASE) |
				 MSR_IA32_APICBASE_ENABLE |
				 MSR_IA32_APICBASE_EXTD);
	x2apic_write_reg(APIC_SPIV, APIC_SPIV_APIC_ENABLED |
				    APIC_SPURIOUS_VECTOR);
}

static inline void x2apic_eoi(void)
{
	x2apic_write_reg(APIC_EOI, 0);
}

/* The 64-bit x2APIC ICR: 32-bit destination in bits 63:32 (10.12.9). */
static inline void x2apic_send_ipi(uint32_t dest, uint32_t icr)
{
	x2apic_write_reg(APIC_ICR, (uint64_t)dest << 32 | icr);
}

/* SELF IPI register: a fixed, edge-triggered @vector to this APIC. */
static inline void x2apic_self_ipi(uint8_t vector)
{
	x2apic_write_reg(APIC_SELF_IPI, vector);
}

static inline bool x2apic_vector_set(unsigned int base, uint8_t vector)
{
	return (x2apic_read_reg(base + (vector / 32) * 0x10) >>
		(vector % 32)) & 1;
}

/* ---- I/O APIC ------------------------------------------------------ */

#define IOAPIC_DEFAULT_GPA	VIREO_IOAPIC_BASE
#define IOAPIC_IOREGSEL		0x00
#define IOAPIC_IOWIN		0x10

/* Registers behind IOREGSEL (82093AA, 3.1). */
#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VERSION	0x01
#define IOAPIC_REG_ARB		0x02
#define IOAPIC_REG_REDTBL(pin)	(0x10 + 2 * (pin))

/* Redirection table entry bits (82093AA, 3.2.4). */
#define IOAPIC_REDIR_VECTOR(v)	((uint64_t)(v) & 0xff)
#define IOAPIC_REDIR_LOWEST	(1ULL << 8)
#define IOAPIC_REDIR_LOGICAL	(1ULL << 11)
#define IOAPIC_REDIR_DELIVS	(1ULL << 12)	/* delivery status, RO */
#define IOAPIC_REDIR_POLARITY_LOW (1ULL << 13)
#define IOAPIC_REDIR_REMOTE_IRR	(1ULL << 14)	/* RO */
#define IOAPIC_REDIR_LEVEL	(1ULL << 15)
#define IOAPIC_REDIR_MASKED	(1ULL << 16)
#define IOAPIC_REDIR_DEST(d)	((uint64_t)(d) << 56)

static inline void ioapic_mmio_write(unsigned int off, uint32_t v)
{
	asm volatile("movl %0, (%1)"
		     : : "r"(v), "r"(IOAPIC_DEFAULT_GPA + off) : "memory");
}

static inline uint32_t ioapic_mmio_read(unsigned int off)
{
	uint32_t v;

	asm volatile("movl (%1), %0"
		     : "=r"(v) : "r"(IOAPIC_DEFAULT_GPA + off) : "memory");
	return v;
}

static inline uint32_t ioapic_read_reg(uint8_t reg)
{
	ioapic_mmio_write(IOAPIC_IOREGSEL, reg);
	return ioapic_mmio_read(IOAPIC_IOWIN);
}

static inline void ioapic_write_reg(uint8_t reg, uint32_t v)
{
	ioapic_mmio_write(IOAPIC_IOREGSEL, reg);
	ioapic_mmio_write(IOAPIC_IOWIN, v);
}

static inline uint64_t ioapic_read_redir(unsigned int pin)
{
	uint32_t lo = ioapic_read_reg(IOAPIC_REG_REDTBL(pin));
	uint32_t hi = ioapic_read_reg(IOAPIC_REG_REDTBL(pin) + 1);

	return (uint64_t)hi << 32 | lo;
}

/*
 * The high half (destination) first, then the low half: an entry that
 * becomes unmasked is complete at that moment.
 */
static inline void ioapic_write_redir(unsigned int pin, uint64_t entry)
{
	ioapic_write_reg(IOAPIC_REG_REDTBL(pin) + 1, entry >> 32);
	ioapic_write_reg(IOAPIC_REG_REDTBL(pin), (uint32_t)entry);
}

/*
 * Counting interrupt handlers (lib/irq_count_guest.c), for
 * vm_install_interrupt_handler(): each adds 1 to guest_irqs and records
 * the vector in guest_last_vector; guest_irq_count_eoi() also sends the
 * EOI, guest_irq_count() leaves it to the guest code (level-triggered
 * interrupts, whose EOI decides when the I/O APIC may send again).
 */
struct ex_regs;
extern uint64_t guest_irqs;
extern uint64_t guest_last_vector;
void guest_irq_count(struct ex_regs *regs);
void guest_irq_count_eoi(struct ex_regs *regs);

#endif /* VIREO_TEST_APIC_H */
