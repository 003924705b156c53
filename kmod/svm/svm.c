// SPDX-License-Identifier: GPL-2.0
/*
 * The SVM backend: enabling SVM per CPU, VMCB set-up, register state, and
 * one guest entry.  Exit handling is in svm_exit.c, the world switch in
 * vmenter.S.  References are to the AMD64 APM vol. 2, chapter 15.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <asm/fpu/api.h>
#include <asm/io.h>
#include <asm/irq_vectors.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>

#include "svm.h"

struct svm_caps svm_caps;

/* Per-CPU state: host save areas and the ASID allocator (15.16). */
struct svm_cpu_data {
	bool enabled;
	struct page *hsave;		/* VM_HSAVE_PA target */
	struct page *host_save;		/* VMSAVE/VMLOAD of host state */
	u64 host_save_pa;
	u64 asid_generation;
	u32 next_asid;
	u32 max_asid;
};
static DEFINE_PER_CPU(struct svm_cpu_data, svm_cpu);

/* All-ones maps: every port and every MSR access exits (15.10, 15.11). */
static struct page *svm_iopm;
static struct page *svm_msrpm;

/*
 * MSRs VMLOAD/VMSAVE switch on every entry and exit (15.5.2): the guest may
 * use them directly, everything else exits.
 */
static const u32 svm_passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

/* The permission map's three 8 KiB-MSR ranges, 2 bits each (15.11). */
static void svm_msrpm_passthrough(void)
{
	static const u32 range_base[] = { 0, 0xc0000000, 0xc0010000 };
	u8 *map = page_address(svm_msrpm);
	unsigned int i, r;

	for (i = 0; i < ARRAY_SIZE(svm_passthrough_msrs); i++) {
		u32 msr = svm_passthrough_msrs[i];

		for (r = 0; r < ARRAY_SIZE(range_base); r++) {
			u32 bit;

			if (msr < range_base[r] || msr - range_base[r] >= 0x2000)
				continue;
			bit = (r * 0x2000 + (msr - range_base[r])) * 2;
			map[bit / 8] &= ~(3 << (bit % 8));	/* read and write */
		}
	}
}

static int svm_hardware_setup(void)
{
	u32 eax, ebx, ecx, edx;
	u64 vm_cr;

	if (!(cpuid_ecx(0x80000001) & BIT(2))) {
		pr_err(VIREO_LOG_PREFIX "CPU does not support SVM (CPUID 8000_0001h ECX[2] clear)\n");
		return -ENODEV;
	}
	rdmsrl(MSR_VIREO_VM_CR, vm_cr);
	if (vm_cr & VM_CR_SVMDIS) {
		pr_err(VIREO_LOG_PREFIX "SVM is disabled by firmware (VM_CR.SVMDIS set); enable it in the BIOS\n");
		return -EPERM;
	}
	cpuid(0x8000000a, &eax, &ebx, &ecx, &edx);
	if (!(edx & SVM_FEAT_NPT)) {
		pr_err(VIREO_LOG_PREFIX "CPU lacks nested paging (CPUID 8000_000Ah EDX[0]); Vireo requires NPT\n");
		return -ENODEV;
	}
	if (ebx < 2) {
		pr_err(VIREO_LOG_PREFIX "CPU reports %u ASIDs; at least 2 are needed\n", ebx);
		return -ENODEV;
	}
	svm_caps.nrips = edx & SVM_FEAT_NRIPS;
	svm_caps.decode_assists = edx & SVM_FEAT_DECODE_ASSISTS;
	svm_caps.nr_asids = ebx;

	svm_iopm = alloc_pages(GFP_KERNEL, get_order(SVM_IOPM_SIZE));
	if (!svm_iopm)
		return -ENOMEM;
	svm_msrpm = alloc_pages(GFP_KERNEL, get_order(SVM_MSRPM_SIZE));
	if (!svm_msrpm) {
		__free_pages(svm_iopm, get_order(SVM_IOPM_SIZE));
		return -ENOMEM;
	}
	memset(page_address(svm_iopm), 0xff, PAGE_SIZE << get_order(SVM_IOPM_SIZE));
	memset(page_address(svm_msrpm), 0xff, PAGE_SIZE << get_order(SVM_MSRPM_SIZE));
	svm_msrpm_passthrough();

	pr_info(VIREO_LOG_PREFIX "SVM: NPT, %u ASIDs, NRIP-save %s, decode assists %s\n",
		ebx, svm_caps.nrips ? "yes" : "no (fixed lengths)",
		svm_caps.decode_assists ? "yes" : "no (software decode)");
	return 0;
}

