/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Intel VMX definitions used by Vireo's VMX backend.
 * Source: Intel SDM vol. 3C, chapters 24-28 (VMCS layout and controls,
 * VM entry, VM exit, EPT) and appendices A (capability MSRs), B (field
 * encodings) and C (exit reasons).  The capability MSR numbers come from
 * <asm/msr-index.h>.
 */
#ifndef VIREO_VMX_H
#define VIREO_VMX_H

#include <linux/types.h>
#include <linux/list.h>

#include "../vireo_core.h"

/* IA32_VMX_BASIC (appendix A.1) */
#define VMX_BASIC_REVISION_MASK		GENMASK_ULL(30, 0)
#define VMX_BASIC_SIZE_SHIFT		32
#define VMX_BASIC_SIZE_MASK		GENMASK_ULL(44, 32)
#define VMX_BASIC_32BIT_ADDR		BIT_ULL(48)
#define VMX_BASIC_MEMTYPE_SHIFT		50
#define VMX_BASIC_MEMTYPE_MASK		GENMASK_ULL(53, 50)
#define VMX_BASIC_TRUE_CONTROLS		BIT_ULL(55)
#define VMX_MEMTYPE_WB			6ULL

/* IA32_VMX_EPT_VPID_CAP (appendix A.10) */
#define VMX_EPT_CAP_WALK4		BIT_ULL(6)
#define VMX_EPT_CAP_WB			BIT_ULL(14)
#define VMX_EPT_CAP_INVEPT		BIT_ULL(20)
#define VMX_EPT_CAP_AD			BIT_ULL(21)
#define VMX_EPT_CAP_INVEPT_SINGLE	BIT_ULL(25)
#define VMX_EPT_CAP_INVEPT_ALL		BIT_ULL(26)
#define VMX_VPID_CAP_INVVPID		BIT_ULL(32)
#define VMX_VPID_CAP_SINGLE		BIT_ULL(41)
#define VMX_VPID_CAP_ALL		BIT_ULL(42)

/* INVEPT / INVVPID types (SDM vol. 3C, 30.3) */
#define VMX_INVEPT_SINGLE		1
#define VMX_INVEPT_ALL			2
#define VMX_INVVPID_SINGLE		1
#define VMX_INVVPID_ALL			2

/* Pin-based VM-execution controls (24.6.1) */
#define PIN_EXT_INTR_EXITING		BIT(0)
#define PIN_NMI_EXITING			BIT(3)
#define PIN_VIRTUAL_NMIS		BIT(5)
#define PIN_PREEMPTION_TIMER		BIT(6)

/* Primary processor-based VM-execution controls (24.6.2, table 24-6) */
#define CPU_INTR_WINDOW_EXITING		BIT(2)
#define CPU_TSC_OFFSETTING		BIT(3)
#define CPU_HLT_EXITING			BIT(7)
#define CPU_MWAIT_EXITING		BIT(10)
#define CPU_CR3_LOAD_EXITING		BIT(15)
#define CPU_CR3_STORE_EXITING		BIT(16)
#define CPU_CR8_LOAD_EXITING		BIT(19)
#define CPU_CR8_STORE_EXITING		BIT(20)
#define CPU_TPR_SHADOW			BIT(21)
#define CPU_NMI_WINDOW_EXITING		BIT(22)
#define CPU_MOV_DR_EXITING		BIT(23)
#define CPU_USE_IO_BITMAPS		BIT(25)
#define CPU_USE_MSR_BITMAPS		BIT(28)
#define CPU_MONITOR_EXITING		BIT(29)
#define CPU_SECONDARY_CONTROLS		BIT(31)

/* Secondary processor-based VM-execution controls (table 24-7) */
#define CPU2_ENABLE_EPT			BIT(1)
#define CPU2_ENABLE_RDTSCP		BIT(3)
#define CPU2_ENABLE_VPID		BIT(5)
#define CPU2_UNRESTRICTED_GUEST		BIT(7)
#define CPU2_ENABLE_INVPCID		BIT(12)
#define CPU2_ENABLE_XSAVES		BIT(20)

/* VM-exit controls (24.7.1, table 24-13) */
#define EXIT_SAVE_DEBUG_CTLS		BIT(2)
#define EXIT_HOST_ADDR_SPACE_SIZE	BIT(9)
#define EXIT_ACK_INTR_ON_EXIT		BIT(15)
#define EXIT_LOAD_PAT			BIT(19)
#define EXIT_LOAD_EFER			BIT(21)

