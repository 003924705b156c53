// SPDX-License-Identifier: GPL-2.0
/*
 * The VMX backend: enabling VMX per CPU, VMCS set-up and migration between
 * CPUs, register state, and one guest entry.  Exit handling is in
 * vmx_exit.c, the world switch in vmenter.S.  References are to the Intel
 * SDM vol. 3C (chapters 23-28) unless said otherwise.
 *
 * Design, in short:
 * - The guest state that lives in the VMCS is also kept in software
 *   (struct vmx_guest): read back after every exit, written before an entry
 *   when an ioctl or an emulated instruction changed it.  The VMCS is only
 *   current while a run holds the CPU, so ioctls never touch it.
 * - Unrestricted guest and EPT: vCPUs start in real mode.  CR0.PG is owned
 *   by the host (CR0 guest/host mask), so every paging switch exits and
 *   vmx_set_cr0() keeps EFER.LMA and the "IA-32e mode guest" entry control
 *   in step; EFER and PAT are loaded by VM entry and restored by VM exit.
 * - Host interrupts exit ("external-interrupt exiting") without being
 *   acknowledged: the interrupt stays pending and is taken through the host
 *   IDT when interrupts are enabled again after the exit.  An NMI that
 *   caused an exit is handed to the host NMI handler before that.
 * - VPID when the CPU has it with INVVPID; without, every entry and exit
 *   flushes the guest's linear mappings (24.6.12, 28.3.3.1).
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <asm/cpu_entry_area.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "vmx.h"

struct vmx_config vmx_config;

/* Per-CPU state, touched on that CPU only (preemption or interrupts off). */
struct vmx_cpu_data {
	bool enabled;			/* VMXON done */
	struct page *vmxon_region;
	struct vmx_vcpu *current_vmcs;	/* last VMPTRLD on this CPU */
	struct list_head loaded_vmcss;	/* active (not cleared) VMCSs here */
};
static DEFINE_PER_CPU(struct vmx_cpu_data, vmx_cpu);

/* All-ones I/O bitmaps A and B: every port exits (24.6.4). */
static struct page *vmx_io_bitmap;
/* MSR bitmap: every MSR exits except the pass-through set (24.6.9). */
static struct page *vmx_msr_bitmap;

/* Bits of CR0/CR4 the host owns (24.6.6): guest writes to them exit. */
static u64 vmx_cr0_mask, vmx_cr4_mask;

/* VPIDs, 0 is the host's (28.1). */
#define VMX_NR_VPIDS	65536
static DECLARE_BITMAP(vmx_vpid_bitmap, VMX_NR_VPIDS);
static DEFINE_SPINLOCK(vmx_vpid_lock);

/*
 * The same pass-through set as SVM's MSR permission map.  The FS and GS
 * bases and SYSENTER_* are guest-state fields of the VMCS (24.4.1); VM
 * entry and exit do not switch KERNEL_GS_BASE and the SYSCALL MSRs, so
 * vmx_run() swaps those itself (vmx_swap_msr_index[]).
 */
static const u32 vmx_passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

static const u32 vmx_swap_msr_index[VMX_NR_SWAP_MSRS] = {
	[VMX_MSR_KERNEL_GS_BASE]	= MSR_KERNEL_GS_BASE,
	[VMX_MSR_STAR]			= MSR_STAR,
	[VMX_MSR_LSTAR]			= MSR_LSTAR,
	[VMX_MSR_CSTAR]			= MSR_CSTAR,
	[VMX_MSR_SFMASK]		= MSR_SYSCALL_MASK,
};

/* ------------------------------------------------------------------ */
/* VMX instructions (SDM vol. 3C, chapter 30)                          */
/* ------------------------------------------------------------------ */

static noinline void vmx_vmwrite_failed(u32 field, u64 value)
{
	pr_err_ratelimited(VIREO_LOG_PREFIX "VMWRITE %#x = %#llx failed\n",
			   field, value);
}

static noinline void vmx_vmread_failed(u32 field)
{
	pr_err_ratelimited(VIREO_LOG_PREFIX "VMREAD %#x failed\n", field);
}

/* VMfail sets CF (invalid) or ZF (valid): "not above" catches both. */
static void vmcs_write(u32 field, u64 value)
{
	bool fail;

	asm volatile("vmwrite %[value], %q[field]" CC_SET(na)
		     : CC_OUT(na) (fail)
		     : [value] "rm" (value), [field] "r" ((u64)field));
	if (unlikely(fail))
		vmx_vmwrite_failed(field, value);
}

static u64 vmcs_read(u32 field)
{
	u64 value;
	bool fail;

	asm volatile("vmread %q[field], %[value]" CC_SET(na)
		     : CC_OUT(na) (fail), [value] "=rm" (value)
		     : [field] "r" ((u64)field));
	if (unlikely(fail)) {
		vmx_vmread_failed(field);
		return 0;
	}
	return value;
}

static int vmx_vmclear(u64 pa)
{
	bool fail;

	asm volatile("vmclear %[pa]" CC_SET(na)
		     : CC_OUT(na) (fail) : [pa] "m" (pa) : "memory");
	return fail ? -EIO : 0;
}

static int vmx_vmptrld(u64 pa)
{
	bool fail;

	asm volatile("vmptrld %[pa]" CC_SET(na)
		     : CC_OUT(na) (fail) : [pa] "m" (pa) : "memory");
	return fail ? -EIO : 0;
}

/* VMXON may fault (#GP/#UD) as well as fail (30.3, VMXON). */
static int vmx_vmxon(u64 pa)
{
	asm goto("1: vmxon %[pa]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [pa] "m" (pa) : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EIO;
fault:
	return -EFAULT;
}

static void vmx_vmxoff(void)
{
	asm volatile("vmxoff" ::: "cc", "memory");
}

static void vmx_invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };

	asm volatile("invept %[desc], %[type]"
		     : : [desc] "m" (desc), [type] "r" (type) : "cc", "memory");
}

static void vmx_invvpid(unsigned long type, u16 vpid)
{
	struct { u64 vpid, gla; } desc = { vpid, 0 };

	asm volatile("invvpid %[desc], %[type]"
		     : : [desc] "m" (desc), [type] "r" (type) : "cc", "memory");
}

/* Drop cached guest-physical mappings of @eptp (28.3.3.2). */
static void vmx_flush_ept(u64 eptp)
{
	if (vmx_config.ept_vpid_cap & VMX_EPT_CAP_INVEPT_SINGLE)
		vmx_invept(VMX_INVEPT_SINGLE, eptp);
	else
		vmx_invept(VMX_INVEPT_ALL, 0);
}

/* Drop this vCPU's linear and combined mappings on this CPU (28.3.3.3). */
static void vmx_flush_tlb(struct vmx_vcpu *vmx)
{
	if (vmx->vpid) {
		if (vmx_config.ept_vpid_cap & VMX_VPID_CAP_SINGLE)
			vmx_invvpid(VMX_INVVPID_SINGLE, vmx->vpid);
		else
			vmx_invvpid(VMX_INVVPID_ALL, 0);
	}
	vmx_flush_ept(vmx_eptp(vmx->vcpu->vm));
}

/* ------------------------------------------------------------------ */
/* Capabilities (appendix A)                                           */
/* ------------------------------------------------------------------ */

/*
 * A control value from a capability MSR: bits 31:0 are the allowed
 * 0-settings (a 1 there means the control must be 1), bits 63:32 the
 * allowed 1-settings (A.3-A.5).
 */
static int vmx_adjust_ctls(const char *what, u32 msr, u32 required,
			   u32 optional, u32 *out)
{
	u32 must_be_1, may_be_1;
	u64 cap;

	if (rdmsrl_safe(msr, &cap)) {
		pr_err(VIREO_LOG_PREFIX "VMX: cannot read capability MSR %#x\n", msr);
		return -ENODEV;
	}
	must_be_1 = (u32)cap;
	may_be_1 = cap >> 32;
	if (required & ~may_be_1) {
		pr_err(VIREO_LOG_PREFIX "VMX: required %s controls %#x are not supported (allowed-1 %#x)\n",
		       what, required & ~may_be_1, may_be_1);
		return -ENODEV;
	}
	*out = ((required | optional) & may_be_1) | must_be_1;
	return 0;
}

