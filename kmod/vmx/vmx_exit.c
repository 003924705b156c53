// SPDX-License-Identifier: GPL-2.0
/*
 * VMX exit handlers, in a table indexed by the basic exit reason (SDM vol.
 * 3C, appendix C).  Each returns VIREO_RESUME, VIREO_TO_USER or -errno,
 * and behaves as its SVM counterpart in svm/svm_exit.c.  Exit reasons
 * without a handler go to user space as VIREO_EXIT_UNKNOWN with the raw
 * reason and a dump of the exit in the kernel log.
 *
 * The hardware reports the length of the exiting instruction (27.2.5), so
 * no length is guessed: where a core helper steps over the shortest
 * encoding, vmx_step() corrects RIP by the real length (prefixes included).
 *
 * The exit record's hw fields on VMX: hw_exit_code is the exit reason
 * (bit 31 set for a failed entry), info1 the exit qualification, info2 the
 * guest-physical address of EPT exits or else the VM-exit interruption
 * information, int_info the IDT-vectoring information with its error code
 * in bits 63:32 (the layout of SVM's EXITINTINFO).
 */
#include <linux/kernel.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "vmx.h"

static u64 vmx_int_info(const struct vmx_exit_info *e)
{
	return e->idt_vectoring | ((u64)e->idt_error << 32);
}

static u64 vmx_info2(const struct vmx_exit_info *e)
{
	u32 basic = e->reason & EXIT_REASON_BASIC_MASK;

	if (basic == EXIT_REASON_EPT_VIOLATION || basic == EXIT_REASON_EPT_MISCONFIG)
		return e->gpa;
	return e->intr_info;
}

static void vmx_dump(struct vireo_vcpu *vcpu, const char *why)
{
	const struct vmx_vcpu *vmx = to_vmx(vcpu);
	const struct vmx_exit_info *e = &vmx->exit;
	const struct vmx_guest *g = &vmx->guest;
	const struct vmx_seg *cs = &g->seg[VMX_SEG_CS];

	pr_warn_ratelimited(VIREO_LOG_PREFIX "vm %u vcpu %u: %s: reason %#x qual %#llx gpa %#llx intr %#x idt_vec %#x/%#x len %u\n",
			    vcpu->vm->id, vcpu->id, why, e->reason,
			    e->qualification, e->gpa, e->intr_info,
			    e->idt_vectoring, e->idt_error, e->insn_len);
	pr_warn_ratelimited(VIREO_LOG_PREFIX "  rip %#lx rsp %#lx rflags %#lx cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx cs %#x/%#x/%#llx ss_ar %#x tr_ar %#x intr_state %#x event %#x\n",
			    vcpu->rip, vcpu->regs[VCPU_RSP], vcpu->rflags,
			    g->cr0, g->cr3, g->cr4, g->efer, cs->selector,
			    cs->ar, cs->base, g->seg[VMX_SEG_SS].ar,
			    g->seg[VMX_SEG_TR].ar, g->interruptibility,
			    vmx->event_info);
}

static int vmx_exit_unknown(struct vireo_vcpu *vcpu, const char *why)
{
	const struct vmx_exit_info *e = &to_vmx(vcpu)->exit;

	vmx_dump(vcpu, why);
	return vireo_exit_to_user_hw(vcpu, VIREO_EXIT_UNKNOWN, e->reason,
				     e->qualification, vmx_info2(e),
				     vmx_int_info(e));
}

/* Step RIP over the exiting instruction by its real length. */
static void vmx_skip(struct vireo_vcpu *vcpu)
{
	vcpu->rip += to_vmx(vcpu)->exit.insn_len;
}

/*
 * A core helper stepped RIP by @fixed bytes (the instruction's shortest
 * encoding) if it completed the instruction: use the real length instead.
 */
