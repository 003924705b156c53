/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "vireo" generic-netlink family from the tests' side (libnl-genl-3).
 *
 * Functions return 0 (or a count) on success and -errno on failure, where
 * errno is the kernel's own error from the NLMSG_ERROR reply (libnl's
 * translation to NLE_* codes loses information, so it is not used).
 */
#ifndef VIREO_TEST_NL_H
#define VIREO_TEST_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vireo.h"
#include "vireo_netlink.h"

struct nl_sock;

struct vireo_nl {
	struct nl_sock *sock;
	int family;		/* generic-netlink family id */
	int events_group;	/* multicast group id, < 0 if absent */
};

/*
 * Exit statistics slots: below 32 they are enum vireo_exit_reason (exits to
 * user space), from 32 up exits the module handled itself (docs/uapi.md
 * 8.3).  Slots at or above VIREO_NL_EXIT_SLOTS are ignored.
 */
#define VIREO_NL_EXIT_SLOTS	64

/* One VM as listed by VIREO_NL_CMD_GET_VM. */
struct vireo_nl_vm {
	uint32_t vm_id;
	uint32_t owner_pid;
	uint32_t nr_vcpus;
	uint32_t state;			/* enum vireo_vm_state */
	uint64_t ram_bytes;
	uint64_t pages_present;
	uint64_t exits[VIREO_NL_EXIT_SLOTS];
	char exit_names[VIREO_NL_EXIT_SLOTS][32];
	uint32_t present;		/* VIREO_NL_HAS_* */
	unsigned int malformed;		/* attributes of the wrong size */
};

#define VIREO_NL_HAS_VM_ID	(1U << 0)
#define VIREO_NL_HAS_OWNER_PID	(1U << 1)
#define VIREO_NL_HAS_RAM	(1U << 2)
#define VIREO_NL_HAS_NR_VCPUS	(1U << 3)
#define VIREO_NL_HAS_PAGES	(1U << 4)
#define VIREO_NL_HAS_EXITS	(1U << 5)
#define VIREO_NL_HAS_STATE	(1U << 6)

struct vireo_nl_stats {
	uint32_t vms_live;
	uint64_t vms_created;
	uint64_t guest_pages;
	uint64_t table_pages;
	char backend[16];
	uint32_t present;		/* VIREO_NL_HAS_STAT_* */
	unsigned int malformed;
};

#define VIREO_NL_HAS_STAT_LIVE		(1U << 0)
#define VIREO_NL_HAS_STAT_CREATED	(1U << 1)
#define VIREO_NL_HAS_STAT_GUEST		(1U << 2)
#define VIREO_NL_HAS_STAT_TABLE		(1U << 3)
#define VIREO_NL_HAS_STAT_BACKEND	(1U << 4)
#define VIREO_NL_STATS_ALL		0x1f

/* Connect and resolve the family; -ENOENT if "vireo" is not registered. */
int vireo_nl_open(struct vireo_nl *nl);
void vireo_nl_close(struct vireo_nl *nl);

/* The slot called @name ("io", "kernel_cpuid", ...), or -1. */
int vireo_nl_exit_slot(const struct vireo_nl_vm *vm, const char *name);
/*
 * The count in slot @name of VM @vm_id, read afresh over netlink; -1 with
 * a log line when the family, the VM or the slot is missing.
 */
int64_t vireo_nl_vm_stat(uint32_t vm_id, const char *name);

/* Dump all VMs into vms[0..max); returns the number listed (may be > max). */
int vireo_nl_dump_vms(struct vireo_nl *nl, struct vireo_nl_vm *vms, int max);
/* The entry for vm_id in a dump; -ENOENT if not listed. */
int vireo_nl_find_vm(struct vireo_nl *nl, uint32_t vm_id,
		     struct vireo_nl_vm *vm);
/* GET_VM doit with VM_ID. */
int vireo_nl_get_vm(struct vireo_nl *nl, uint32_t vm_id,
		    struct vireo_nl_vm *vm);
int vireo_nl_get_stats(struct vireo_nl *nl, struct vireo_nl_stats *st);
int vireo_nl_stop_vm(struct vireo_nl *nl, uint32_t vm_id);
/*
 * Poll GET_STATS until vms_live == want (VM teardown may finish after the
 * last fd is closed); 0 or -ETIMEDOUT.  *st holds the last answer.
 */
int vireo_nl_wait_vms_live(struct vireo_nl *nl, uint32_t want,
			   int timeout_ms, struct vireo_nl_stats *st);
/*
 * Poll until vms_live, guest_pages and table_pages are back to @base;
 * 0 or -ETIMEDOUT, *st holds the last answer.
 */
int vireo_nl_wait_stats_back(struct vireo_nl *nl,
			     const struct vireo_nl_stats *base,
			     int timeout_ms, struct vireo_nl_stats *st);

/*
 * Send a request with a hand-built attribute area (for negative tests) and
 * return the kernel's verdict: 0 or -errno.  Replies are discarded.
 */
int vireo_nl_request_raw(struct vireo_nl *nl, uint8_t cmd, int nlm_flags,
			 const void *attrs, size_t attrs_len);
/*
 * Append one attribute {len, type, data, padding} to @buf at @off; returns
 * the new offset.  @type may carry NLA_F_NESTED; @len may be anything the
 * test wants the kernel to see.
 */
size_t nla_raw_put(void *buf, size_t off, size_t cap, uint16_t type,
		   const void *data, uint16_t len);

/* A second socket subscribed to the "events" multicast group. */
int vireo_nl_events_open(struct vireo_nl *ev);
/*
 * Wait for event @event about @vm_id; 0 if seen, -ETIMEDOUT otherwise.
 * Other events are logged and skipped.
 */
int vireo_nl_wait_event(struct vireo_nl *ev, uint32_t event, uint32_t vm_id,
			int timeout_ms);
/* The same, and the event's VM attributes into @vm (as a GET_VM answer's). */
int vireo_nl_wait_event_vm(struct vireo_nl *ev, uint32_t event, uint32_t vm_id,
			   int timeout_ms, struct vireo_nl_vm *vm);

#endif /* VIREO_TEST_NL_H */
