// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU objects: the vCPU fd (registers, RUN, mmap of the exit record) and
 * the run loop shared by all backends.
 */
#include <linux/module.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vireo_core.h"

static_assert(sizeof(struct vireo_run) <= PAGE_SIZE);

/*
 * RFLAGS bits user space may set: the architectural flags 0..21 less the
 * reserved bits 3, 5, 15 and less VM (17), VIF (19) and VIP (20), which
 * need virtual-8086 support Vireo does not have.
 */
#define VIREO_RFLAGS_FIXED1	BIT(1)
#define VIREO_RFLAGS_ALLOWED	0x00257fd7UL

void vireo_count(struct vireo_vcpu *vcpu, unsigned int stat)
{
	if (!WARN_ON_ONCE(stat >= VIREO_STAT_MAX))
		atomic64_inc(&vcpu->stats[stat]);
}

/* Make a vCPU that is inside RUN come back to its loop promptly. */
void vireo_vcpu_kick(struct vireo_vcpu *vcpu)
{
	struct task_struct *task;

	rcu_read_lock();
	task = READ_ONCE(vcpu->run_task);
	if (task)
		kick_process(task);	/* IPI forces an INTR exit */
	rcu_read_unlock();
}

/* Something may be due for a sleeping or running vCPU: get it moving. */
void vireo_vcpu_wake(struct vireo_vcpu *vcpu)
{
	wake_up(&vcpu->wq);
	vireo_vcpu_kick(vcpu);
}

void vireo_vcpu_request_init(struct vireo_vcpu *vcpu)
{
	set_bit(VIREO_REQ_INIT, &vcpu->requests);
	vireo_vcpu_wake(vcpu);
}

void vireo_vcpu_request_sipi(struct vireo_vcpu *vcpu, u8 vector)
{
	WRITE_ONCE(vcpu->sipi_vector, vector);
	smp_wmb();		/* the vector before the request bit */
	set_bit(VIREO_REQ_SIPI, &vcpu->requests);
	vireo_vcpu_wake(vcpu);
}

/*
 * Latch an NMI: from the LAPIC (ICR delivery mode NMI) or VIREO_NMI.  NMIs
 * are edge-triggered; while one is blocked a second is held and any more
 * are lost (SDM vol. 3A, 6.7.1), so the latch is one bit.  A vCPU waiting
 * for SIPI ignores it until INIT clears it.
 */
void vireo_vcpu_queue_nmi(struct vireo_vcpu *vcpu)
{
	atomic_set(&vcpu->nmi_pending, 1);
	vireo_vcpu_wake(vcpu);
}

static bool vireo_vcpu_nmi_wakes(struct vireo_vcpu *vcpu)
{
	return READ_ONCE(vcpu->activity) == VIREO_HALTED &&
	       atomic_read(&vcpu->nmi_pending);
}

/* INIT: RESET state, LAPIC reset, then wait for a SIPI (SDM 8.4.1). */
static void vireo_vcpu_do_init(struct vireo_vcpu *vcpu)
{
	atomic_set(&vcpu->nmi_pending, 0);
	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	/* DR0-DR3 0, DR6 FFFF0FF0h, DR7 400h after INIT as after RESET (9.1.1). */
	memset(vcpu->dr, 0, sizeof(vcpu->dr));
	vcpu->dr6 = 0xffff0ff0;
	vcpu->dr7 = 0x400;
	vireo_ops->reset(vcpu);
	vireo_lapic_reset(vcpu);
	vcpu->pending = VIREO_PENDING_NONE;
	vcpu->activity = VIREO_WAIT_SIPI;
}

/* SIPI: start in real mode at vector * 4 KiB (SDM 8.4.4.1). */
static void vireo_vcpu_do_sipi(struct vireo_vcpu *vcpu, u8 vector)
{
	struct vireo_sregs sregs = {};

	vireo_ops->get_sregs(vcpu, &sregs);
	sregs.cs.selector = vector << 8;
	sregs.cs.base = (u64)vector << 12;
	if (WARN_ON_ONCE(vireo_ops->set_sregs(vcpu, &sregs)))
		return;
	vcpu->rip = 0;
	vcpu->activity = VIREO_ACTIVE;
}