static int vmx_step(struct vireo_vcpu *vcpu, unsigned long rip,
		    unsigned int fixed, int ret)
{
	if (vcpu->rip == rip + fixed)
		vcpu->rip = rip + to_vmx(vcpu)->exit.insn_len;
	return ret;
}

static int vmx_inject_ud(struct vireo_vcpu *vcpu)
{
	vireo_ops->queue_exception(vcpu, X86_TRAP_UD, false, 0);
	return VIREO_RESUME;
}

static int vmx_inject_gp(struct vireo_vcpu *vcpu)
{
	vireo_ops->queue_exception(vcpu, X86_TRAP_GP, true, 0);
	return VIREO_RESUME;
}

/* In 64-bit mode (IA-32e mode and CS.L) a GPR operand has 64 bits. */
static bool vmx_64bit_mode(const struct vmx_vcpu *vmx)
{
	return (vmx->guest.efer & EFER_LMA) &&
	       (vmx->guest.seg[VMX_SEG_CS].ar & VMX_AR_L);
}

static int vmx_exit_host_intr(struct vireo_vcpu *vcpu)
{
	/* Taken through the host IDT when vmx_run() enabled interrupts. */
	vireo_count(vcpu, VIREO_STAT_HOST_INTR);
	return VIREO_RESUME;
}

/*
 * Exception or NMI.  No exception is intercepted (the exception bitmap is
 * 0), so this is a host NMI, already handed to the host by vmx_run().
 */
static int vmx_exit_exception_nmi(struct vireo_vcpu *vcpu)
{
	u32 info = to_vmx(vcpu)->exit.intr_info;

	if ((info & (INTR_INFO_VALID | INTR_INFO_TYPE_MASK)) ==
	    (INTR_INFO_VALID | INTR_TYPE_NMI))
		return vmx_exit_host_intr(vcpu);
	return vmx_exit_unknown(vcpu, "unexpected exception exit");
}

static int vmx_exit_triple_fault(struct vireo_vcpu *vcpu)
{
	const struct vmx_exit_info *e = &to_vmx(vcpu)->exit;

	vmx_dump(vcpu, "guest shutdown (triple fault), VM stopped");
	vireo_dump_crash_translations(vcpu);
	vireo_vm_set_state(vcpu->vm, VIREO_VM_STATE_CRASHED);
	return vireo_exit_to_user_hw(vcpu, VIREO_EXIT_SHUTDOWN, e->reason,
				     e->qualification, vmx_info2(e),
				     vmx_int_info(e));
}

/*
 * An INIT signal to the physical CPU while the guest ran (INIT is blocked
 * in VMX root operation, so it becomes an exit, 25.2).  It is not meant
 * for the guest (guest INITs are LAPIC IPIs, vcpu.c): ignore it.  A SIPI
 * exits only in wait-for-SIPI activity, which Vireo never uses.
 */
static int vmx_exit_init_sipi(struct vireo_vcpu *vcpu)
{
	pr_info_ratelimited(VIREO_LOG_PREFIX "vm %u vcpu %u: host INIT/SIPI exit %u ignored\n",
			    vcpu->vm->id, vcpu->id, to_vmx(vcpu)->exit.reason);
	return VIREO_RESUME;
}

/* The guest can take interrupts now: the next entry injects. */
static int vmx_exit_intr_window(struct vireo_vcpu *vcpu)
{
	to_vmx(vcpu)->intr_window = false;
	return VIREO_RESUME;
}

/* NMIs are unblocked (the handler's IRET ran): the next entry injects. */
static int vmx_exit_nmi_window(struct vireo_vcpu *vcpu)
{
	to_vmx(vcpu)->nmi_window = false;
	return VIREO_RESUME;
}

static int vmx_exit_cpuid(struct vireo_vcpu *vcpu)
{
	unsigned long rip = vcpu->rip;

	return vmx_step(vcpu, rip, 2,
			vireo_emulate_cpuid(vcpu, to_vmx(vcpu)->guest.cr4 & X86_CR4_OSXSAVE));
}

