/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Vireo: the vendor-neutral core's view of VMs and vCPUs, and the backend
 * operations table that the SVM and VMX backends implement.
 *
 * The core never tests the vendor: everything that differs between SVM and
 * VMX goes through struct vireo_backend_ops, chosen once at module load.
 */
#ifndef VIREO_CORE_H
#define VIREO_CORE_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/xarray.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/atomic.h>
#include <linux/wait.h>
#include <linux/spinlock.h>
#include <asm/fpu/types.h>

#include "../uapi/vireo.h"
#include "../uapi/vireo_netlink.h"

#define VIREO_LOG_PREFIX "vireo: "

/* Register numbers in hardware encoding order (ModRM.reg / REX). */
enum vireo_reg {
	VCPU_RAX, VCPU_RCX, VCPU_RDX, VCPU_RBX,
	VCPU_RSP, VCPU_RBP, VCPU_RSI, VCPU_RDI,
	VCPU_R8, VCPU_R9, VCPU_R10, VCPU_R11,
	VCPU_R12, VCPU_R13, VCPU_R14, VCPU_R15,
	VCPU_NR_GPRS
};

/*
 * Exit-statistics slots.  Slots below VIREO_EXIT_REASON_MAX count exits to
 * user space by enum vireo_exit_reason; the slots above count exits the
 * module handles itself.  The netlink dump reports each slot with a name.
 */
enum vireo_stat {
	VIREO_STAT_KERNEL_BASE = 32,
	VIREO_STAT_CPUID = VIREO_STAT_KERNEL_BASE,
	VIREO_STAT_NPF_MAP,		/* nested page fault mapped RAM */
	VIREO_STAT_HOST_INTR,		/* host interrupt / NMI */
	VIREO_STAT_MSR,			/* RDMSR/WRMSR emulated */
	VIREO_STAT_MSR_GP,		/* RDMSR/WRMSR answered with #GP */
	VIREO_STAT_IRQ_INJECTED,	/* interrupts delivered by the LAPIC */
	VIREO_STAT_HALT_SLEEP,		/* HLT slept in the kernel */
	VIREO_STAT_NMI_INJECTED,	/* NMIs delivered into the guest */
	VIREO_STAT_HOST_STATE_IN_VMCB,	/* #VMEXIT left host state as guest's */
	VIREO_STAT_PIO_FAST,		/* port I/O completed at a fast port */
	VIREO_STAT_STALE_EVENT,		/* delivered interrupt not injected again */
	VIREO_STAT_MAX
};

/* What the next RUN must finish before it enters the guest again. */
enum vireo_pending {
	VIREO_PENDING_NONE,
	VIREO_PENDING_IO_IN,
	VIREO_PENDING_MMIO_READ,
	VIREO_PENDING_HYPERCALL,
};

/* A decoded MMIO instruction (only the mov family; see decode.c). */
struct vireo_mmio_insn {
	u8 len;			/* instruction length in bytes */
	u8 access_size;		/* bytes read or written in memory */
	u8 reg;			/* register operand, enum vireo_reg */
	u8 reg_size;		/* destination register width for loads */
	bool is_write;
	bool high_byte;		/* AH/CH/DH/BH (no REX, reg 4..7, size 1) */
	bool has_imm;		/* store of an immediate */
	bool sign_extend;	/* movsx */
	u64 imm;
};

/* The guest's paging state, as the backend reports it for a walk. */
struct vireo_paging {
	u64 cr0, cr3, cr4, efer;
	u64 cs_base;
	bool cs_l, cs_db;	/* code-segment L and D/B bits */
};

struct vireo_vm;
struct vireo_lapic;
struct vireo_ioapic;
struct eventfd_ctx;

/* vCPU activity (SDM vol. 3A, 8.4: wait-for-SIPI after INIT). */
enum vireo_activity {
	VIREO_ACTIVE,
	VIREO_HALTED,			/* in-kernel HLT, irqchip VMs only */
	VIREO_WAIT_SIPI,
};

/* Cross-vCPU requests, handled by the target at the top of its run loop. */
#define VIREO_REQ_INIT		0
#define VIREO_REQ_SIPI		1

#define VIREO_MSR_AMD_CFG	7

/* Guest MSRs that live in neither the VMCB nor the VMCS (msr.c). */
struct vireo_vcpu_msrs {
	u64 apic_base;
	u64 misc_enable;
	u64 mtrr_def_type;
	u64 mtrr_fixed[11];
	u64 mtrr_var[16];
	u64 tsc_aux;
	u64 ucode_rev;
	u64 amd_cfg[VIREO_MSR_AMD_CFG];
	u64 scratch;			/* constant-valued MSRs, see msr.c */
};

