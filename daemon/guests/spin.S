/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A real-mode guest that announces itself and then computes forever
 * without a single exit, so that stopping it exercises the whole kick
 * path: vireod signals the vCPU thread, the module leaves the guest on the
 * resulting host interrupt, VIREO_RUN returns EINTR, the loop sees the
 * stop flag.  Used by scripts/demo-in-vm.sh for `vireoctl vm stop`.
 */
#include "com1_16.h"

	.code16
	.section .text.start, "ax"
	.globl _start
_start:
	REAL_MODE_ENTRY
	mov	$message, %si
	COM1_PUTS_POLLED

spin:
	inc	%eax
	jmp	spin

	.section .rodata
message:	.asciz "Spinning until stopped...\r\n"