static int vmx_exit_hlt(struct vireo_vcpu *vcpu)
{
	vmx_skip(vcpu);
	return vireo_emulate_hlt(vcpu);
}

/* INVD and WBINVD: the host keeps the caches coherent; nothing to do. */
static int vmx_exit_skip(struct vireo_vcpu *vcpu)
{
	vmx_skip(vcpu);
	return VIREO_RESUME;
}

static int vmx_exit_vmcall(struct vireo_vcpu *vcpu)
{
	return vireo_emulate_hypercall(vcpu, to_vmx(vcpu)->exit.insn_len);
}

/* VMX instructions, GETSEC, INVEPT/INVVPID, VMFUNC: no nested VMX. */
static int vmx_exit_ud(struct vireo_vcpu *vcpu)
{
	return vmx_inject_ud(vcpu);
}

/*
 * MOV to/from CR0, CR3, CR4, CR8, CLTS and LMSW (table 27-3).  Only the
 * bits the host owns make CR0/CR4 writes exit (24.6.6): CR0.PG and the
 * VMX fixed bits; CR4.VMXE, SMXE and bits VMX does not allow, which the
 * guest may not set (#GP).  CR8 always exits: with a LAPIC it is the
 * TPR's class (SDM vol. 3A, 10.8.6.1), without one a register of its own.
 */
static int vmx_exit_cr_access(struct vireo_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 qual = vmx->exit.qualification;
	unsigned int cr = qual & CR_QUAL_CR_MASK;
	unsigned int type = (qual & CR_QUAL_TYPE_MASK) >> CR_QUAL_TYPE_SHIFT;
	unsigned int gpr = (qual & CR_QUAL_GPR_MASK) >> CR_QUAL_GPR_SHIFT;
	u64 val = vcpu->regs[gpr], cr0 = vmx->guest.cr0;
	int ret = 0;

	if (!vmx_64bit_mode(vmx))
		val = (u32)val;
	switch (type) {
	case CR_QUAL_TYPE_MOV_TO:
		if (cr == 0)
			ret = vmx_set_cr0(vcpu, val);
		else if (cr == 3)
			ret = vmx_set_cr3(vcpu, val);
		else if (cr == 8 && val <= 15 && vcpu->lapic)
			vireo_lapic_set_cr8(vcpu, val);
		else if (cr == 8 && val <= 15)
			vmx->cr8 = val;
		else
			ret = -EINVAL;
		break;
	case CR_QUAL_TYPE_MOV_FROM:
		if (cr == 3)
			vcpu->regs[gpr] = vmx->guest.cr3;
		else if (cr == 8)
			vcpu->regs[gpr] = vcpu->lapic ? vireo_lapic_get_cr8(vcpu) :
				vmx->cr8;
		else
			return vmx_exit_unknown(vcpu, "unexpected MOV from CR");
		break;
	case CR_QUAL_TYPE_CLTS:
		ret = vmx_set_cr0(vcpu, cr0 & ~(u64)X86_CR0_TS);
		break;
	case CR_QUAL_TYPE_LMSW:
		/* Bits 3:0 (PE MP EM TS) only; LMSW cannot clear PE. */
		val = (qual >> CR_QUAL_LMSW_DATA_SHIFT) & 0xf;
		ret = vmx_set_cr0(vcpu, (cr0 & ~0xeULL) | val);
		break;
	}
	if (ret)
		return vmx_inject_gp(vcpu);
	vmx_skip(vcpu);
	return VIREO_RESUME;
}

static int vmx_exit_dr_access(struct vireo_vcpu *vcpu)
{
	u64 qual = to_vmx(vcpu)->exit.qualification;

	return vireo_emulate_mov_dr(vcpu, qual & DR_QUAL_DR_MASK,
				    !(qual & DR_QUAL_FROM_DR));
}