static void vireo_vcpu_handle_requests(struct vireo_vcpu *vcpu)
{
	if (test_and_clear_bit(VIREO_REQ_INIT, &vcpu->requests))
		vireo_vcpu_do_init(vcpu);
	if (test_and_clear_bit(VIREO_REQ_SIPI, &vcpu->requests)) {
		smp_rmb();	/* pairs with smp_wmb() in vireo_vcpu_request_sipi() */
		if (vcpu->activity == VIREO_WAIT_SIPI)
			vireo_vcpu_do_sipi(vcpu, READ_ONCE(vcpu->sipi_vector));
	}
}

/*
 * Parked for good: halted with interrupts off and no NMI latched, or
 * waiting for a SIPI.  Only another vCPU's INIT/SIPI or an NMI can wake it.
 */
static bool vireo_vcpu_parked(struct vireo_vcpu *vcpu)
{
	enum vireo_activity act = READ_ONCE(vcpu->activity);

	return act == VIREO_WAIT_SIPI ||
	       (act == VIREO_HALTED && !(READ_ONCE(vcpu->rflags) & X86_EFLAGS_IF) &&
		!atomic_read(&vcpu->nmi_pending));
}

/*
 * Every vCPU parked: nothing in the VM can run again (the guest executed
 * cli;hlt everywhere, as Linux does to power off without ACPI).  Each
 * vCPU's RUN then reports VIREO_EXIT_HLT.
 */
static bool vireo_vm_all_parked(struct vireo_vm *vm)
{
	u32 i, n = 0;

	for (i = 0; i < VIREO_MAX_VCPUS; i++) {
		struct vireo_vcpu *vcpu = READ_ONCE(vm->vcpus[i]);

		if (!vcpu)
			continue;
		if (!vireo_vcpu_parked(vcpu))
			return false;
		n++;
	}
	return n > 0;
}

/* Every vCPU, running or asleep in HLT / wait-for-SIPI, re-checks its state. */
void vireo_vm_wake_all(struct vireo_vm *vm)
{
	u32 i;

	for (i = 0; i < VIREO_MAX_VCPUS; i++) {
		struct vireo_vcpu *vcpu = READ_ONCE(vm->vcpus[i]);

		if (vcpu)
			vireo_vcpu_wake(vcpu);
	}
}

/* An NMI, or an interrupt the guest can take now, ends HLT (SDM 10.8.6). */
static bool vireo_vcpu_can_wake(struct vireo_vcpu *vcpu)
{
	if (READ_ONCE(vcpu->requests) || signal_pending(current) ||
	    atomic_read(&vcpu->vm->state) != VIREO_VM_STATE_RUNNABLE ||
	    vireo_vm_all_parked(vcpu->vm) || vireo_vcpu_nmi_wakes(vcpu))
		return true;
	if (vcpu->activity == VIREO_HALTED)
		return (vcpu->rflags & X86_EFLAGS_IF) &&
		       vireo_lapic_pending(vcpu) >= 0;
	return false;
}

/*
 * Sleep while halted or waiting for SIPI.  Returns 1 to go on, 0 when the
 * whole VM is parked for good (report HLT), -EINTR on a signal.
 */