/*
 * One vCPU.  Created by VIREO_CREATE_VCPU, freed when its VM is destroyed
 * (a vCPU fd holds a reference to the VM, so the VM outlives every fd).
 */
struct vireo_vcpu {
	struct vireo_vm *vm;		/* set at creation, immutable */
	u32 id;				/* immutable */
	struct mutex mutex;		/* serialises ioctls on this vCPU */
	struct vireo_run *run;		/* shared with user space by mmap */

	/* Guest GPRs, RIP, RFLAGS: the truth between runs (under mutex). */
	unsigned long regs[VCPU_NR_GPRS];
	unsigned long rip;
	unsigned long rflags;

	/* Completion owed to the guest at the next RUN (under mutex). */
	enum vireo_pending pending;
	struct vireo_mmio_insn pending_insn;
	u8 pending_io_size;
	unsigned long pending_next_rip;

	struct vireo_vcpu_msrs msrs;	/* under mutex */
	/* Debug registers as the guest sees them (emulated, never loaded). */
	unsigned long dr[4];
	unsigned long dr6, dr7;
	s64 tsc_offset;			/* guest TSC = host TSC + offset */

	/* Guest FPU/SIMD state (XSAVE or FXSAVE layout), see fpu.c. */
	struct fxregs_state *guest_fpu;
	unsigned int guest_fpu_order;
	u64 xcr0;			/* the guest's XCR0 (under mutex) */

	/* Interrupts (irqchip VMs): the LAPIC, activity and requests. */
	struct vireo_lapic *lapic;	/* NULL without VIREO_VM_FLAG_IRQCHIP */
	enum vireo_activity activity;	/* under mutex */
	unsigned long requests;		/* VIREO_REQ_* bits, atomic */
	u8 sipi_vector;			/* valid with VIREO_REQ_SIPI */
	atomic_t nmi_pending;		/* an NMI is latched (0 or 1) */
	wait_queue_head_t wq;		/* sleeps of HLT and wait-for-SIPI */

	/* The task in RUN, for kicks from the management plane. */
	struct task_struct *run_task;	/* under mutex; read with READ_ONCE */

	atomic64_t stats[VIREO_STAT_MAX];
	void *backend;			/* struct svm_vcpu / vmx_vcpu */

	/* The last world switches (VIREO_GET_EXIT_TRACE), by the vCPU's thread. */
	struct vireo_exit_trace_entry trace[VIREO_EXIT_TRACE_LEN];
	u64 trace_records;		/* entries ever written to the ring */
	u64 trace_switches;		/* world switches ever recorded */
};

/*
 * Records one world switch in the vCPU's trace ring; the backends call it
 * after each #VMEXIT / VM exit, before handling it.  A switch identical to
 * the newest entry only bumps its repeat count: a guest spinning through
 * one exit would otherwise push everything before it out of the ring.  A
 * few loads and stores: cheap next to the switch itself.
 */
static inline void vireo_trace_switch(struct vireo_vcpu *vcpu, u64 entry_rip,
				      u64 entry_rflags, u64 event_inj, u64 exit_code,
				      u64 exit_int_info, u64 exit_rip, u64 exit_rflags)
{
	struct vireo_exit_trace_entry *t;

	vcpu->trace_switches++;
	if (vcpu->trace_records) {
		t = &vcpu->trace[(vcpu->trace_records - 1) % VIREO_EXIT_TRACE_LEN];
		if (t->entry_rip == entry_rip && t->entry_rflags == entry_rflags &&
		    t->event_inj == event_inj && t->exit_code == exit_code &&
		    t->exit_int_info == exit_int_info && t->exit_rip == exit_rip &&
		    t->exit_rflags == exit_rflags) {
			t->repeats++;
			return;
		}
	}
	t = &vcpu->trace[vcpu->trace_records++ % VIREO_EXIT_TRACE_LEN];
	t->repeats = 0;
	t->entry_rip = entry_rip;
	t->entry_rflags = entry_rflags;
	t->event_inj = event_inj;
	t->exit_code = exit_code;
	t->exit_int_info = exit_int_info;
	t->exit_rip = exit_rip;
	t->exit_rflags = exit_rflags;
}

/*
 * One VM.  Lifetime: a kref held by the VM fd and by every vCPU fd; the
 * last put destroys it.  Listed in vireo_vm_list for the management plane
 * from creation until destruction begins.
 */
