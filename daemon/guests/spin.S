/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A real-mode guest that announces itself and then computes forever
 * without a single exit, so that stopping it exercises the whole kick
 * path: vireod signals the vCPU thread, the module leaves the guest on the
 * resulting host interrupt, VIREO_RUN returns EINTR, the loop sees the
 * stop flag.  Used by scripts/demo-in-vm.sh for `vireoctl vm stop`.
 */
#define COM1_THR	0x3f8
#define COM1_LSR	0x3fd

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	cld
	mov	%cs, %ax
	mov	%ax, %ds
	mov	$message, %si
1:	lodsb
	test	%al, %al
	jz	spin
	mov	%al, %bl
	mov	$COM1_LSR, %dx
2:	in	%dx, %al
	test	$0x20, %al
	jz	2b
	mov	%bl, %al
	mov	$COM1_THR, %dx
	out	%al, %dx
	jmp	1b

spin:
	inc	%eax
	jmp	spin

	.section .rodata
message:	.asciz "Spinning until stopped...\r\n"