static void svm_hardware_unsetup(void)
{
	__free_pages(svm_msrpm, get_order(SVM_MSRPM_SIZE));
	__free_pages(svm_iopm, get_order(SVM_IOPM_SIZE));
}

static void svm_cpu_free_pages(struct svm_cpu_data *sd)
{
	if (sd->hsave)
		__free_page(sd->hsave);
	if (sd->host_save)
		__free_page(sd->host_save);
	sd->hsave = NULL;
	sd->host_save = NULL;
}

/* Runs on @cpu (CPU-hotplug AP_ONLINE_DYN callback). */
static int svm_cpu_enable(unsigned int cpu)
{
	struct svm_cpu_data *sd = per_cpu_ptr(&svm_cpu, cpu);
	unsigned long flags;
	u64 efer, vm_cr;
	int ret = 0;

	rdmsrl(MSR_VIREO_VM_CR, vm_cr);
	if (vm_cr & VM_CR_SVMDIS) {
		pr_err(VIREO_LOG_PREFIX "SVM is disabled by firmware on CPU %u\n", cpu);
		return -EPERM;
	}

	sd->hsave = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
	sd->host_save = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
	if (!sd->hsave || !sd->host_save) {
		svm_cpu_free_pages(sd);
		return -ENOMEM;
	}
	sd->host_save_pa = page_to_phys(sd->host_save);
	sd->max_asid = svm_caps.nr_asids - 1;
	/* Force a generation change (and a full flush) on first use. */
	sd->next_asid = sd->max_asid + 1;

	/*
	 * Test and set EFER.SVME with interrupts off: another hypervisor
	 * enables SVM from an IPI, which must not slip in between.
	 */
	local_irq_save(flags);
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME_BIT) {
		ret = -EBUSY;
	} else {
		wrmsrl(MSR_VIREO_VM_HSAVE_PA, page_to_phys(sd->hsave));
		wrmsrl(MSR_EFER, efer | EFER_SVME_BIT);
		sd->enabled = true;
	}
	local_irq_restore(flags);

	if (ret) {
		pr_err(VIREO_LOG_PREFIX "SVM is already in use on CPU %u (EFER.SVME set): another hypervisor such as kvm_amd owns it; stop it first\n",
		       cpu);
		svm_cpu_free_pages(sd);
	}
	return ret;
}

static int svm_cpu_disable(unsigned int cpu)
{
	struct svm_cpu_data *sd = per_cpu_ptr(&svm_cpu, cpu);
	u64 efer;

	if (!sd->enabled)
		return 0;
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME_BIT);
	wrmsrl(MSR_VIREO_VM_HSAVE_PA, 0);
	sd->enabled = false;
	svm_cpu_free_pages(sd);
	return 0;
}

static int svm_vm_init(struct vireo_vm *vm)
{
	return 0;
}

static void svm_vm_destroy(struct vireo_vm *vm)
{
}

static void svm_seg_set(struct vmcb_seg *seg, u16 sel, u64 base, u32 limit,
			u16 attrib)
{
	seg->selector = sel;
	seg->base = base;
	seg->limit = limit;
	seg->attrib = attrib;
}

/* Architectural state after RESET (APM vol. 2, 14.1.3). */
static void svm_reset_state(struct vireo_vcpu *vcpu, struct vmcb_save *s)
{
	svm_seg_set(&s->cs, 0xf000, 0xffff0000, 0xffff, 0x9b);
	svm_seg_set(&s->ds, 0, 0, 0xffff, 0x93);
	svm_seg_set(&s->es, 0, 0, 0xffff, 0x93);
	svm_seg_set(&s->fs, 0, 0, 0xffff, 0x93);
	svm_seg_set(&s->gs, 0, 0, 0xffff, 0x93);
	svm_seg_set(&s->ss, 0, 0, 0xffff, 0x93);
	svm_seg_set(&s->gdtr, 0, 0, 0xffff, 0);
	svm_seg_set(&s->idtr, 0, 0, 0xffff, 0);
	svm_seg_set(&s->ldtr, 0, 0, 0xffff, 0x82);
	svm_seg_set(&s->tr, 0, 0, 0xffff, 0x8b);
	s->cr0 = 0x60000010;
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	s->efer = EFER_SVME_BIT;
	s->g_pat = 0x0007040600070406ULL;
	vcpu->rip = 0xfff0;
	vcpu->rflags = 0x2;
}

