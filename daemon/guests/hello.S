/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The demo guest: a real-mode flat binary that greets over the COM1 UART,
 * then shows that vireod's CPUID policy reaches the guest:
 *
 *   Hello from a Vireo guest!
 *   Hypervisor: VireoVireoVi, max leaf 0x40000010
 *   CPU vendor: AuthenticAMD
 *
 * and executes HLT, which ends the VM cleanly (there is no interrupt
 * controller yet, so vireod treats HLT as "this vCPU is done").
 *
 * Every byte is sent the polite way: wait for LSR.THRE (bit 5 of port
 * 0x3fd), then write THR (port 0x3f8).
 */
#include "com1_16.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	REAL_MODE_ENTRY			/* DS = CS whoever loaded us */

	mov	$greeting, %si
	call	puts

	/* Hypervisor leaf: EAX = max leaf, EBX:ECX:EDX = signature. */
	mov	$0x40000000, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%ebx, signature
	mov	%ecx, signature + 4
	mov	%edx, signature + 8
	mov	%eax, %ebp
	mov	$hypervisor_label, %si
	call	puts
	mov	$signature, %si
	call	puts
	mov	$max_leaf_label, %si
	call	puts
	mov	%ebp, %eax
	call	puthex32
	mov	$crlf, %si
	call	puts

	/* Leaf 0: vendor in EBX:EDX:ECX, passed through from the host. */
	xor	%eax, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%ebx, vendor
	mov	%edx, vendor + 4
	mov	%ecx, vendor + 8
	mov	$vendor_label, %si
	call	puts
	mov	$vendor, %si
	call	puts
	mov	$crlf, %si
	call	puts

halt:
	hlt
	jmp	halt			/* never resumed; just in case */

/* puts: write the NUL-terminated string at DS:SI. */
puts:
	lodsb
	test	%al, %al
	jz	1f
	call	putc
	jmp	puts
1:	ret

/* putc: write AL to COM1 once the transmitter holding register is empty. */
putc:
	push	%dx
	push	%ax
	mov	$COM1_LSR, %dx
1:	in	%dx, %al
	test	$LSR_THRE, %al
	jz	1b
	pop	%ax
	mov	$COM1_THR, %dx
	out	%al, %dx
	pop	%dx
	ret

/* puthex32: write EAX as 8 lower-case hex digits. */
puthex32:
	mov	$8, %cx
1:	rol	$4, %eax
	push	%eax
	and	$0x0f, %al
	add	$'0', %al
	cmp	$'9', %al
	jbe	2f
	add	$('a' - '9' - 1), %al
2:	call	putc
	pop	%eax
	loop	1b
	ret

	.section .rodata
greeting:		.asciz "Hello from a Vireo guest!\r\n"
hypervisor_label:	.asciz "Hypervisor: "
max_leaf_label:		.asciz ", max leaf 0x"
vendor_label:		.asciz "CPU vendor: "
crlf:			.asciz "\r\n"

	.section .data
signature:		.space 12
			.byte 0
vendor:			.space 12
			.byte 0
