/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the real-mode demo guests (hello.S, spin.S, crash.S): COM1's
 * registers, the entry prologue and a polled string print.
 */
#define COM1_THR	0x3f8	/* transmit holding register */
#define COM1_LSR	0x3fd	/* line status register */
#define LSR_THRE	0x20	/* THR empty */

/* Entry: interrupts off, string operations forward, DS = CS (the image). */
.macro REAL_MODE_ENTRY
	cli
	cld
	mov	%cs, %ax
	mov	%ax, %ds
.endm

/*
 * Writes the NUL-terminated string at DS:SI to COM1, each byte once LSR
 * says THR is empty.  Clobbers AX, BX, DX and SI.
 */
.macro COM1_PUTS_POLLED
.Lputs_next\@:
	lodsb
	test	%al, %al
	jz	.Lputs_done\@
	mov	%al, %bl
	mov	$COM1_LSR, %dx
.Lputs_wait\@:
	in	%dx, %al
	test	$LSR_THRE, %al
	jz	.Lputs_wait\@
	mov	%bl, %al
	mov	$COM1_THR, %dx
	out	%al, %dx
	jmp	.Lputs_next\@
.Lputs_done\@:
.endm
