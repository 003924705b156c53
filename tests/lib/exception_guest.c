// SPDX-License-Identifier: GPL-2.0
/*
 * Guest side of exception and interrupt handling: the IDT's entry stubs,
 * the common frame code and the C dispatcher (see exception.h).
 * Everything in this file runs inside the guest: no libc, no TLS, no SSE
 * (built with the guest flags, see Makefile).
 */
#include <stdbool.h>

#include "exception.h"
#include "processor.h"
#include "ucall.h"

#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)

/* The stubs, the common code and the IRETQ agree on this layout. */
_Static_assert(sizeof(struct ex_regs) == 22 * 8, "ex_regs layout");
_Static_assert(sizeof(struct ex_regs) % 16 == 0,
	       "the C dispatcher must be called with a 16-byte aligned stack");

guest_exception_handler_t guest_exception_handlers[GUEST_NR_VECTORS];

/*
 * One 16-byte-aligned stub per vector: push a 0 where the CPU pushes no
 * error code, then the vector, and join the common code.  In 64-bit mode
 * the CPU aligns RSP to 16 before it pushes SS, RSP, RFLAGS, CS, RIP
 * (APM vol. 2, 8.9.3); with the error code, the vector and 15 registers
 * the frame is 22 quadwords, so the call below sees an aligned stack.
 *
 * The exception stubs (0-31) are named one by one; the 224 interrupt
 * stubs (32-255, never an error code) follow them at the same 16-byte
 * stride, so stub n starts at guest_exception_stub_0 + 16 * n.  Every
 * stub fits in 16 bytes: push imm8 (2), push imm8/imm32 (2/5), jmp (2/5).
 */
asm(
"	.pushsection .text, \"ax\", @progbits\n"
"	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
"	.balign 16\n"
"guest_exception_stub_\\v:\n"
"	.ifeq (" __stringify(EXCEPTION_ERROR_CODE_MASK) " >> \\v) & 1\n"
"	pushq $0\n"
"	.endif\n"
"	pushq $\\v\n"
"	jmp guest_exception_common\n"
"	.endr\n"
"	.set .Lguest_interrupt_vector, " __stringify(GUEST_NR_EXCEPTIONS) "\n"
"	.rept " __stringify(GUEST_NR_VECTORS) " - " __stringify(GUEST_NR_EXCEPTIONS) "\n"
"	.balign 16\n"
"	pushq $0\n"
"	pushq $.Lguest_interrupt_vector\n"
"	jmp guest_exception_common\n"
"	.set .Lguest_interrupt_vector, .Lguest_interrupt_vector + 1\n"
"	.endr\n"
"\n"
"guest_exception_common:\n"
"	push %r15\n"
"	push %r14\n"
"	push %r13\n"
"	push %r12\n"
"	push %r11\n"
"	push %r10\n"
"	push %r9\n"
"	push %r8\n"
"	push %rdi\n"
"	push %rsi\n"
"	push %rbp\n"
"	push %rbx\n"
"	push %rdx\n"
"	push %rcx\n"
"	push %rax\n"
"	cld\n"
"	mov %rsp, %rdi\n"
"	call guest_exception_dispatch\n"
"	pop %rax\n"
"	pop %rcx\n"
"	pop %rdx\n"
"	pop %rbx\n"
"	pop %rbp\n"
"	pop %rsi\n"
"	pop %rdi\n"
"	pop %r8\n"
"	pop %r9\n"
"	pop %r10\n"
"	pop %r11\n"
"	pop %r12\n"
"	pop %r13\n"
"	pop %r14\n"
"	pop %r15\n"
"	add $16, %rsp\n"		/* the vector and the error code */
"	iretq\n"
"	.popsection\n"
"\n"
"	.pushsection .rodata, \"a\", @progbits\n"
"	.balign 8\n"
"	.globl guest_exception_stubs\n"
"guest_exception_stubs:\n"
"	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
"	.quad guest_exception_stub_\\v\n"
"	.endr\n"
"	.set .Lguest_interrupt_vector, " __stringify(GUEST_NR_EXCEPTIONS) "\n"
"	.rept " __stringify(GUEST_NR_VECTORS) " - " __stringify(GUEST_NR_EXCEPTIONS) "\n"
"	.quad guest_exception_stub_0 + 16 * .Lguest_interrupt_vector\n"
"	.set .Lguest_interrupt_vector, .Lguest_interrupt_vector + 1\n"
"	.endr\n"
"	.popsection\n"
);

/*
 * Bounds of the fixup table, made by the linker from the section name.
 * Weak: a binary without any GUEST_ASM_SAFE() has no such section.
 */
extern const struct guest_extable_entry __start_guest_extable[]
	__attribute__((weak));
extern const struct guest_extable_entry __stop_guest_extable[]
	__attribute__((weak));

static bool guest_exception_fixup(struct ex_regs *regs)
{
	const struct guest_extable_entry *e;

	for (e = __start_guest_extable; e < __stop_guest_extable; e++) {
		if (e->insn != regs->rip)
			continue;
		regs->rip = e->fixup;
		regs->r9 = regs->vector;
		regs->r10 = regs->error_code;
		return true;
	}
	return false;
}

void guest_exception_dispatch(struct ex_regs *regs)
{
	guest_exception_handler_t handler = NULL;
	uint64_t cr2 = 0;

	/*
	 * An interrupt's frame holds the address of the next instruction,
	 * which may well be a wrapped one: fixups are for exceptions only.
	 */
	if (regs->vector < GUEST_NR_EXCEPTIONS && guest_exception_fixup(regs))
		return;
	if (regs->vector < GUEST_NR_VECTORS)
		handler = READ_ONCE(guest_exception_handlers[regs->vector]);
	if (handler) {
		handler(regs);
		return;
	}
	if (regs->vector == PF_VECTOR)
		asm volatile("mov %%cr2, %0" : "=r"(cr2));
	ucall_fatal(UCALL_UNHANDLED, __FILE__, __LINE__,
		    regs->vector < GUEST_NR_EXCEPTIONS ?
		    "unhandled guest exception" : "unhandled guest interrupt", 4, regs->vector,
		    regs->error_code, regs->rip, cr2);
}
