/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AMD SVM definitions used by Vireo's SVM backend.
 * Source: AMD64 Architecture Programmer's Manual vol. 2, chapter 15 and
 * appendix B (VMCB layout), appendix C (exit codes).
 */
#ifndef VIREO_SVM_H
#define VIREO_SVM_H

#include <linux/types.h>
#include <linux/build_bug.h>

#include "../vireo_core.h"

/* MSRs (APM vol. 2, 15.30) */
#define MSR_VIREO_VM_CR		0xc0010114
#define MSR_VIREO_VM_HSAVE_PA	0xc0010117
#define VM_CR_SVMDIS		BIT_ULL(4)
#define EFER_SVME_BIT		BIT_ULL(12)

/* CPUID Fn8000_000A EDX (APM vol. 3, E.4.9) */
#define SVM_FEAT_NPT		BIT(0)
#define SVM_FEAT_NRIPS		BIT(3)
#define SVM_FEAT_DECODE_ASSISTS	BIT(7)

/* Intercept vector 3 (VMCB offset 0x00c) */
/* intercept_cr: bits 15:0 reads of CR0-15, bits 31:16 writes */
#define SVM_INTERCEPT_CR8_WRITE	BIT(16 + 8)
#define SVM_INTERCEPT_INTR	BIT(0)
#define SVM_INTERCEPT_NMI	BIT(1)
#define SVM_INTERCEPT_SMI	BIT(2)
#define SVM_INTERCEPT_INIT	BIT(3)
#define SVM_INTERCEPT_VINTR	BIT(4)
#define SVM_INTERCEPT_CPUID	BIT(18)
#define SVM_INTERCEPT_RSM	BIT(19)
#define SVM_INTERCEPT_IRET	BIT(20)
#define SVM_INTERCEPT_INVD	BIT(22)
#define SVM_INTERCEPT_HLT	BIT(24)
#define SVM_INTERCEPT_INVLPGA	BIT(26)
#define SVM_INTERCEPT_IOIO	BIT(27)
#define SVM_INTERCEPT_MSR	BIT(28)
#define SVM_INTERCEPT_TASK_SW	BIT(29)
#define SVM_INTERCEPT_SHUTDOWN	BIT(31)
/* Intercept vector 4 (VMCB offset 0x010) */
#define SVM_INTERCEPT_VMRUN	BIT(0)
#define SVM_INTERCEPT_VMMCALL	BIT(1)
#define SVM_INTERCEPT_VMLOAD	BIT(2)
#define SVM_INTERCEPT_VMSAVE	BIT(3)
#define SVM_INTERCEPT_STGI	BIT(4)
#define SVM_INTERCEPT_CLGI	BIT(5)
#define SVM_INTERCEPT_SKINIT	BIT(6)
#define SVM_INTERCEPT_RDTSCP	BIT(7)
#define SVM_INTERCEPT_MONITOR	BIT(10)
#define SVM_INTERCEPT_MWAIT	BIT(11)
#define SVM_INTERCEPT_XSETBV	BIT(13)

/* Exit codes (APM vol. 2, appendix C) */
#define SVM_EXIT_WRITE_CR8	0x018
#define SVM_EXIT_READ_DR0	0x020
#define SVM_EXIT_WRITE_DR0	0x030
#define SVM_EXIT_INTR		0x060
#define SVM_EXIT_NMI		0x061
#define SVM_EXIT_SMI		0x062
#define SVM_EXIT_VINTR		0x064
#define SVM_EXIT_CPUID		0x072
#define SVM_EXIT_IRET		0x074
#define SVM_EXIT_HLT		0x078
#define SVM_EXIT_IOIO		0x07b
#define SVM_EXIT_MSR		0x07c
#define SVM_EXIT_SHUTDOWN	0x07f
#define SVM_EXIT_VMRUN		0x080
#define SVM_EXIT_VMMCALL	0x081
#define SVM_EXIT_RDTSCP		0x087
#define SVM_EXIT_XSETBV		0x08d
#define SVM_EXIT_NPF		0x400
#define SVM_EXIT_MAX		0x400
#define SVM_EXIT_INVALID	((u64)-1)

/* IOIO EXITINFO1 (APM vol. 2, 15.10.2) */
#define SVM_IOIO_TYPE_IN	BIT(0)
#define SVM_IOIO_STR		BIT(2)
#define SVM_IOIO_REP		BIT(3)
#define SVM_IOIO_SZ_SHIFT	4
#define SVM_IOIO_SZ_MASK	(7 << SVM_IOIO_SZ_SHIFT)
#define SVM_IOIO_PORT_SHIFT	16