static void svm_reset(struct vireo_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;

	memset(&vmcb->save, 0, sizeof(vmcb->save));
	svm_reset_state(vcpu, &vmcb->save);
	vmcb->control.event_inj = 0;
	vmcb->control.int_ctl &= ~(SVM_V_IRQ_FIELDS | 0xfULL);
	vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT_IRET;
	svm->nmi_masked = false;
	svm->awaiting_iret = false;
	svm->virq_vec = -1;
	svm->reinject_vec = -1;
}

static int svm_vcpu_create(struct vireo_vcpu *vcpu)
{
	struct svm_vcpu *svm;
	struct vmcb_control *c;
	struct page *page;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page) {
		kfree(svm);
		return -ENOMEM;
	}
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	svm->last_cpu = -1;
	svm->virq_vec = -1;
	svm->reinject_vec = -1;
	atomic64_inc(&vireo_table_pages);

	c = &svm->vmcb->control;
	/*
	 * DR0-DR3 are not switched by VMRUN (only DR6/DR7 are in the VMCB):
	 * intercept every debug-register access so a guest can neither read
	 * nor clobber the host's breakpoints.  Such exits reach user space
	 * as VIREO_EXIT_UNKNOWN for now.
	 */
	c->intercept_dr = 0xffffffff;
	/*
	 * With a LAPIC (irqchip VMs), CR8 is its TPR class: writes exit, so
	 * that a lower priority delivers what it lets through at once; reads
	 * get V_TPR, which svm_run() keeps equal to it.
	 */
	if (vcpu->vm->flags & VIREO_VM_FLAG_IRQCHIP)
		c->intercept_cr = SVM_INTERCEPT_CR8_WRITE;
	c->intercept_misc1 = SVM_INTERCEPT_INTR | SVM_INTERCEPT_NMI |
			     SVM_INTERCEPT_SMI | SVM_INTERCEPT_CPUID |
			     SVM_INTERCEPT_RSM | SVM_INTERCEPT_INVD |
			     SVM_INTERCEPT_HLT | SVM_INTERCEPT_INVLPGA |
			     SVM_INTERCEPT_IOIO | SVM_INTERCEPT_MSR |
			     SVM_INTERCEPT_TASK_SW | SVM_INTERCEPT_SHUTDOWN;
	/* VMRUN must be intercepted or VMRUN fails (15.5.1). */
	c->intercept_misc2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL |
			     SVM_INTERCEPT_VMLOAD | SVM_INTERCEPT_VMSAVE |
			     SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI |
			     SVM_INTERCEPT_SKINIT | SVM_INTERCEPT_RDTSCP |
			     SVM_INTERCEPT_MONITOR |
			     SVM_INTERCEPT_MWAIT |
			     /* VMRUN does not switch XCR0: see fpu.c. */
			     SVM_INTERCEPT_XSETBV;
	c->iopm_base_pa = page_to_phys(svm_iopm);
	c->msrpm_base_pa = page_to_phys(svm_msrpm);
	/* Guest RFLAGS.IF masks only virtual interrupts (15.21.1). */
	c->int_ctl = SVM_V_INTR_MASKING;
	c->nested_ctl = SVM_NP_ENABLE;
	c->nested_cr3 = vcpu->vm->tdp_root_pa;

	svm_reset_state(vcpu, &svm->vmcb->save);
	vcpu->backend = svm;
	return 0;
}

static void svm_vcpu_free(struct vireo_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (!svm)
		return;
	free_page((unsigned long)svm->vmcb);
	atomic64_dec(&vireo_table_pages);
	kfree(svm);
	vcpu->backend = NULL;
}

static void svm_seg_to_user(const struct vmcb_seg *s, struct vireo_segment *u)
{
	u->base = s->base;
	u->limit = s->limit;
	u->selector = s->selector;
	u->type = s->attrib & SVM_ATTR_TYPE_MASK;
	u->s = !!(s->attrib & SVM_ATTR_S);
	u->dpl = (s->attrib >> SVM_ATTR_DPL_SHIFT) & 3;
	u->present = !!(s->attrib & SVM_ATTR_P);
	u->avl = !!(s->attrib & SVM_ATTR_AVL);
	u->l = !!(s->attrib & SVM_ATTR_L);
	u->db = !!(s->attrib & SVM_ATTR_DB);
	u->g = !!(s->attrib & SVM_ATTR_G);
	u->unusable = !u->present;
}