/* VM-entry controls (24.8.1, table 24-15) */
#define ENTRY_LOAD_DEBUG_CTLS		BIT(2)
#define ENTRY_IA32E_MODE		BIT(9)
#define ENTRY_LOAD_PAT			BIT(14)
#define ENTRY_LOAD_EFER			BIT(15)

/* VMCS field encodings (appendix B) */
enum vmcs_field {
	/* 16-bit control, guest-state and host-state fields (B.1) */
	VIRTUAL_PROCESSOR_ID		= 0x0000,
	GUEST_ES_SELECTOR		= 0x0800,	/* ES, CS, SS, DS, FS, GS, LDTR, TR */
	HOST_ES_SELECTOR		= 0x0c00,
	HOST_CS_SELECTOR		= 0x0c02,
	HOST_SS_SELECTOR		= 0x0c04,
	HOST_DS_SELECTOR		= 0x0c06,
	HOST_FS_SELECTOR		= 0x0c08,
	HOST_GS_SELECTOR		= 0x0c0a,
	HOST_TR_SELECTOR		= 0x0c0c,
	/* 64-bit fields (B.2) */
	IO_BITMAP_A			= 0x2000,
	IO_BITMAP_B			= 0x2002,
	MSR_BITMAP			= 0x2004,
	VM_EXIT_MSR_STORE_ADDR		= 0x2006,
	VM_EXIT_MSR_LOAD_ADDR		= 0x2008,
	VM_ENTRY_MSR_LOAD_ADDR		= 0x200a,
	TSC_OFFSET			= 0x2010,
	EPT_POINTER			= 0x201a,
	XSS_EXIT_BITMAP			= 0x202c,
	GUEST_PHYSICAL_ADDRESS		= 0x2400,
	VMCS_LINK_POINTER		= 0x2800,
	GUEST_IA32_DEBUGCTL		= 0x2802,
	GUEST_IA32_PAT			= 0x2804,
	GUEST_IA32_EFER			= 0x2806,
	GUEST_PDPTE0			= 0x280a,	/* PDPTE0..3 at +2 each */
	HOST_IA32_PAT			= 0x2c00,
	HOST_IA32_EFER			= 0x2c02,
	/* 32-bit fields (B.3) */
	PIN_BASED_VM_EXEC_CONTROL	= 0x4000,
	CPU_BASED_VM_EXEC_CONTROL	= 0x4002,
	EXCEPTION_BITMAP		= 0x4004,
	PAGE_FAULT_ERROR_CODE_MASK	= 0x4006,
	PAGE_FAULT_ERROR_CODE_MATCH	= 0x4008,
	CR3_TARGET_COUNT		= 0x400a,
	VM_EXIT_CONTROLS		= 0x400c,
	VM_EXIT_MSR_STORE_COUNT		= 0x400e,
	VM_EXIT_MSR_LOAD_COUNT		= 0x4010,
	VM_ENTRY_CONTROLS		= 0x4012,
	VM_ENTRY_MSR_LOAD_COUNT		= 0x4014,
	VM_ENTRY_INTR_INFO		= 0x4016,
	VM_ENTRY_EXCEPTION_ERROR_CODE	= 0x4018,
	VM_ENTRY_INSTRUCTION_LEN	= 0x401a,
	SECONDARY_VM_EXEC_CONTROL	= 0x401e,
	VM_INSTRUCTION_ERROR		= 0x4400,
	VM_EXIT_REASON			= 0x4402,
	VM_EXIT_INTR_INFO		= 0x4404,
	VM_EXIT_INTR_ERROR_CODE		= 0x4406,
	IDT_VECTORING_INFO		= 0x4408,
	IDT_VECTORING_ERROR_CODE	= 0x440a,
	VM_EXIT_INSTRUCTION_LEN		= 0x440c,
	VMX_INSTRUCTION_INFO		= 0x440e,
	GUEST_ES_LIMIT			= 0x4800,	/* ES..TR as selectors */
	GUEST_GDTR_LIMIT		= 0x4810,
	GUEST_IDTR_LIMIT		= 0x4812,
	GUEST_ES_AR_BYTES		= 0x4814,	/* ES..TR as selectors */
	GUEST_INTERRUPTIBILITY_INFO	= 0x4824,
	GUEST_ACTIVITY_STATE		= 0x4826,
	GUEST_SYSENTER_CS		= 0x482a,
	VMX_PREEMPTION_TIMER_VALUE	= 0x482e,
	HOST_IA32_SYSENTER_CS		= 0x4c00,
	/* Natural-width fields (B.4) */
	CR0_GUEST_HOST_MASK		= 0x6000,
	CR4_GUEST_HOST_MASK		= 0x6002,
	CR0_READ_SHADOW			= 0x6004,
	CR4_READ_SHADOW			= 0x6006,
	EXIT_QUALIFICATION		= 0x6400,
	GUEST_LINEAR_ADDRESS		= 0x640a,
	GUEST_CR0			= 0x6800,
	GUEST_CR3			= 0x6802,
	GUEST_CR4			= 0x6804,
	GUEST_ES_BASE			= 0x6806,	/* ES..TR as selectors */
	GUEST_GDTR_BASE			= 0x6816,
	GUEST_IDTR_BASE			= 0x6818,
	GUEST_DR7			= 0x681a,
	GUEST_RSP			= 0x681c,
	GUEST_RIP			= 0x681e,
	GUEST_RFLAGS			= 0x6820,
	GUEST_PENDING_DBG_EXCEPTIONS	= 0x6822,
	GUEST_SYSENTER_ESP		= 0x6824,
	GUEST_SYSENTER_EIP		= 0x6826,
	HOST_CR0			= 0x6c00,
	HOST_CR3			= 0x6c02,
	HOST_CR4			= 0x6c04,
	HOST_FS_BASE			= 0x6c06,
	HOST_GS_BASE			= 0x6c08,
	HOST_TR_BASE			= 0x6c0a,
	HOST_GDTR_BASE			= 0x6c0c,
	HOST_IDTR_BASE			= 0x6c0e,
	HOST_IA32_SYSENTER_ESP		= 0x6c10,
	HOST_IA32_SYSENTER_EIP		= 0x6c12,
	HOST_RSP			= 0x6c14,
	HOST_RIP			= 0x6c16,
};

