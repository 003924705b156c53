/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A real-mode guest that says its last words on COM1 and then triple
 * faults: with an empty IDT (limit 0) the INT3 cannot be delivered (#GP),
 * neither can the #GP (#DF), nor the #DF: shutdown.  tests/demo_greeting.sh
 * checks that vireod reports the crash and that the last words, which the
 * module queues at COM1's fast ports, still reach the console.
 */
#define COM1_THR	0x3f8
#define COM1_LSR	0x3fd
#define LSR_THRE	0x20

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	cld
	mov	%cs, %ax
	mov	%ax, %ds
	mov	$last_words, %si
1:	lodsb
	test	%al, %al
	jz	crash
	mov	%al, %bl
	mov	$COM1_LSR, %dx
2:	in	%dx, %al
	test	$LSR_THRE, %al
	jz	2b
	mov	%bl, %al
	mov	$COM1_THR, %dx
	out	%al, %dx
	jmp	1b

crash:
	lidt	empty_idt
	int3
	hlt				/* not reached */

	.section .rodata
last_words:	.asciz "Last words before a triple fault\r\n"
empty_idt:	.word 0			/* limit */
		.long 0			/* base */
