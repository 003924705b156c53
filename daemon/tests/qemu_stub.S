/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 64 KiB stand-in firmware for QEMU that recreates the vCPU state vireod
 * gives a guest (boot.h) from RESET, so that vireod's guests and boot
 * tables can be run on QEMU's x86 model on a host without SVM.
 *
 * Mapped at 0xf0000 (CS = 0xf000) and reached from the reset vector.
 * Real mode: jumps to 0x1000:0000 with DS = SS = 0x1000, SP = 0.
 * Long mode: expects vireod's boot area (GDT at 0x1000, PML4 at 0x2000)
 * and the image at 0x100000 in RAM; loads GDTR, CR4 = PAE, CR3, EFER.LME,
 * CR0 = PE|ET|NE|PG, far-jumps through vireod's 64-bit code descriptor and
 * enters the image with RSP = 16 MiB and RDI = 0.
 * The mode is chosen by the byte at 0x500: 'L' for long, anything else real.
 */
	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	cmpb	$'L', 0x500
	je	long_mode
	mov	$0x1000, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	xor	%sp, %sp
	ljmp	$0x1000, $0

long_mode:
	lgdtl	%cs:gdt_pointer
	mov	$0x20, %eax			/* CR4.PAE */
	mov	%eax, %cr4
	mov	$0x2000, %eax			/* vireod's PML4 */
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx		/* IA32_EFER */
	rdmsr
	or	$0x100, %eax			/* LME */
	wrmsr
	mov	$0x80000031, %eax		/* PG | NE | ET | PE */
	mov	%eax, %cr0
	ljmpl	$0x08, $(0xf0000 + long64)

	.code64
long64:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$0x1000000, %rsp
	xor	%edi, %edi
	mov	$0x100000, %eax
	jmp	*%rax

gdt_pointer:
	.word	39
	.long	0x1000

	.org	0xfff0
	.code16
reset_vector:
	ljmp	$0xf000, $_start
	.org	0x10000