/* Guest segment registers in VMCS encoding order (B.1.2). */
enum vmx_seg_reg {
	VMX_SEG_ES, VMX_SEG_CS, VMX_SEG_SS, VMX_SEG_DS,
	VMX_SEG_FS, VMX_SEG_GS, VMX_SEG_LDTR, VMX_SEG_TR,
	VMX_NR_SEGS
};

/* Segment access rights in the VMCS (24.4.1, table 24-2) */
#define VMX_AR_TYPE_MASK		0xfU
#define VMX_AR_S			BIT(4)
#define VMX_AR_DPL_SHIFT		5
#define VMX_AR_DPL_MASK			(3U << VMX_AR_DPL_SHIFT)
#define VMX_AR_P			BIT(7)
#define VMX_AR_AVL			BIT(12)
#define VMX_AR_L			BIT(13)
#define VMX_AR_DB			BIT(14)
#define VMX_AR_G			BIT(15)
#define VMX_AR_UNUSABLE			BIT(16)
#define VMX_AR_RESERVED			(GENMASK(11, 8) | GENMASK(31, 17))

/* Guest interruptibility state (24.4.2, table 24-3) */
#define VMX_INTR_STI_BLOCKING		BIT(0)
#define VMX_INTR_MOVSS_BLOCKING		BIT(1)
#define VMX_INTR_NMI_BLOCKING		BIT(3)

/* Interruption-information format (24.8.3, 24.9.2, 24.9.3) */
#define INTR_INFO_VECTOR_MASK		0xffU
#define INTR_INFO_TYPE_SHIFT		8
#define INTR_INFO_TYPE_MASK		(7U << INTR_INFO_TYPE_SHIFT)
#define INTR_INFO_ERROR_VALID		BIT(11)
#define INTR_INFO_NMI_UNBLOCK		BIT(12)
#define INTR_INFO_VALID			BIT(31)
#define INTR_TYPE_EXT_INTR		(0U << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_NMI			(2U << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_HW_EXCEPTION		(3U << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_SW_INTR		(4U << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_PRIV_SW_EXCEPTION	(5U << INTR_INFO_TYPE_SHIFT)
#define INTR_TYPE_SW_EXCEPTION		(6U << INTR_INFO_TYPE_SHIFT)