/* VMCB control fields */
#define SVM_V_IRQ		BIT_ULL(8)
#define SVM_V_INTR_PRIO_MASK	(0xfULL << 16)
#define SVM_V_IGN_TPR		BIT_ULL(20)
#define SVM_V_INTR_MASKING	BIT_ULL(24)
#define SVM_V_INTR_VECTOR_SHIFT	32
#define SVM_V_IRQ_FIELDS	(SVM_V_IRQ | SVM_V_INTR_PRIO_MASK | SVM_V_IGN_TPR | \
				 (0xffULL << SVM_V_INTR_VECTOR_SHIFT))
#define SVM_INT_SHADOW		BIT_ULL(0)	/* int_state */
#define SVM_NP_ENABLE		BIT_ULL(0)
#define SVM_TLB_FLUSH_NONE	0
#define SVM_TLB_FLUSH_ALL	1

/* EVENTINJ (APM vol. 2, 15.20) */
#define SVM_EVTINJ_VALID	BIT_ULL(31)
#define SVM_EVTINJ_VALID_ERR	BIT_ULL(11)
#define SVM_EVTINJ_TYPE_INTR	(0ULL << 8)
#define SVM_EVTINJ_TYPE_NMI	(2ULL << 8)
#define SVM_EVTINJ_TYPE_EXCEPT	(3ULL << 8)

/* Segment attribute bits, the 12-bit packed form (APM vol. 2, 15.5.1) */
#define SVM_ATTR_TYPE_MASK	0xf
#define SVM_ATTR_S		BIT(4)
#define SVM_ATTR_DPL_SHIFT	5
#define SVM_ATTR_P		BIT(7)
#define SVM_ATTR_AVL		BIT(8)
#define SVM_ATTR_L		BIT(9)
#define SVM_ATTR_DB		BIT(10)
#define SVM_ATTR_G		BIT(11)

/* Sizes of the permission maps (APM vol. 2, 15.10.1 and 15.11) */
#define SVM_IOPM_SIZE		(3 * PAGE_SIZE)
#define SVM_MSRPM_SIZE		(2 * PAGE_SIZE)

struct vmcb_control {
	u32 intercept_cr;		/* 0x000 */
	u32 intercept_dr;		/* 0x004 */
	u32 intercept_exceptions;	/* 0x008 */
	u32 intercept_misc1;		/* 0x00c: vector 3 */
	u32 intercept_misc2;		/* 0x010: vector 4 */
	u32 intercept_misc3;		/* 0x014: vector 5 */
	u8  reserved_018[0x03c - 0x018];
	u16 pause_filter_thresh;	/* 0x03c */
	u16 pause_filter_count;		/* 0x03e */
	u64 iopm_base_pa;		/* 0x040 */
	u64 msrpm_base_pa;		/* 0x048 */
	u64 tsc_offset;			/* 0x050 */
	u32 asid;			/* 0x058 */
	u8  tlb_control;		/* 0x05c */
	u8  reserved_05d[3];
	u64 int_ctl;			/* 0x060 */
	u64 int_state;			/* 0x068 */
	u64 exit_code;			/* 0x070 */
	u64 exit_info1;			/* 0x078 */
	u64 exit_info2;			/* 0x080 */
	u64 exit_int_info;		/* 0x088 */
	u64 nested_ctl;			/* 0x090 */
	u64 avic_apic_bar;		/* 0x098 */
	u64 ghcb_pa;			/* 0x0a0 */
	u64 event_inj;			/* 0x0a8 */
	u64 nested_cr3;			/* 0x0b0 */
	u64 virt_ext;			/* 0x0b8 */
	u32 clean;			/* 0x0c0 */
	u32 reserved_0c4;
	u64 next_rip;			/* 0x0c8 */
	u8  insn_len;			/* 0x0d0 */
	u8  insn_bytes[15];		/* 0x0d1 */
	u8  reserved_0e0[0x400 - 0x0e0];
} __packed;

struct vmcb_seg {
	u16 selector;
	u16 attrib;
	u32 limit;
	u64 base;
} __packed;