static int vireo_vcpu_block(struct vireo_vcpu *vcpu)
{
	/* Our parking may complete the set: let the others re-check. */
	if (vireo_vcpu_parked(vcpu))
		vireo_vm_wake_all(vcpu->vm);

	while (vcpu->activity != VIREO_ACTIVE) {
		if (vireo_vm_all_parked(vcpu->vm))
			return 0;
		if (wait_event_interruptible(vcpu->wq, vireo_vcpu_can_wake(vcpu)))
			return -EINTR;
		if (atomic_read(&vcpu->vm->state) != VIREO_VM_STATE_RUNNABLE)
			return 1;
		vireo_vcpu_handle_requests(vcpu);
		if (vireo_vcpu_nmi_wakes(vcpu) ||
		    (vcpu->activity == VIREO_HALTED &&
		     (vcpu->rflags & X86_EFLAGS_IF) &&
		     vireo_lapic_pending(vcpu) >= 0))
			vcpu->activity = VIREO_ACTIVE;
		if (signal_pending(current))
			return -EINTR;
	}
	return 1;
}

static void vireo_get_regs(struct vireo_vcpu *vcpu, struct vireo_regs *r)
{
	const unsigned long *g = vcpu->regs;

	r->rax = g[VCPU_RAX]; r->rbx = g[VCPU_RBX];
	r->rcx = g[VCPU_RCX]; r->rdx = g[VCPU_RDX];
	r->rsi = g[VCPU_RSI]; r->rdi = g[VCPU_RDI];
	r->rsp = g[VCPU_RSP]; r->rbp = g[VCPU_RBP];
	r->r8 = g[VCPU_R8];   r->r9 = g[VCPU_R9];
	r->r10 = g[VCPU_R10]; r->r11 = g[VCPU_R11];
	r->r12 = g[VCPU_R12]; r->r13 = g[VCPU_R13];
	r->r14 = g[VCPU_R14]; r->r15 = g[VCPU_R15];
	r->rip = vcpu->rip;
	r->rflags = vcpu->rflags;
}

static int vireo_set_regs(struct vireo_vcpu *vcpu, const struct vireo_regs *r)
{
	unsigned long *g = vcpu->regs;

	if (r->rflags & ~VIREO_RFLAGS_ALLOWED)
		return -EINVAL;

	g[VCPU_RAX] = r->rax; g[VCPU_RBX] = r->rbx;
	g[VCPU_RCX] = r->rcx; g[VCPU_RDX] = r->rdx;
	g[VCPU_RSI] = r->rsi; g[VCPU_RDI] = r->rdi;
	g[VCPU_RSP] = r->rsp; g[VCPU_RBP] = r->rbp;
	g[VCPU_R8] = r->r8;   g[VCPU_R9] = r->r9;
	g[VCPU_R10] = r->r10; g[VCPU_R11] = r->r11;
	g[VCPU_R12] = r->r12; g[VCPU_R13] = r->r13;
	g[VCPU_R14] = r->r14; g[VCPU_R15] = r->r15;
	vcpu->rip = r->rip;
	vcpu->rflags = r->rflags | VIREO_RFLAGS_FIXED1;
	/*
	 * User space took over the register state: nothing left to finish,
	 * and a vCPU halted in the kernel resumes at the new RIP.
	 */
	vcpu->pending = VIREO_PENDING_NONE;
	if (vcpu->activity == VIREO_HALTED)
		vcpu->activity = VIREO_ACTIVE;
	return 0;
}

