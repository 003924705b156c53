/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Vireo user-space ABI: the data plane on file descriptors.
 *
 *   /dev/vireo             -- system fd: API version, create VM
 *   VM fd (anon inode)     -- create vCPUs, CPUID policy, mmap of guest RAM
 *   vCPU fd (anon inode)   -- registers, RUN, mmap of the exit record
 *
 * Every structure here uses fixed-width types and explicit padding so that
 * the layout is identical for 32- and 64-bit user space.  Reserved and
 * padding fields must be zero on input; the module rejects non-zero values
 * with -EINVAL so that they can be given a meaning later.
 *
 * The normative description is docs/uapi.md.
 */
#ifndef _UAPI_VIREO_H
#define _UAPI_VIREO_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VIREO_API_VERSION	1
#define VIREO_DEVICE_NAME	"vireo"

#define VIREO_IOCTL_TYPE	0xB7

/* Limits the module enforces (also reported by docs/uapi.md). */
#define VIREO_MAX_VCPUS		64
#define VIREO_MAX_CPUID_ENTRIES	256
#define VIREO_MAX_MSR_ENTRIES	256		/* per GET/SET_MSRS call */
#define VIREO_MIN_RAM_BYTES	(1ULL << 20)		/* 1 MiB */
#define VIREO_MAX_RAM_BYTES	(64ULL << 30)		/* 64 GiB */
#define VIREO_PAGE_SIZE		4096

/* ------------------------------------------------------------------ */
/* /dev/vireo                                                          */
/* ------------------------------------------------------------------ */

/*
 * VIREO_VM_FLAG_IRQCHIP: the VM gets an in-kernel local APIC per vCPU
 * (xAPIC MMIO at IA32_APIC_BASE, x2APIC MSRs, timer, IPIs, INIT/SIPI).
 * HLT then sleeps in the kernel until an interrupt is due instead of
 * exiting, and vCPUs other than 0 start in wait-for-SIPI.
 */
#define VIREO_VM_FLAG_IRQCHIP	(1U << 0)
#define VIREO_VM_FLAGS_ALL	VIREO_VM_FLAG_IRQCHIP

/* The in-kernel I/O APIC of an irqchip VM (MMIO, guest-physical). */
#define VIREO_IOAPIC_BASE	0xfec00000ULL
#define VIREO_IOAPIC_PINS	24
#define VIREO_LAPIC_BASE	0xfee00000ULL	/* default IA32_APIC_BASE */

struct vireo_vm_config {
	__u64 ram_bytes;	/* multiple of VIREO_PAGE_SIZE, in [MIN, MAX] */
	__u32 flags;		/* VIREO_VM_FLAG_*; unknown bits: -EINVAL */
	__u32 reserved;		/* must be 0 */
};

/* Returns VIREO_API_VERSION. */
#define VIREO_GET_API_VERSION	_IO(VIREO_IOCTL_TYPE, 0x00)
/* Returns a new VM fd (O_CLOEXEC). */
#define VIREO_CREATE_VM		_IOW(VIREO_IOCTL_TYPE, 0x01, struct vireo_vm_config)
/* Returns the size in bytes of the mmap'able exit record of a vCPU fd. */
#define VIREO_GET_RUN_SIZE	_IO(VIREO_IOCTL_TYPE, 0x02)

/* ------------------------------------------------------------------ */
/* VM fd                                                               */
/* ------------------------------------------------------------------ */

struct vireo_vm_info {
	__u32 vm_id;		/* same id as in the netlink family */
	__u32 nr_vcpus;
	__u64 ram_bytes;
	__u64 pages_present;	/* guest pages backed by host memory now */
	__u64 reserved[4];
};

struct vireo_cpuid_entry {
	__u32 function;		/* EAX on input */
	__u32 index;		/* ECX on input, if flags has SIGNIFICANT_INDEX */
	__u32 flags;
	__u32 eax;
	__u32 ebx;
	__u32 ecx;
	__u32 edx;
	__u32 reserved;
};

#define VIREO_CPUID_FLAG_SIGNIFICANT_INDEX	(1U << 0)

/*
 * The CPUID policy of a VM: the guest's CPUID is answered in the kernel from
 * this table.  A leaf that is not in the table reads as all zeroes.
 */
struct vireo_cpuid {
	__u32 nent;		/* <= VIREO_MAX_CPUID_ENTRIES */
	__u32 reserved;
	struct vireo_cpuid_entry entries[];
};

/*
 * Drive an I/O APIC input pin of an irqchip VM: level 1 asserts, 0
 * deasserts.  Edge-triggered pins fire on 0->1; level-triggered pins fire
 * while asserted and again after the guest's EOI.  ENXIO without irqchip.
 */
