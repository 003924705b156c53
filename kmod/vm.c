// SPDX-License-Identifier: GPL-2.0
/*
 * VM objects: creation from /dev/vireo, the VM fd (vCPU creation, CPUID
 * policy, info, mmap of guest RAM), reference counting and destruction.
 */
#include <linux/module.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/tsc.h>

#include "vireo_core.h"

DEFINE_MUTEX(vireo_vm_list_lock);
LIST_HEAD(vireo_vm_list);
/*
 * VM ids are never reused while the module is loaded, so the list (kept in
 * creation order) is also in id order and a netlink dump can resume after
 * the last id it sent without skipping anyone.
 */
static atomic64_t vireo_vm_last_id = ATOMIC64_INIT(0);

static void vireo_vm_destroy(struct kref *ref)
{
	struct vireo_vm *vm = container_of(ref, struct vireo_vm, ref);
	u32 i;

	mutex_lock(&vireo_vm_list_lock);
	list_del(&vm->node);
	mutex_unlock(&vireo_vm_list_lock);

	vireo_netlink_event(vm, VIREO_NL_EVENT_VM_DESTROYED);

	for (i = 0; i < VIREO_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			vireo_vcpu_free(vm->vcpus[i]);

	vireo_ops->vm_destroy(vm);
	vireo_ioapic_free(vm);
	vireo_pio_free(vm);
	vireo_tdp_free(vm);
	vireo_mem_free(vm);
	kfree(vm->cpuid);
	atomic_dec(&vireo_vms_live);
	kfree(vm);
}

void vireo_vm_put(struct vireo_vm *vm)
{
	kref_put(&vm->ref, vireo_vm_destroy);
}

/* Look a VM up by id for the management plane; caller puts the reference. */
struct vireo_vm *vireo_vm_get_by_id(u32 id)
{
	struct vireo_vm *vm, *found = NULL;

	mutex_lock(&vireo_vm_list_lock);
	list_for_each_entry(vm, &vireo_vm_list, node) {
		if (vm->id == id && kref_get_unless_zero(&vm->ref)) {
			found = vm;
			break;
		}
	}
	mutex_unlock(&vireo_vm_list_lock);
	return found;
}

void vireo_vm_set_state(struct vireo_vm *vm, enum vireo_vm_state state)
{
	int old = atomic_cmpxchg(&vm->state, VIREO_VM_STATE_RUNNABLE, state);

	if (old != VIREO_VM_STATE_RUNNABLE)
		return;
	vireo_vm_wake_all(vm);
	vireo_netlink_event(vm, state == VIREO_VM_STATE_CRASHED ?
			    VIREO_NL_EVENT_VM_CRASHED :
			    VIREO_NL_EVENT_VM_STOPPED);
}

static long vireo_vm_set_cpuid(void *obj, unsigned long arg)
{
	struct vireo_vm *vm = obj;
	void __user *argp = (void __user *)arg;
	struct vireo_cpuid hdr;
	struct vireo_cpuid_entry *entries = NULL;
	u32 i;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.reserved)
		return -EINVAL;
	if (hdr.nent > VIREO_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (hdr.nent) {
		entries = memdup_user(argp + sizeof(hdr),
				      array_size(hdr.nent, sizeof(*entries)));
		if (IS_ERR(entries))
			return PTR_ERR(entries);
	}
	for (i = 0; i < hdr.nent; i++) {
		if (entries[i].reserved ||
		    (entries[i].flags & ~VIREO_CPUID_FLAG_SIGNIFICANT_INDEX)) {
			kfree(entries);
			return -EINVAL;
		}
	}

	mutex_lock(&vm->lock);
	swap(vm->cpuid, entries);
	vm->cpuid_nent = hdr.nent;
	mutex_unlock(&vm->lock);
	kfree(entries);
	return 0;
}

static long vireo_vm_get_cpuid(void *obj, unsigned long arg)
{
	struct vireo_vm *vm = obj;
	void __user *argp = (void __user *)arg;
	struct vireo_cpuid hdr;
	long ret = 0;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.reserved)
		return -EINVAL;

	mutex_lock(&vm->lock);
	if (hdr.nent < vm->cpuid_nent) {
		ret = -E2BIG;
	} else if (vm->cpuid_nent &&
		   copy_to_user(argp + sizeof(hdr), vm->cpuid,
				vm->cpuid_nent * sizeof(*vm->cpuid))) {
		ret = -EFAULT;
	}
	hdr.nent = vm->cpuid_nent;
	mutex_unlock(&vm->lock);

	if (ret != -EFAULT && copy_to_user(argp, &hdr, sizeof(hdr)))
		ret = -EFAULT;
	return ret;
}