static int vireo_vcpu_run(struct vireo_vcpu *vcpu)
{
	struct vireo_run *run = vcpu->run;
	struct vireo_vm *vm = vcpu->vm;
	int ret;

	switch (atomic_read(&vm->state)) {
	case VIREO_VM_STATE_CRASHED:
		return -EIO;
	case VIREO_VM_STATE_STOPPED:
		run->exit_reason = VIREO_EXIT_STOPPED;
		return 0;
	}

	vireo_complete_pending(vcpu);
	WRITE_ONCE(vcpu->run_task, current);

	for (;;) {
		if (READ_ONCE(run->immediate_exit) || signal_pending(current)) {
			run->exit_reason = VIREO_EXIT_INTR;
			vireo_count(vcpu, VIREO_EXIT_INTR);
			ret = -EINTR;
			break;
		}
		if (atomic_read(&vm->state) != VIREO_VM_STATE_RUNNABLE) {
			run->exit_reason = VIREO_EXIT_STOPPED;
			vireo_count(vcpu, VIREO_EXIT_STOPPED);
			ret = 0;
			break;
		}
		vireo_vcpu_handle_requests(vcpu);
		if (vcpu->activity != VIREO_ACTIVE) {
			if (vcpu->activity == VIREO_HALTED)
				vireo_count(vcpu, VIREO_STAT_HALT_SLEEP);
			if (vireo_vcpu_block(vcpu) == 0) {
				/* The VM halted for good; the vCPU stays parked. */
				run->exit_reason = VIREO_EXIT_HLT;
				run->rip = vcpu->rip;
				run->exit_count++;
				vireo_count(vcpu, VIREO_EXIT_HLT);
				ret = 0;
				break;
			}
			continue;	/* re-check signals and VM state */
		}
		cond_resched();

		ret = vireo_ops->run(vcpu);
		if (ret == VIREO_RESUME)
			continue;
		if (ret == VIREO_TO_USER) {
			run->rip = vcpu->rip;
			run->exit_count++;
			if (run->exit_reason < VIREO_EXIT_REASON_MAX)
				vireo_count(vcpu, run->exit_reason);
		}
		break;
	}

	WRITE_ONCE(vcpu->run_task, NULL);
	return ret;
}

static long vireo_ioctl_get_regs(void *obj, unsigned long arg)
{
	struct vireo_regs regs = {};

	vireo_get_regs(obj, &regs);
	return copy_to_user((void __user *)arg, &regs, sizeof(regs)) ? -EFAULT : 0;
}

static long vireo_ioctl_set_regs(void *obj, unsigned long arg)
{
	struct vireo_regs regs;

	if (copy_from_user(&regs, (void __user *)arg, sizeof(regs)))
		return -EFAULT;
	return vireo_set_regs(obj, &regs);
}

/* With a LAPIC, sregs.cr8 is its TPR class (vireo_lapic_get_cr8()). */
static long vireo_ioctl_get_sregs(void *obj, unsigned long arg)
{
	struct vireo_vcpu *vcpu = obj;
	struct vireo_sregs sregs = {};

	vireo_ops->get_sregs(vcpu, &sregs);
	if (vcpu->lapic)
		sregs.cr8 = vireo_lapic_get_cr8(vcpu);
	return copy_to_user((void __user *)arg, &sregs, sizeof(sregs)) ? -EFAULT : 0;
}

static long vireo_ioctl_set_sregs(void *obj, unsigned long arg)
{
	struct vireo_vcpu *vcpu = obj;
	struct vireo_sregs sregs;
	int ret;

	if (copy_from_user(&sregs, (void __user *)arg, sizeof(sregs)))
		return -EFAULT;
	ret = vireo_ops->set_sregs(vcpu, &sregs);
	if (!ret && vcpu->lapic)
		vireo_lapic_set_cr8(vcpu, sregs.cr8);
	return ret;
}

static long vireo_ioctl_get_lapic(void *obj, unsigned long arg)
{
	struct vireo_lapic_state *s = kmalloc(sizeof(*s), GFP_KERNEL);
	long ret;

	if (!s)
		return -ENOMEM;
	ret = vireo_lapic_get_state(obj, s);
	if (!ret && copy_to_user((void __user *)arg, s, sizeof(*s)))
		ret = -EFAULT;
	kfree(s);
	return ret;
}

static long vireo_ioctl_set_lapic(void *obj, unsigned long arg)
{
	struct vireo_lapic_state *s = memdup_user((void __user *)arg, sizeof(*s));
	long ret;

	if (IS_ERR(s))
		return PTR_ERR(s);
	ret = vireo_lapic_set_state(obj, s);
	kfree(s);
	return ret;
}