static int svm_seg_from_user(const struct vireo_segment *u, struct vmcb_seg *s)
{
	if (u->type > 15 || u->dpl > 3 || u->s > 1 || u->present > 1 ||
	    u->avl > 1 || u->l > 1 || u->db > 1 || u->g > 1 ||
	    u->unusable > 1 || u->padding)
		return -EINVAL;
	s->base = u->base;
	s->limit = u->limit;
	s->selector = u->selector;
	if (u->unusable || !u->present) {
		s->attrib = 0;
		return 0;
	}
	s->attrib = u->type | (u->s ? SVM_ATTR_S : 0) |
		    (u->dpl << SVM_ATTR_DPL_SHIFT) | SVM_ATTR_P |
		    (u->avl ? SVM_ATTR_AVL : 0) | (u->l ? SVM_ATTR_L : 0) |
		    (u->db ? SVM_ATTR_DB : 0) | (u->g ? SVM_ATTR_G : 0);
	return 0;
}

static void svm_get_sregs(struct vireo_vcpu *vcpu, struct vireo_sregs *sr)
{
	const struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;

	svm_seg_to_user(&s->cs, &sr->cs);
	svm_seg_to_user(&s->ds, &sr->ds);
	svm_seg_to_user(&s->es, &sr->es);
	svm_seg_to_user(&s->fs, &sr->fs);
	svm_seg_to_user(&s->gs, &sr->gs);
	svm_seg_to_user(&s->ss, &sr->ss);
	svm_seg_to_user(&s->tr, &sr->tr);
	svm_seg_to_user(&s->ldtr, &sr->ldt);
	sr->gdt.base = s->gdtr.base;
	sr->gdt.limit = s->gdtr.limit;
	sr->idt.base = s->idtr.base;
	sr->idt.limit = s->idtr.limit;
	sr->cr0 = s->cr0;
	sr->cr2 = s->cr2;
	sr->cr3 = s->cr3;
	sr->cr4 = s->cr4;
	sr->cr8 = to_svm(vcpu)->vmcb->control.int_ctl & 0xf;
	sr->efer = s->efer & ~EFER_SVME_BIT;	/* ours, not the guest's */
}

/* EFER bits a guest may have: SCE, LME, LMA, NXE. */
#define EFER_ALLOWED	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)
/*
 * CR4 bits a guest may have: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR
 * OSXMMEXCPT UMIP FSGSBASE OSXSAVE SMEP SMAP.
 */
#define CR4_ALLOWED	(GENMASK_ULL(11, 0) | BIT_ULL(16) | BIT_ULL(18) | \
			 BIT_ULL(20) | BIT_ULL(21))

/* The VMRUN consistency checks (15.5.1), as -EINVAL instead of VMEXIT_INVALID. */
static int svm_check_sregs(const struct vireo_sregs *sr)
{
	bool long_mode;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sr->reserved); i++)
		if (sr->reserved[i])
			return -EINVAL;
	if (sr->gdt.padding[0] | sr->gdt.padding[1] | sr->gdt.padding[2] |
	    sr->idt.padding[0] | sr->idt.padding[1] | sr->idt.padding[2])
		return -EINVAL;
	if (sr->cr0 >> 32 || ((sr->cr0 & X86_CR0_NW) && !(sr->cr0 & X86_CR0_CD)))
		return -EINVAL;
	if ((sr->cr0 & X86_CR0_PG) && !(sr->cr0 & X86_CR0_PE))
		return -EINVAL;
	if (sr->cr4 & ~CR4_ALLOWED || sr->cr3 >> 52 || sr->cr8 > 15)
		return -EINVAL;
	if (sr->efer & ~EFER_ALLOWED)
		return -EINVAL;
	long_mode = (sr->efer & EFER_LME) && (sr->cr0 & X86_CR0_PG);
	if (long_mode != !!(sr->efer & EFER_LMA))
		return -EINVAL;
	if (long_mode && !(sr->cr4 & X86_CR4_PAE))
		return -EINVAL;
	if (long_mode && sr->cs.l && sr->cs.db)
		return -EINVAL;
	return 0;
}