/* Fast ports (pio.c): 1-byte port I/O completed without an exit to user. */
struct vireo_pio_port {
	u16 port;
	u8 flags;			/* VIREO_PIO_FAST_* */
	u8 in_value;
};

struct vireo_pio {
	spinlock_t lock;		/* guards the fields below */
	struct vireo_pio_port ports[VIREO_MAX_FAST_PORTS];
	u32 nr_ports;			/* READ_ONCE without the lock */
	/* The write queue: VIREO_PIO_QUEUE_LEN records, from the first OUT port. */
	struct vireo_pio_record *queue;
	u32 head, count;		/* count: READ_ONCE without the lock */
	struct eventfd_ctx *notify;	/* signalled when the queue fills from empty */
	struct mutex drain_lock;	/* one VIREO_PIO_DRAIN at a time */
};

struct vireo_vm {
	u32 id;				/* immutable */
	pid_t owner_pid;		/* tgid of the creator, immutable */
	u64 ram_bytes;			/* immutable */
	u32 flags;			/* VIREO_VM_FLAG_*, immutable */
	unsigned long nr_pages;		/* ram_bytes >> PAGE_SHIFT */
	struct kref ref;
	struct list_head node;		/* vireo_vm_list, under vireo_vm_list_lock */

	struct mutex lock;		/* vCPU creation, CPUID policy */
	struct vireo_vcpu *vcpus[VIREO_MAX_VCPUS];	/* under lock */
	u32 nr_vcpus;			/* under lock; READ_ONCE elsewhere */
	struct vireo_cpuid_entry *cpuid;	/* under lock */
	u32 cpuid_nent;

	/*
	 * Guest memory: the per-page state table.  Each present entry is the
	 * struct page backing that guest frame.  Entries are only ever added
	 * while the VM lives; all are released at destruction.
	 */
	struct xarray pages;
	atomic64_t pages_present;

	/* Nested page tables (NPT/EPT), under mmu_lock. */
	struct mutex mmu_lock;
	struct page *tdp_root;
	u64 tdp_root_pa;
	atomic64_t tdp_pages;

	struct vireo_ioapic *ioapic;	/* irqchip VMs, immutable pointer */
	atomic_t lowest_prio_rr;	/* lowest-priority delivery tie-break */
	atomic_t state;			/* enum vireo_vm_state */
	s64 tsc_offset;			/* initial guest TSC offset, immutable */
	struct vireo_pio pio;		/* fast ports and their write queue */
	void *backend;
};

/* Return convention of exit handlers and backend run: */
#define VIREO_RESUME	1	/* handled in kernel, enter the guest again */
#define VIREO_TO_USER	0	/* run->exit_reason filled in, return to user */
/* negative errno: error, returned to user space by RUN */

struct vireo_backend_ops {
	const char *name;
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	int (*cpu_enable)(unsigned int cpu);	/* on that CPU, hotplug context */
	int (*cpu_disable)(unsigned int cpu);
	int (*vm_init)(struct vireo_vm *vm);
	void (*vm_destroy)(struct vireo_vm *vm);
	int (*vcpu_create)(struct vireo_vcpu *vcpu);
	void (*vcpu_free)(struct vireo_vcpu *vcpu);
	void (*get_sregs)(struct vireo_vcpu *vcpu, struct vireo_sregs *sregs);
	int (*set_sregs)(struct vireo_vcpu *vcpu, const struct vireo_sregs *sregs);
	void (*get_paging)(struct vireo_vcpu *vcpu, struct vireo_paging *pg);
	/* Enter the guest once and handle the exit: VIREO_RESUME/TO_USER/-err */
	int (*run)(struct vireo_vcpu *vcpu);
	/*
	 * MSRs kept in the VMCB/VMCS (EFER, PAT, the SYSCALL and SYSENTER
	 * MSRs, KERNEL_GS_BASE): 0, -ENOENT (unknown), -EINVAL (refused).
	 * msr.c has checked the value with vireo_msr_value_ok() already.
	 */
	int (*get_msr)(struct vireo_vcpu *vcpu, u32 index, u64 *value);
	int (*set_msr)(struct vireo_vcpu *vcpu, u32 index, u64 value);
	/* Put the vCPU in its RESET state (also used for INIT). */
	void (*reset)(struct vireo_vcpu *vcpu);
	/* Deliver an exception on the next entry (a fault: RIP unchanged). */
	void (*queue_exception)(struct vireo_vcpu *vcpu, u8 vector,
				bool has_error, u32 error_code);
	/* Nested page-table entry formats. */
	u64 (*tdp_table_entry)(u64 table_pa);
	u64 (*tdp_leaf_entry)(u64 page_pa);
	bool (*tdp_present)(u64 entry);
};