static int vmx_setup_controls(u64 basic)
{
	bool true_ctls = basic & VMX_BASIC_TRUE_CONTROLS;
	struct vmx_config *c = &vmx_config;
	u32 cpu_required;
	int ret;

	ret = vmx_adjust_ctls("pin-based",
			      true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
					  MSR_IA32_VMX_PINBASED_CTLS,
			      PIN_EXT_INTR_EXITING | PIN_NMI_EXITING |
			      PIN_VIRTUAL_NMIS, PIN_PREEMPTION_TIMER,
			      &c->pin_ctls);
	if (ret)
		return ret;

	/*
	 * CR8 accesses must exit: without a TPR shadow they would reach the
	 * host's TPR (25.3).  Interrupt- and NMI-window exiting are switched
	 * on and off per entry; they must be available.  Virtual NMIs (above)
	 * make the CPU track the guest's NMI blocking in the interruptibility
	 * state, set by an injected NMI and cleared by its IRET (24.6.1).
	 */
	cpu_required = CPU_TSC_OFFSETTING | CPU_HLT_EXITING | CPU_MWAIT_EXITING |
		       CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING |
		       CPU_MOV_DR_EXITING | CPU_USE_IO_BITMAPS |
		       CPU_USE_MSR_BITMAPS | CPU_MONITOR_EXITING |
		       CPU_SECONDARY_CONTROLS;
	ret = vmx_adjust_ctls("processor-based",
			      true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
					  MSR_IA32_VMX_PROCBASED_CTLS,
			      cpu_required | CPU_INTR_WINDOW_EXITING |
			      CPU_NMI_WINDOW_EXITING, 0, &c->cpu_ctls);
	if (ret)
		return ret;
	c->cpu_ctls &= ~(CPU_INTR_WINDOW_EXITING | CPU_NMI_WINDOW_EXITING);
	if (c->cpu_ctls & CPU_TPR_SHADOW) {
		pr_err(VIREO_LOG_PREFIX "VMX: the TPR shadow cannot be turned off\n");
		return -ENODEV;
	}

	/*
	 * No TRUE variant for the secondary controls (A.3.3).  XSAVES stays
	 * off (#UD in the guest): IA32_XSS is not switched, and a guest
	 * XRSTORS under the host's XSS could load supervisor state.
	 */
	ret = vmx_adjust_ctls("secondary processor-based",
			      MSR_IA32_VMX_PROCBASED_CTLS2,
			      CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST,
			      CPU2_ENABLE_VPID | CPU2_ENABLE_RDTSCP |
			      CPU2_ENABLE_INVPCID, &c->cpu2_ctls);
	if (ret)
		return ret;
	if (!boot_cpu_has(X86_FEATURE_RDTSCP))
		c->cpu2_ctls &= ~CPU2_ENABLE_RDTSCP;
	if (!boot_cpu_has(X86_FEATURE_XSAVES))
		c->cpu2_ctls &= ~CPU2_ENABLE_XSAVES;
	c->rdtscp = c->cpu2_ctls & CPU2_ENABLE_RDTSCP;
	c->xsaves = c->cpu2_ctls & CPU2_ENABLE_XSAVES;

	ret = vmx_adjust_ctls("VM-exit",
			      true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
					  MSR_IA32_VMX_EXIT_CTLS,
			      EXIT_HOST_ADDR_SPACE_SIZE | EXIT_LOAD_PAT |
			      EXIT_LOAD_EFER, 0, &c->exit_ctls);
	if (ret)
		return ret;
	if (c->exit_ctls & EXIT_ACK_INTR_ON_EXIT) {
		pr_err(VIREO_LOG_PREFIX "VMX: acknowledge-interrupt-on-exit cannot be turned off\n");
		return -ENODEV;
	}

	ret = vmx_adjust_ctls("VM-entry",
			      true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
					  MSR_IA32_VMX_ENTRY_CTLS,
			      ENTRY_LOAD_DEBUG_CTLS | ENTRY_LOAD_PAT |
			      ENTRY_LOAD_EFER | ENTRY_IA32E_MODE, 0,
			      &c->entry_ctls);
	if (ret)
		return ret;
	c->entry_ctls &= ~ENTRY_IA32E_MODE;
	return 0;
}

static int vmx_setup_ept_vpid(void)
{
	struct vmx_config *c = &vmx_config;
	u64 cap;

	if (rdmsrl_safe(MSR_IA32_VMX_EPT_VPID_CAP, &cap)) {
		pr_err(VIREO_LOG_PREFIX "VMX: cannot read IA32_VMX_EPT_VPID_CAP\n");
		return -ENODEV;
	}
	c->ept_vpid_cap = cap;
	if (!(cap & VMX_EPT_CAP_WALK4) || !(cap & VMX_EPT_CAP_WB)) {
		pr_err(VIREO_LOG_PREFIX "VMX: EPT lacks 4-level walks or write-back paging structures (EPT/VPID cap %#llx)\n",
		       cap);
		return -ENODEV;
	}
	if (!(cap & VMX_EPT_CAP_INVEPT) ||
	    !(cap & (VMX_EPT_CAP_INVEPT_SINGLE | VMX_EPT_CAP_INVEPT_ALL))) {
		pr_err(VIREO_LOG_PREFIX "VMX: INVEPT is not supported (EPT/VPID cap %#llx)\n",
		       cap);
		return -ENODEV;
	}
	c->ept_ad = cap & VMX_EPT_CAP_AD;

	/* Without INVVPID a VPID could never be flushed: run without. */
	c->vpid = (c->cpu2_ctls & CPU2_ENABLE_VPID) &&
		  (cap & VMX_VPID_CAP_INVVPID) &&
		  (cap & (VMX_VPID_CAP_SINGLE | VMX_VPID_CAP_ALL));
	if (!c->vpid)
		c->cpu2_ctls &= ~CPU2_ENABLE_VPID;
	return 0;
}

static void vmx_msr_bitmap_passthrough(void)
{
	unsigned long *map = page_address(vmx_msr_bitmap);
	unsigned int i;

	/*
	 * Read bitmap for 0-1fffh at byte 0, for c0000000h-c0001fffh at
	 * 1024; the write bitmaps follow at 2048 and 3072 (24.6.9).
	 */
	for (i = 0; i < ARRAY_SIZE(vmx_passthrough_msrs); i++) {
		u32 msr = vmx_passthrough_msrs[i];
		unsigned int base;

		if (msr <= 0x1fff)
			base = 0;
		else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
			base = 1024 * 8;
		else
			continue;
		__clear_bit(base + (msr & 0x1fff), map);
		__clear_bit(base + 2048 * 8 + (msr & 0x1fff), map);
	}
}

/*
 * The VMX-preemption timer (25.5.1) ends every guest run after at most
 * VMX_PREEMPT_MS, whatever the guest does.  On a real CPU a host interrupt
 * would do that anyway (external-interrupt exiting); Bochs 2.7, the VMX
 * test platform, keeps host interrupts masked during a guest run entered
 * with both the host's and the guest's RFLAGS.IF clear, so without the
 * timer a guest spinning with interrupts off would never exit and the
 * host CPU would hang.  The timer counts down at the TSC rate shifted
 * right by IA32_VMX_MISC[4:0].
 */
#define VMX_PREEMPT_MS	4

static void vmx_setup_preemption_timer(struct vmx_config *c)
{
	u64 misc, ticks;

	c->preempt_ticks = 0;
	if (!(c->pin_ctls & PIN_PREEMPTION_TIMER) || !tsc_khz)
		return;
	rdmsrl(MSR_IA32_VMX_MISC, misc);
	ticks = ((u64)tsc_khz * VMX_PREEMPT_MS) >> (misc & 0x1f);
	c->preempt_ticks = clamp_t(u64, ticks, 1, U32_MAX);
}

