// SPDX-License-Identifier: GPL-2.0
/*
 * The management plane: generic-netlink family "vireo".
 *
 * Every command is validated strictly against vireo_nl_policy (unknown or
 * output-only attributes are rejected); STOP_VM changes state and needs
 * CAP_NET_ADMIN (GENL_ADMIN_PERM).  Events go to the "events" group.
 */
#include <linux/module.h>
#include <net/genetlink.h>

#include "vireo_core.h"

static const char *const vireo_stat_names[VIREO_STAT_MAX] = {
	[VIREO_EXIT_NONE]		= "none",
	[VIREO_EXIT_IO]			= "io",
	[VIREO_EXIT_MMIO]		= "mmio",
	[VIREO_EXIT_HLT]		= "hlt",
	[VIREO_EXIT_HYPERCALL]		= "hypercall",
	[VIREO_EXIT_SHUTDOWN]		= "shutdown",
	[VIREO_EXIT_INTR]		= "signal",
	[VIREO_EXIT_UNKNOWN]		= "unknown",
	[VIREO_EXIT_INTERNAL_ERROR]	= "internal_error",
	[VIREO_EXIT_FAIL_ENTRY]		= "fail_entry",
	[VIREO_EXIT_STOPPED]		= "stopped",
	[VIREO_STAT_CPUID]		= "kernel_cpuid",
	[VIREO_STAT_NPF_MAP]		= "kernel_npf_map",
	[VIREO_STAT_HOST_INTR]		= "kernel_host_intr",
	[VIREO_STAT_MSR]		= "kernel_msr",
	[VIREO_STAT_MSR_GP]		= "kernel_msr_gp",
	[VIREO_STAT_IRQ_INJECTED]	= "kernel_irq_injected",
	[VIREO_STAT_HALT_SLEEP]		= "kernel_halt_sleep",
	[VIREO_STAT_NMI_INJECTED]	= "kernel_nmi_injected",
	[VIREO_STAT_HOST_STATE_IN_VMCB]	= "kernel_host_state_in_vmcb",
	[VIREO_STAT_PIO_FAST]		= "kernel_pio_fast",
	[VIREO_STAT_STALE_EVENT]	= "kernel_stale_event",
};

/* Only what user space may send; everything else is rejected (strict). */
static const struct nla_policy vireo_nl_policy[VIREO_NL_ATTR_MAX + 1] = {
	[VIREO_NL_ATTR_VM_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct genl_multicast_group vireo_nl_mcgrps[] = {
	{ .name = VIREO_GENL_MCGRP_EVENTS, },
};

static struct genl_family vireo_genl_family;

static int vireo_nl_put_exit_stats(struct sk_buff *skb, struct vireo_vm *vm)
{
	struct nlattr *stats, *stat;
	unsigned int slot, i;
	u64 count;

	stats = nla_nest_start(skb, VIREO_NL_ATTR_EXIT_STATS);
	if (!stats)
		return -EMSGSIZE;
	for (slot = 0; slot < VIREO_STAT_MAX; slot++) {
		if (!vireo_stat_names[slot])
			continue;
		count = 0;
		for (i = 0; i < VIREO_MAX_VCPUS; i++) {
			struct vireo_vcpu *vcpu = READ_ONCE(vm->vcpus[i]);

			if (vcpu)
				count += atomic64_read(&vcpu->stats[slot]);
		}
		stat = nla_nest_start(skb, VIREO_NL_ATTR_EXIT_STAT);
		if (!stat ||
		    nla_put_u32(skb, VIREO_NL_ATTR_EXIT_REASON, slot) ||
		    nla_put_string(skb, VIREO_NL_ATTR_EXIT_REASON_NAME,
				   vireo_stat_names[slot]) ||
		    nla_put_u64_64bit(skb, VIREO_NL_ATTR_EXIT_COUNT, count,
				      VIREO_NL_ATTR_PAD))
			return -EMSGSIZE;
		nla_nest_end(skb, stat);
	}
	nla_nest_end(skb, stats);
	return 0;
}

/* The attributes describing one VM, after the message's header. */
static int vireo_nl_put_vm(struct sk_buff *skb, struct vireo_vm *vm,
			   bool with_stats)
{
	if (nla_put_u32(skb, VIREO_NL_ATTR_VM_ID, vm->id) ||
	    nla_put_u32(skb, VIREO_NL_ATTR_OWNER_PID, vm->owner_pid) ||
	    nla_put_u64_64bit(skb, VIREO_NL_ATTR_RAM_BYTES, vm->ram_bytes,
			      VIREO_NL_ATTR_PAD) ||
	    nla_put_u32(skb, VIREO_NL_ATTR_NR_VCPUS, READ_ONCE(vm->nr_vcpus)) ||
	    nla_put_u64_64bit(skb, VIREO_NL_ATTR_PAGES_PRESENT,
			      atomic64_read(&vm->pages_present), VIREO_NL_ATTR_PAD) ||
	    nla_put_u32(skb, VIREO_NL_ATTR_STATE, atomic_read(&vm->state)))
		return -EMSGSIZE;
	return with_stats ? vireo_nl_put_exit_stats(skb, vm) : 0;
}

/* Fill one VM message.  Caller holds vireo_vm_list_lock or a VM reference. */
static int vireo_nl_fill_vm(struct sk_buff *skb, struct vireo_vm *vm, u32 portid,
			    u32 seq, int flags, u8 cmd, bool with_stats)
{
	void *hdr = genlmsg_put(skb, portid, seq, &vireo_genl_family, flags, cmd);

	if (!hdr)
		return -EMSGSIZE;
	if (vireo_nl_put_vm(skb, vm, with_stats)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* The VM a request names by VIREO_NL_ATTR_VM_ID, referenced, or an ERR_PTR. */
static struct vireo_vm *vireo_nl_request_vm(struct genl_info *info)
{
	struct vireo_vm *vm;

	if (GENL_REQ_ATTR_CHECK(info, VIREO_NL_ATTR_VM_ID))
		return ERR_PTR(-EINVAL);
	vm = vireo_vm_get_by_id(nla_get_u32(info->attrs[VIREO_NL_ATTR_VM_ID]));
	if (!vm) {
		NL_SET_ERR_MSG(info->extack, "no VM with this id");
		return ERR_PTR(-ENOENT);
	}
	return vm;
}

static int vireo_nl_get_vm_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vireo_vm *vm = vireo_nl_request_vm(info);
	struct sk_buff *msg;
	int ret;

	if (IS_ERR(vm))
		return PTR_ERR(vm);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto put_vm;
	}
	ret = vireo_nl_fill_vm(msg, vm, info->snd_portid, info->snd_seq, 0,
			       VIREO_NL_CMD_GET_VM, true);
	if (ret) {
		nlmsg_free(msg);
		goto put_vm;
	}
	ret = genlmsg_reply(msg, info);
put_vm:
	vireo_vm_put(vm);
	return ret;
}

/* cb->args[0]: id of the last VM emitted, so a dump resumes after it. */
static int vireo_nl_get_vm_dumpit(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	struct vireo_vm *vm;
	int ret = 0;

	mutex_lock(&vireo_vm_list_lock);
	list_for_each_entry(vm, &vireo_vm_list, node) {
		if (vm->id <= cb->args[0])
			continue;
		ret = vireo_nl_fill_vm(skb, vm, NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI,
				       VIREO_NL_CMD_GET_VM, true);
		if (ret)
			break;
		cb->args[0] = vm->id;
	}
	mutex_unlock(&vireo_vm_list_lock);
	/* A partial skb is sent and the dump resumes; an empty one is an error. */
	return (ret && !skb->len) ? ret : skb->len;
}

static int vireo_nl_get_stats_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vireo_genl_family, 0,
				VIREO_NL_CMD_GET_STATS);
	if (!hdr)
		goto nospace;
	if (nla_put_u32(msg, VIREO_NL_ATTR_VMS_LIVE, atomic_read(&vireo_vms_live)) ||
	    nla_put_u64_64bit(msg, VIREO_NL_ATTR_VMS_CREATED,
			      atomic64_read(&vireo_vms_created), VIREO_NL_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, VIREO_NL_ATTR_GUEST_PAGES,
			      atomic64_read(&vireo_guest_pages), VIREO_NL_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, VIREO_NL_ATTR_TABLE_PAGES,
			      atomic64_read(&vireo_table_pages), VIREO_NL_ATTR_PAD) ||
	    nla_put_string(msg, VIREO_NL_ATTR_BACKEND, vireo_ops->name))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int vireo_nl_stop_vm_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vireo_vm *vm = vireo_nl_request_vm(info);

	if (IS_ERR(vm))
		return PTR_ERR(vm);
	vireo_vm_set_state(vm, VIREO_VM_STATE_STOPPED);
	vireo_vm_put(vm);
	return 0;
}