static int svm_set_sregs(struct vireo_vcpu *vcpu, const struct vireo_sregs *sr)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;
	struct vmcb_save s = vmcb->save;	/* commit only if all valid */
	int ret;

	ret = svm_check_sregs(sr);
	if (ret)
		return ret;
	if (svm_seg_from_user(&sr->cs, &s.cs) ||
	    svm_seg_from_user(&sr->ds, &s.ds) ||
	    svm_seg_from_user(&sr->es, &s.es) ||
	    svm_seg_from_user(&sr->fs, &s.fs) ||
	    svm_seg_from_user(&sr->gs, &s.gs) ||
	    svm_seg_from_user(&sr->ss, &s.ss) ||
	    svm_seg_from_user(&sr->tr, &s.tr) ||
	    svm_seg_from_user(&sr->ldt, &s.ldtr))
		return -EINVAL;
	s.gdtr.base = sr->gdt.base;
	s.gdtr.limit = sr->gdt.limit;
	s.idtr.base = sr->idt.base;
	s.idtr.limit = sr->idt.limit;
	s.cr0 = sr->cr0;
	s.cr2 = sr->cr2;
	s.cr3 = sr->cr3;
	s.cr4 = sr->cr4;
	s.efer = sr->efer | EFER_SVME_BIT;
	/* CPL is SS.DPL in protected mode, 0 in real mode (15.5.1). */
	s.cpl = (sr->cr0 & X86_CR0_PE) ? sr->ss.dpl : 0;
	vmcb->save = s;
	vmcb->control.int_ctl = (vmcb->control.int_ctl & ~0xfULL) | sr->cr8;
	return 0;
}

static void svm_get_paging(struct vireo_vcpu *vcpu, struct vireo_paging *pg)
{
	const struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;

	pg->cr0 = s->cr0;
	pg->cr3 = s->cr3;
	pg->cr4 = s->cr4;
	pg->efer = s->efer;
	pg->cs_base = s->cs.base;
	pg->cs_l = !!(s->cs.attrib & SVM_ATTR_L);
	pg->cs_db = !!(s->cs.attrib & SVM_ATTR_DB);
}

/*
 * Give the vCPU an ASID valid on this CPU.  ASIDs are handed out per CPU
 * in generations; running out starts a new generation with a full TLB
 * flush, so an ASID is never reused with stale translations (15.16).
 */
static void svm_pick_asid(struct svm_vcpu *svm, struct svm_cpu_data *sd,
			  int cpu)
{
	if (svm->last_cpu == cpu && svm->asid_generation == sd->asid_generation)
		return;
	if (sd->next_asid > sd->max_asid) {
		sd->asid_generation++;
		sd->next_asid = 1;
		svm->vmcb->control.tlb_control = SVM_TLB_FLUSH_ALL;
	}
	svm->asid = sd->next_asid++;
	svm->asid_generation = sd->asid_generation;
	svm->last_cpu = cpu;
	svm->vmcb->control.asid = svm->asid;
}

/*
 * Deliver a latched NMI unless an NMI handler is still running or the
 * guest is in an interrupt shadow (which holds NMIs too on the CPUs that
 * honour MOV SS blocking).  Returns true when one was queued.
 */
static bool svm_inject_nmi(struct vireo_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control *c = &svm->vmcb->control;

	if (svm->awaiting_iret && svm->vmcb->save.rip != svm->iret_rip) {
		svm->awaiting_iret = false;
		svm->nmi_masked = false;
	}
	if (!atomic_read(&vcpu->nmi_pending) || svm->nmi_masked ||
	    (c->int_state & SVM_INT_SHADOW))
		return false;
	atomic_set(&vcpu->nmi_pending, 0);
	c->event_inj = NMI_VECTOR | SVM_EVTINJ_TYPE_NMI | SVM_EVTINJ_VALID;
	svm->nmi_masked = true;
	c->intercept_misc1 |= SVM_INTERCEPT_IRET;
	vireo_count(vcpu, VIREO_STAT_NMI_INJECTED);
	return true;
}

/*
 * Deliver a pending NMI, and offer the LAPIC's highest deliverable
 * interrupt as a virtual interrupt: V_IRQ with V_IGN_TPR (the LAPIC has
 * applied the priorities already) and the vector in V_INTR_VECTOR (APM
 * vol. 2, 15.21.4).  The processor takes it by itself as soon as the
 * guest's RFLAGS.IF is set and no interrupt shadow holds it, so no
 * interrupt-window exit is needed; svm_sync_virq() sees V_IRQ cleared at
 * the exit and acknowledges it in the LAPIC then.  Every exit withdraws
 * the offer, and the next entry offers what the priorities say then (an
 * interrupt posted meanwhile comes with a kick, which is an exit).
 *
 * External interrupts never go through EVENTINJ, although hardware would
 * deliver them correctly that way: QEMU's TCG, which the test VM runs on,
 * delivers an EVENTINJ interrupt inside its VMRUN helper but leaves the
 * vector behind as the CPU's pending exception (helper_vmrun() sets
 * exception_index and nothing clears it).  The next time anything asks
 * that CPU out of its execution loop (cpu_handle_interrupt() keeps a set
 * exception_index), the vector is delivered to the guest a second time,
 * wherever it is and whatever RFLAGS.IF says.  Linux then runs an IRQ
 * handler inside itself with IF clear and deadlocks on its descriptor's
 * lock, or takes a timer interrupt between SWAPGS and IRET on the way to
 * user mode and panics on the entry stack's guard page.  A virtual
 * interrupt is delivered from QEMU's interrupt check, which clears the
 * pending exception afterwards.
 */