/* State save area, at VMCB offset 0x400; offsets below are relative. */
struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs;	/* 0x000 */
	struct vmcb_seg gdtr, ldtr, idtr, tr;	/* 0x060 */
	u8  reserved_0a0[0x0cb - 0x0a0];
	u8  cpl;				/* 0x0cb */
	u32 reserved_0cc;
	u64 efer;				/* 0x0d0 */
	u8  reserved_0d8[0x148 - 0x0d8];
	u64 cr4;				/* 0x148 */
	u64 cr3;				/* 0x150 */
	u64 cr0;				/* 0x158 */
	u64 dr7;				/* 0x160 */
	u64 dr6;				/* 0x168 */
	u64 rflags;				/* 0x170 */
	u64 rip;				/* 0x178 */
	u8  reserved_180[0x1d8 - 0x180];
	u64 rsp;				/* 0x1d8 */
	u8  reserved_1e0[0x1f8 - 0x1e0];
	u64 rax;				/* 0x1f8 */
	u64 star;				/* 0x200 */
	u64 lstar;				/* 0x208 */
	u64 cstar;				/* 0x210 */
	u64 sfmask;				/* 0x218 */
	u64 kernel_gs_base;			/* 0x220 */
	u64 sysenter_cs;			/* 0x228 */
	u64 sysenter_esp;			/* 0x230 */
	u64 sysenter_eip;			/* 0x238 */
	u64 cr2;				/* 0x240 */
	u8  reserved_248[0x268 - 0x248];
	u64 g_pat;				/* 0x268 */
} __packed;

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __packed;

static_assert(offsetof(struct vmcb_control, iopm_base_pa) == 0x040);
static_assert(offsetof(struct vmcb_control, exit_code) == 0x070);
static_assert(offsetof(struct vmcb_control, nested_cr3) == 0x0b0);
static_assert(offsetof(struct vmcb_control, insn_len) == 0x0d0);
static_assert(sizeof(struct vmcb_control) == 0x400);
static_assert(offsetof(struct vmcb_save, cpl) == 0x0cb);
static_assert(offsetof(struct vmcb_save, efer) == 0x0d0);
static_assert(offsetof(struct vmcb_save, cr4) == 0x148);
static_assert(offsetof(struct vmcb_save, rip) == 0x178);
static_assert(offsetof(struct vmcb_save, rsp) == 0x1d8);
static_assert(offsetof(struct vmcb_save, rax) == 0x1f8);
static_assert(offsetof(struct vmcb_save, cr2) == 0x240);
static_assert(offsetof(struct vmcb_save, g_pat) == 0x268);

/* Per-vCPU SVM state. */
struct svm_vcpu {
	struct vmcb *vmcb;		/* one page */
	u64 vmcb_pa;
	u32 asid;			/* valid for asid_generation on last_cpu */
	u64 asid_generation;
	int last_cpu;
	/*
	 * NMI blocking (APM vol. 2, 15.20): set when an NMI is injected and
	 * cleared once the guest has executed the IRET that ends its handler.
	 * The IRET intercept fires before the IRET runs, so the block lifts
	 * at the first entry where RIP is no longer that IRET's.
	 */
	bool nmi_masked;
	bool awaiting_iret;
	u64 iret_rip;
	/*
	 * External interrupts go in as a virtual interrupt (V_IRQ), never
	 * through EVENTINJ: see svm_inject_interrupt().  virq_vec is the
	 * vector offered to the current run (-1: none) and virq_acked whether
	 * the LAPIC has acknowledged it already; reinject_vec is an
	 * acknowledged vector whose delivery an exit cut short, to offer
	 * again at the next entry (-1: none).
	 */
	int virq_vec;
	bool virq_acked;
	int reinject_vec;
	/* What the last VMRUN was given, for svm_report_host_state(). */
	u64 entry_rip, entry_rflags, entry_cr3, entry_event_inj;
	int entry_cpu;
};

/* Capabilities found at load. */
struct svm_caps {
	bool nrips;
	bool decode_assists;
	u32 nr_asids;
};
extern struct svm_caps svm_caps;

static inline struct svm_vcpu *to_svm(struct vireo_vcpu *vcpu)
{
	return vcpu->backend;
}

/* svm_exit.c */
int svm_handle_exit(struct vireo_vcpu *vcpu);

/* vmenter.S */
void svm_enter_guest(unsigned long *regs, u64 vmcb_pa, u64 host_save_pa);

#endif /* VIREO_SVM_H */