/* Basic exit reasons (appendix C) */
#define EXIT_REASON_EXCEPTION_NMI	0
#define EXIT_REASON_EXTERNAL_INTR	1
#define EXIT_REASON_TRIPLE_FAULT	2
#define EXIT_REASON_INIT		3
#define EXIT_REASON_SIPI		4
#define EXIT_REASON_IO_SMI		5
#define EXIT_REASON_OTHER_SMI		6
#define EXIT_REASON_INTR_WINDOW		7
#define EXIT_REASON_NMI_WINDOW		8
#define EXIT_REASON_TASK_SWITCH		9
#define EXIT_REASON_CPUID		10
#define EXIT_REASON_GETSEC		11
#define EXIT_REASON_HLT			12
#define EXIT_REASON_INVD		13
#define EXIT_REASON_VMCALL		18
#define EXIT_REASON_VMCLEAR		19
#define EXIT_REASON_VMLAUNCH		20
#define EXIT_REASON_VMPTRLD		21
#define EXIT_REASON_VMPTRST		22
#define EXIT_REASON_VMREAD		23
#define EXIT_REASON_VMRESUME		24
#define EXIT_REASON_VMWRITE		25
#define EXIT_REASON_VMXOFF		26
#define EXIT_REASON_VMXON		27
#define EXIT_REASON_CR_ACCESS		28
#define EXIT_REASON_DR_ACCESS		29
#define EXIT_REASON_IO			30
#define EXIT_REASON_RDMSR		31
#define EXIT_REASON_WRMSR		32
#define EXIT_REASON_INVALID_STATE	33
#define EXIT_REASON_MSR_LOADING		34
#define EXIT_REASON_MCE_DURING_ENTRY	41
#define EXIT_REASON_EPT_VIOLATION	48
#define EXIT_REASON_EPT_MISCONFIG	49
#define EXIT_REASON_INVEPT		50
#define EXIT_REASON_RDTSCP		51
#define EXIT_REASON_PREEMPTION_TIMER	52
#define EXIT_REASON_INVVPID		53
#define EXIT_REASON_WBINVD		54
#define EXIT_REASON_XSETBV		55
#define EXIT_REASON_VMFUNC		59
#define EXIT_REASON_MAX			75
#define EXIT_REASON_BASIC_MASK		0xffffU
#define EXIT_REASON_FAILED_ENTRY	BIT(31)

/* Exit qualification for control-register accesses (27.2.1, table 27-3) */
#define CR_QUAL_CR_MASK			0xfU
#define CR_QUAL_TYPE_SHIFT		4
#define CR_QUAL_TYPE_MASK		(3U << CR_QUAL_TYPE_SHIFT)
#define CR_QUAL_TYPE_MOV_TO		0
#define CR_QUAL_TYPE_MOV_FROM		1
#define CR_QUAL_TYPE_CLTS		2
#define CR_QUAL_TYPE_LMSW		3
#define CR_QUAL_GPR_SHIFT		8
#define CR_QUAL_GPR_MASK		(0xfU << CR_QUAL_GPR_SHIFT)
#define CR_QUAL_LMSW_DATA_SHIFT		16

/* Exit qualification for MOV DR (table 27-4) */
#define DR_QUAL_DR_MASK			7U
#define DR_QUAL_FROM_DR			BIT(4)

/* Exit qualification for I/O instructions (table 27-5) */
#define IO_QUAL_SIZE_MASK		7U
#define IO_QUAL_IN			BIT(3)
#define IO_QUAL_STRING			BIT(4)
#define IO_QUAL_REP			BIT(5)
#define IO_QUAL_PORT_SHIFT		16

/* Exit qualification for EPT violations (table 27-7) */
#define EPT_QUAL_GLA_VALID		BIT(7)
#define EPT_QUAL_GLA_TRANSLATED		BIT(8)	/* else a paging-structure access */
#define EPT_QUAL_NMI_UNBLOCKING		BIT(12)	/* during an IRET that unblocked NMIs */

/* EPT entries and EPTP (28.2.2, 28.2.6) */
#define EPT_READ			BIT_ULL(0)
#define EPT_WRITE			BIT_ULL(1)
#define EPT_EXEC			BIT_ULL(2)
#define EPT_RWX				(EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MEMTYPE_SHIFT		3
#define EPTP_WALK_LENGTH_4		(3ULL << 3)
#define EPTP_AD_ENABLE			BIT_ULL(6)

/* Guest activity state (24.4.2) */
#define VMX_ACTIVITY_ACTIVE		0

/* Return values of vmx_enter_guest() */
#define VMX_ENTER_EXITED		0	/* VM exit (maybe a failed entry) */
#define VMX_ENTER_FAIL_VALID		1	/* VMfailValid: see VM_INSTRUCTION_ERROR */
#define VMX_ENTER_FAIL_INVALID		2	/* VMfailInvalid: no current VMCS */

/* Capabilities and the control values chosen at load (vmx.c). */
struct vmx_config {
	u32 revision_id;
	u32 vmcs_size;
	u32 pin_ctls;
	u32 cpu_ctls;
	u32 cpu2_ctls;
	u32 exit_ctls;
	u32 entry_ctls;			/* without ENTRY_IA32E_MODE */
	u64 cr0_fixed0, cr0_fixed1;
	u64 cr4_fixed0, cr4_fixed1;
	u64 ept_vpid_cap;
	bool vpid;			/* VPID in use (with INVVPID) */
	bool ept_ad;			/* EPT accessed/dirty flags */
	bool rdtscp;			/* "enable RDTSCP": TSC_AUX is switched */
	bool xsaves;
	bool debugctl;			/* the host has IA32_DEBUGCTL (Bochs: no) */
	u32 preempt_ticks;		/* VMX-preemption timer per entry, 0: off */
};
extern struct vmx_config vmx_config;

