// SPDX-License-Identifier: GPL-2.0
/*
 * SVM exit handlers, in a table indexed by the VMCB EXITCODE (APM vol. 2,
 * appendix C).  Each returns VIREO_RESUME, VIREO_TO_USER or -errno.  Exit
 * codes without a handler go to user space as VIREO_EXIT_UNKNOWN with the
 * raw code and a dump of the control block in the kernel log.
 *
 * Instruction lengths: the CPUs Vireo is tested on have no NRIP-save, so
 * the length of each intercepted instruction is fixed by its encoding
 * (CPUID 2, HLT 1, RDMSR/WRMSR 2, VMMCALL 3, RDTSCP 3, XSETBV 3), and IOIO gives
 * the next RIP in EXITINFO2.
 */
#include <linux/kernel.h>

#include "svm.h"

#define EXITINTINFO_VALID	BIT_ULL(31)
#define EXITINTINFO_TYPE(v)	(((v) >> 8) & 7)
#define EXITINTINFO_TYPE_INTR	0
#define EXITINTINFO_TYPE_EXCEPT	3
#define EXITINTINFO_TYPE_SOFT	4
#define EXITINTINFO_VECTOR(v)	((v) & 0xff)

/*
 * Settle the virtual interrupt svm_inject_interrupt() offered to the run
 * that just ended.  V_IRQ clear: the guest took it, and the LAPIC
 * acknowledges it now (unless it had already), before the exit -- quite
 * possibly its EOI -- is handled.  V_IRQ still set: not taken; withdrawn,
 * it stays pending in the LAPIC's IRR.
 *
 * EXITINTINFO may name that vector as in delivery, cut short by the
 * exit.  Taken (V_IRQ clears when delivery starts): the vector is
 * acknowledged, so the next entry offers it again as such.  Not taken:
 * QEMU's TCG reports a virtual interrupt cut short this way, as an
 * exception (type 3) with V_IRQ still set; the interrupt is still
 * pending, and the report is dropped.
 */
static void svm_sync_virq(struct vireo_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control *c = &svm->vmcb->control;
	u64 info = c->exit_int_info;
	int vec = svm->virq_vec;
	u32 type = EXITINTINFO_TYPE(info);
	bool taken;

	if (vec < 0)
		return;
	taken = !(c->int_ctl & SVM_V_IRQ);
	c->int_ctl &= ~SVM_V_IRQ_FIELDS;
	svm->virq_vec = -1;
	if (taken && !svm->virq_acked)
		vireo_lapic_ack(vcpu, vec);
	if (!(info & EXITINTINFO_VALID) || EXITINTINFO_VECTOR(info) != vec ||
	    !(type == EXITINTINFO_TYPE_INTR ||
	      (type == EXITINTINFO_TYPE_EXCEPT && vec >= 32)))
		return;
	if (taken)
		svm->reinject_vec = vec;
	c->exit_int_info = 0;
}

/*
 * The event that was being delivered when the exit happened, to inject
 * again on the next entry, or 0.  Events raised by an instruction -- INTn
 * (type SOFT) and INT3/INTO (#BP, #OF) -- are not injected again: RIP still
 * points at that instruction (the intercept came before it completed), so
 * the guest executes it again and raises the event itself.  Injecting it
 * instead would push RIP of the instruction rather than of the next one as
 * the return address: Linux's INT3 handler, which text patching relies on,
 * would then return into the middle of an instruction.  Without NRIP-save
 * there is no next RIP to inject with (APM vol. 2, 15.7.2 and 15.20).
 */
static u64 svm_event_to_reinject(struct vireo_vcpu *vcpu, u64 info)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u32 type = EXITINTINFO_TYPE(info);
	u32 vec = EXITINTINFO_VECTOR(info);

	if (!(info & EXITINTINFO_VALID) || type == EXITINTINFO_TYPE_SOFT)
		return 0;
	if (type == EXITINTINFO_TYPE_EXCEPT && (vec == 3 || vec == 4))
		return 0;
	/*
	 * An external interrupt in delivery is the virtual interrupt this
	 * run was offered, and svm_sync_virq() has taken care of it.  Any
	 * other was delivered already (or never offered): injecting it again
	 * would run the guest's handler inside itself with IF clear.  An
	 * "exception" with a vector of 32 or more is how QEMU's TCG reports
	 * an interrupt it delivered on its own; EVENTINJ would refuse it.
	 * Drop either, and say so.
	 */
	if (type == EXITINTINFO_TYPE_INTR ||
	    (type == EXITINTINFO_TYPE_EXCEPT && vec >= 32)) {
		vireo_count(vcpu, VIREO_STAT_STALE_EVENT);
		pr_warn_ratelimited(VIREO_LOG_PREFIX "vm %u vcpu %u: exit %#llx at rip %#llx (rflags %#llx) reports event %#llx in delivery, which this entry (rip %#llx, rflags %#llx, EVENTINJ %#llx) did not offer: not injected again\n",
				    vcpu->vm->id, vcpu->id, svm->vmcb->control.exit_code,
				    svm->vmcb->save.rip, svm->vmcb->save.rflags, info,
				    svm->entry_rip, svm->entry_rflags, svm->entry_event_inj);
		return 0;
	}
	return info;
}

