/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A real-mode guest that says its last words on COM1 and then triple
 * faults: with an empty IDT (limit 0) the INT3 cannot be delivered (#GP),
 * neither can the #GP (#DF), nor the #DF: shutdown.  tests/demo_greeting.sh
 * checks that vireod reports the crash and that the last words, which the
 * module queues at COM1's fast ports, still reach the console.
 */
#include "com1_16.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	REAL_MODE_ENTRY
	mov	$last_words, %si
	COM1_PUTS_POLLED

crash:
	lidt	empty_idt
	int3
	hlt				/* not reached */

	.section .rodata
last_words:	.asciz "Last words before a triple fault\r\n"
empty_idt:	.word 0			/* limit */
		.long 0			/* base */