struct vmx_seg {
	u16 selector;
	u32 limit;
	u32 ar;				/* VMCS access-rights format */
	u64 base;
};

/*
 * The guest's architectural state that lives in the VMCS, kept in software
 * between runs: read back after every exit, written before an entry when
 * anything changed it (see vmx_run()).  cr0 and cr4 are the values the guest
 * sees; the VMCS holds them with the VMX fixed bits forced (24.6.6).
 */
struct vmx_guest {
	struct vmx_seg seg[VMX_NR_SEGS];
	u64 gdtr_base, idtr_base;
	u32 gdtr_limit, idtr_limit;
	u64 cr0, cr3, cr4, cr2;
	u64 efer, pat;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 pdpte[4];
	u32 interruptibility;
	u64 pending_dbg;
};

/* MSRs VM entry and exit do not switch, swapped by vmx_run(). */
enum vmx_swap_msr {
	VMX_MSR_KERNEL_GS_BASE,
	VMX_MSR_STAR,
	VMX_MSR_LSTAR,
	VMX_MSR_CSTAR,
	VMX_MSR_SFMASK,
	VMX_NR_SWAP_MSRS
};

/* What the last exit recorded (read while the VMCS was current). */
struct vmx_exit_info {
	u32 reason;
	u64 qualification;
	u64 gpa;
	u32 insn_len;
	u32 intr_info;
	u32 intr_error;
	u32 idt_vectoring;
	u32 idt_error;
	u32 insn_error;			/* VM_INSTRUCTION_ERROR after VMfail */
};

/*
 * Per-vCPU VMX state, under vcpu->mutex.  cpu, launched and cpu_node are
 * also touched by vmx_vmcs_clear_local() on the CPU that holds the VMCS,
 * with interrupts off there, and cpu is written last (see vmx.c).
 */
struct vmx_vcpu {
	struct vireo_vcpu *vcpu;
	void *vmcs;			/* VMCS region, one page */
	u64 vmcs_pa;
	int cpu;			/* CPU the VMCS is active on, or -1 */
	bool launched;			/* VMRESUME, not VMLAUNCH, next */
	bool setup_done;		/* constant fields written */
	struct list_head cpu_node;	/* on vmx_cpu_data.loaded_vmcss */
	u16 vpid;			/* 0: no VPID */

	struct vmx_guest guest;
	bool guest_dirty;		/* write guest state at the next entry */
	unsigned long shadow_rip;	/* RIP at the last exit */
	u8 cr8;				/* virtual TPR, as SVM's V_TPR */
	u64 swap_msr[VMX_NR_SWAP_MSRS];

	/* Controls as last written to this VMCS. */
	u32 cpu_ctls;
	u32 cpu2_ctls;
	u32 entry_ctls;

	/* Event for the next entry (VM-entry interruption information). */
	u32 event_info;
	u32 event_error;
	u32 event_insn_len;
	bool intr_window;		/* interrupt-window exiting wanted */
	bool nmi_window;		/* NMI-window exiting wanted */
	bool flush_tlb;			/* INVVPID/INVEPT before the next entry */

	struct vmx_exit_info exit;
};

static inline struct vmx_vcpu *to_vmx(struct vireo_vcpu *vcpu)
{
	return vcpu->backend;
}

/* vmx.c */
u64 vmx_eptp(struct vireo_vm *vm);
u64 vmx_guest_cr0_hw(u64 cr0);
u64 vmx_guest_cr4_hw(u64 cr4);
int vmx_set_cr0(struct vireo_vcpu *vcpu, u64 cr0);
int vmx_set_cr3(struct vireo_vcpu *vcpu, u64 cr3);
unsigned int vmx_guest_cpl(struct vmx_vcpu *vmx);

/* vmx_exit.c */
int vmx_handle_exit(struct vireo_vcpu *vcpu);
int vmx_report_vmfail(struct vireo_vcpu *vcpu, int fail);

/* vmenter.S */
extern char vmx_vmexit[];		/* HOST_RIP */
int vmx_enter_guest(unsigned long *regs, bool launched);
void vmx_do_nmi(void);

#endif /* VIREO_VMX_H */