static int svm_exit_host_intr(struct vireo_vcpu *vcpu)
{
	/* The interrupt or NMI is taken by the host right after STGI. */
	vireo_count(vcpu, VIREO_STAT_HOST_INTR);
	return VIREO_RESUME;
}

static bool svm_guest_osxsave(struct vireo_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cr4 & X86_CR4_OSXSAVE;
}

static int svm_exit_cpuid(struct vireo_vcpu *vcpu)
{
	return vireo_emulate_cpuid(vcpu, svm_guest_osxsave(vcpu));
}

static int svm_exit_xsetbv(struct vireo_vcpu *vcpu)
{
	return vireo_emulate_xsetbv(vcpu, svm_guest_osxsave(vcpu),
				    to_svm(vcpu)->vmcb->save.cpl);
}

static int svm_exit_hlt(struct vireo_vcpu *vcpu)
{
	vcpu->rip += 1;			/* f4 */
	return vireo_emulate_hlt(vcpu);
}

/*
 * The guest is about to execute an IRET after an injected NMI: NMIs stay
 * blocked until that IRET has completed, which svm_inject_nmi() sees as
 * RIP having moved on (15.20).  IRET is 1 byte (cf) or 2 (48 cf), so the
 * test is on RIP rather than on a computed next RIP.
 */
static int svm_exit_iret(struct vireo_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	svm->vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT_IRET;
	svm->awaiting_iret = true;
	svm->iret_rip = vcpu->rip;
	return VIREO_RESUME;
}

static int svm_exit_ioio(struct vireo_vcpu *vcpu)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;
	u64 info = c->exit_info1;
	u8 size;

	if (info & SVM_IOIO_STR)
		return vireo_exit_internal(vcpu, VIREO_INTERNAL_STRING_IO,
					   info >> SVM_IOIO_PORT_SHIFT, NULL, 0);
	switch ((info & SVM_IOIO_SZ_MASK) >> SVM_IOIO_SZ_SHIFT) {
	case 1:
		size = 1;
		break;
	case 2:
		size = 2;
		break;
	case 4:
		size = 4;
		break;
	default:
		return vireo_exit_to_user_hw(vcpu, VIREO_EXIT_UNKNOWN, c->exit_code,
					     c->exit_info1, c->exit_info2,
					     c->exit_int_info);
	}
	return vireo_emulate_io(vcpu, (u16)(info >> SVM_IOIO_PORT_SHIFT), size,
				info & SVM_IOIO_TYPE_IN, c->exit_info2);
}

#define NPF_IN_TABLE_WALK	BIT_ULL(33)

static int svm_exit_npf(struct vireo_vcpu *vcpu)
{
	const struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	/*
	 * EXITINFO2 is the faulting guest-physical address; EXITINFO1 bit 33
	 * says the fault hit the guest's own page-table walk (15.25.6).
	 */
	return vireo_emulate_npf(vcpu, c->exit_info2,
				 c->exit_info1 & NPF_IN_TABLE_WALK);
}

static int svm_exit_vmmcall(struct vireo_vcpu *vcpu)
{
	return vireo_emulate_hypercall(vcpu, 3);	/* 0f 01 d9 */
}

static int svm_exit_msr(struct vireo_vcpu *vcpu)
{
	/* EXITINFO1: 0 for RDMSR, 1 for WRMSR (15.11). */
	return vireo_emulate_msr(vcpu, to_svm(vcpu)->vmcb->control.exit_info1 & 1);
}

static int svm_exit_rdtscp(struct vireo_vcpu *vcpu)
{
	return vireo_emulate_rdtscp(vcpu);
}

/* Exit codes 0x20-0x2f read DRn, 0x30-0x3f write DRn (appendix C). */
static int svm_exit_dr(struct vireo_vcpu *vcpu)
{
	u64 code = to_svm(vcpu)->vmcb->control.exit_code;

	return vireo_emulate_mov_dr(vcpu, code & 0xf, code >= SVM_EXIT_WRITE_DR0);
}