static int vmx_exit_io(struct vireo_vcpu *vcpu)
{
	const struct vmx_exit_info *e = &to_vmx(vcpu)->exit;
	u64 qual = e->qualification;
	u16 port = qual >> IO_QUAL_PORT_SHIFT;
	u8 size;

	/* INS/OUTS: not emulated, as on SVM. */
	if (qual & IO_QUAL_STRING)
		return vireo_exit_internal(vcpu, VIREO_INTERNAL_STRING_IO, port,
					   NULL, 0);
	switch (qual & IO_QUAL_SIZE_MASK) {	/* size - 1 */
	case 0:
		size = 1;
		break;
	case 1:
		size = 2;
		break;
	case 3:
		size = 4;
		break;
	default:
		return vmx_exit_unknown(vcpu, "bad I/O size");
	}
	return vireo_emulate_io(vcpu, port, size, qual & IO_QUAL_IN,
				vcpu->rip + e->insn_len);
}

static int vmx_exit_rdmsr(struct vireo_vcpu *vcpu)
{
	unsigned long rip = vcpu->rip;

	return vmx_step(vcpu, rip, 2, vireo_emulate_msr(vcpu, false));
}

static int vmx_exit_wrmsr(struct vireo_vcpu *vcpu)
{
	unsigned long rip = vcpu->rip;

	return vmx_step(vcpu, rip, 2, vireo_emulate_msr(vcpu, true));
}

static int vmx_exit_rdtscp(struct vireo_vcpu *vcpu)
{
	unsigned long rip = vcpu->rip;

	return vmx_step(vcpu, rip, 3, vireo_emulate_rdtscp(vcpu));
}

static int vmx_exit_ept_violation(struct vireo_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	const struct vmx_exit_info *e = &vmx->exit;
	/*
	 * Bit 7 set and bit 8 clear: the access was to a paging-structure
	 * entry of the guest's own walk (table 27-7).
	 */
	bool in_walk = (e->qualification & EPT_QUAL_GLA_VALID) &&
		       !(e->qualification & EPT_QUAL_GLA_TRANSLATED);

	/*
	 * The fault hit an IRET that had already unblocked NMIs: the IRET
	 * runs again, so NMIs must be blocked again until it completes, or a
	 * latched NMI would nest inside its handler (27.2.3).
	 */
	if ((e->qualification & EPT_QUAL_NMI_UNBLOCKING) &&
	    !(e->idt_vectoring & INTR_INFO_VALID))
		vmx->guest.interruptibility |= VMX_INTR_NMI_BLOCKING;
	return vireo_emulate_npf(vcpu, e->gpa, in_walk);
}

/* Our EPT entries are malformed: a Vireo bug, never the guest's doing. */
static int vmx_exit_ept_misconfig(struct vireo_vcpu *vcpu)
{
	return vmx_exit_unknown(vcpu, "EPT misconfiguration");
}

/* XSETBV (unconditional exit, 25.1.2): see vireo_emulate_xsetbv(). */
static int vmx_exit_xsetbv(struct vireo_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long rip = vcpu->rip;

	return vmx_step(vcpu, rip, 3,
			vireo_emulate_xsetbv(vcpu, vmx->guest.cr4 & X86_CR4_OSXSAVE,
					     vmx_guest_cpl(vmx)));
}

typedef int (*vmx_exit_handler)(struct vireo_vcpu *vcpu);

