/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMX world switch.
 *
 * int vmx_enter_guest(unsigned long *regs, bool launched)
 *
 * regs is the vCPU's GPR array in hardware encoding order (RAX, RCX, RDX,
 * RBX, RSP, RBP, RSI, RDI, R8..R15).  The guest's RSP, RIP and RFLAGS live
 * in the VMCS and are written by the C caller; every other GPR is loaded
 * here before VMLAUNCH (launched false) or VMRESUME (launched true) and
 * saved after the exit.  Called with interrupts off and the VMCS current.
 *
 * A VM exit loads RSP from HOST_RSP and RIP from HOST_RIP = vmx_vmexit
 * (SDM vol. 3C, 27.5.3): HOST_RSP is this frame, written just before the
 * entry, where the regs pointer is found again.  Returns VMX_ENTER_EXITED
 * (0) after an exit, VMX_ENTER_FAIL_VALID (1) if the instruction failed
 * with ZF set (the reason is in VM_INSTRUCTION_ERROR), VMX_ENTER_FAIL_INVALID
 * (2) if it failed with CF set (no current VMCS; 30.2).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/ibt.h>
#include <asm/nospec-branch.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

#define VMCS_HOST_RSP	0x6c14

#define REG(n)	((n) * 8)
#define R_RAX	REG(0)
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

SYM_FUNC_START(vmx_enter_guest)
	push %rbp
	mov  %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	push %rdi		/* 0(%rsp): regs, also at the exit */

	mov  $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax

	/* ZF=1: not launched.  The MOVs below leave the flags alone. */
	test %sil, %sil

	mov  R_RAX(%rdi), %rax
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

	/* The stack as vmx_vmexit finds it. */
	UNWIND_HINT_SAVE
	jnz  .Lresume
	vmlaunch
	jmp  .Lfailed
.Lresume:
	vmresume
.Lfailed:
	/* VMfailInvalid sets CF, VMfailValid ZF; the MOVs keep the flags. */
	mov  $1, %eax
	jnc  .Lout
	mov  $2, %eax
	jmp  .Lout

SYM_INNER_LABEL(vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	push %rdi		/* guest RDI; regs is now at 8(%rsp) */
	mov  8(%rsp), %rdi
	mov  %rax, R_RAX(%rdi)
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
	xor  %eax, %eax

.Lout:
	/* Guest-controlled return predictions must not reach host RETs. */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE

	/* Do not leave guest values in caller-saved registers. */
	xor  %ecx, %ecx
	xor  %edx, %edx
	xor  %esi, %esi
	xor  %edi, %edi
	xor  %r8d, %r8d
	xor  %r9d, %r9d
	xor  %r10d, %r10d
	xor  %r11d, %r11d

	add  $8, %rsp
	pop  %rbx
	pop  %r12
	pop  %r13
	pop  %r14
	pop  %r15
	pop  %rbp
	RET
SYM_FUNC_END(vmx_enter_guest)

/*
 * void vmx_do_nmi(void)
 *
 * An NMI that caused a VM exit is not delivered to the host (27.1): call
 * the host's NMI entry as the CPU would have, on this stack, through an
 * interrupt frame (SS, RSP, RFLAGS, CS, RIP; SDM vol. 3A, 6.14.2) that its
 * IRET unwinds.  Interrupts are off.
 */
SYM_FUNC_START(vmx_do_nmi)
	push %rbp
	mov  %rsp, %rbp
	and  $-16, %rsp		/* the CPU aligns the frame (6.14.2) */
	push $__KERNEL_DS
	push %rbp
	pushf
	push $__KERNEL_CS
	call asm_exc_nmi_noist
	/* IRET has restored RSP already; RBP tells objtool the same. */
	leave
	RET
SYM_FUNC_END(vmx_do_nmi)