static void svm_inject_interrupt(struct vireo_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control *c = &svm->vmcb->control;
	bool acked = svm->reinject_vec >= 0;
	int vec;

	/* An event to deliver again goes first; NMIs wait for it. */
	if (!(c->event_inj & SVM_EVTINJ_VALID))
		svm_inject_nmi(vcpu);
	vec = acked ? svm->reinject_vec : vireo_lapic_pending(vcpu);
	svm->reinject_vec = -1;
	if (vec < 0)
		return;
	c->int_ctl = (c->int_ctl & ~SVM_V_IRQ_FIELDS) | SVM_V_IRQ |
		     SVM_V_IGN_TPR | ((u64)vec << SVM_V_INTR_VECTOR_SHIFT);
	svm->virq_vec = vec;
	svm->virq_acked = acked;
}

/*
 * The event the exit trace shows for this run: what EVENTINJ had, else
 * the virtual interrupt the guest took during the run, in EVENTINJ's
 * format (an external interrupt, valid), as hardware delivered it.
 */
static u64 svm_traced_event(const struct svm_vcpu *svm)
{
	if ((svm->entry_event_inj & SVM_EVTINJ_VALID) || svm->virq_vec < 0 ||
	    (svm->vmcb->control.int_ctl & SVM_V_IRQ))
		return svm->entry_event_inj;
	return SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR | svm->virq_vec;
}

/*
 * True when the VMCB's guest save area holds this host thread's own state
 * (its CR3 and a stack pointer inside its kernel stack) after #VMEXIT: no
 * guest can have both, so the processor wrote the host state where the
 * guest's belongs.  Seen under QEMU's TCG (the nested test VM) about once
 * in 20-40 Linux boots; the next entry would run the guest on the host's
 * RIP, RSP and CR3 and end in a triple fault.
 */
static bool svm_save_is_host_state(const struct vmcb_save *s)
{
	unsigned long stack = (unsigned long)task_stack_page(current);

	return s->rsp - stack < THREAD_SIZE &&
	       (s->cr3 & CR3_ADDR_MASK) == (__read_cr3() & CR3_ADDR_MASK);
}

/*
 * Called on the CPU of the exit, preemption off.  Besides the exit, it
 * records where VM_HSAVE_PA points: VMRUN stores the host's RIP (past the
 * VMRUN), RSP, RFLAGS and CR3 there (15.5.1), so a host save area that is
 * this very VMCB would explain host state found in its save area.
 */
static void svm_report_host_state(struct vireo_vcpu *vcpu)
{
	struct svm_cpu_data *sd = this_cpu_ptr(&svm_cpu);
	struct svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb *v = svm->vmcb;
	u64 hsave_msr;

	rdmsrl(MSR_VIREO_VM_HSAVE_PA, hsave_msr);
	vireo_count(vcpu, VIREO_STAT_HOST_STATE_IN_VMCB);
	pr_warn_ratelimited(VIREO_LOG_PREFIX "vm %u vcpu %u: the VMCB guest save area holds host state after #VMEXIT: exit_code %#llx info1 %#llx info2 %#llx int_info %#llx int_state %#llx; entry on cpu %d (now %d) with rip %#llx rflags %#llx cr3 %#llx event_inj %#llx, asid %u tlb_control %u int_ctl %#llx; VMCB at %#llx, VM_HSAVE_PA %#llx (this CPU's host save page %#llx)\n",
			    vcpu->vm->id, vcpu->id, v->control.exit_code,
			    v->control.exit_info1, v->control.exit_info2,
			    v->control.exit_int_info, v->control.int_state,
			    svm->entry_cpu, smp_processor_id(),
			    svm->entry_rip, svm->entry_rflags,
			    svm->entry_cr3, svm->entry_event_inj,
			    v->control.asid, v->control.tlb_control,
			    v->control.int_ctl, svm->vmcb_pa, hsave_msr,
			    sd->hsave ? (u64)page_to_phys(sd->hsave) : 0);
}