static const vmx_exit_handler vmx_exit_handlers[EXIT_REASON_MAX + 1] = {
	[EXIT_REASON_EXCEPTION_NMI]	= vmx_exit_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTR]	= vmx_exit_host_intr,
	[EXIT_REASON_PREEMPTION_TIMER]	= vmx_exit_host_intr,
	[EXIT_REASON_TRIPLE_FAULT]	= vmx_exit_triple_fault,
	[EXIT_REASON_INIT]		= vmx_exit_init_sipi,
	[EXIT_REASON_SIPI]		= vmx_exit_init_sipi,
	[EXIT_REASON_IO_SMI]		= vmx_exit_host_intr,
	[EXIT_REASON_OTHER_SMI]		= vmx_exit_host_intr,
	[EXIT_REASON_INTR_WINDOW]	= vmx_exit_intr_window,
	[EXIT_REASON_NMI_WINDOW]	= vmx_exit_nmi_window,
	[EXIT_REASON_CPUID]		= vmx_exit_cpuid,
	[EXIT_REASON_GETSEC]		= vmx_exit_ud,
	[EXIT_REASON_HLT]		= vmx_exit_hlt,
	[EXIT_REASON_INVD]		= vmx_exit_skip,
	[EXIT_REASON_VMCALL]		= vmx_exit_vmcall,
	[EXIT_REASON_VMCLEAR]		= vmx_exit_ud,
	[EXIT_REASON_VMLAUNCH]		= vmx_exit_ud,
	[EXIT_REASON_VMPTRLD]		= vmx_exit_ud,
	[EXIT_REASON_VMPTRST]		= vmx_exit_ud,
	[EXIT_REASON_VMREAD]		= vmx_exit_ud,
	[EXIT_REASON_VMRESUME]		= vmx_exit_ud,
	[EXIT_REASON_VMWRITE]		= vmx_exit_ud,
	[EXIT_REASON_VMXOFF]		= vmx_exit_ud,
	[EXIT_REASON_VMXON]		= vmx_exit_ud,
	[EXIT_REASON_CR_ACCESS]		= vmx_exit_cr_access,
	[EXIT_REASON_DR_ACCESS]		= vmx_exit_dr_access,
	[EXIT_REASON_IO]		= vmx_exit_io,
	[EXIT_REASON_RDMSR]		= vmx_exit_rdmsr,
	[EXIT_REASON_WRMSR]		= vmx_exit_wrmsr,
	[EXIT_REASON_EPT_VIOLATION]	= vmx_exit_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG]	= vmx_exit_ept_misconfig,
	[EXIT_REASON_INVEPT]		= vmx_exit_ud,
	[EXIT_REASON_RDTSCP]		= vmx_exit_rdtscp,
	[EXIT_REASON_INVVPID]		= vmx_exit_ud,
	[EXIT_REASON_WBINVD]		= vmx_exit_skip,
	[EXIT_REASON_XSETBV]		= vmx_exit_xsetbv,
	[EXIT_REASON_VMFUNC]		= vmx_exit_ud,
};

/* ------------------------------------------------------------------ */
/* Failed entries                                                      */
/* ------------------------------------------------------------------ */

static bool vmx_limit_g_ok(const struct vmx_seg *s)
{
	/* G=0 needs limit[31:20] zero, G=1 needs limit[11:0] all ones. */
	if (s->ar & VMX_AR_G)
		return (s->limit & 0xfff) == 0xfff;
	return !(s->limit >> 20);
}

static bool vmx_canonical(u64 addr)
{
	return (u64)(((s64)addr << 16) >> 16) == addr;
}

/*
 * The first guest-state check of 26.3.1 that the state we wrote fails,
 * for the log: the hardware says only "invalid guest state".  Not every
 * check is here; NULL when none of these fails.
 */