static int vmx_hardware_setup(void)
{
	struct vmx_config *c = &vmx_config;
	u64 basic, feat, debugctl;
	int ret;

	if (!(cpuid_ecx(1) & BIT(5))) {
		pr_err(VIREO_LOG_PREFIX "CPU does not support VMX (CPUID 1 ECX[5] clear)\n");
		return -ENODEV;
	}
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat) ||
	    ((feat & FEAT_CTL_LOCKED) &&
	     !(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))) {
		pr_err(VIREO_LOG_PREFIX "VMX is disabled by firmware (IA32_FEATURE_CONTROL locked without VMX outside SMX); enable it in the BIOS\n");
		return -EPERM;
	}
	if (rdmsrl_safe(MSR_IA32_VMX_BASIC, &basic)) {
		pr_err(VIREO_LOG_PREFIX "VMX: cannot read IA32_VMX_BASIC\n");
		return -ENODEV;
	}
	c->revision_id = basic & VMX_BASIC_REVISION_MASK;
	c->vmcs_size = (basic & VMX_BASIC_SIZE_MASK) >> VMX_BASIC_SIZE_SHIFT;
	if (c->vmcs_size > PAGE_SIZE || (basic & VMX_BASIC_32BIT_ADDR) ||
	    ((basic & VMX_BASIC_MEMTYPE_MASK) >> VMX_BASIC_MEMTYPE_SHIFT) !=
	    VMX_MEMTYPE_WB) {
		pr_err(VIREO_LOG_PREFIX "VMX: unsupported VMCS layout (IA32_VMX_BASIC %#llx)\n",
		       basic);
		return -ENODEV;
	}

	ret = vmx_setup_controls(basic);
	if (ret)
		return ret;
	ret = vmx_setup_ept_vpid();
	if (ret)
		return ret;
	/*
	 * VM exit clears IA32_DEBUGCTL (27.5.1), so a non-zero host value is
	 * put back after each exit.  Every real VMX CPU has the MSR; Bochs
	 * does not, and reading it there on each entry costs a #GP.
	 */
	c->debugctl = !rdmsrl_safe(MSR_IA32_DEBUGCTLMSR, &debugctl);
	vmx_setup_preemption_timer(c);

	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, c->cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, c->cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, c->cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, c->cr4_fixed1);
	/*
	 * With unrestricted guest, PE and PG may be 0 whatever CR0_FIXED0
	 * says (26.3.1.1); the other fixed bits (NE) are forced and hidden
	 * behind the read shadow.  PG is always the host's: see vmx_set_cr0().
	 * CD and NW are shown to the guest but never set in the real CR0:
	 * under EPT they would make the guest run uncached (28.3.7), and
	 * the host keeps the caches coherent.
	 */
	vmx_cr0_mask = X86_CR0_PG | X86_CR0_CD | X86_CR0_NW |
		       (((c->cr0_fixed0 & ~(u64)(X86_CR0_PE | X86_CR0_PG)) |
			 ~c->cr0_fixed1) & 0xffffffffULL);
	vmx_cr4_mask = X86_CR4_VMXE | X86_CR4_SMXE |
		       ((c->cr4_fixed0 | ~c->cr4_fixed1) & 0xffffffffULL);

	vmx_io_bitmap = alloc_pages(GFP_KERNEL, 1);
	if (!vmx_io_bitmap)
		return -ENOMEM;
	vmx_msr_bitmap = alloc_page(GFP_KERNEL);
	if (!vmx_msr_bitmap) {
		__free_pages(vmx_io_bitmap, 1);
		return -ENOMEM;
	}
	memset(page_address(vmx_io_bitmap), 0xff, 2 * PAGE_SIZE);
	memset(page_address(vmx_msr_bitmap), 0xff, PAGE_SIZE);
	vmx_msr_bitmap_passthrough();
	__set_bit(0, vmx_vpid_bitmap);

	pr_info(VIREO_LOG_PREFIX "VMX: EPT%s, unrestricted guest, VPID %s, %s controls, RDTSCP %s\n",
		c->ept_ad ? " with A/D bits" : "",
		c->vpid ? "yes" : "no (TLB flushed on every entry and exit)",
		(basic & VMX_BASIC_TRUE_CONTROLS) ? "TRUE" : "default",
		c->rdtscp ? "yes" : "no");
	return 0;
}

static void vmx_hardware_unsetup(void)
{
	__free_page(vmx_msr_bitmap);
	__free_pages(vmx_io_bitmap, 1);
}

/* ------------------------------------------------------------------ */
/* Per-CPU enable/disable and VMCS migration                           */
/* ------------------------------------------------------------------ */

/*
 * VMCLEAR @vmx if it is active on this CPU.  Runs on that CPU with
 * interrupts off: from an IPI (vmx_vmcs_clear()) or from vmx_cpu_disable().
 * The VMCS leaves the CPU's list before cpu becomes -1, so whoever sees
 * cpu == -1 may load it elsewhere (pairs with smp_rmb() in vmx_vcpu_load()).
 */
static void vmx_vmcs_clear_local(struct vmx_vcpu *vmx)
{
	struct vmx_cpu_data *vd = this_cpu_ptr(&vmx_cpu);

	if (vmx->cpu != smp_processor_id())
		return;
	vmx_vmclear(vmx->vmcs_pa);
	if (vd->current_vmcs == vmx)
		vd->current_vmcs = NULL;
	list_del_init(&vmx->cpu_node);
	vmx->launched = false;
	smp_wmb();		/* list and launch state before cpu = -1 */
	WRITE_ONCE(vmx->cpu, -1);
}

static void vmx_vmcs_clear_ipi(void *arg)
{
	vmx_vmcs_clear_local(arg);
}

/* Make @vmx's VMCS inactive wherever it is, so it may move or be freed. */
static void vmx_vmcs_clear(struct vmx_vcpu *vmx)
{
	int cpu = READ_ONCE(vmx->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_vmcs_clear_ipi, vmx, 1);
}