static int svm_run(struct vireo_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	struct svm_cpu_data *sd;
	u64 host_xcr0;
	bool lost;

	/*
	 * RIP moved since the exit (an emulated instruction completed, or
	 * SET_REGS): an STI/MOV SS interrupt shadow no longer applies.
	 */
	if (vmcb->save.rip != vcpu->rip)
		vmcb->control.int_state &= ~SVM_INT_SHADOW;
	vmcb->save.rax = vcpu->regs[VCPU_RAX];
	vmcb->save.rsp = vcpu->regs[VCPU_RSP];
	vmcb->save.rip = vcpu->rip;
	vmcb->save.rflags = vcpu->rflags;
	vmcb->control.tsc_offset = vcpu->tsc_offset;
	/*
	 * With a LAPIC, CR8 is its TPR class (SDM vol. 3A, 10.8.6.1): guest
	 * reads get V_TPR (15.21.4), kept equal to it here; writes are
	 * intercepted (svm_vcpu_create()).
	 */
	if (vcpu->lapic)
		vmcb->control.int_ctl = (vmcb->control.int_ctl & ~0xfULL) |
					vireo_lapic_get_cr8(vcpu);
	/* No VMCB state is cached across runs: the vCPU may change CPU. */
	vmcb->control.clean = 0;

	/* Saves the task's FPU state and disables preemption. */
	kernel_fpu_begin();
	sd = this_cpu_ptr(&svm_cpu);
	if (WARN_ON_ONCE(!sd->enabled)) {
		kernel_fpu_end();
		return -EIO;
	}
	svm_pick_asid(svm, sd, smp_processor_id());
	vireo_fpu_enter(vcpu);

	/*
	 * GIF=0 holds host interrupts and NMIs across the world switch;
	 * RFLAGS.IF=1 lets a host interrupt cause an INTR intercept while
	 * the guest runs, and it is taken right after STGI.
	 *
	 * The LAPIC is read only now, with GIF=0: an interrupt posted after
	 * this check comes with a kick (a host IPI), which GIF holds until
	 * VMRUN and which then ends the entry at once.  Checked any earlier,
	 * the kick could be taken before CLGI and the interrupt would wait
	 * for the guest's next unrelated exit.
	 */
	local_irq_disable();
	asm volatile("clgi" ::: "memory");
	svm_inject_interrupt(vcpu);
	local_irq_enable();

	svm->entry_rip = vmcb->save.rip;
	svm->entry_rflags = vmcb->save.rflags;
	svm->entry_cr3 = vmcb->save.cr3;
	svm->entry_event_inj = vmcb->control.event_inj;
	svm->entry_cpu = smp_processor_id();
	/* GIF=0 holds interrupts and NMIs while XCR0 is the guest's. */
	host_xcr0 = vireo_xcr0_enter(vcpu);
	svm_enter_guest(vcpu->regs, svm->vmcb_pa, sd->host_save_pa);
	vireo_xcr0_exit(vcpu, host_xcr0);

	local_irq_disable();
	asm volatile("stgi" ::: "memory");
	local_irq_enable();

	vireo_trace_switch(vcpu, svm->entry_rip, svm->entry_rflags, svm_traced_event(svm),
			   vmcb->control.exit_code, vmcb->control.exit_int_info,
			   vmcb->save.rip, vmcb->save.rflags);
	lost = unlikely(svm_save_is_host_state(&vmcb->save));
	if (lost)
		svm_report_host_state(vcpu);

	vireo_fpu_exit(vcpu);
	kernel_fpu_end();

	vmcb->control.tlb_control = SVM_TLB_FLUSH_NONE;
	vcpu->regs[VCPU_RAX] = vmcb->save.rax;
	vcpu->regs[VCPU_RSP] = vmcb->save.rsp;
	vcpu->rip = vmcb->save.rip;
	vcpu->rflags = vmcb->save.rflags;

	/*
	 * Running on would run the host's registers as the guest's (and end
	 * in a puzzling triple fault): stop the VM and say why instead.
	 */
	if (lost) {
		vireo_vm_set_state(vcpu->vm, VIREO_VM_STATE_CRASHED);
		return vireo_exit_internal(vcpu, VIREO_INTERNAL_LOST_STATE,
					   vmcb->control.exit_code, NULL, 0);
	}
	return svm_handle_exit(vcpu);
}

#define EFER_GUEST_WRITABLE	(EFER_SCE | EFER_LME | EFER_NX)

/*
 * The SYSCALL and SYSENTER MSRs and KERNEL_GS_BASE of the VMCB: VMSAVE
 * stores the guest's after every exit and VMLOAD loads them at the next
 * entry (15.5.2), so between runs the VMCB is the truth.  Only user space
 * gets here (VIREO_GET_MSRS / VIREO_SET_MSRS): the guest's own accesses
 * are not intercepted.
 */