static const char *vmx_explain_guest_state(const struct vmx_vcpu *vmx)
{
	const struct vmx_guest *g = &vmx->guest;
	unsigned long rip = vmx->vcpu->rip, rflags = vmx->vcpu->rflags;
	const struct vmx_seg *cs = &g->seg[VMX_SEG_CS], *ss = &g->seg[VMX_SEG_SS];
	const struct vmx_seg *tr = &g->seg[VMX_SEG_TR], *ldtr = &g->seg[VMX_SEG_LDTR];
	bool ia32e = vmx->entry_ctls & ENTRY_IA32E_MODE;
	u64 cr0 = vmx_guest_cr0_hw(g->cr0), cr4 = vmx_guest_cr4_hw(g->cr4);
	unsigned int cs_type = cs->ar & VMX_AR_TYPE_MASK, i;
	u32 ext = vmx->event_info & (INTR_INFO_VALID | INTR_INFO_TYPE_MASK);

	/* 26.3.1.1: control registers and MSRs */
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return "CR0.PG without CR0.PE";
	if (ia32e && (!(cr0 & X86_CR0_PG) || !(cr4 & X86_CR4_PAE)))
		return "IA-32e mode guest without CR0.PG and CR4.PAE";
	if (!!(g->efer & EFER_LMA) != ia32e)
		return "EFER.LMA differs from the IA-32e mode guest control";
	if ((cr0 & X86_CR0_PG) && !!(g->efer & EFER_LME) != ia32e)
		return "EFER.LME differs from EFER.LMA with paging on";
	/* 26.3.1.2: segment registers */
	if (tr->selector & 4 || (!(ldtr->ar & VMX_AR_UNUSABLE) && ldtr->selector & 4))
		return "TR or LDTR selector with TI set";
	if (!vmx_canonical(tr->base) || !vmx_canonical(g->seg[VMX_SEG_FS].base) ||
	    !vmx_canonical(g->seg[VMX_SEG_GS].base) || !vmx_canonical(ldtr->base))
		return "non-canonical TR/FS/GS/LDTR base";
	if (cs->base >> 32)
		return "CS base above 4 GiB";
	if (!(cs_type == 9 || cs_type == 11 || cs_type == 13 || cs_type == 15 ||
	      cs_type == 3))
		return "CS type (must be accessed code, or 3 in real mode)";
	if (!(cs->ar & VMX_AR_S) || !(cs->ar & VMX_AR_P) || (cs->ar & VMX_AR_RESERVED))
		return "CS not S=1, P=1, reserved bits 0";
	if (cs_type == 3 && (cs->ar & VMX_AR_DPL_MASK))
		return "CS type 3 with DPL other than 0";
	if ((cs_type == 9 || cs_type == 11) &&
	    (cs->ar & VMX_AR_DPL_MASK) != (ss->ar & VMX_AR_DPL_MASK))
		return "non-conforming CS DPL differs from SS DPL";
	if ((cs_type == 13 || cs_type == 15) &&
	    (cs->ar & VMX_AR_DPL_MASK) > (ss->ar & VMX_AR_DPL_MASK))
		return "conforming CS DPL above SS DPL";
	if (ia32e && (cs->ar & VMX_AR_L) && (cs->ar & VMX_AR_DB))
		return "CS with both L and D/B in IA-32e mode";
	if (!vmx_limit_g_ok(cs))
		return "CS limit does not match G";
	if ((!(cr0 & X86_CR0_PE) || cs_type == 3) && (ss->ar & VMX_AR_DPL_MASK))
		return "SS DPL not 0 in real mode";
	for (i = 0; i < VMX_SEG_LDTR; i++) {
		const struct vmx_seg *s = &g->seg[i];
		unsigned int type = s->ar & VMX_AR_TYPE_MASK;

		if (i == VMX_SEG_CS || (s->ar & VMX_AR_UNUSABLE))
			continue;
		if (i == VMX_SEG_SS && type != 3 && type != 7)
			return "SS type (must be 3 or 7)";
		if (!(type & 1) || ((type & 8) && !(type & 2)))
			return "data segment not accessed, or code not readable";
		if (!(s->ar & VMX_AR_S) || !(s->ar & VMX_AR_P) ||
		    (s->ar & VMX_AR_RESERVED))
			return "data segment not S=1, P=1, reserved bits 0";
		if (!vmx_limit_g_ok(s))
			return "data segment limit does not match G";
		if (i != VMX_SEG_FS && i != VMX_SEG_GS && s->base >> 32)
			return "SS/DS/ES base above 4 GiB";
	}
	if (tr->ar & VMX_AR_UNUSABLE)
		return "TR unusable";
	if ((tr->ar & VMX_AR_TYPE_MASK) != 11 &&
	    (ia32e || (tr->ar & VMX_AR_TYPE_MASK) != 3))
		return "TR type (must be a busy TSS: 11, or 3 outside IA-32e mode)";
	if ((tr->ar & VMX_AR_S) || !(tr->ar & VMX_AR_P) || (tr->ar & VMX_AR_RESERVED) ||
	    !vmx_limit_g_ok(tr))
		return "TR not S=0, P=1, reserved bits 0, limit matching G";
	if (!(ldtr->ar & VMX_AR_UNUSABLE) &&
	    ((ldtr->ar & VMX_AR_TYPE_MASK) != 2 || (ldtr->ar & VMX_AR_S) ||
	     !(ldtr->ar & VMX_AR_P) || (ldtr->ar & VMX_AR_RESERVED) ||
	     !vmx_limit_g_ok(ldtr)))
		return "LDTR not type 2, S=0, P=1, limit matching G";
	/* 26.3.1.3: descriptor-table registers */
	if (g->gdtr_limit >> 16 || g->idtr_limit >> 16 ||
	    !vmx_canonical(g->gdtr_base) || !vmx_canonical(g->idtr_base))
		return "GDTR/IDTR limit above ffffh or base non-canonical";
	/* 26.3.1.4: RIP and RFLAGS */
	if (!(ia32e && (cs->ar & VMX_AR_L)) && rip >> 32)
		return "RIP above 4 GiB outside 64-bit mode";
	if (!(rflags & X86_EFLAGS_FIXED) || (rflags & (BIT(3) | BIT(5) | BIT(15))) ||
	    rflags >> 22)
		return "RFLAGS reserved bits";
	if ((rflags & X86_EFLAGS_VM) && (ia32e || !(cr0 & X86_CR0_PE)))
		return "RFLAGS.VM in IA-32e or real mode";
	if (ext == (INTR_INFO_VALID | INTR_TYPE_EXT_INTR) && !(rflags & X86_EFLAGS_IF))
		return "external interrupt injected with RFLAGS.IF clear";
	/* 26.3.1.5: non-register state */
	if ((g->interruptibility & VMX_INTR_STI_BLOCKING) &&
	    ((g->interruptibility & VMX_INTR_MOVSS_BLOCKING) ||
	     !(rflags & X86_EFLAGS_IF)))
		return "STI blocking with MOV SS blocking or RFLAGS.IF clear";
	if (ext == (INTR_INFO_VALID | INTR_TYPE_EXT_INTR) &&
	    (g->interruptibility & (VMX_INTR_STI_BLOCKING | VMX_INTR_MOVSS_BLOCKING)))
		return "external interrupt injected in an interrupt shadow";
	if ((g->interruptibility & (VMX_INTR_STI_BLOCKING | VMX_INTR_MOVSS_BLOCKING)) &&
	    !!(g->pending_dbg & BIT(14)) != !!(rflags & X86_EFLAGS_TF))
		return "pending debug exceptions BS differs from RFLAGS.TF in a shadow";
	return NULL;
}