/* Only intercepted with a LAPIC, whose TPR CR8 is (svm_run). */
static int svm_exit_write_cr8(struct vireo_vcpu *vcpu)
{
	return vireo_emulate_mov_to_cr8(vcpu);
}

static void svm_dump_vmcb(struct vireo_vcpu *vcpu, const char *why)
{
	const struct vmcb *v = to_svm(vcpu)->vmcb;

	pr_warn_ratelimited(VIREO_LOG_PREFIX "vm %u vcpu %u: %s: exit_code %#llx info1 %#llx info2 %#llx int_info %#llx\n",
			    vcpu->vm->id, vcpu->id, why, v->control.exit_code,
			    v->control.exit_info1, v->control.exit_info2,
			    v->control.exit_int_info);
	pr_warn_ratelimited(VIREO_LOG_PREFIX "  rip %#llx rsp %#llx rflags %#llx cr0 %#llx cr2 %#llx cr3 %#llx cr4 %#llx efer %#llx cs %#x/%#x/%#llx cpl %u\n",
			    v->save.rip, v->save.rsp, v->save.rflags, v->save.cr0,
			    v->save.cr2, v->save.cr3, v->save.cr4, v->save.efer,
			    v->save.cs.selector, v->save.cs.attrib, v->save.cs.base,
			    v->save.cpl);
}

static int svm_exit_shutdown(struct vireo_vcpu *vcpu)
{
	const struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;

	svm_dump_vmcb(vcpu, "guest shutdown (triple fault), VM stopped");
	vireo_dump_crash_translations(vcpu);
	vireo_vm_set_state(vcpu->vm, VIREO_VM_STATE_CRASHED);
	return vireo_exit_to_user_hw(vcpu, VIREO_EXIT_SHUTDOWN, c->exit_code,
				     c->exit_info1, c->exit_info2,
				     c->exit_int_info);
}

typedef int (*svm_exit_handler)(struct vireo_vcpu *vcpu);

static const svm_exit_handler svm_exit_handlers[SVM_EXIT_MAX + 1] = {
	[SVM_EXIT_WRITE_CR8]	= svm_exit_write_cr8,
	[SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR0 + 15]	= svm_exit_dr,
	[SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR0 + 15] = svm_exit_dr,
	[SVM_EXIT_INTR]		= svm_exit_host_intr,
	[SVM_EXIT_NMI]		= svm_exit_host_intr,
	[SVM_EXIT_SMI]		= svm_exit_host_intr,
	[SVM_EXIT_CPUID]	= svm_exit_cpuid,
	[SVM_EXIT_IRET]		= svm_exit_iret,
	[SVM_EXIT_HLT]		= svm_exit_hlt,
	[SVM_EXIT_IOIO]		= svm_exit_ioio,
	[SVM_EXIT_MSR]		= svm_exit_msr,
	[SVM_EXIT_RDTSCP]	= svm_exit_rdtscp,
	[SVM_EXIT_SHUTDOWN]	= svm_exit_shutdown,
	[SVM_EXIT_VMMCALL]	= svm_exit_vmmcall,
	[SVM_EXIT_XSETBV]	= svm_exit_xsetbv,
	[SVM_EXIT_NPF]		= svm_exit_npf,
};

int svm_handle_exit(struct vireo_vcpu *vcpu)
{
	struct vmcb_control *c = &to_svm(vcpu)->vmcb->control;
	u64 code = c->exit_code;

	/*
	 * An event being delivered when the exit happened (e.g. an exception
	 * whose IDT or stack page was not mapped yet) must be delivered again
	 * on the next entry, or it is lost (15.7.2).
	 */
	svm_sync_virq(vcpu);
	c->event_inj = svm_event_to_reinject(vcpu, c->exit_int_info);

	if (code == SVM_EXIT_INVALID) {
		svm_dump_vmcb(vcpu, "VMRUN failed the consistency checks");
		return vireo_exit_to_user_hw(vcpu, VIREO_EXIT_FAIL_ENTRY, code,
					     c->exit_info1, c->exit_info2,
					     c->exit_int_info);
	}
	if (code <= SVM_EXIT_MAX && svm_exit_handlers[code])
		return svm_exit_handlers[code](vcpu);

	svm_dump_vmcb(vcpu, "unhandled exit, reported to user space");
	return vireo_exit_to_user_hw(vcpu, VIREO_EXIT_UNKNOWN, code,
				     c->exit_info1, c->exit_info2,
				     c->exit_int_info);
}