static const struct genl_small_ops vireo_nl_ops[] = {
	{
		.cmd	= VIREO_NL_CMD_GET_VM,
		.doit	= vireo_nl_get_vm_doit,
		.dumpit	= vireo_nl_get_vm_dumpit,
	},
	{
		.cmd	= VIREO_NL_CMD_GET_STATS,
		.doit	= vireo_nl_get_stats_doit,
	},
	{
		.cmd	= VIREO_NL_CMD_STOP_VM,
		.doit	= vireo_nl_stop_vm_doit,
		.flags	= GENL_ADMIN_PERM,
	},
};

static struct genl_family vireo_genl_family __ro_after_init = {
	.name		= VIREO_GENL_NAME,
	.version	= VIREO_GENL_VERSION,
	.maxattr	= VIREO_NL_ATTR_MAX,
	.policy		= vireo_nl_policy,
	.module		= THIS_MODULE,
	.small_ops	= vireo_nl_ops,
	.n_small_ops	= ARRAY_SIZE(vireo_nl_ops),
	/* Strict validation, no legacy leniency, for every command. */
	.resv_start_op	= VIREO_NL_CMD_GET_VM,
	.mcgrps		= vireo_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(vireo_nl_mcgrps),
};

void vireo_netlink_event(struct vireo_vm *vm, enum vireo_nl_event event)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&vireo_genl_family, &init_net, 0))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	/*
	 * Every event but VM_CREATED carries the exit counts as they are at
	 * that moment: for VM_DESTROYED they are the VM's final counts, which
	 * no dump can read any more once the event is out.
	 */
	hdr = genlmsg_put(msg, 0, 0, &vireo_genl_family, 0, VIREO_NL_CMD_EVENT);
	if (!hdr ||
	    nla_put_u32(msg, VIREO_NL_ATTR_EVENT, event) ||
	    vireo_nl_put_vm(msg, vm, event != VIREO_NL_EVENT_VM_CREATED)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&vireo_genl_family, msg, 0, 0, GFP_KERNEL);
}

int vireo_netlink_init(void)
{
	return genl_register_family(&vireo_genl_family);
}

void vireo_netlink_exit(void)
{
	genl_unregister_family(&vireo_genl_family);
}