struct vireo_irq_line {
	__u32 pin;		/* < VIREO_IOAPIC_PINS */
	__u32 level;		/* 0 or 1 */
};

/*
 * Fast ports: 1-byte port I/O that the module completes without an exit to
 * user space, for device registers whose accesses user space can describe
 * ahead of time (a serial port's line status and transmit registers while
 * it polls: two exits per character otherwise).  docs/uapi.md, "Fast ports".
 *
 *   VIREO_PIO_FAST_IN   a 1-byte IN returns in_value
 *   VIREO_PIO_FAST_OUT  a 1-byte OUT is appended to the VM's write queue
 *                       and the guest goes on; with the queue full it
 *                       exits as usual (run->io.queued tells)
 *
 * Wider accesses, string I/O and the directions not set exit as usual.
 * flags 0 removes the port.  Records already queued stay queued.
 */
#define VIREO_MAX_FAST_PORTS	8
#define VIREO_PIO_QUEUE_LEN	1024	/* records in a VM's write queue */
#define VIREO_PIO_FAST_IN	(1U << 0)
#define VIREO_PIO_FAST_OUT	(1U << 1)
#define VIREO_PIO_FAST_ALL	(VIREO_PIO_FAST_IN | VIREO_PIO_FAST_OUT)

struct vireo_pio_fast {
	__u16 port;
	__u8  flags;		/* VIREO_PIO_FAST_*; 0 removes the port */
	__u8  in_value;		/* what an IN returns (VIREO_PIO_FAST_IN) */
	__u32 reserved;		/* must be 0 */
};

/* One queued OUT, in the order the guest executed them (VM-wide). */
struct vireo_pio_record {
	__u16 port;
	__u8  value;
	__u8  padding;
};

/*
 * Moves up to max records, oldest first, from the write queue to the array
 * at records; count says how many.  Records leave the queue only once they
 * were copied, so an -EFAULT loses nothing.
 */
struct vireo_pio_drain {
	__u64 records;		/* user address of max struct vireo_pio_record */
	__u32 max;
	__u32 count;		/* out */
};

/*
 * An eventfd the module signals when a record enters an empty write queue
 * (and at once if the queue is not empty); fd -1 removes it.
 */
struct vireo_pio_notify {
	__s32 fd;
	__u32 reserved;		/* must be 0 */
};

/*
 * The in-kernel I/O APIC of a VIREO_VM_FLAG_IRQCHIP VM (ENXIO otherwise),
 * for saving and restoring it.  GET is a snapshot; SET stores id's bits
 * 27:24, select and asserted as they are and each redirection entry without
 * delivery status (bit 12), remote IRR included, then sends for every
 * unmasked level-triggered pin that is asserted and has no remote IRR, as a
 * guest write to its entry would.  EINVAL, with nothing changed: reserved
 * not 0, asserted bits at or above VIREO_IOAPIC_PINS, select > 0xff.
 * uapi.md 5.8.
 */
struct vireo_ioapic_state {
	__u64 redir[VIREO_IOAPIC_PINS];	/* redirection table entries, incl. remote IRR (bit 14) */
	__u32 id;		/* ID register (bits 27:24) */
	__u32 select;		/* IOREGSEL */
	__u32 asserted;		/* bit n: pin n's level as last driven with VIREO_IRQ_LINE */
	__u32 reserved[5];	/* 0 */
};

/* Returns a new vCPU fd; the argument is the vCPU id (< VIREO_MAX_VCPUS). */
#define VIREO_CREATE_VCPU	_IO(VIREO_IOCTL_TYPE, 0x10)
#define VIREO_SET_CPUID		_IOW(VIREO_IOCTL_TYPE, 0x11, struct vireo_cpuid)
#define VIREO_GET_CPUID		_IOWR(VIREO_IOCTL_TYPE, 0x12, struct vireo_cpuid)
#define VIREO_GET_VM_INFO	_IOR(VIREO_IOCTL_TYPE, 0x13, struct vireo_vm_info)
#define VIREO_IRQ_LINE		_IOW(VIREO_IOCTL_TYPE, 0x14, struct vireo_irq_line)
#define VIREO_SET_PIO_FAST	_IOW(VIREO_IOCTL_TYPE, 0x15, struct vireo_pio_fast)
#define VIREO_PIO_DRAIN		_IOWR(VIREO_IOCTL_TYPE, 0x16, struct vireo_pio_drain)
#define VIREO_SET_PIO_NOTIFY	_IOW(VIREO_IOCTL_TYPE, 0x17, struct vireo_pio_notify)
#define VIREO_GET_IOAPIC	_IOR(VIREO_IOCTL_TYPE, 0x18, struct vireo_ioapic_state)
#define VIREO_SET_IOAPIC	_IOW(VIREO_IOCTL_TYPE, 0x19, struct vireo_ioapic_state)
/* Returns the host TSC frequency in kHz (guests see the same rate). */
#define VIREO_GET_TSC_KHZ	_IO(VIREO_IOCTL_TYPE, 0x03)