/* Runs on @cpu (CPU-hotplug AP_ONLINE_DYN callback). */
static int vmx_cpu_enable(unsigned int cpu)
{
	struct vmx_cpu_data *vd = per_cpu_ptr(&vmx_cpu, cpu);
	unsigned long flags, cr0, cr4;
	const char *why = NULL;
	u64 feat, basic;
	int ret;

	INIT_LIST_HEAD(&vd->loaded_vmcss);
	vd->current_vmcs = NULL;

	/*
	 * IA32_FEATURE_CONTROL: Linux locks it at boot; if firmware left it
	 * unlocked, enable VMX outside SMX and lock it (23.7).
	 */
	rdmsrl(MSR_IA32_FEAT_CTL, feat);
	if (!(feat & FEAT_CTL_LOCKED)) {
		feat |= FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
		wrmsrl(MSR_IA32_FEAT_CTL, feat);
	}
	if (!(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err(VIREO_LOG_PREFIX "VMX is disabled by firmware on CPU %u (IA32_FEATURE_CONTROL); enable it in the BIOS\n",
		       cpu);
		return -EPERM;
	}
	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	if ((basic & VMX_BASIC_REVISION_MASK) != vmx_config.revision_id) {
		pr_err(VIREO_LOG_PREFIX "VMX: CPU %u has another VMCS revision (%#llx, not %#x)\n",
		       cpu, basic & VMX_BASIC_REVISION_MASK, vmx_config.revision_id);
		return -EIO;
	}

	vd->vmxon_region = alloc_pages_node(cpu_to_node(cpu),
					    GFP_KERNEL | __GFP_ZERO, 0);
	if (!vd->vmxon_region)
		return -ENOMEM;
	*(u32 *)page_address(vd->vmxon_region) = vmx_config.revision_id;

	/*
	 * Test and set CR4.VMXE with interrupts off: kvm_intel enables VMX
	 * from an IPI, which must not slip in between.
	 */
	local_irq_save(flags);
	cr0 = read_cr0();
	cr4 = __read_cr4();
	if (cr4 & X86_CR4_VMXE) {
		why = "VMX is already in use (CR4.VMXE set): another hypervisor such as kvm_intel owns it; stop it first";
		ret = -EBUSY;
	} else if ((~cr0 & vmx_config.cr0_fixed0) || (cr0 & ~vmx_config.cr0_fixed1) ||
		   (~(cr4 | X86_CR4_VMXE) & vmx_config.cr4_fixed0) ||
		   ((cr4 | X86_CR4_VMXE) & ~vmx_config.cr4_fixed1)) {
		why = "CR0/CR4 do not meet the VMX fixed bits";	/* 23.8 */
		ret = -EIO;
	} else {
		cr4_set_bits(X86_CR4_VMXE);
		ret = vmx_vmxon(page_to_phys(vd->vmxon_region));
		if (ret) {
			cr4_clear_bits(X86_CR4_VMXE);
			why = ret == -EFAULT ? "VMXON faulted" : "VMXON failed";
			ret = -EIO;
		} else {
			vd->enabled = true;
			/* Nothing cached from before belongs to anyone. */
			if (vmx_config.ept_vpid_cap & VMX_EPT_CAP_INVEPT_ALL)
				vmx_invept(VMX_INVEPT_ALL, 0);
			if (vmx_config.vpid &&
			    (vmx_config.ept_vpid_cap & VMX_VPID_CAP_ALL))
				vmx_invvpid(VMX_INVVPID_ALL, 0);
		}
	}
	local_irq_restore(flags);

	if (ret) {
		pr_err(VIREO_LOG_PREFIX "cannot enable VMX on CPU %u: %s (CR0 %#lx, CR4 %#lx)\n",
		       cpu, why, cr0, cr4);
		__free_page(vd->vmxon_region);
		vd->vmxon_region = NULL;
	}
	return ret;
}

static int vmx_cpu_disable(unsigned int cpu)
{
	struct vmx_cpu_data *vd = per_cpu_ptr(&vmx_cpu, cpu);
	struct vmx_vcpu *vmx, *tmp;
	unsigned long flags;

	if (!vd->enabled)
		return 0;
	/* Every VMCS active here is written back to memory first (24.11.1). */
	local_irq_save(flags);
	list_for_each_entry_safe(vmx, tmp, &vd->loaded_vmcss, cpu_node)
		vmx_vmcs_clear_local(vmx);
	vmx_vmxoff();
	cr4_clear_bits(X86_CR4_VMXE);
	vd->enabled = false;
	local_irq_restore(flags);
	__free_page(vd->vmxon_region);
	vd->vmxon_region = NULL;
	return 0;
}

/* ------------------------------------------------------------------ */
/* VMs                                                                 */
/* ------------------------------------------------------------------ */

/* EPTP: write-back, 4-level walk, A/D flags if offered (24.6.11). */
u64 vmx_eptp(struct vireo_vm *vm)
{
	return vm->tdp_root_pa | VMX_MEMTYPE_WB | EPTP_WALK_LENGTH_4 |
	       (vmx_config.ept_ad ? EPTP_AD_ENABLE : 0);
}

static int vmx_vm_init(struct vireo_vm *vm)
{
	return 0;
}

static void vmx_invept_ipi(void *arg)
{
	if (this_cpu_read(vmx_cpu.enabled))
		vmx_flush_ept(*(u64 *)arg);
}

/*
 * The EPT root may be reused by the next VM: drop what any CPU cached for
 * it before the tables are freed.  (A vCPU also flushes whenever it comes
 * to a CPU it was not last on, see vmx_vcpu_load().)
 */
static void vmx_vm_destroy(struct vireo_vm *vm)
{
	u64 eptp = vmx_eptp(vm);

	on_each_cpu(vmx_invept_ipi, &eptp, 1);
}

/* ------------------------------------------------------------------ */
/* vCPUs                                                               */
/* ------------------------------------------------------------------ */

static u16 vmx_vpid_alloc(void)
{
	unsigned long vpid;

	if (!vmx_config.vpid)
		return 0;
	spin_lock(&vmx_vpid_lock);
	vpid = find_first_zero_bit(vmx_vpid_bitmap, VMX_NR_VPIDS);
	if (vpid < VMX_NR_VPIDS)
		__set_bit(vpid, vmx_vpid_bitmap);
	else
		vpid = 0;		/* run this vCPU without VPID */
	spin_unlock(&vmx_vpid_lock);
	return vpid;
}

static void vmx_vpid_free(u16 vpid)
{
	if (!vpid)
		return;
	spin_lock(&vmx_vpid_lock);
	__clear_bit(vpid, vmx_vpid_bitmap);
	spin_unlock(&vmx_vpid_lock);
}

u64 vmx_guest_cr0_hw(u64 cr0)
{
	u64 forced = vmx_config.cr0_fixed0 & ~(u64)(X86_CR0_PE | X86_CR0_PG);

	return (cr0 | forced) & ~(u64)(X86_CR0_CD | X86_CR0_NW) &
	       vmx_config.cr0_fixed1 & 0xffffffffULL;
}

u64 vmx_guest_cr4_hw(u64 cr4)
{
	return (cr4 | vmx_config.cr4_fixed0) & vmx_config.cr4_fixed1;
}

static void vmx_seg_set(struct vmx_seg *s, u16 sel, u64 base, u32 limit,
			u32 ar)
{
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->ar = ar;
}

/* Architectural state after RESET (SDM vol. 3A, 9.1.1, table 9-1). */
static void vmx_reset_state(struct vireo_vcpu *vcpu, struct vmx_vcpu *vmx)
{
	struct vmx_guest *g = &vmx->guest;
	unsigned int i;

	memset(g, 0, sizeof(*g));
	vmx_seg_set(&g->seg[VMX_SEG_CS], 0xf000, 0xffff0000, 0xffff, 0x9b);
	for (i = 0; i < VMX_NR_SEGS; i++)
		if (i != VMX_SEG_CS)
			vmx_seg_set(&g->seg[i], 0, 0, 0xffff, 0x93);
	vmx_seg_set(&g->seg[VMX_SEG_LDTR], 0, 0, 0xffff, 0x82);
	vmx_seg_set(&g->seg[VMX_SEG_TR], 0, 0, 0xffff, 0x8b);
	g->gdtr_limit = 0xffff;
	g->idtr_limit = 0xffff;
	g->cr0 = 0x60000010;
	g->pat = 0x0007040600070406ULL;
	memset(vmx->swap_msr, 0, sizeof(vmx->swap_msr));
	vmx->cr8 = 0;
	vmx->event_info = 0;
	vmx->intr_window = false;
	vmx->nmi_window = false;
	vmx->guest_dirty = true;
	vmx->flush_tlb = true;
	vcpu->rip = 0xfff0;
	vcpu->rflags = 0x2;
	vmx->shadow_rip = vcpu->rip;
}

static void vmx_reset(struct vireo_vcpu *vcpu)
{
	vmx_reset_state(vcpu, to_vmx(vcpu));
}

static int vmx_vcpu_create(struct vireo_vcpu *vcpu)
{
	struct vmx_vcpu *vmx;
	struct page *page;

	vmx = kzalloc(sizeof(*vmx), GFP_KERNEL_ACCOUNT);
	if (!vmx)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page) {
		kfree(vmx);
		return -ENOMEM;
	}
	vmx->vmcs = page_address(page);
	vmx->vmcs_pa = page_to_phys(page);
	/* The revision identifier, bit 31 clear: an ordinary VMCS (24.2). */
	*(u32 *)vmx->vmcs = vmx_config.revision_id;
	atomic64_inc(&vireo_table_pages);

	vmx->vcpu = vcpu;
	vmx->cpu = -1;
	INIT_LIST_HEAD(&vmx->cpu_node);
	vmx->vpid = vmx_vpid_alloc();
	vmx->cpu_ctls = vmx_config.cpu_ctls;
	vmx->cpu2_ctls = vmx_config.cpu2_ctls;
	if (!vmx->vpid)
		vmx->cpu2_ctls &= ~CPU2_ENABLE_VPID;
	vmx->entry_ctls = vmx_config.entry_ctls;
	vmx_reset_state(vcpu, vmx);
	vcpu->backend = vmx;
	return 0;
}

static void vmx_vcpu_free(struct vireo_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	if (!vmx)
		return;
	vmx_vmcs_clear(vmx);
	free_page((unsigned long)vmx->vmcs);
	atomic64_dec(&vireo_table_pages);
	vmx_vpid_free(vmx->vpid);
	kfree(vmx);
	vcpu->backend = NULL;
}

/* ------------------------------------------------------------------ */
/* Segment and control registers                                       */
/* ------------------------------------------------------------------ */

static void vmx_seg_to_user(const struct vmx_seg *s, struct vireo_segment *u)
{
	u->base = s->base;
	u->limit = s->limit;
	u->selector = s->selector;
	u->type = s->ar & VMX_AR_TYPE_MASK;
	u->s = !!(s->ar & VMX_AR_S);
	u->dpl = (s->ar & VMX_AR_DPL_MASK) >> VMX_AR_DPL_SHIFT;
	u->avl = !!(s->ar & VMX_AR_AVL);
	u->l = !!(s->ar & VMX_AR_L);
	u->db = !!(s->ar & VMX_AR_DB);
	u->g = !!(s->ar & VMX_AR_G);
	u->unusable = (s->ar & VMX_AR_UNUSABLE) || !(s->ar & VMX_AR_P);
	u->present = !u->unusable;
}

static int vmx_seg_from_user(const struct vireo_segment *u, struct vmx_seg *s)
{
	if (u->type > 15 || u->dpl > 3 || u->s > 1 || u->present > 1 ||
	    u->avl > 1 || u->l > 1 || u->db > 1 || u->g > 1 ||
	    u->unusable > 1 || u->padding)
		return -EINVAL;
	s->base = u->base;
	s->limit = u->limit;
	s->selector = u->selector;
	/* Unusable keeps its DPL: SS.DPL is the CPL even then (24.4.1). */
	if (u->unusable || !u->present) {
		s->ar = VMX_AR_UNUSABLE | (u->dpl << VMX_AR_DPL_SHIFT);
		return 0;
	}
	s->ar = u->type | (u->s ? VMX_AR_S : 0) |
		(u->dpl << VMX_AR_DPL_SHIFT) | VMX_AR_P |
		(u->avl ? VMX_AR_AVL : 0) | (u->l ? VMX_AR_L : 0) |
		(u->db ? VMX_AR_DB : 0) | (u->g ? VMX_AR_G : 0);
	return 0;
}

static void vmx_get_sregs(struct vireo_vcpu *vcpu, struct vireo_sregs *sr)
{
	const struct vmx_vcpu *vmx = to_vmx(vcpu);
	const struct vmx_guest *g = &vmx->guest;

	vmx_seg_to_user(&g->seg[VMX_SEG_CS], &sr->cs);
	vmx_seg_to_user(&g->seg[VMX_SEG_DS], &sr->ds);
	vmx_seg_to_user(&g->seg[VMX_SEG_ES], &sr->es);
	vmx_seg_to_user(&g->seg[VMX_SEG_FS], &sr->fs);
	vmx_seg_to_user(&g->seg[VMX_SEG_GS], &sr->gs);
	vmx_seg_to_user(&g->seg[VMX_SEG_SS], &sr->ss);
	vmx_seg_to_user(&g->seg[VMX_SEG_TR], &sr->tr);
	vmx_seg_to_user(&g->seg[VMX_SEG_LDTR], &sr->ldt);
	sr->gdt.base = g->gdtr_base;
	sr->gdt.limit = g->gdtr_limit;
	sr->idt.base = g->idtr_base;
	sr->idt.limit = g->idtr_limit;
	sr->cr0 = g->cr0;
	sr->cr2 = g->cr2;
	sr->cr3 = g->cr3;
	sr->cr4 = g->cr4;
	sr->cr8 = vmx->cr8;
	sr->efer = g->efer;
}