static long vireo_ioctl_get_msrs(void *obj, unsigned long arg)
{
	return vireo_msr_get_state(obj, (struct vireo_msrs __user *)arg);
}

static long vireo_ioctl_set_msrs(void *obj, unsigned long arg)
{
	return vireo_msr_set_state(obj, (struct vireo_msrs __user *)arg);
}

/* The struct is over 4 KiB: on the heap, not the stack. */
static long vireo_ioctl_get_fpu(void *obj, unsigned long arg)
{
	struct vireo_fpu_state *s = kmalloc(sizeof(*s), GFP_KERNEL);
	long ret;

	if (!s)
		return -ENOMEM;
	ret = vireo_fpu_get_state(obj, s);
	if (!ret && copy_to_user((void __user *)arg, s, sizeof(*s)))
		ret = -EFAULT;
	kfree(s);
	return ret;
}

static long vireo_ioctl_set_fpu(void *obj, unsigned long arg)
{
	struct vireo_fpu_state *s = memdup_user((void __user *)arg, sizeof(*s));
	long ret;

	if (IS_ERR(s))
		return PTR_ERR(s);
	ret = vireo_fpu_set_state(obj, s);
	kfree(s);
	return ret;
}

/* The trace ring, oldest entry first. */
static long vireo_ioctl_get_exit_trace(void *obj, unsigned long arg)
{
	struct vireo_vcpu *vcpu = obj;
	struct vireo_exit_trace *t = kzalloc(sizeof(*t), GFP_KERNEL);
	u32 i, n = min_t(u64, vcpu->trace_records, VIREO_EXIT_TRACE_LEN);
	long ret = 0;

	if (!t)
		return -ENOMEM;
	t->count = n;
	t->total = vcpu->trace_switches;
	for (i = 0; i < n; i++)
		t->entries[i] = vcpu->trace[(vcpu->trace_records - n + i) % VIREO_EXIT_TRACE_LEN];
	if (copy_to_user((void __user *)arg, t, sizeof(*t)))
		ret = -EFAULT;
	kfree(t);
	return ret;
}

static long vireo_ioctl_run(void *obj, unsigned long arg)
{
	return arg ? -EINVAL : vireo_vcpu_run(obj);
}

/* Every vCPU command runs under vcpu->mutex. */
static long vireo_ioctl_nmi(void *obj, unsigned long arg)
{
	if (arg)
		return -EINVAL;
	vireo_vcpu_queue_nmi(obj);
	return 0;
}

static const struct vireo_ioctl_desc vireo_vcpu_ioctls[] = {
	{ VIREO_GET_REGS,	VIREO_IOCTL_LOCKED, vireo_ioctl_get_regs },
	{ VIREO_SET_REGS,	VIREO_IOCTL_LOCKED, vireo_ioctl_set_regs },
	{ VIREO_GET_SREGS,	VIREO_IOCTL_LOCKED, vireo_ioctl_get_sregs },
	{ VIREO_SET_SREGS,	VIREO_IOCTL_LOCKED, vireo_ioctl_set_sregs },
	{ VIREO_GET_LAPIC,	VIREO_IOCTL_LOCKED, vireo_ioctl_get_lapic },
	{ VIREO_SET_LAPIC,	VIREO_IOCTL_LOCKED, vireo_ioctl_set_lapic },
	{ VIREO_GET_MSRS,	VIREO_IOCTL_LOCKED, vireo_ioctl_get_msrs },
	{ VIREO_SET_MSRS,	VIREO_IOCTL_LOCKED, vireo_ioctl_set_msrs },
	{ VIREO_GET_FPU,	VIREO_IOCTL_LOCKED, vireo_ioctl_get_fpu },
	{ VIREO_SET_FPU,	VIREO_IOCTL_LOCKED, vireo_ioctl_set_fpu },
	{ VIREO_GET_EXIT_TRACE,	VIREO_IOCTL_LOCKED, vireo_ioctl_get_exit_trace },
	{ VIREO_RUN,		VIREO_IOCTL_LOCKED, vireo_ioctl_run },
	/* Unlocked: it must reach a vCPU that sits in RUN. */
	{ VIREO_NMI,		0,		    vireo_ioctl_nmi },
};