/*
 * Declarative ioctl tables (one per fd type): each entry names its command
 * and whether it needs the object's mutex; vireo_ioctl_dispatch() is the one
 * prologue that finds the entry, takes the lock and calls the handler.
 * Unknown commands get -ENOTTY without taking anything.
 */
#define VIREO_IOCTL_LOCKED	BIT(0)

struct vireo_ioctl_desc {
	unsigned int cmd;
	unsigned int flags;
	long (*handler)(void *obj, unsigned long arg);
};

long vireo_ioctl_dispatch(const struct vireo_ioctl_desc *table,
			  unsigned int n, void *obj, struct mutex *lock,
			  unsigned int cmd, unsigned long arg);

extern const struct vireo_backend_ops *vireo_ops;
extern const struct vireo_backend_ops svm_backend_ops;
extern const struct vireo_backend_ops vmx_backend_ops;

/* Module-wide counters (netlink GET_STATS). */
extern atomic64_t vireo_guest_pages;
extern atomic64_t vireo_table_pages;
extern atomic64_t vireo_vms_created;
extern atomic_t vireo_vms_live;

/* vm.c */
extern struct mutex vireo_vm_list_lock;
extern struct list_head vireo_vm_list;
long vireo_dev_create_vm(unsigned long arg);
void vireo_vm_put(struct vireo_vm *vm);
struct vireo_vm *vireo_vm_get_by_id(u32 id);
void vireo_vm_set_state(struct vireo_vm *vm, enum vireo_vm_state state);

/* vcpu.c */
int vireo_vcpu_create(struct vireo_vm *vm, unsigned long id);
void vireo_vcpu_free(struct vireo_vcpu *vcpu);
void vireo_vcpu_kick(struct vireo_vcpu *vcpu);
void vireo_vcpu_wake(struct vireo_vcpu *vcpu);
void vireo_vm_wake_all(struct vireo_vm *vm);
void vireo_vcpu_request_init(struct vireo_vcpu *vcpu);
void vireo_vcpu_request_sipi(struct vireo_vcpu *vcpu, u8 vector);
void vireo_vcpu_queue_nmi(struct vireo_vcpu *vcpu);
int vireo_emulate_hlt(struct vireo_vcpu *vcpu);
void vireo_count(struct vireo_vcpu *vcpu, unsigned int stat);

/* fpu.c */
void vireo_fpu_setup(void);
int vireo_fpu_init(struct vireo_vcpu *vcpu);
void vireo_fpu_free(struct vireo_vcpu *vcpu);
void vireo_fpu_enter(struct vireo_vcpu *vcpu);
void vireo_fpu_exit(struct vireo_vcpu *vcpu);
int vireo_emulate_xsetbv(struct vireo_vcpu *vcpu, bool osxsave,
			 unsigned int cpl);
u32 vireo_xsave_size(u64 xcr0);
u64 vireo_xcr0_enter(struct vireo_vcpu *vcpu);
void vireo_xcr0_exit(struct vireo_vcpu *vcpu, u64 host);
int vireo_fpu_get_state(struct vireo_vcpu *vcpu, struct vireo_fpu_state *s);
int vireo_fpu_set_state(struct vireo_vcpu *vcpu,
			const struct vireo_fpu_state *s);

/* lapic.c */
int vireo_lapic_create(struct vireo_vcpu *vcpu);
void vireo_lapic_free(struct vireo_vcpu *vcpu);
void vireo_lapic_reset(struct vireo_vcpu *vcpu);
void vireo_lapic_set_irq(struct vireo_vcpu *vcpu, u8 vec);
int vireo_lapic_pending(struct vireo_vcpu *vcpu);
u8 vireo_lapic_get_cr8(struct vireo_vcpu *vcpu);
void vireo_lapic_set_cr8(struct vireo_vcpu *vcpu, u8 cr8);
void vireo_lapic_ack(struct vireo_vcpu *vcpu, u8 vec);
int vireo_lapic_get_state(struct vireo_vcpu *vcpu, struct vireo_lapic_state *s);
int vireo_lapic_set_state(struct vireo_vcpu *vcpu, const struct vireo_lapic_state *s);
bool vireo_lapic_mmio(struct vireo_vcpu *vcpu, u64 gpa, unsigned int len,
		      bool write, u64 *val);
int vireo_lapic_msr(struct vireo_vcpu *vcpu, u32 index, bool write, u64 *val);
void vireo_lapic_deliver(struct vireo_vm *vm, u32 dest, bool logical,
			 u32 mode, u8 vector, bool level);

