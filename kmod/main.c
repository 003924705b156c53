// SPDX-License-Identifier: GPL-2.0
/*
 * Vireo module entry: pick the backend once, enable virtualization on every
 * CPU through CPU-hotplug callbacks, register /dev/vireo and the netlink
 * family.  Unload is refused while any VM exists because every VM and vCPU
 * fd pins the module (their file_operations have .owner = THIS_MODULE).
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/cpuhotplug.h>
#include <asm/processor.h>
#include <asm/tsc.h>

#include "vireo_core.h"

const struct vireo_backend_ops *vireo_ops;

atomic64_t vireo_guest_pages = ATOMIC64_INIT(0);
atomic64_t vireo_table_pages = ATOMIC64_INIT(0);
atomic64_t vireo_vms_created = ATOMIC64_INIT(0);
atomic_t vireo_vms_live = ATOMIC_INIT(0);

static enum cpuhp_state vireo_cpuhp_state;

long vireo_ioctl_dispatch(const struct vireo_ioctl_desc *table,
			  unsigned int n, void *obj, struct mutex *lock,
			  unsigned int cmd, unsigned long arg)
{
	const struct vireo_ioctl_desc *desc = NULL;
	unsigned int i;
	long ret;

	for (i = 0; i < n; i++) {
		if (table[i].cmd == cmd) {
			desc = &table[i];
			break;
		}
	}
	if (!desc)
		return -ENOTTY;
	if (!(desc->flags & VIREO_IOCTL_LOCKED))
		return desc->handler(obj, arg);
	if (WARN_ON_ONCE(!lock))
		return -EINVAL;
	if (mutex_lock_killable(lock))
		return -EINTR;
	ret = desc->handler(obj, arg);
	mutex_unlock(lock);
	return ret;
}

static long vireo_dev_api_version(void *unused, unsigned long arg)
{
	return arg ? -EINVAL : VIREO_API_VERSION;
}

static long vireo_dev_run_size(void *unused, unsigned long arg)
{
	return arg ? -EINVAL : PAGE_SIZE;
}

static long vireo_dev_tsc_khz(void *unused, unsigned long arg)
{
	return arg ? -EINVAL : (long)tsc_khz;
}

static long vireo_dev_msr_list(void *unused, unsigned long arg)
{
	return vireo_msr_get_list((struct vireo_msr_list __user *)arg);
}

static long vireo_dev_create(void *unused, unsigned long arg)
{
	return vireo_dev_create_vm(arg);
}

static const struct vireo_ioctl_desc vireo_dev_ioctls[] = {
	{ VIREO_GET_API_VERSION,	0, vireo_dev_api_version },
	{ VIREO_GET_RUN_SIZE,		0, vireo_dev_run_size },
	{ VIREO_CREATE_VM,		0, vireo_dev_create },
	{ VIREO_GET_TSC_KHZ,		0, vireo_dev_tsc_khz },
	{ VIREO_GET_MSR_LIST,		0, vireo_dev_msr_list },
};

static long vireo_dev_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	return vireo_ioctl_dispatch(vireo_dev_ioctls,
				    ARRAY_SIZE(vireo_dev_ioctls), NULL, NULL,
				    cmd, arg);
}

static const struct file_operations vireo_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= vireo_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice vireo_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= VIREO_DEVICE_NAME,
	.fops	= &vireo_dev_fops,
	.mode	= 0600,
};

static int vireo_cpu_online(unsigned int cpu)
{
	return vireo_ops->cpu_enable(cpu);
}

static int vireo_cpu_offline(unsigned int cpu)
{
	return vireo_ops->cpu_disable(cpu);
}

static const struct vireo_backend_ops *vireo_pick_backend(void)
{
	if (boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
	    boot_cpu_data.x86_vendor == X86_VENDOR_HYGON)
		return &svm_backend_ops;
	if (boot_cpu_data.x86_vendor == X86_VENDOR_INTEL ||
	    boot_cpu_data.x86_vendor == X86_VENDOR_CENTAUR ||
	    boot_cpu_data.x86_vendor == X86_VENDOR_ZHAOXIN)
		return &vmx_backend_ops;
	return NULL;
}

static int __init vireo_init(void)
{
	int ret;

	vireo_ops = vireo_pick_backend();
	if (!vireo_ops) {
		pr_err(VIREO_LOG_PREFIX "this CPU vendor is not supported (Vireo needs AMD SVM or Intel VMX)\n");
		return -EOPNOTSUPP;
	}

	vireo_fpu_setup();
	ret = vireo_ops->hardware_setup();
	if (ret)
		return ret;

	/* Runs vireo_cpu_online on every online CPU, on that CPU. */
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "vireo:online",
				vireo_cpu_online, vireo_cpu_offline);
	if (ret < 0)
		goto unsetup;
	vireo_cpuhp_state = ret;

	ret = vireo_netlink_init();
	if (ret)
		goto remove_cpuhp;

	ret = misc_register(&vireo_miscdev);
	if (ret) {
		pr_err(VIREO_LOG_PREFIX "cannot register /dev/%s: %d\n",
		       VIREO_DEVICE_NAME, ret);
		goto netlink_exit;
	}

	pr_info(VIREO_LOG_PREFIX "loaded, backend %s, API version %d\n",
		vireo_ops->name, VIREO_API_VERSION);
	return 0;

netlink_exit:
	vireo_netlink_exit();
remove_cpuhp:
	cpuhp_remove_state(vireo_cpuhp_state);
unsetup:
	vireo_ops->hardware_unsetup();
	return ret;
}

static void __exit vireo_exit(void)
{
	misc_deregister(&vireo_miscdev);
	vireo_netlink_exit();
	cpuhp_remove_state(vireo_cpuhp_state);
	vireo_ops->hardware_unsetup();
	pr_info(VIREO_LOG_PREFIX "unloaded\n");
}

module_init(vireo_init);
module_exit(vireo_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Vireo hypervisor");
MODULE_VERSION("0.1");