/* EFER bits a guest may have: SCE, LME, LMA, NXE. */
#define EFER_ALLOWED	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)
/* The same CR4 bits as SVM allows (svm.c). */
#define CR4_ALLOWED	(GENMASK_ULL(11, 0) | BIT_ULL(16) | BIT_ULL(18) | \
			 BIT_ULL(20) | BIT_ULL(21))
#define PDPTE_RESERVED	(GENMASK_ULL(2, 1) | GENMASK_ULL(8, 5))

/*
 * PAE paging (not IA-32e) with EPT takes the four PDPTEs from the VMCS at
 * VM entry (26.3.2.4); a real CPU loads them from CR3 when paging is
 * switched on or CR3 written (SDM vol. 3A, 4.4.1), and so do we.
 */
static int vmx_load_pdptes(struct vireo_vcpu *vcpu, u64 cr3, u64 *pdpte)
{
	u64 reserved = PDPTE_RESERVED |
		       GENMASK_ULL(63, boot_cpu_data.x86_phys_bits);
	u64 buf[4];
	unsigned int i;

	if (vireo_read_guest(vcpu->vm, cr3 & GENMASK_ULL(31, 5), buf, sizeof(buf)))
		return -EINVAL;
	for (i = 0; i < 4; i++)
		if ((buf[i] & 1) && (buf[i] & reserved))
			return -EINVAL;
	memcpy(pdpte, buf, sizeof(buf));
	return 0;
}

static bool vmx_pae_paging(const struct vmx_guest *g)
{
	return (g->cr0 & X86_CR0_PG) && (g->cr4 & X86_CR4_PAE) &&
	       !(g->efer & EFER_LMA);
}

/*
 * The SVM checks (svm.c) plus the VMX fixed bits of CR0 and CR4; the
 * hardware may still refuse the state at entry (VIREO_EXIT_FAIL_ENTRY).
 */
static int vmx_check_sregs(const struct vireo_sregs *sr)
{
	u64 cr0_forced = vmx_config.cr0_fixed0 & ~(u64)(X86_CR0_PE | X86_CR0_PG);
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
	if ((sr->cr0 | cr0_forced) & ~vmx_config.cr0_fixed1)
		return -EINVAL;
	if (sr->cr4 & ~CR4_ALLOWED || sr->cr4 & ~vmx_config.cr4_fixed1 ||
	    sr->cr3 >> 52 || sr->cr8 > 15)
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

static int vmx_set_sregs(struct vireo_vcpu *vcpu, const struct vireo_sregs *sr)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_guest g = vmx->guest;	/* commit only if all valid */
	int ret;

	ret = vmx_check_sregs(sr);
	if (ret)
		return ret;
	if (vmx_seg_from_user(&sr->cs, &g.seg[VMX_SEG_CS]) ||
	    vmx_seg_from_user(&sr->ds, &g.seg[VMX_SEG_DS]) ||
	    vmx_seg_from_user(&sr->es, &g.seg[VMX_SEG_ES]) ||
	    vmx_seg_from_user(&sr->fs, &g.seg[VMX_SEG_FS]) ||
	    vmx_seg_from_user(&sr->gs, &g.seg[VMX_SEG_GS]) ||
	    vmx_seg_from_user(&sr->ss, &g.seg[VMX_SEG_SS]) ||
	    vmx_seg_from_user(&sr->tr, &g.seg[VMX_SEG_TR]) ||
	    vmx_seg_from_user(&sr->ldt, &g.seg[VMX_SEG_LDTR]))
		return -EINVAL;
	g.gdtr_base = sr->gdt.base;
	g.gdtr_limit = sr->gdt.limit;
	g.idtr_base = sr->idt.base;
	g.idtr_limit = sr->idt.limit;
	g.cr0 = sr->cr0;
	g.cr2 = sr->cr2;
	g.cr3 = sr->cr3;
	g.cr4 = sr->cr4;
	g.efer = sr->efer;
	if (vmx_pae_paging(&g) && vmx_load_pdptes(vcpu, g.cr3, g.pdpte))
		return -EINVAL;
	vmx->guest = g;
	vmx->cr8 = sr->cr8;
	vmx->guest_dirty = true;
	vmx->flush_tlb = true;
	return 0;
}

static void vmx_get_paging(struct vireo_vcpu *vcpu, struct vireo_paging *pg)
{
	const struct vmx_guest *g = &to_vmx(vcpu)->guest;

	pg->cr0 = g->cr0;
	pg->cr3 = g->cr3;
	pg->cr4 = g->cr4;
	pg->efer = g->efer;
	pg->cs_base = g->seg[VMX_SEG_CS].base;
	pg->cs_l = !!(g->seg[VMX_SEG_CS].ar & VMX_AR_L);
	pg->cs_db = !!(g->seg[VMX_SEG_CS].ar & VMX_AR_DB);
}

/* CPL is SS.DPL (24.4.1; 0 in real mode, where SS.DPL must be 0). */
unsigned int vmx_guest_cpl(struct vmx_vcpu *vmx)
{
	return (vmx->guest.seg[VMX_SEG_SS].ar & VMX_AR_DPL_MASK) >>
	       VMX_AR_DPL_SHIFT;
}

/*
 * A guest write to CR0 that exited (PG, or a fixed bit, changes), checked
 * as MOV to CR0 checks it (SDM vol. 2B, MOV--Move to/from Control
 * Registers).  Entering or leaving paging with EFER.LME set is the switch
 * into or out of IA-32e mode: EFER.LMA follows, and with it the "IA-32e
 * mode guest" entry control (written with the guest state, 26.2.4).
 * Returns 0, or -EINVAL for a #GP.
 */
int vmx_set_cr0(struct vireo_vcpu *vcpu, u64 cr0)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_guest *g = &vmx->guest;
	bool cs_l = g->seg[VMX_SEG_CS].ar & VMX_AR_L;
	u64 old = g->cr0, efer = g->efer;
	u64 pdpte[4];
	bool pae = false;

	cr0 |= X86_CR0_ET;		/* hardwired to 1 */
	if (cr0 >> 32 || ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD)) ||
	    ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)))
		return -EINVAL;
	if ((cr0 | vmx_guest_cr0_hw(0)) & ~vmx_config.cr0_fixed1)
		return -EINVAL;
	if (!(old & X86_CR0_PG) && (cr0 & X86_CR0_PG)) {
		if (efer & EFER_LME) {
			if (!(g->cr4 & X86_CR4_PAE) || cs_l)
				return -EINVAL;
			efer |= EFER_LMA;
		} else if (g->cr4 & X86_CR4_PAE) {
			if (vmx_load_pdptes(vcpu, g->cr3, pdpte))
				return -EINVAL;
			pae = true;
		}
	} else if ((old & X86_CR0_PG) && !(cr0 & X86_CR0_PG)) {
		/* Paging cannot be turned off from 64-bit code. */
		if ((efer & EFER_LMA) && cs_l)
			return -EINVAL;
		efer &= ~EFER_LMA;
	}
	if (pae)
		memcpy(g->pdpte, pdpte, sizeof(pdpte));
	g->efer = efer;
	g->cr0 = cr0;
	if ((old ^ cr0) & (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP))
		vmx->flush_tlb = true;
	vmx->guest_dirty = true;
	return 0;
}

/*
 * A guest write to CR3 that exited: only when the CPU cannot turn
 * CR3-load exiting off (no TRUE controls).  Returns 0 or -EINVAL (#GP).
 */
int vmx_set_cr3(struct vireo_vcpu *vcpu, u64 cr3)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_guest *g = &vmx->guest;

	if (g->efer & EFER_LMA) {
		if (g->cr4 & X86_CR4_PCIDE)
			cr3 &= ~BIT_ULL(63);	/* "no flush": we flush anyway */
		if (cr3 & GENMASK_ULL(63, boot_cpu_data.x86_phys_bits))
			return -EINVAL;
	} else {
		cr3 = (u32)cr3;
		if (vmx_pae_paging(g) && vmx_load_pdptes(vcpu, cr3, g->pdpte))
			return -EINVAL;
	}
	g->cr3 = cr3;
	vmx->flush_tlb = true;
	vmx->guest_dirty = true;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The VMCS                                                            */
/* ------------------------------------------------------------------ */

static void vmx_write_ctls(struct vmx_vcpu *vmx)
{
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_config.pin_ctls);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx->cpu_ctls);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmx->cpu2_ctls);
	vmcs_write(VM_EXIT_CONTROLS, vmx_config.exit_ctls);
	vmcs_write(VM_ENTRY_CONTROLS, vmx->entry_ctls);
}