static int vmx_exit_failed_entry(struct vireo_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	const struct vmx_exit_info *e = &vmx->exit;
	u32 basic = e->reason & EXIT_REASON_BASIC_MASK;
	const char *field = NULL;

	if (basic == EXIT_REASON_INVALID_STATE) {
		/* Qualification 2: PDPTE, 3: NMI injection, 4: link pointer. */
		if (e->qualification == 2)
			field = "a PDPTE has reserved bits set";
		else if (e->qualification == 4)
			field = "VMCS link pointer";
		else
			field = vmx_explain_guest_state(vmx);
	}
	pr_warn_ratelimited(VIREO_LOG_PREFIX "vm %u vcpu %u: VM entry failed (%s, qualification %llu): %s\n",
			    vcpu->vm->id, vcpu->id,
			    basic == EXIT_REASON_INVALID_STATE ? "invalid guest state" :
			    basic == EXIT_REASON_MSR_LOADING ? "MSR loading" :
			    basic == EXIT_REASON_MCE_DURING_ENTRY ? "machine check" :
			    "unknown reason", e->qualification,
			    field ? field : "no check identified");
	vmx_dump(vcpu, "failed VM entry");
	return vireo_exit_to_user_hw(vcpu, VIREO_EXIT_FAIL_ENTRY, e->reason,
				     e->qualification, 0, vmx->event_info);
}