/*
 * The MSRs VIREO_GET_MSRS / VIREO_SET_MSRS accept, in an order in which
 * they can be restored.  On input nmsrs is the room in indices[]; on
 * output the number of MSRs, also when the call fails with E2BIG because
 * the room was too small.  reserved must be 0 (EINVAL).  uapi.md 4.3.
 */
struct vireo_msr_list {
	__u32 nmsrs;
	__u32 reserved;
	__u32 indices[];
};

#define VIREO_GET_MSR_LIST	_IOWR(VIREO_IOCTL_TYPE, 0x04, struct vireo_msr_list)

/*
 * Guest RAM: mmap(NULL, ram_bytes, PROT_READ|PROT_WRITE, MAP_SHARED, vm_fd, 0)
 * maps guest physical address 0 at the returned address.  Pages are
 * allocated on first touch by either side, so a mapping costs nothing until
 * it is used.  Offsets beyond ram_bytes fail with -EINVAL.
 */

/* ------------------------------------------------------------------ */
/* vCPU fd                                                             */
/* ------------------------------------------------------------------ */

struct vireo_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
};

struct vireo_segment {
	__u64 base;
	__u32 limit;		/* byte-granular limit (already scaled by G) */
	__u16 selector;
	__u8  type;		/* descriptor type field, 4 bits */
	__u8  s;		/* 1 = code/data, 0 = system */
	__u8  dpl;
	__u8  present;
	__u8  avl;
	__u8  l;		/* 64-bit code segment */
	__u8  db;		/* default operation size */
	__u8  g;		/* granularity */
	__u8  unusable;		/* null/unusable segment */
	__u8  padding;
};

struct vireo_dtable {
	__u64 base;
	__u16 limit;
	__u16 padding[3];
};

struct vireo_sregs {
	struct vireo_segment cs, ds, es, fs, gs, ss;
	struct vireo_segment tr, ldt;
	struct vireo_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, cr8;
	__u64 efer;
	__u64 reserved[4];
};

#define VIREO_GET_REGS		_IOR(VIREO_IOCTL_TYPE, 0x20, struct vireo_regs)
#define VIREO_SET_REGS		_IOW(VIREO_IOCTL_TYPE, 0x21, struct vireo_regs)
#define VIREO_GET_SREGS		_IOR(VIREO_IOCTL_TYPE, 0x22, struct vireo_sregs)
#define VIREO_SET_SREGS		_IOW(VIREO_IOCTL_TYPE, 0x23, struct vireo_sregs)
/*
 * Enter the guest until an exit that user space must handle.  Returns 0 with
 * the exit described in the mmap'd struct vireo_run, or -1 with errno:
 * EINTR (a signal is pending or immediate_exit is set; run->exit_reason is
 * VIREO_EXIT_INTR), EIO (the VM crashed: an earlier exit was
 * VIREO_EXIT_SHUTDOWN), EINVAL (non-zero argument).  Guest state that the
 * hardware refuses is reported as VIREO_EXIT_FAIL_ENTRY, not as an error.
 */
#define VIREO_RUN		_IO(VIREO_IOCTL_TYPE, 0x24)
/*
 * Latch an NMI for the vCPU (the "NMI button" of a management tool).  It
 * is delivered through IDT vector 2 at the next entry where NMIs are not
 * blocked, ends a HLT even with RFLAGS.IF clear, and is dropped by INIT.
 * May be called while another thread is in VIREO_RUN.  Argument must be 0.
 */
#define VIREO_NMI		_IO(VIREO_IOCTL_TYPE, 0x25)

/*
 * The local APIC of a vCPU of a VIREO_VM_FLAG_IRQCHIP VM (ENXIO otherwise).
 * regs is the xAPIC register page's first KiB, the register at offset o in
 * regs[o / 4], as the guest would read it: PPR computed, TIMER_CUR the count
 * left.  SET takes the writable bits as a guest write would and restarts the
 * timer from TIMER_CUR (one-shot, periodic) or tsc_deadline.  IA32_APIC_BASE
 * is not part of it.  reserved must be 0 (EINVAL).  uapi.md 6.5.
 */