/* Fields that never change for this VMCS, written once after its first load. */
static void vmx_vmcs_setup(struct vmx_vcpu *vmx)
{
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);		/* 26.3.1.5 */
	vmx_write_ctls(vmx);
	vmcs_write(EXCEPTION_BITMAP, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(IO_BITMAP_A, page_to_phys(vmx_io_bitmap));
	vmcs_write(IO_BITMAP_B, page_to_phys(vmx_io_bitmap) + PAGE_SIZE);
	vmcs_write(MSR_BITMAP, page_to_phys(vmx_msr_bitmap));
	vmcs_write(EPT_POINTER, vmx_eptp(vmx->vcpu->vm));
	if (vmx->vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vmx->vpid);
	if (vmx->cpu2_ctls & CPU2_ENABLE_XSAVES)
		vmcs_write(XSS_EXIT_BITMAP, 0);
	vmcs_write(CR0_GUEST_HOST_MASK, vmx_cr0_mask);
	vmcs_write(CR4_GUEST_HOST_MASK, vmx_cr4_mask);
	/*
	 * The guest's debug registers are emulated (emulate.c): the CPU
	 * runs it with DR7 at its reset value, so no breakpoint fires.
	 */
	vmcs_write(GUEST_DR7, 0x400);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, VMX_ACTIVITY_ACTIVE);
	vmcs_write(VM_ENTRY_INTR_INFO, 0);

	/*
	 * Host state that is the same on every CPU (26.2.3, 27.5).  DS, ES,
	 * FS and GS come back as null selectors; vmx_host_restore() reloads
	 * whatever the task had.
	 */
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(HOST_RIP, (unsigned long)vmx_vmexit);
	vmx->setup_done = true;
	vmx->guest_dirty = true;
}

/* Host state that differs between CPUs, written when the VMCS moves. */
static void vmx_vmcs_set_host_cpu(int cpu)
{
	struct desc_ptr idt;
	u64 v;

	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmcs_write(HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	store_idt(&idt);
	vmcs_write(HOST_IDTR_BASE, idt.address);
	rdmsrl(MSR_GS_BASE, v);		/* this CPU's per-CPU area */
	vmcs_write(HOST_GS_BASE, v);
	rdmsrl(MSR_IA32_SYSENTER_CS, v);
	vmcs_write(HOST_IA32_SYSENTER_CS, v);
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(HOST_IA32_SYSENTER_ESP, v);
	rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	vmcs_write(HOST_IA32_SYSENTER_EIP, v);
	rdmsrl(MSR_IA32_CR_PAT, v);
	vmcs_write(HOST_IA32_PAT, v);
	rdmsrl(MSR_EFER, v);
	vmcs_write(HOST_IA32_EFER, v);
}

/*
 * Make @vmx's VMCS current on @cpu (preemption off).  A VMCS is active on
 * at most one CPU: if it was on another, VMCLEAR it there first, and
 * VMLAUNCH it again here (24.1, 24.11.3).
 */
static int vmx_vcpu_load(struct vmx_vcpu *vmx, int cpu)
{
	struct vmx_cpu_data *vd = this_cpu_ptr(&vmx_cpu);

	if (vmx->cpu != cpu) {
		vmx_vmcs_clear(vmx);
		smp_rmb();		/* pairs with vmx_vmcs_clear_local() */
		if (WARN_ON_ONCE(READ_ONCE(vmx->cpu) != -1))
			return -EIO;
		/* Launch state "clear", and the first VMCLEAR of a new one. */
		if (vmx_vmclear(vmx->vmcs_pa))
			return -EIO;
		local_irq_disable();
		list_add(&vmx->cpu_node, &vd->loaded_vmcss);
		vmx->cpu = cpu;
		local_irq_enable();
		vmx->launched = false;
	}
	if (vd->current_vmcs != vmx) {
		if (vmx_vmptrld(vmx->vmcs_pa))
			return -EIO;
		vd->current_vmcs = vmx;
		if (!vmx->setup_done)
			vmx_vmcs_setup(vmx);
		if (!vmx->launched) {
			vmx_vmcs_set_host_cpu(cpu);
			/* Stale translations of our VPID or EPTP here (28.3.3). */
			vmx->flush_tlb = true;
		}
	}
	return 0;
}

static void vmx_write_guest_state(struct vmx_vcpu *vmx)
{
	const struct vmx_guest *g = &vmx->guest;
	unsigned int i;
	u32 entry;

	for (i = 0; i < VMX_NR_SEGS; i++) {
		vmcs_write(GUEST_ES_SELECTOR + 2 * i, g->seg[i].selector);
		vmcs_write(GUEST_ES_LIMIT + 2 * i, g->seg[i].limit);
		vmcs_write(GUEST_ES_AR_BYTES + 2 * i, g->seg[i].ar);
		vmcs_write(GUEST_ES_BASE + 2 * i, g->seg[i].base);
	}
	vmcs_write(GUEST_GDTR_BASE, g->gdtr_base);
	vmcs_write(GUEST_GDTR_LIMIT, g->gdtr_limit);
	vmcs_write(GUEST_IDTR_BASE, g->idtr_base);
	vmcs_write(GUEST_IDTR_LIMIT, g->idtr_limit);
	vmcs_write(GUEST_CR0, vmx_guest_cr0_hw(g->cr0));
	vmcs_write(CR0_READ_SHADOW, g->cr0);
	vmcs_write(GUEST_CR3, g->cr3);
	vmcs_write(GUEST_CR4, vmx_guest_cr4_hw(g->cr4));
	vmcs_write(CR4_READ_SHADOW, g->cr4);
	vmcs_write(GUEST_IA32_EFER, g->efer);
	vmcs_write(GUEST_IA32_PAT, g->pat);
	vmcs_write(GUEST_SYSENTER_CS, g->sysenter_cs);
	vmcs_write(GUEST_SYSENTER_ESP, g->sysenter_esp);
	vmcs_write(GUEST_SYSENTER_EIP, g->sysenter_eip);
	for (i = 0; i < 4; i++)
		vmcs_write(GUEST_PDPTE0 + 2 * i, g->pdpte[i]);

	/* "IA-32e mode guest" must equal EFER.LMA (26.2.4, 26.3.1.1). */
	entry = vmx->entry_ctls & ~ENTRY_IA32E_MODE;
	if (g->efer & EFER_LMA)
		entry |= ENTRY_IA32E_MODE;
	if (entry != vmx->entry_ctls) {
		vmx->entry_ctls = entry;
		vmcs_write(VM_ENTRY_CONTROLS, entry);
	}
}

/* After a VM exit: what the guest may have changed (27.3). */
static void vmx_read_guest_state(struct vmx_vcpu *vmx)
{
	struct vmx_guest *g = &vmx->guest;
	unsigned int i;

	for (i = 0; i < VMX_NR_SEGS; i++) {
		g->seg[i].selector = vmcs_read(GUEST_ES_SELECTOR + 2 * i);
		g->seg[i].limit = vmcs_read(GUEST_ES_LIMIT + 2 * i);
		g->seg[i].ar = vmcs_read(GUEST_ES_AR_BYTES + 2 * i);
		g->seg[i].base = vmcs_read(GUEST_ES_BASE + 2 * i);
	}
	g->gdtr_base = vmcs_read(GUEST_GDTR_BASE);
	g->gdtr_limit = vmcs_read(GUEST_GDTR_LIMIT);
	g->idtr_base = vmcs_read(GUEST_IDTR_BASE);
	g->idtr_limit = vmcs_read(GUEST_IDTR_LIMIT);
	/* Bits in the guest/host mask are the read shadow's (24.6.6). */
	g->cr0 = (vmcs_read(GUEST_CR0) & ~vmx_cr0_mask) | (g->cr0 & vmx_cr0_mask);
	g->cr3 = vmcs_read(GUEST_CR3);
	g->cr4 = (vmcs_read(GUEST_CR4) & ~vmx_cr4_mask) | (g->cr4 & vmx_cr4_mask);
	g->sysenter_cs = vmcs_read(GUEST_SYSENTER_CS);
	g->sysenter_esp = vmcs_read(GUEST_SYSENTER_ESP);
	g->sysenter_eip = vmcs_read(GUEST_SYSENTER_EIP);
	g->interruptibility = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	g->pending_dbg = vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS);
	/* With EPT the CPU saves the PDPTEs it uses under PAE paging (27.3.4). */
	if (vmx_pae_paging(g))
		for (i = 0; i < 4; i++)
			g->pdpte[i] = vmcs_read(GUEST_PDPTE0 + 2 * i);
}

