/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest exceptions and interrupts.
 *
 * vm_create() gives every VM an IDT of 256 interrupt gates (layout in
 * x86.h) pointing at small stubs of the test binary (exception_guest.c):
 * vectors 0-31 are the exceptions, 32-255 external interrupts (LAPIC
 * timer, IPIs, I/O APIC pins of an irqchip VM).  Each stub builds one
 * uniform frame, struct ex_regs: an error code (0 for the vectors whose
 * exception has none, and for every interrupt), the vector, and the
 * general-purpose registers below what the CPU pushed.  It then calls
 * guest_exception_dispatch(), which tries, in this order:
 *
 *   1. for an exception (vector < 32), the fixup of an instruction wrapped
 *      in GUEST_ASM_SAFE() (such as rdmsr_safe() in processor.h): RIP moves
 *      to the end of the wrapped instruction and the wrapper returns the
 *      vector.  Never for an interrupt: one that arrives just before a
 *      wrapped instruction has that instruction's address in its frame;
 *   2. the handler installed for the vector with
 *      vm_install_exception_handler() (vectors 0-31) or
 *      vm_install_interrupt_handler() (32-255), which may change any field
 *      of the frame (typically RIP, to skip the faulting instruction);
 *   3. otherwise a UCALL_UNHANDLED ucall with the vector, the error code,
 *      RIP and CR2, which vcpu_run() turns into a test failure naming the
 *      exception (or interrupt) and the guest function.  The vCPU never
 *      resumes.
 *
 * The frame is popped and IRETQ returns to its RIP.  Handlers run on the
 * interrupted code's stack (CPL 0, no IST), which is why guest code is
 * built with -mno-red-zone.  All gates are interrupt gates: a handler runs
 * with RFLAGS.IF clear, and IRETQ restores the interrupted IF.  An
 * interrupt handler sends its own EOI (apic.h) when it wants to: the
 * library never does, so that tests control the in-service order.
 *
 * vcpu_load_empty_idt() loads a zero-limit IDT instead, for tests that
 * want a guest exception to end in a triple fault (VIREO_EXIT_SHUTDOWN).
 */
#ifndef VIREO_TEST_EXCEPTION_H
#define VIREO_TEST_EXCEPTION_H

#include <stddef.h>
#include <stdint.h>

/* Exception vectors (APM vol. 2, 8.2). */
#define DE_VECTOR	0
#define DB_VECTOR	1
#define NMI_VECTOR	2
#define BP_VECTOR	3
#define OF_VECTOR	4
#define BR_VECTOR	5
#define UD_VECTOR	6
#define NM_VECTOR	7
#define DF_VECTOR	8
#define TS_VECTOR	10
#define NP_VECTOR	11
#define SS_VECTOR	12
#define GP_VECTOR	13
#define PF_VECTOR	14
#define MF_VECTOR	16
#define AC_VECTOR	17
#define MC_VECTOR	18
#define XM_VECTOR	19
#define VE_VECTOR	20
#define CP_VECTOR	21
#define HV_VECTOR	28
#define VC_VECTOR	29
#define SX_VECTOR	30

#define GUEST_NR_EXCEPTIONS	32
/* Vectors GUEST_NR_EXCEPTIONS up to this are external interrupts. */
#define GUEST_NR_VECTORS	256

/*
 * Vectors whose exception pushes an error code: #DF, #TS, #NP, #SS, #GP,
 * #PF, #AC, #CP, #VC, #SX.  The stubs push a 0 for every other vector,
 * interrupts included.
 */
#define EXCEPTION_ERROR_CODE_MASK	0x60227d00

/*
 * The frame a stub builds, lowest address first: the registers it saved
 * (in hardware encoding order, without RSP), the vector, the error code,
 * and what the CPU pushed in 64-bit mode (APM vol. 2, 8.9.3).
 */
struct ex_regs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip;
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t ss;
};

typedef void (*guest_exception_handler_t)(struct ex_regs *regs);

/*
 * GUEST_ASM_SAFE(insn): an asm template running @insn such that an
 * exception it raises does not reach a handler.  R9 is 0 after it if
 * nothing happened; otherwise the dispatcher has put the vector in R9, the
 * error code in R10, and resumed right after @insn.  The asm statement must
 * declare R9 and R10 as outputs (see rdmsr_safe()).  #DE (vector 0) cannot
 * be told from "no exception": wrap no instruction that can divide.
 *
 * The fixup is found by RIP: each use adds {address of @insn, address
 * after it} to the guest_extable section, which the dispatcher searches.
 */
#define GUEST_ASM_SAFE(insn)					\
	"xor %%r9d, %%r9d\n\t"					\
	"xor %%r10d, %%r10d\n"					\
	"1:\t" insn "\n"					\
	"2:\n\t"						\
	".pushsection guest_extable, \"a\"\n\t"			\
	".balign 8\n\t"						\
	".quad 1b, 2b\n\t"					\
	".popsection\n\t"

struct guest_extable_entry {
	uint64_t insn;		/* address of the wrapped instruction */
	uint64_t fixup;		/* where to resume after an exception */
};

/* ---- guest side (exception_guest.c) ------------------------------ */

/*
 * Per VM: guest memory holds the table (exceptions and interrupts), the
 * host fills it.
 */
extern guest_exception_handler_t guest_exception_handlers[GUEST_NR_VECTORS];
/*
 * Entry points of the 256 stubs, for the IDT the host builds; stub n is at
 * guest_exception_stubs[0] + 16 * n.
 */
extern const uint64_t guest_exception_stubs[GUEST_NR_VECTORS];

void guest_exception_dispatch(struct ex_regs *regs);

/* ---- host side (exception.c) ------------------------------------- */

struct vireo_vm;
struct vireo_vcpu;
struct ucall;

/*
 * Run @handler (a guest function of the test binary, or NULL for the
 * default report) on exception @vector in every vCPU of @vm.  Only while
 * no vCPU of @vm runs.
 */
void vm_install_exception_handler(struct vireo_vm *vm, unsigned int vector,
				  guest_exception_handler_t handler);
/*
 * The same for external-interrupt vector @vector (32-255).  NULL brings
 * back the default report (an interrupt nobody expected fails the test).
 */
void vm_install_interrupt_handler(struct vireo_vm *vm, unsigned int vector,
				  guest_exception_handler_t handler);

/* Load a zero-limit IDT: any guest exception becomes a triple fault. */
void vcpu_load_empty_idt(struct vireo_vcpu *vcpu);

/* "#GP", "#PF", ...; "vector N" for a reserved one, "interrupt 0xNN". */
const char *exception_name(uint64_t vector, char *buf, size_t len);

/*
 * Describe a UCALL_UNHANDLED: exception (or interrupt), error code, RIP
 * with symbol.
 */
const char *ucall_format_unhandled(const struct ucall *uc, char *buf,
				   size_t len);

/* Fail the test with the guest's unhandled exception or interrupt. */
void __attribute__((noreturn))
report_guest_unhandled(const struct ucall *uc, const char *file, int line);

#endif /* VIREO_TEST_EXCEPTION_H */