static u64 *svm_switched_msr(struct vmcb_save *s, u32 index)
{
	switch (index) {
	case MSR_STAR:			return &s->star;
	case MSR_LSTAR:			return &s->lstar;
	case MSR_CSTAR:			return &s->cstar;
	case MSR_SYSCALL_MASK:		return &s->sfmask;
	case MSR_KERNEL_GS_BASE:	return &s->kernel_gs_base;
	case MSR_IA32_SYSENTER_CS:	return &s->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP:	return &s->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP:	return &s->sysenter_eip;
	}
	return NULL;
}

static int svm_get_msr(struct vireo_vcpu *vcpu, u32 index, u64 *value)
{
	struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;
	u64 *msr;

	switch (index) {
	case MSR_EFER:
		*value = s->efer & ~EFER_SVME_BIT;
		return 0;
	case MSR_IA32_CR_PAT:
		*value = s->g_pat;
		return 0;
	}
	msr = svm_switched_msr(s, index);
	if (!msr)
		return -ENOENT;
	*value = *msr;
	return 0;
}

static int svm_set_msr(struct vireo_vcpu *vcpu, u32 index, u64 value)
{
	struct vmcb_save *s = &to_svm(vcpu)->vmcb->save;
	u64 *msr;

	switch (index) {
	case MSR_EFER:
		/* LMA is the processor's; LME may not change under paging. */
		if (value & ~(EFER_GUEST_WRITABLE | EFER_LMA))
			return -EINVAL;
		if ((s->cr0 & X86_CR0_PG) &&
		    ((value ^ s->efer) & EFER_LME))
			return -EINVAL;
		s->efer = (value & EFER_GUEST_WRITABLE) | (s->efer & EFER_LMA) |
			  EFER_SVME_BIT;
		return 0;
	case MSR_IA32_CR_PAT:
		if (!vireo_pat_valid(value))
			return -EINVAL;
		s->g_pat = value;
		return 0;
	case MSR_IA32_SYSENTER_CS:
		/* Bits 31:0, as the VMX backend keeps (a 32-bit VMCS field). */
		s->sysenter_cs = (u32)value;
		return 0;
	}
	msr = svm_switched_msr(s, index);
	if (!msr)
		return -ENOENT;
	*msr = value;
	return 0;
}

static void svm_queue_exception(struct vireo_vcpu *vcpu, u8 vector,
				bool has_error, u32 error_code)
{
	to_svm(vcpu)->vmcb->control.event_inj =
		vector | SVM_EVTINJ_TYPE_EXCEPT | SVM_EVTINJ_VALID |
		(has_error ? SVM_EVTINJ_VALID_ERR | ((u64)error_code << 32) : 0);
}

/* NPT entries use the long-mode page-table format (15.25.5). */
#define NPT_P	BIT_ULL(0)
#define NPT_RW	BIT_ULL(1)
#define NPT_US	BIT_ULL(2)	/* NPT walks are user accesses */

static u64 svm_tdp_table_entry(u64 table_pa)
{
	return table_pa | NPT_P | NPT_RW | NPT_US;
}

static u64 svm_tdp_leaf_entry(u64 page_pa)
{
	return page_pa | NPT_P | NPT_RW | NPT_US;	/* write-back via PAT 0 */
}

static bool svm_tdp_present(u64 entry)
{
	return entry & NPT_P;
}

const struct vireo_backend_ops svm_backend_ops = {
	.name			= "svm",
	.hardware_setup		= svm_hardware_setup,
	.hardware_unsetup	= svm_hardware_unsetup,
	.cpu_enable		= svm_cpu_enable,
	.cpu_disable		= svm_cpu_disable,
	.vm_init		= svm_vm_init,
	.vm_destroy		= svm_vm_destroy,
	.vcpu_create		= svm_vcpu_create,
	.vcpu_free		= svm_vcpu_free,
	.get_sregs		= svm_get_sregs,
	.set_sregs		= svm_set_sregs,
	.get_paging		= svm_get_paging,
	.run			= svm_run,
	.get_msr		= svm_get_msr,
	.set_msr		= svm_set_msr,
	.queue_exception	= svm_queue_exception,
	.reset			= svm_reset,
	.tdp_table_entry	= svm_tdp_table_entry,
	.tdp_leaf_entry		= svm_tdp_leaf_entry,
	.tdp_present		= svm_tdp_present,
};