static void vmx_read_exit_info(struct vmx_vcpu *vmx)
{
	struct vmx_exit_info *e = &vmx->exit;
	u32 basic = e->reason & EXIT_REASON_BASIC_MASK;

	e->qualification = vmcs_read(EXIT_QUALIFICATION);
	if (e->reason & EXIT_REASON_FAILED_ENTRY)
		return;
	e->insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	e->idt_vectoring = vmcs_read(IDT_VECTORING_INFO);
	e->idt_error = (e->idt_vectoring & INTR_INFO_ERROR_VALID) ?
		       vmcs_read(IDT_VECTORING_ERROR_CODE) : 0;
	if (basic != EXIT_REASON_EXCEPTION_NMI)
		e->intr_info = vmcs_read(VM_EXIT_INTR_INFO);
	e->intr_error = (e->intr_info & INTR_INFO_ERROR_VALID) ?
			vmcs_read(VM_EXIT_INTR_ERROR_CODE) : 0;
	e->gpa = (basic == EXIT_REASON_EPT_VIOLATION ||
		  basic == EXIT_REASON_EPT_MISCONFIG) ?
		 vmcs_read(GUEST_PHYSICAL_ADDRESS) : 0;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/*
 * Deliver a latched NMI unless the guest blocks NMIs (inside an NMI
 * handler, or in an STI/MOV SS shadow, which the entry checks of 26.3.1.5
 * forbid with an NMI injection); otherwise ask for an NMI-window exit.
 * Returns true when one was queued.
 */
static bool vmx_inject_nmi(struct vireo_vcpu *vcpu, struct vmx_vcpu *vmx)
{
	vmx->nmi_window = false;
	if (!atomic_read(&vcpu->nmi_pending))
		return false;
	if (vmx->guest.interruptibility &
	    (VMX_INTR_NMI_BLOCKING | VMX_INTR_STI_BLOCKING |
	     VMX_INTR_MOVSS_BLOCKING)) {
		vmx->nmi_window = true;
		return false;
	}
	atomic_set(&vcpu->nmi_pending, 0);
	vmx->event_info = NMI_VECTOR | INTR_TYPE_NMI | INTR_INFO_VALID;
	vireo_count(vcpu, VIREO_STAT_NMI_INJECTED);
	return true;
}

/*
 * Deliver a pending NMI, else the LAPIC's highest pending interrupt if the
 * guest can take it now (RFLAGS.IF set, no STI or MOV SS blocking, no
 * event already queued); otherwise ask for an interrupt-window exit
 * (24.6.2, 26.7.5).  Called with host interrupts off right before the
 * entry: a kick that comes after this check is an external interrupt that
 * makes the entry exit at once.
 */
static void vmx_inject_interrupt(struct vireo_vcpu *vcpu, struct vmx_vcpu *vmx)
{
	int vec;

	if (vmx->event_info & INTR_INFO_VALID)
		return;
	if (vmx_inject_nmi(vcpu, vmx) || !vcpu->lapic)
		return;
	vec = vireo_lapic_pending(vcpu);
	if (vec < 0)
		return;
	if ((vcpu->rflags & X86_EFLAGS_IF) &&
	    !(vmx->guest.interruptibility &
	      (VMX_INTR_STI_BLOCKING | VMX_INTR_MOVSS_BLOCKING))) {
		vmx->event_info = vec | INTR_TYPE_EXT_INTR | INTR_INFO_VALID;
		vmx->intr_window = false;
		vireo_lapic_ack(vcpu, vec);
		return;
	}
	vmx->intr_window = true;
}

/* The event and the interrupt window for this entry (VMCS current). */
static void vmx_write_event(struct vmx_vcpu *vmx)
{
	u32 info = vmx->event_info;
	u32 type = info & INTR_INFO_TYPE_MASK;
	u32 ctls;

	if (info & INTR_INFO_VALID) {
		/*
		 * In real mode (unrestricted guest, CR0.PE=0) no error code
		 * is pushed, and the entry checks insist (26.2.1.3).
		 */
		if (!(vmx->guest.cr0 & X86_CR0_PE))
			info &= ~INTR_INFO_ERROR_VALID;
		if (info & INTR_INFO_ERROR_VALID)
			vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vmx->event_error);
		if (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
		    type == INTR_TYPE_SW_EXCEPTION)
			vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vmx->event_insn_len);
	}
	vmcs_write(VM_ENTRY_INTR_INFO, info);

	ctls = vmx->cpu_ctls & ~(CPU_INTR_WINDOW_EXITING | CPU_NMI_WINDOW_EXITING);
	if (vmx->intr_window)
		ctls |= CPU_INTR_WINDOW_EXITING;
	if (vmx->nmi_window)
		ctls |= CPU_NMI_WINDOW_EXITING;
	if (ctls != vmx->cpu_ctls) {
		vmx->cpu_ctls = ctls;
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, ctls);
	}
}

static void vmx_queue_exception(struct vireo_vcpu *vcpu, u8 vector,
				bool has_error, u32 error_code)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->event_info = vector | INTR_TYPE_HW_EXCEPTION | INTR_INFO_VALID |
			  (has_error ? INTR_INFO_ERROR_VALID : 0);
	vmx->event_error = has_error ? error_code : 0;
	vmx->event_insn_len = 0;
}

/* ------------------------------------------------------------------ */
/* The world switch around vmx_enter_guest()                           */
/* ------------------------------------------------------------------ */

/* Host state that VM exit does not restore (27.5), saved around the entry. */
struct vmx_host_state {
	u16 ds, es, fs, gs, ldt;
	u64 fs_base;
	struct desc_ptr idt;
	unsigned long dr7;
	u64 debugctl;
	u64 msr[VMX_NR_SWAP_MSRS];
	u64 tsc_aux;
};

/* Interrupts off, VMCS current. */
static void vmx_host_save(struct vmx_vcpu *vmx, struct vmx_host_state *h)
{
	unsigned int i;

	savesegment(ds, h->ds);
	savesegment(es, h->es);
	savesegment(fs, h->fs);
	savesegment(gs, h->gs);
	asm volatile("sldt %0" : "=r" (h->ldt));
	store_idt(&h->idt);
	get_debugreg(h->dr7, 7);
	h->debugctl = vmx_config.debugctl ? get_debugctlmsr() : 0;

	rdmsrl(MSR_FS_BASE, h->fs_base);
	vmcs_write(HOST_FS_BASE, h->fs_base);
	vmcs_write(HOST_CR3, __read_cr3());
	vmcs_write(HOST_CR4, __read_cr4());

	for (i = 0; i < VMX_NR_SWAP_MSRS; i++) {
		rdmsrl(vmx_swap_msr_index[i], h->msr[i]);
		if (h->msr[i] != vmx->swap_msr[i])
			wrmsrl(vmx_swap_msr_index[i], vmx->swap_msr[i]);
	}
	if (vmx_config.rdtscp) {
		rdmsrl(MSR_TSC_AUX, h->tsc_aux);
		if (h->tsc_aux != vmx->vcpu->msrs.tsc_aux)
			wrmsrl(MSR_TSC_AUX, vmx->vcpu->msrs.tsc_aux);
	}
	/* CR2 is not part of the VMCS (27.3.1). */
	if (read_cr2() != vmx->guest.cr2)
		write_cr2(vmx->guest.cr2);
}

/* Interrupts off, right after the exit. */
static void vmx_host_restore(struct vmx_vcpu *vmx, struct vmx_host_state *h)
{
	unsigned int i;

	vmx->guest.cr2 = read_cr2();
	for (i = 0; i < VMX_NR_SWAP_MSRS; i++)
		rdmsrl(vmx_swap_msr_index[i], vmx->swap_msr[i]);

	/* LDTR is null after the exit, DS/ES/FS/GS hold null selectors. */
	if (h->ldt)
		asm volatile("lldt %0" : : "rm" (h->ldt));
	if (h->ds | h->es) {
		loadsegment(ds, h->ds);
		loadsegment(es, h->es);
	}
	if (h->fs) {
		loadsegment(fs, h->fs);
		wrmsrl(MSR_FS_BASE, h->fs_base);
	}
	if (h->gs)
		load_gs_index(h->gs);	/* changes KERNEL_GS_BASE: before it */

	for (i = 0; i < VMX_NR_SWAP_MSRS; i++)
		if (h->msr[i] != vmx->swap_msr[i] ||
		    (i == VMX_MSR_KERNEL_GS_BASE && h->gs))
			wrmsrl(vmx_swap_msr_index[i], h->msr[i]);
	if (vmx_config.rdtscp && h->tsc_aux != vmx->vcpu->msrs.tsc_aux)
		wrmsrl(MSR_TSC_AUX, h->tsc_aux);

	/* The TR limit is 67h and the GDTR/IDTR limits ffffh (27.5.2). */
	invalidate_tss_limit();
	load_fixmap_gdt(smp_processor_id());
	load_idt(&h->idt);
	/* DR7 is 400h and IA32_DEBUGCTL 0 after the exit (27.5.1). */
	if (h->dr7 != 0x400)
		set_debugreg(h->dr7, 7);
	if (h->debugctl)
		update_debugctlmsr(h->debugctl);
}

