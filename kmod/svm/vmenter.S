/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SVM world switch.
 *
 * void svm_enter_guest(unsigned long *regs, u64 vmcb_pa, u64 host_save_pa)
 *
 * regs is the vCPU's GPR array in hardware encoding order (RAX, RCX, RDX,
 * RBX, RSP, RBP, RSI, RDI, R8..R15); RAX and RSP of the guest live in the
 * VMCB and are copied by the C caller.  Called with GIF=0.
 *
 * VMRUN switches only part of the host state (APM vol. 2, 15.5-15.6): FS,
 * GS, TR, LDTR, KernelGSBase, STAR/LSTAR/CSTAR/SFMASK and SYSENTER_* are
 * not.  They are saved with VMSAVE into the per-CPU host save area and
 * restored with VMLOAD before anything can use them (per-CPU data lives
 * behind GS), and the guest's copies are loaded and saved around VMRUN.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#define REG(n)	((n) * 8)
#define R_RCX	REG(1)
#define R_RDX	REG(2)
#define R_RBX	REG(3)
#define R_RBP	REG(5)
#define R_RSI	REG(6)
#define R_RDI	REG(7)
#define R_R8	REG(8)
#define R_R9	REG(9)
#define R_R10	REG(10)
#define R_R11	REG(11)
#define R_R12	REG(12)
#define R_R13	REG(13)
#define R_R14	REG(14)
#define R_R15	REG(15)

	.text

SYM_FUNC_START(svm_enter_guest)
	push %rbp
	mov  %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx

	push %rdi		/* 16(%rsp): regs */
	push %rsi		/*  8(%rsp): guest VMCB */
	push %rdx		/*  0(%rsp): host save area */

	mov  %rdx, %rax
	vmsave %rax		/* host FS/GS/TR/LDTR/syscall MSRs */

	mov  %rsi, %rax		/* RAX = guest VMCB for VMLOAD/VMRUN */
	mov  R_RCX(%rdi), %rcx
	mov  R_RDX(%rdi), %rdx
	mov  R_RBX(%rdi), %rbx
	mov  R_RBP(%rdi), %rbp
	mov  R_RSI(%rdi), %rsi
	mov  R_R8(%rdi),  %r8
	mov  R_R9(%rdi),  %r9
	mov  R_R10(%rdi), %r10
	mov  R_R11(%rdi), %r11
	mov  R_R12(%rdi), %r12
	mov  R_R13(%rdi), %r13
	mov  R_R14(%rdi), %r14
	mov  R_R15(%rdi), %r15
	mov  R_RDI(%rdi), %rdi

	vmload %rax
	vmrun  %rax
	vmsave %rax		/* RAX, RSP, RIP came back from the host save */

	push %rdi		/* guest RDI; regs is now at 24(%rsp) */
	mov  24(%rsp), %rdi
	mov  %rcx, R_RCX(%rdi)
	mov  %rdx, R_RDX(%rdi)
	mov  %rbx, R_RBX(%rdi)
	mov  %rbp, R_RBP(%rdi)
	mov  %rsi, R_RSI(%rdi)
	mov  %r8,  R_R8(%rdi)
	mov  %r9,  R_R9(%rdi)
	mov  %r10, R_R10(%rdi)
	mov  %r11, R_R11(%rdi)
	mov  %r12, R_R12(%rdi)
	mov  %r13, R_R13(%rdi)
	mov  %r14, R_R14(%rdi)
	mov  %r15, R_R15(%rdi)
	pop  R_RDI(%rdi)

	mov  (%rsp), %rax
	vmload %rax		/* host FS/GS/TR/... back before any C code */

	/* Guest-controlled return predictions must not reach host RETs. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE

	/* Do not leave guest values in caller-saved registers. */
	xor  %ecx, %ecx
	xor  %edx, %edx
	xor  %esi, %esi
	xor  %edi, %edi
	xor  %r8d, %r8d
	xor  %r9d, %r9d
	xor  %r10d, %r10d
	xor  %r11d, %r11d

	add  $24, %rsp
	pop  %rbx
	pop  %r12
	pop  %r13
	pop  %r14
	pop  %r15
	pop  %rbp
	RET
SYM_FUNC_END(svm_enter_guest)