struct vireo_lapic_state {
	__u32 regs[256];
	__u64 tsc_deadline;	/* IA32_TSC_DEADLINE, guest TSC; 0 = none */
	__u64 reserved[7];
};

#define VIREO_GET_LAPIC		_IOR(VIREO_IOCTL_TYPE, 0x26, struct vireo_lapic_state)
#define VIREO_SET_LAPIC		_IOW(VIREO_IOCTL_TYPE, 0x27, struct vireo_lapic_state)

/*
 * A vCPU's MSRs, for saving and restoring it: the header followed by nmsrs
 * entries (at most VIREO_MAX_MSR_ENTRIES), each naming an MSR of
 * VIREO_GET_MSR_LIST.  GET fills in data as the guest's RDMSR would read
 * it; SET checks every entry first (the values a guest's WRMSR could
 * write), then writes them all in order as the guest's WRMSR would: all
 * or nothing.  EINVAL: nmsrs too big, a reserved field not 0, a value
 * refused; ENOENT: an index not in the list.  uapi.md 6.6.
 */
struct vireo_msr_entry {
	__u32 index;
	__u32 reserved;		/* must be 0 */
	__u64 data;
};

struct vireo_msrs {
	__u32 nmsrs;		/* <= VIREO_MAX_MSR_ENTRIES */
	__u32 reserved;		/* must be 0 */
	struct vireo_msr_entry entries[];
};

#define VIREO_GET_MSRS		_IOWR(VIREO_IOCTL_TYPE, 0x28, struct vireo_msrs)
#define VIREO_SET_MSRS		_IOW(VIREO_IOCTL_TYPE, 0x29, struct vireo_msrs)

/*
 * A vCPU's FPU/SIMD state and XCR0, for saving and restoring it.  area is
 * the module's save area as XSAVE wrote it in the standard format under
 * the host's XCR0 (legacy region, XSAVE header at 512, each component at
 * its CPUID.(EAX=0DH,ECX=i).EBX offset), or an FXSAVE image on a host
 * without XSAVE.  GET fills in size bytes and zeroes the rest; E2BIG if
 * the host's XSAVE size exceeds VIREO_FPU_AREA_SIZE (AMX).  SET takes only
 * what GET gives on this host (size, flags), a valid xcr0, an XSTATE_BV
 * with offered components only, XCOMP_BV and the rest of the header 0, an
 * MXCSR within the CPU's MXCSR_MASK; EINVAL with nothing changed
 * otherwise.  uapi.md 6.7.
 */
#define VIREO_FPU_AREA_SIZE	4096
#define VIREO_FPU_XSAVE		(1U << 0)	/* area is an XSAVE image */

struct vireo_fpu_state {
	__u64 xcr0;		/* the guest's XCR0 */
	__u32 size;		/* bytes of area in use (XSAVE size, or 512) */
	__u32 flags;		/* VIREO_FPU_XSAVE, or 0 for an FXSAVE image */
	__u64 reserved[6];	/* 0 */
	__u8  area[VIREO_FPU_AREA_SIZE];
};

#define VIREO_GET_FPU		_IOR(VIREO_IOCTL_TYPE, 0x2a, struct vireo_fpu_state)
#define VIREO_SET_FPU		_IOW(VIREO_IOCTL_TYPE, 0x2b, struct vireo_fpu_state)

/*
 * The vCPU's last world switches, oldest first, for diagnosing a hung or
 * crashed guest (uapi.md 6.8).  Fields are the backend's raw values:
 * event_inj is SVM EVENTINJ or VMX VM-entry interruption information as
 * the entry had it (SVM, EVENTINJ empty: the virtual interrupt the guest
 * took during the run, in EVENTINJ's form), exit_code the SVM EXITCODE or VMX exit reason,
 * exit_int_info SVM EXITINTINFO or VMX IDT-vectoring information.  A
 * switch identical to the one before it only counts in that one's
 * repeats, so a guest spinning through the same exit keeps its history.
 */
#define VIREO_EXIT_TRACE_LEN	32

struct vireo_exit_trace_entry {
	__u64 entry_rip, entry_rflags;
	__u64 event_inj;
	__u64 exit_code;
	__u64 exit_int_info;
	__u64 exit_rip, exit_rflags;
	__u64 repeats;		/* identical switches right after this one */
};

struct vireo_exit_trace {
	__u32 count;		/* entries filled, <= VIREO_EXIT_TRACE_LEN */
	__u32 reserved;
	__u64 total;		/* world switches since the vCPU was created */
	struct vireo_exit_trace_entry entries[VIREO_EXIT_TRACE_LEN];
};

