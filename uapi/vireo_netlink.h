/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Vireo management plane: the generic-netlink family "vireo".
 *
 * Commands, attributes and the multicast group are described normatively in
 * docs/uapi.md.  Every command is validated strictly against
 * vireo_nl_policy; commands that change state need CAP_NET_ADMIN.
 */
#ifndef _UAPI_VIREO_NETLINK_H
#define _UAPI_VIREO_NETLINK_H

#define VIREO_GENL_NAME		"vireo"
#define VIREO_GENL_VERSION	1
#define VIREO_GENL_MCGRP_EVENTS	"events"

enum vireo_nl_cmd {
	VIREO_NL_CMD_UNSPEC,
	VIREO_NL_CMD_GET_VM,	/* doit with VM_ID, or dump of all VMs */
	VIREO_NL_CMD_GET_STATS,	/* module-wide counters */
	VIREO_NL_CMD_STOP_VM,	/* CAP_NET_ADMIN: stop a VM's vCPUs */
	VIREO_NL_CMD_EVENT,	/* multicast only: see VIREO_NL_ATTR_EVENT */
	__VIREO_NL_CMD_MAX,
};
#define VIREO_NL_CMD_MAX (__VIREO_NL_CMD_MAX - 1)

enum vireo_nl_attr {
	VIREO_NL_ATTR_UNSPEC,
	VIREO_NL_ATTR_VM_ID,		/* u32 */
	VIREO_NL_ATTR_OWNER_PID,	/* u32, tgid of the creator */
	VIREO_NL_ATTR_RAM_BYTES,	/* u64 */
	VIREO_NL_ATTR_NR_VCPUS,		/* u32 */
	VIREO_NL_ATTR_PAGES_PRESENT,	/* u64 */
	VIREO_NL_ATTR_EXIT_STATS,	/* nest of VIREO_NL_ATTR_EXIT_STAT */
	VIREO_NL_ATTR_EXIT_STAT,	/* nest: REASON, REASON_NAME, COUNT */
	VIREO_NL_ATTR_EXIT_REASON,	/* u32, enum vireo_exit_reason */
	VIREO_NL_ATTR_EXIT_REASON_NAME,	/* string */
	VIREO_NL_ATTR_EXIT_COUNT,	/* u64 */
	VIREO_NL_ATTR_EVENT,		/* u32, enum vireo_nl_event */
	VIREO_NL_ATTR_STATE,		/* u32, enum vireo_vm_state */
	VIREO_NL_ATTR_VMS_LIVE,		/* u32 */
	VIREO_NL_ATTR_VMS_CREATED,	/* u64 */
	VIREO_NL_ATTR_GUEST_PAGES,	/* u64, guest pages allocated, all VMs */
	VIREO_NL_ATTR_TABLE_PAGES,	/* u64, NPT/EPT + control pages, all VMs */
	VIREO_NL_ATTR_BACKEND,		/* string: "svm" or "vmx" */
	VIREO_NL_ATTR_PAD,
	__VIREO_NL_ATTR_MAX,
};
#define VIREO_NL_ATTR_MAX (__VIREO_NL_ATTR_MAX - 1)

enum vireo_nl_event {
	VIREO_NL_EVENT_VM_CREATED = 1,
	VIREO_NL_EVENT_VM_DESTROYED = 2,
	VIREO_NL_EVENT_VM_CRASHED = 3,	/* guest shutdown (triple fault) */
	VIREO_NL_EVENT_VM_STOPPED = 4,	/* VIREO_NL_CMD_STOP_VM */
};

enum vireo_vm_state {
	VIREO_VM_STATE_RUNNABLE = 0,
	VIREO_VM_STATE_CRASHED = 1,
	VIREO_VM_STATE_STOPPED = 2,
};

#endif /* _UAPI_VIREO_NETLINK_H */