/* VM-instruction error numbers (SDM vol. 3C, 30.4). */
static const char *vmx_insn_error_name(u32 err)
{
	switch (err) {
	case 4:
		return "VMLAUNCH with non-clear VMCS";
	case 5:
		return "VMRESUME with non-launched VMCS";
	case 7:
		return "invalid control field(s)";
	case 8:
		return "invalid host-state field(s)";
	case 26:
		return "events blocked by MOV SS";
	}
	return "see SDM 30.4";
}

/*
 * VMLAUNCH/VMRESUME failed before any guest state was loaded: the controls
 * or the host state were refused (26.2), or there was no current VMCS.
 * Reported as a failed entry with hw_exit_code all ones, as SVM reports
 * VMEXIT_INVALID, and the VM-instruction error in info1.
 */
int vmx_report_vmfail(struct vireo_vcpu *vcpu, int fail)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 err = fail == VMX_ENTER_FAIL_VALID ? vmx->exit.insn_error : 0;

	pr_err_ratelimited(VIREO_LOG_PREFIX "vm %u vcpu %u: %s failed: %s%u (%s)\n",
			   vcpu->vm->id, vcpu->id,
			   vmx->launched ? "VMRESUME" : "VMLAUNCH",
			   fail == VMX_ENTER_FAIL_VALID ? "VM-instruction error " :
			   "no current VMCS, error ", err,
			   fail == VMX_ENTER_FAIL_VALID ? vmx_insn_error_name(err) : "VMfailInvalid");
	vmx_dump(vcpu, "VMLAUNCH/VMRESUME failed");
	return vireo_exit_to_user_hw(vcpu, VIREO_EXIT_FAIL_ENTRY, ~0ULL, err, 0,
				     vmx->event_info);
}

int vmx_handle_exit(struct vireo_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	const struct vmx_exit_info *e = &vmx->exit;
	u32 basic = e->reason & EXIT_REASON_BASIC_MASK;

	/* A failed entry delivered nothing: the queued event stays. */
	if (e->reason & EXIT_REASON_FAILED_ENTRY)
		return vmx_exit_failed_entry(vcpu);

	/*
	 * The entry delivered the queued event.  One whose delivery the exit
	 * cut short (e.g. an exception whose IDT or stack page was not mapped
	 * yet) must be delivered again, with its error code and, for software
	 * events, instruction length (27.2.4, 26.6.1.1).
	 */
	vmx->event_info = 0;
	if (e->idt_vectoring & INTR_INFO_VALID) {
		vmx->event_info = e->idt_vectoring &
				  (INTR_INFO_VECTOR_MASK | INTR_INFO_TYPE_MASK |
				   INTR_INFO_ERROR_VALID | INTR_INFO_VALID);
		vmx->event_error = e->idt_error;
		vmx->event_insn_len = e->insn_len;
	}

	if (basic <= EXIT_REASON_MAX && vmx_exit_handlers[basic])
		return vmx_exit_handlers[basic](vcpu);
	return vmx_exit_unknown(vcpu, "unhandled exit, reported to user space");
}
