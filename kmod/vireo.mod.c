#include <linux/module.h>
#define INCLUDE_VERMAGIC
#include <linux/build-salt.h>
#include <linux/elfnote-lto.h>
#include <linux/export-internal.h>
#include <linux/vermagic.h>
#include <linux/compiler.h>

BUILD_SALT;
BUILD_LTO_INFO;

MODULE_INFO(vermagic, VERMAGIC_STRING);
MODULE_INFO(name, KBUILD_MODNAME);

__visible struct module __this_module
__section(".gnu.linkonce.this_module") = {
	.name = KBUILD_MODNAME,
	.init = init_module,
#ifdef CONFIG_MODULE_UNLOAD
	.exit = cleanup_module,
#endif
	.arch = MODULE_ARCH_INIT,
};

#ifdef CONFIG_RETPOLINE
MODULE_INFO(retpoline, "Y");
#endif


static const struct modversion_info ____versions[]
__used __section("__versions") = {
	{ 0x587f22d7, "devmap_managed_key" },
	{ 0xfacdf803, "kick_process" },
	{ 0xe7a02573, "ida_alloc_range" },
	{ 0xd6f2e701, "anon_inode_getfile" },
	{ 0x88db9f48, "__check_object_size" },
	{ 0x47978cc, "misc_deregister" },
	{ 0x13c49cc2, "_copy_from_user" },
	{ 0x8d522714, "__rcu_read_lock" },
	{ 0x9291cd3b, "memdup_user" },
	{ 0x9b489671, "nla_put_64bit" },
	{ 0x53569707, "this_cpu_off" },
	{ 0x3b3d8b33, "fd_install" },
	{ 0xffcbde5b, "genlmsg_put" },
	{ 0x37a0cba, "kfree" },
	{ 0x7de31af2, "__put_devmap_managed_page_refs" },
	{ 0x4302d0eb, "free_pages" },
	{ 0xb19a5453, "__per_cpu_offset" },
	{ 0xba8fbd64, "_raw_spin_lock" },
	{ 0xbdfb6dbb, "__fentry__" },
	{ 0x3f4547a7, "put_unused_fd" },
	{ 0x65487097, "__x86_indirect_thunk_rax" },
	{ 0x92997ed8, "_printk" },
	{ 0xe6d2458e, "do_trace_netlink_extack" },
	{ 0x1d24c881, "___ratelimit" },
	{ 0xa19b956, "__stack_chk_fail" },
	{ 0x296695f, "refcount_warn_saturate" },
	{ 0xf0906b73, "netlink_broadcast" },
	{ 0x4129f5ee, "kernel_fpu_begin_mask" },
	{ 0x1eb9ab54, "__alloc_skb" },
	{ 0x38722f80, "kernel_fpu_end" },
	{ 0x618911fc, "numa_node" },
	{ 0x7d173e99, "__free_pages" },
	{ 0x7cd8d75e, "page_offset_base" },
	{ 0x3ef022ec, "compat_ptr_ioctl" },
	{ 0xbcb36fe4, "hugetlb_optimize_vmemmap_key" },
	{ 0x68f31cbd, "__list_add_valid" },
	{ 0xe25beddd, "init_net" },
	{ 0xfe37522d, "__cpuhp_setup_state" },
	{ 0x2469810f, "__rcu_read_unlock" },
	{ 0xc9119dac, "netlink_unicast" },
	{ 0xa85a3e6d, "xa_load" },
	{ 0x505f95b0, "noop_llseek" },
	{ 0xed89811, "kfree_skb_reason" },
	{ 0x4dfa8d4b, "mutex_lock" },
	{ 0x1468be11, "nla_put" },
	{ 0xffb7c514, "ida_free" },
	{ 0x4c9d28b0, "phys_base" },
	{ 0xe1537255, "__list_del_entry_valid" },
	{ 0xcefb0c9f, "__mutex_init" },
	{ 0x68fb37ae, "current_task" },
	{ 0xfb578fc5, "memset" },
	{ 0x844c8938, "misc_register" },
	{ 0x1c33b4ed, "__alloc_pages" },
	{ 0x5b8239ca, "__x86_return_thunk" },
	{ 0x6b10bee1, "_copy_to_user" },
	{ 0x6d16c104, "mutex_lock_killable" },
	{ 0x77c2be96, "skb_trim" },
	{ 0xa0ebc08, "__xa_cmpxchg" },
	{ 0x22adf505, "pv_ops" },
	{ 0x97651e6c, "vmemmap_base" },
	{ 0x7a2af7b4, "cpu_number" },
	{ 0x3213f038, "mutex_unlock" },
	{ 0xa843805a, "get_unused_fd_flags" },
	{ 0xd9491c14, "xa_destroy" },
	{ 0x8fa25c24, "xa_find" },
	{ 0x11dd3e1e, "alloc_pages" },
	{ 0xd184be77, "__folio_put" },
	{ 0xc07351b3, "__SCT__cond_resched" },
	{ 0x78d27962, "boot_cpu_data" },
	{ 0xab93a5c2, "genl_unregister_family" },
	{ 0xdf36914b, "xa_find_after" },
	{ 0x606e9d01, "kmalloc_trace" },
	{ 0x754d539c, "strlen" },
	{ 0x9ec07055, "genl_register_family" },
	{ 0xb5b54b34, "_raw_spin_unlock" },
	{ 0xe784202e, "netlink_has_listeners" },
	{ 0x6cb3c332, "__cpuhp_remove_state" },
	{ 0xf09b5d9a, "get_zeroed_page" },
	{ 0xe2c17b5d, "__SCT__might_resched" },
	{ 0x7a7caba8, "kmalloc_caches" },
	{ 0x9060323f, "module_layout" },
};

MODULE_INFO(depends, "");


MODULE_INFO(srcversion, "F462EAFD6ADBBD9F8900395");