static int vmx_run(struct vireo_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_guest *g = &vmx->guest;
	struct vmx_host_state host;
	u64 host_xcr0, entry_rip, entry_rflags;
	u32 basic, entry_event;
	int fail, ret;

	/*
	 * RIP moved since the exit (an emulated instruction completed, or
	 * SET_REGS): an STI/MOV SS shadow or a pending single step no longer
	 * applies; STI blocking also needs RFLAGS.IF (26.3.1.5).
	 */
	if (vcpu->rip != vmx->shadow_rip) {
		g->interruptibility &= ~(VMX_INTR_STI_BLOCKING | VMX_INTR_MOVSS_BLOCKING);
		g->pending_dbg = 0;
	}
	if (!(vcpu->rflags & X86_EFLAGS_IF))
		g->interruptibility &= ~VMX_INTR_STI_BLOCKING;

	/* Saves the task's FPU state and disables preemption. */
	kernel_fpu_begin();
	if (WARN_ON_ONCE(!this_cpu_read(vmx_cpu.enabled))) {
		kernel_fpu_end();
		return -EIO;
	}
	ret = vmx_vcpu_load(vmx, smp_processor_id());
	if (ret) {
		kernel_fpu_end();
		pr_err_ratelimited(VIREO_LOG_PREFIX "vm %u vcpu %u: cannot load the VMCS\n",
				   vcpu->vm->id, vcpu->id);
		return ret;
	}
	vireo_fpu_enter(vcpu);

	if (vmx->guest_dirty) {
		vmx_write_guest_state(vmx);
		vmx->guest_dirty = false;
	}
	entry_rip = vcpu->rip;
	entry_rflags = vcpu->rflags;
	vmcs_write(GUEST_RIP, vcpu->rip);
	vmcs_write(GUEST_RSP, vcpu->regs[VCPU_RSP]);
	vmcs_write(GUEST_RFLAGS, vcpu->rflags);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, g->interruptibility);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, g->pending_dbg);
	vmcs_write(TSC_OFFSET, vcpu->tsc_offset);
	if (vmx_config.preempt_ticks)
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, vmx_config.preempt_ticks);
	if (vmx->flush_tlb) {
		vmx_flush_tlb(vmx);
		vmx->flush_tlb = false;
	}

	local_irq_disable();
	vmx_inject_interrupt(vcpu, vmx);
	vmx_write_event(vmx);
	entry_event = vmx->event_info;
	vmx_host_save(vmx, &host);
	host_xcr0 = vireo_xcr0_enter(vcpu);

	fail = vmx_enter_guest(vcpu->regs, vmx->launched);

	vireo_xcr0_exit(vcpu, host_xcr0);
	vmx_host_restore(vmx, &host);
	if (fail == VMX_ENTER_EXITED) {
		vmx->exit.reason = vmcs_read(VM_EXIT_REASON);
		/* A failed entry leaves the launch state alone (26.8). */
		if (!(vmx->exit.reason & EXIT_REASON_FAILED_ENTRY))
			vmx->launched = true;
		basic = vmx->exit.reason & EXIT_REASON_BASIC_MASK;
		vmx->exit.intr_info = 0;
		if (basic == EXIT_REASON_EXCEPTION_NMI) {
			vmx->exit.intr_info = vmcs_read(VM_EXIT_INTR_INFO);
			/* The NMI was consumed by the exit: run the host's handler. */
			if ((vmx->exit.intr_info & (INTR_INFO_VALID | INTR_INFO_TYPE_MASK)) ==
			    (INTR_INFO_VALID | INTR_TYPE_NMI))
				vmx_do_nmi();
		}
	}
	/* A host interrupt that caused the exit is taken here. */
	local_irq_enable();

	if (fail == VMX_ENTER_EXITED) {
		vmx_read_exit_info(vmx);
		if (!(vmx->exit.reason & EXIT_REASON_FAILED_ENTRY)) {
			vmx_read_guest_state(vmx);
			vcpu->rip = vmcs_read(GUEST_RIP);
			vcpu->regs[VCPU_RSP] = vmcs_read(GUEST_RSP);
			vcpu->rflags = vmcs_read(GUEST_RFLAGS);
			vmx->shadow_rip = vcpu->rip;
		}
		vireo_trace_switch(vcpu, entry_rip, entry_rflags, entry_event,
				   vmx->exit.reason, vmx->exit.idt_vectoring,
				   vcpu->rip, vcpu->rflags);
	} else if (fail == VMX_ENTER_FAIL_VALID) {
		vmx->exit.insn_error = vmcs_read(VM_INSTRUCTION_ERROR);
	}

	vireo_fpu_exit(vcpu);
	kernel_fpu_end();

	if (fail != VMX_ENTER_EXITED)
		return vmx_report_vmfail(vcpu, fail);
	return vmx_handle_exit(vcpu);
}

/* ------------------------------------------------------------------ */
/* MSRs kept in the VMCS                                               */
/* ------------------------------------------------------------------ */

#define EFER_GUEST_WRITABLE	(EFER_SCE | EFER_LME | EFER_NX)

/*
 * The guest's copy of an MSR that is not intercepted, or NULL: SYSENTER_*
 * in the software copy of the VMCS guest state (read back after every
 * exit, written before the next entry when guest_dirty), KERNEL_GS_BASE
 * and the SYSCALL MSRs in swap_msr[] (read after every exit, loaded by
 * vmx_host_save() before every entry).  Neither needs the VMCS loaded.
 * Only user space gets here (VIREO_GET_MSRS / VIREO_SET_MSRS).
 */
static u64 *vmx_switched_msr(struct vmx_vcpu *vmx, u32 index)
{
	unsigned int i;

	switch (index) {
	case MSR_IA32_SYSENTER_CS:
		return &vmx->guest.sysenter_cs;
	case MSR_IA32_SYSENTER_ESP:
		return &vmx->guest.sysenter_esp;
	case MSR_IA32_SYSENTER_EIP:
		return &vmx->guest.sysenter_eip;
	}
	for (i = 0; i < VMX_NR_SWAP_MSRS; i++)
		if (vmx_swap_msr_index[i] == index)
			return &vmx->swap_msr[i];
	return NULL;
}

static int vmx_get_msr(struct vireo_vcpu *vcpu, u32 index, u64 *value)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	const struct vmx_guest *g = &vmx->guest;
	u64 *msr;

	switch (index) {
	case MSR_EFER:
		*value = g->efer;
		return 0;
	case MSR_IA32_CR_PAT:
		*value = g->pat;
		return 0;
	}
	msr = vmx_switched_msr(vmx, index);
	if (!msr)
		return -ENOENT;
	*value = *msr;
	return 0;
}

static int vmx_set_msr(struct vireo_vcpu *vcpu, u32 index, u64 value)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_guest *g = &vmx->guest;
	u64 *msr;

	switch (index) {
	case MSR_EFER:
		/* LMA is the processor's; LME may not change under paging. */
		if (value & ~(EFER_GUEST_WRITABLE | EFER_LMA))
			return -EINVAL;
		if ((g->cr0 & X86_CR0_PG) && ((value ^ g->efer) & EFER_LME))
			return -EINVAL;
		g->efer = (value & EFER_GUEST_WRITABLE) | (g->efer & EFER_LMA);
		vmx->guest_dirty = true;
		return 0;
	case MSR_IA32_CR_PAT:
		if (!vireo_pat_valid(value))
			return -EINVAL;
		g->pat = value;
		vmx->guest_dirty = true;
		return 0;
	case MSR_IA32_SYSENTER_CS:
		/* The VMCS field is 32 bits wide (24.4.1). */
		value = (u32)value;
		break;
	}
	/* msr.c checked LSTAR, CSTAR, KERNEL_GS_BASE, SYSENTER_E[SI]P: canonical. */
	msr = vmx_switched_msr(vmx, index);
	if (!msr)
		return -ENOENT;
	*msr = value;
	vmx->guest_dirty = true;	/* for the SYSENTER fields */
	return 0;
}

/* ------------------------------------------------------------------ */
/* EPT entries (28.2.2)                                                */
/* ------------------------------------------------------------------ */

static u64 vmx_tdp_table_entry(u64 table_pa)
{
	return table_pa | EPT_RWX;
}

static u64 vmx_tdp_leaf_entry(u64 page_pa)
{
	/* Write-back; the guest's PAT still applies (no "ignore PAT"). */
	return page_pa | EPT_RWX | (VMX_MEMTYPE_WB << EPT_MEMTYPE_SHIFT);
}

static bool vmx_tdp_present(u64 entry)
{
	return entry & EPT_RWX;
}

const struct vireo_backend_ops vmx_backend_ops = {
	.name			= "vmx",
	.hardware_setup		= vmx_hardware_setup,
	.hardware_unsetup	= vmx_hardware_unsetup,
	.cpu_enable		= vmx_cpu_enable,
	.cpu_disable		= vmx_cpu_disable,
	.vm_init		= vmx_vm_init,
	.vm_destroy		= vmx_vm_destroy,
	.vcpu_create		= vmx_vcpu_create,
	.vcpu_free		= vmx_vcpu_free,
	.get_sregs		= vmx_get_sregs,
	.set_sregs		= vmx_set_sregs,
	.get_paging		= vmx_get_paging,
	.run			= vmx_run,
	.get_msr		= vmx_get_msr,
	.set_msr		= vmx_set_msr,
	.queue_exception	= vmx_queue_exception,
	.reset			= vmx_reset,
	.tdp_table_entry	= vmx_tdp_table_entry,
	.tdp_leaf_entry		= vmx_tdp_leaf_entry,
	.tdp_present		= vmx_tdp_present,
};