/* pio.c */
void vireo_pio_init(struct vireo_vm *vm);
void vireo_pio_free(struct vireo_vm *vm);
bool vireo_pio_fast(struct vireo_vm *vm, u16 port, bool in, u8 *value);
long vireo_pio_set_port(struct vireo_vm *vm, const struct vireo_pio_fast *req);
long vireo_pio_drain(struct vireo_vm *vm, struct vireo_pio_drain __user *argp);
long vireo_pio_set_notify(struct vireo_vm *vm, const struct vireo_pio_notify *req);

/* ioapic.c */
int vireo_ioapic_create(struct vireo_vm *vm);
void vireo_ioapic_free(struct vireo_vm *vm);
int vireo_ioapic_set_irq(struct vireo_vm *vm, u32 pin, bool level);
void vireo_ioapic_eoi(struct vireo_vm *vm, u8 vector);
int vireo_ioapic_get_state(struct vireo_vm *vm, struct vireo_ioapic_state *s);
int vireo_ioapic_set_state(struct vireo_vm *vm,
			   const struct vireo_ioapic_state *s);
bool vireo_ioapic_mmio(struct vireo_vcpu *vcpu, u64 gpa, unsigned int len,
		       bool write, u64 *val);

/* msr.c */
void vireo_msr_reset(struct vireo_vcpu *vcpu);
int vireo_msr_get(struct vireo_vcpu *vcpu, u32 index, u64 *value);
int vireo_msr_set(struct vireo_vcpu *vcpu, u32 index, u64 value);
int vireo_emulate_msr(struct vireo_vcpu *vcpu, bool write);
int vireo_emulate_rdtscp(struct vireo_vcpu *vcpu);
bool vireo_pat_valid(u64 pat);
long vireo_msr_get_list(struct vireo_msr_list __user *argp);
long vireo_msr_get_state(struct vireo_vcpu *vcpu, struct vireo_msrs __user *argp);
long vireo_msr_set_state(struct vireo_vcpu *vcpu, struct vireo_msrs __user *argp);

/* mem.c: guest memory */
struct page *vireo_gfn_to_page(struct vireo_vm *vm, unsigned long gfn, bool alloc);
int vireo_read_guest(struct vireo_vm *vm, u64 gpa, void *buf, size_t len);
void vireo_dump_crash_translations(struct vireo_vcpu *vcpu);
int vireo_gva_to_gpa(struct vireo_vcpu *vcpu, const struct vireo_paging *pg,
		     u64 gva, u64 *gpa);
void vireo_mem_free(struct vireo_vm *vm);
int vireo_mem_mmap(struct vireo_vm *vm, struct vm_area_struct *vma);

/* tdp.c: nested page tables */
int vireo_tdp_init(struct vireo_vm *vm);
int vireo_tdp_map(struct vireo_vm *vm, u64 gpa);
u64 vireo_tdp_lookup(struct vireo_vm *vm, u64 gpa);
void vireo_tdp_free(struct vireo_vm *vm);

/* emulate.c: exits common to every backend */
int vireo_emulate_cpuid(struct vireo_vcpu *vcpu, bool osxsave);
int vireo_emulate_io(struct vireo_vcpu *vcpu, u16 port, u8 size, bool in,
		     unsigned long next_rip);
int vireo_emulate_mmio(struct vireo_vcpu *vcpu, u64 gpa);
int vireo_emulate_npf(struct vireo_vcpu *vcpu, u64 gpa, bool in_table_walk);
int vireo_emulate_hypercall(struct vireo_vcpu *vcpu, unsigned int insn_len);
int vireo_emulate_mov_to_cr8(struct vireo_vcpu *vcpu);
int vireo_emulate_mov_dr(struct vireo_vcpu *vcpu, unsigned int dr, bool write);
int vireo_exit_to_user_hw(struct vireo_vcpu *vcpu, u32 reason, u64 code,
			  u64 info1, u64 info2, u64 int_info);
int vireo_exit_internal(struct vireo_vcpu *vcpu, u32 suberror, u64 gpa,
			const u8 *insn, unsigned int ninsn);
void vireo_complete_pending(struct vireo_vcpu *vcpu);

/* decode.c */
int vireo_decode_mmio(const u8 *insn, unsigned int len,
		      const struct vireo_paging *pg, struct vireo_mmio_insn *out);

/* netlink.c */
int vireo_netlink_init(void);
void vireo_netlink_exit(void);
void vireo_netlink_event(struct vireo_vm *vm, enum vireo_nl_event event);

#endif /* VIREO_CORE_H */