static long vireo_vcpu_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct vireo_vcpu *vcpu = file->private_data;

	return vireo_ioctl_dispatch(vireo_vcpu_ioctls,
				    ARRAY_SIZE(vireo_vcpu_ioctls), vcpu,
				    &vcpu->mutex, cmd, arg);
}

static vm_fault_t vireo_run_fault(struct vm_fault *vmf)
{
	struct vireo_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff != 0)
		return VM_FAULT_SIGBUS;
	page = virt_to_page(vcpu->run);
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct vireo_run_vm_ops = {
	.fault = vireo_run_fault,
};

static int vireo_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (vma->vm_pgoff != 0 || vma_pages(vma) != 1)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	vma->vm_flags |= VM_DONTEXPAND;
	vma->vm_ops = &vireo_run_vm_ops;
	return 0;
}

static int vireo_vcpu_release(struct inode *inode, struct file *file)
{
	struct vireo_vcpu *vcpu = file->private_data;

	vireo_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations vireo_vcpu_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= vireo_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vireo_vcpu_mmap,
	.release	= vireo_vcpu_release,
	.llseek		= noop_llseek,
};

void vireo_vcpu_free(struct vireo_vcpu *vcpu)
{
	vireo_lapic_free(vcpu);
	vireo_ops->vcpu_free(vcpu);
	vireo_fpu_free(vcpu);
	free_page((unsigned long)vcpu->run);
	kfree(vcpu);
}

int vireo_vcpu_create(struct vireo_vm *vm, unsigned long id)
{
	struct vireo_vcpu *vcpu;
	struct file *file;
	int ret, fd;

	if (id >= VIREO_MAX_VCPUS)
		return -EINVAL;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	mutex_init(&vcpu->mutex);
	vcpu->rflags = VIREO_RFLAGS_FIXED1;
	vcpu->tsc_offset = vm->tsc_offset;	/* one guest TSC for all vCPUs */
	vcpu->dr6 = 0xffff0ff0;
	vcpu->dr7 = 0x400;
	vireo_msr_reset(vcpu);

	ret = -ENOMEM;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run)
		goto free_vcpu;
	ret = vireo_fpu_init(vcpu);
	if (ret)
		goto free_run;

	ret = vireo_ops->vcpu_create(vcpu);
	if (ret)
		goto free_fpu;
	init_waitqueue_head(&vcpu->wq);
	if (vm->flags & VIREO_VM_FLAG_IRQCHIP) {
		ret = vireo_lapic_create(vcpu);
		if (ret)
			goto free_backend;
		/* Application processors wait for INIT-SIPI-SIPI (8.4). */
		if (id != 0)
			vcpu->activity = VIREO_WAIT_SIPI;
	}

	mutex_lock(&vm->lock);
	if (vm->vcpus[id]) {
		ret = -EEXIST;
		goto unlock;
	}
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto unlock;
	}
	file = anon_inode_getfile("vireo-vcpu", &vireo_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		ret = PTR_ERR(file);
		goto unlock;
	}
	kref_get(&vm->ref);		/* dropped by vireo_vcpu_release */
	vm->vcpus[id] = vcpu;
	WRITE_ONCE(vm->nr_vcpus, vm->nr_vcpus + 1);
	mutex_unlock(&vm->lock);
	fd_install(fd, file);
	return fd;

unlock:
	mutex_unlock(&vm->lock);
	vireo_lapic_free(vcpu);
free_backend:
	vireo_ops->vcpu_free(vcpu);
free_fpu:
	vireo_fpu_free(vcpu);
free_run:
	free_page((unsigned long)vcpu->run);
free_vcpu:
	kfree(vcpu);
	return ret;
}