#define VIREO_GET_EXIT_TRACE	_IOR(VIREO_IOCTL_TYPE, 0x2c, struct vireo_exit_trace)

/* ------------------------------------------------------------------ */
/* The exit record: mmap(NULL, VIREO_GET_RUN_SIZE, ..., vcpu_fd, 0)    */
/* ------------------------------------------------------------------ */

enum vireo_exit_reason {
	VIREO_EXIT_NONE		= 0,
	VIREO_EXIT_IO		= 1,	/* port I/O, see run->io */
	VIREO_EXIT_MMIO		= 2,	/* access outside RAM, see run->mmio */
	VIREO_EXIT_HLT		= 3,	/* guest executed HLT */
	VIREO_EXIT_HYPERCALL	= 4,	/* VMMCALL / VMCALL, see run->hypercall */
	VIREO_EXIT_SHUTDOWN	= 5,	/* triple fault: VM stopped */
	VIREO_EXIT_INTR		= 6,	/* a signal interrupted RUN */
	VIREO_EXIT_UNKNOWN	= 7,	/* hardware exit the module does not handle */
	VIREO_EXIT_INTERNAL_ERROR = 8,	/* see run->internal */
	VIREO_EXIT_FAIL_ENTRY	= 9,	/* the hardware refused VM entry */
	VIREO_EXIT_STOPPED	= 10,	/* stopped by the management plane */
	VIREO_EXIT_REASON_MAX
};

#define VIREO_IO_IN		0
#define VIREO_IO_OUT		1

enum vireo_internal_error {
	VIREO_INTERNAL_DECODE	= 1,	/* MMIO instruction not decodable */
	VIREO_INTERNAL_GVA	= 2,	/* instruction fetch address not mapped */
	VIREO_INTERNAL_NOMEM	= 3,	/* host memory exhausted */
	VIREO_INTERNAL_STRING_IO = 4,	/* INS/OUTS not supported yet */
	VIREO_INTERNAL_LOST_STATE = 5,	/* the exit left no guest state: VM crashed */
};

struct vireo_run {
	/* in */
	__u8  immediate_exit;	/* if set, RUN returns -EINTR at once */
	__u8  padding1[7];
	/* out */
	__u32 exit_reason;	/* enum vireo_exit_reason */
	__u32 padding2;
	__u64 rip;		/* guest RIP at the exit */
	__u64 exit_count;	/* exits taken by this vCPU so far */
	union {
		/*
		 * VIREO_EXIT_IO: for OUT, data holds the value written; for
		 * IN, user space stores the value in data before the next RUN.
		 * queued: records in the VM's fast-port write queue at this
		 * exit, all written before this access; a VMM drains them
		 * first to keep the guest's order (0 without fast ports).
		 */
		struct {
			__u8  direction;	/* VIREO_IO_IN / VIREO_IO_OUT */
			__u8  size;		/* 1, 2 or 4 */
			__u16 port;
			__u32 queued;
			__u64 data;
		} io;
		/*
		 * VIREO_EXIT_MMIO: for writes, data holds the value written;
		 * for reads, user space stores the value in data before the
		 * next RUN, and the module completes the instruction.
		 */
		struct {
			__u64 gpa;
			__u64 data;
			__u8  len;		/* 1, 2, 4 or 8 */
			__u8  is_write;
			__u8  padding[6];
		} mmio;
		/*
		 * VIREO_EXIT_HYPERCALL: nr = RAX, args = RBX, RCX, RDX, RSI,
		 * RDI.  User space stores the result in ret; it is returned in
		 * guest RAX on the next RUN.
		 */
		struct {
			__u64 nr;
			__u64 args[5];
			__u64 ret;
		} hypercall;
		/* VIREO_EXIT_UNKNOWN / VIREO_EXIT_FAIL_ENTRY / SHUTDOWN */
		struct {
			__u64 hw_exit_code;	/* VMCB EXITCODE / VMX exit reason */
			__u64 info1;		/* EXITINFO1 / exit qualification */
			__u64 info2;		/* EXITINFO2 */
			__u64 int_info;		/* EXITINTINFO */
		} hw;
		/* VIREO_EXIT_INTERNAL_ERROR */
		struct {
			__u32 suberror;		/* enum vireo_internal_error */
			__u32 ninsn;		/* valid bytes in insn */
			__u64 gpa;
			__u8  insn[16];
		} internal;
		__u8 raw[256];
	};
};

#endif /* _UAPI_VIREO_H */
