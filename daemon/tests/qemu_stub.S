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
 * Linux ('X'): vCPU 0's state as vireod's Linux loader sets it, read from
 * the handoff record tests/linux_dump writes at 0x500 (GDTR, selectors,
 * CR0/CR3/CR4/EFER, RIP, RSI, RSP): enters the kernel's 64-bit entry point
 * with vireod's boot_params, page tables and GDT.
 * The mode is chosen by the byte at 0x500: 'L' for long, 'X' for Linux,
 * anything else real.
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
	cmpb	$'X', 0x500
	je	linux_mode
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

	.code16
linux_mode:
	lgdtl	0x520
	movl	0x538, %eax			/* CR4 */
	mov	%eax, %cr4
	movl	0x534, %eax			/* CR3 */
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx		/* IA32_EFER; LMA is set by the CPU */
	movl	0x540, %eax
	and	$~0x400, %eax
	xor	%edx, %edx
	wrmsr
	movl	0x53c, %eax			/* CR0 */
	mov	%eax, %cr0
	movl	$(0xf0000 + linux64), 0x528	/* far pointer: offset, then CS at 0x52c */
	ljmpl	*0x528

	.code64
linux64:
	movw	0x530, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	mov	0x518, %rsp
	mov	0x510, %rsi
	jmp	*0x508

gdt_pointer:
	.word	39
	.long	0x1000

	.org	0xfff0
	.code16
reset_vector:
	ljmp	$0xf000, $_start
	.org	0x10000
