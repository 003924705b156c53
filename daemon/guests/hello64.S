/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A long-mode ("entry": "long") demo guest.  vireod starts it in 64-bit
 * mode with paging on, RIP = load address, RSP at the top of RAM and the
 * vCPU id in RDI.  It prints
 *
 *   Hello from 64-bit long mode on vCPU 0!
 *   Hypervisor: VireoVireoVi
 *
 * and halts.  Only RIP-relative addressing: it runs at any load address.
 */
#define COM1_THR	0x3f8
#define COM1_LSR	0x3fd
#define LSR_THRE	0x20

	.code64
	.section .text.start, "ax"
	.globl _start
_start:
	mov	%rdi, %r12		/* vCPU id */

	lea	greeting(%rip), %rsi
	call	puts
	mov	%r12, %rax
	call	putdec
	lea	greeting_end(%rip), %rsi
	call	puts

	mov	$0x40000000, %eax
	xor	%ecx, %ecx
	cpuid
	lea	signature(%rip), %rdi
	mov	%ebx, (%rdi)
	mov	%ecx, 4(%rdi)
	mov	%edx, 8(%rdi)
	movb	$0, 12(%rdi)
	lea	hypervisor_label(%rip), %rsi
	call	puts
	lea	signature(%rip), %rsi
	call	puts
	lea	crlf(%rip), %rsi
	call	puts

halt:
	hlt
	jmp	halt

/* puts: write the NUL-terminated string at RSI. */
puts:
	lodsb
	test	%al, %al
	jz	1f
	call	putc
	jmp	puts
1:	ret

/* putc: write AL to COM1 once THR is empty. */
putc:
	push	%rdx
	push	%rax
	mov	$COM1_LSR, %dx
1:	in	%dx, %al
	test	$LSR_THRE, %al
	jz	1b
	pop	%rax
	mov	$COM1_THR, %dx
	out	%al, %dx
	pop	%rdx
	ret

/* putdec: write RAX (< 100) in decimal. */
putdec:
	xor	%edx, %edx
	mov	$10, %ecx
	div	%rcx
	test	%rax, %rax
	jz	1f
	add	$'0', %al
	call	putc
1:	mov	%dl, %al
	add	$'0', %al
	jmp	putc

	.section .rodata
greeting:		.asciz "Hello from 64-bit long mode on vCPU "
greeting_end:		.asciz "!\r\n"
hypervisor_label:	.asciz "Hypervisor: "
crlf:			.asciz "\r\n"

	.section .data
signature:		.space 13