static long vireo_vm_get_info(void *obj, unsigned long arg)
{
	struct vireo_vm *vm = obj;
	struct vireo_vm_info info = {
		.vm_id = vm->id,
		.nr_vcpus = READ_ONCE(vm->nr_vcpus),
		.ram_bytes = vm->ram_bytes,
		.pages_present = atomic64_read(&vm->pages_present),
	};

	return copy_to_user((void __user *)arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long vireo_vm_irq_line(void *obj, unsigned long arg)
{
	struct vireo_irq_line line;

	if (copy_from_user(&line, (void __user *)arg, sizeof(line)))
		return -EFAULT;
	if (line.level > 1)
		return -EINVAL;
	return vireo_ioapic_set_irq(obj, line.pin, line.level);
}

static long vireo_vm_get_ioapic(void *obj, unsigned long arg)
{
	struct vireo_ioapic_state s;
	long ret;

	ret = vireo_ioapic_get_state(obj, &s);
	if (!ret && copy_to_user((void __user *)arg, &s, sizeof(s)))
		ret = -EFAULT;
	return ret;
}

static long vireo_vm_set_ioapic(void *obj, unsigned long arg)
{
	struct vireo_ioapic_state s;

	if (copy_from_user(&s, (void __user *)arg, sizeof(s)))
		return -EFAULT;
	return vireo_ioapic_set_state(obj, &s);
}

static long vireo_vm_set_pio_fast(void *obj, unsigned long arg)
{
	struct vireo_pio_fast req;

	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	return vireo_pio_set_port(obj, &req);
}

static long vireo_vm_pio_drain(void *obj, unsigned long arg)
{
	return vireo_pio_drain(obj, (struct vireo_pio_drain __user *)arg);
}

static long vireo_vm_set_pio_notify(void *obj, unsigned long arg)
{
	struct vireo_pio_notify req;

	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	return vireo_pio_set_notify(obj, &req);
}

static long vireo_vm_create_vcpu(void *obj, unsigned long arg)
{
	return vireo_vcpu_create(obj, arg);
}

/* VM-fd commands take vm->lock themselves, around the shared state only. */
static const struct vireo_ioctl_desc vireo_vm_ioctls[] = {
	{ VIREO_CREATE_VCPU,	0, vireo_vm_create_vcpu },
	{ VIREO_SET_CPUID,	0, vireo_vm_set_cpuid },
	{ VIREO_GET_CPUID,	0, vireo_vm_get_cpuid },
	{ VIREO_GET_VM_INFO,	0, vireo_vm_get_info },
	{ VIREO_IRQ_LINE,	0, vireo_vm_irq_line },
	{ VIREO_SET_PIO_FAST,	0, vireo_vm_set_pio_fast },
	{ VIREO_PIO_DRAIN,	0, vireo_vm_pio_drain },
	{ VIREO_SET_PIO_NOTIFY,	0, vireo_vm_set_pio_notify },
	{ VIREO_GET_IOAPIC,	0, vireo_vm_get_ioapic },
	{ VIREO_SET_IOAPIC,	0, vireo_vm_set_ioapic },
};

static long vireo_vm_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	return vireo_ioctl_dispatch(vireo_vm_ioctls,
				    ARRAY_SIZE(vireo_vm_ioctls),
				    file->private_data, NULL, cmd, arg);
}

static int vireo_vm_mmap(struct file *file, struct vm_area_struct *vma)
{
	return vireo_mem_mmap(file->private_data, vma);
}

static int vireo_vm_release(struct inode *inode, struct file *file)
{
	vireo_vm_put(file->private_data);
	return 0;
}

static const struct file_operations vireo_vm_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= vireo_vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vireo_vm_mmap,
	.release	= vireo_vm_release,
	.llseek		= noop_llseek,
};

long vireo_dev_create_vm(unsigned long arg)
{
	struct vireo_vm_config cfg;
	struct vireo_vm *vm;
	struct file *file;
	int ret, fd;
	s64 id;

	if (copy_from_user(&cfg, (void __user *)arg, sizeof(cfg)))
		return -EFAULT;
	if ((cfg.flags & ~VIREO_VM_FLAGS_ALL) || cfg.reserved)
		return -EINVAL;
	if (cfg.ram_bytes < VIREO_MIN_RAM_BYTES ||
	    cfg.ram_bytes > VIREO_MAX_RAM_BYTES ||
	    !PAGE_ALIGNED(cfg.ram_bytes))
		return -EINVAL;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;

	id = atomic64_inc_return(&vireo_vm_last_id);
	if (id > U32_MAX) {	/* 2^32 VMs created: refuse rather than reuse */
		ret = -ENOSPC;
		goto free_vm;
	}
	vm->id = id;
	vm->owner_pid = task_tgid_nr(current);
	vm->ram_bytes = cfg.ram_bytes;
	vm->flags = cfg.flags;
	vm->nr_pages = cfg.ram_bytes >> PAGE_SHIFT;
	kref_init(&vm->ref);
	INIT_LIST_HEAD(&vm->node);
	mutex_init(&vm->lock);
	mutex_init(&vm->mmu_lock);
	vireo_pio_init(vm);
	xa_init(&vm->pages);
	atomic_set(&vm->state, VIREO_VM_STATE_RUNNABLE);
	vm->tsc_offset = -(s64)rdtsc();		/* the guest TSC starts at 0 */

	ret = vireo_tdp_init(vm);
	if (ret)
		goto free_vm;
	if (vm->flags & VIREO_VM_FLAG_IRQCHIP) {
		ret = vireo_ioapic_create(vm);
		if (ret)
			goto free_tdp;
	}
	ret = vireo_ops->vm_init(vm);
	if (ret)
		goto free_ioapic;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto destroy_backend;
	}
	file = anon_inode_getfile("vireo-vm", &vireo_vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto put_fd;
	}

	atomic_inc(&vireo_vms_live);
	atomic64_inc(&vireo_vms_created);
	mutex_lock(&vireo_vm_list_lock);
	list_add_tail(&vm->node, &vireo_vm_list);
	mutex_unlock(&vireo_vm_list_lock);
	vireo_netlink_event(vm, VIREO_NL_EVENT_VM_CREATED);
	/* Only now may user space see the fd (and close it). */
	fd_install(fd, file);
	return fd;

put_fd:
	put_unused_fd(fd);
destroy_backend:
	vireo_ops->vm_destroy(vm);
free_ioapic:
	vireo_ioapic_free(vm);
free_tdp:
	vireo_tdp_free(vm);
free_vm:
	kfree(vm);
	return ret;
}
