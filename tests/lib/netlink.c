// SPDX-License-Identifier: GPL-2.0
/*
 * Client of the "vireo" generic-netlink family for the selftests.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "test_util.h"
#include "vireo_nl.h"

int vireo_nl_open(struct vireo_nl *nl)
{
	memset(nl, 0, sizeof(*nl));
	nl->sock = nl_socket_alloc();
	if (!nl->sock)
		return -ENOMEM;
	if (genl_connect(nl->sock)) {
		nl_socket_free(nl->sock);
		nl->sock = NULL;
		return -ECONNREFUSED;
	}
	nl->family = genl_ctrl_resolve(nl->sock, VIREO_GENL_NAME);
	if (nl->family < 0) {
		nl_socket_free(nl->sock);
		nl->sock = NULL;
		return -ENOENT;
	}
	nl->events_group = genl_ctrl_resolve_grp(nl->sock, VIREO_GENL_NAME,
						 VIREO_GENL_MCGRP_EVENTS);
	return 0;
}

void vireo_nl_close(struct vireo_nl *nl)
{
	if (nl->sock)
		nl_socket_free(nl->sock);
	nl->sock = NULL;
}

/* State of one request: the kernel's errno and the reply parser. */
struct nl_request {
	int err;
	bool done;
	int (*parse)(struct nl_msg *msg, void *arg);
	void *arg;
};

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct nl_request *req = arg;

	if (req->parse)
		req->parse(msg, req->arg);
	return NL_OK;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct nl_request *req = arg;

	req->err = e->error;
	req->done = true;
	return NL_STOP;
}

static int on_done(struct nl_msg *msg, void *arg)
{
	struct nl_request *req = arg;

	req->done = true;
	return NL_STOP;
}

/* Send @msg (consumed) and process replies until ACK, DONE or error. */
static int nl_execute(struct vireo_nl *nl, struct nl_msg *msg,
		      int (*parse)(struct nl_msg *, void *), void *arg)
{
	struct nl_request req = { .parse = parse, .arg = arg };
	struct nl_cb *cb;
	int r;

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &req);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_done, &req);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_done, &req);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &req);

	r = nl_send_auto(nl->sock, msg);
	nlmsg_free(msg);
	if (r < 0) {
		nl_cb_put(cb);
		return -EIO;
	}
	while (!req.done) {
		r = nl_recvmsgs(nl->sock, cb);
		if (r < 0 && !req.done) {
			test_log("netlink receive failed: %s", nl_geterror(r));
			req.err = -EIO;
			break;
		}
	}
	nl_cb_put(cb);
	return req.err;
}

static struct nl_msg *new_request(struct vireo_nl *nl, uint8_t cmd,
				  int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, VIREO_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static bool attr_u32(struct nlattr *a, uint32_t *v, unsigned int *bad)
{
	if (!a)
		return false;
	if (nla_len(a) != 4) {
		(*bad)++;
		return false;
	}
	*v = nla_get_u32(a);
	return true;
}

static bool attr_u64(struct nlattr *a, uint64_t *v, unsigned int *bad)
{
	if (!a)
		return false;
	if (nla_len(a) != 8) {
		(*bad)++;
		return false;
	}
	*v = nla_get_u64(a);
	return true;
}

static void parse_exit_stats(struct nlattr *stats, struct vireo_nl_vm *vm)
{
	struct nlattr *stat;
	int rem;

	nla_for_each_nested(stat, stats, rem) {
		struct nlattr *tb[VIREO_NL_ATTR_MAX + 1];
		uint32_t reason;
		uint64_t count;

		if (nla_type(stat) != VIREO_NL_ATTR_EXIT_STAT ||
		    nla_parse_nested(tb, VIREO_NL_ATTR_MAX, stat, NULL)) {
			vm->malformed++;
			continue;
		}
		if (!attr_u32(tb[VIREO_NL_ATTR_EXIT_REASON], &reason,
			      &vm->malformed) ||
		    !attr_u64(tb[VIREO_NL_ATTR_EXIT_COUNT], &count,
			      &vm->malformed)) {
			vm->malformed++;
			continue;
		}
		if (reason >= VIREO_NL_EXIT_SLOTS)
			continue;
		vm->exits[reason] = count;
		if (tb[VIREO_NL_ATTR_EXIT_REASON_NAME])
			snprintf(vm->exit_names[reason],
				 sizeof(vm->exit_names[reason]), "%.*s",
				 nla_len(tb[VIREO_NL_ATTR_EXIT_REASON_NAME]),
				 (char *)nla_data(tb[VIREO_NL_ATTR_EXIT_REASON_NAME]));
	}
}

static void parse_vm_attrs(struct nl_msg *msg, struct vireo_nl_vm *vm)
{
	struct nlattr *tb[VIREO_NL_ATTR_MAX + 1];

	memset(vm, 0, sizeof(*vm));
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, VIREO_NL_ATTR_MAX, NULL)) {
		vm->malformed++;
		return;
	}
	if (attr_u32(tb[VIREO_NL_ATTR_VM_ID], &vm->vm_id, &vm->malformed))
		vm->present |= VIREO_NL_HAS_VM_ID;
	if (attr_u32(tb[VIREO_NL_ATTR_OWNER_PID], &vm->owner_pid,
		     &vm->malformed))
		vm->present |= VIREO_NL_HAS_OWNER_PID;
	if (attr_u64(tb[VIREO_NL_ATTR_RAM_BYTES], &vm->ram_bytes,
		     &vm->malformed))
		vm->present |= VIREO_NL_HAS_RAM;
	if (attr_u32(tb[VIREO_NL_ATTR_NR_VCPUS], &vm->nr_vcpus,
		     &vm->malformed))
		vm->present |= VIREO_NL_HAS_NR_VCPUS;
	if (attr_u64(tb[VIREO_NL_ATTR_PAGES_PRESENT], &vm->pages_present,
		     &vm->malformed))
		vm->present |= VIREO_NL_HAS_PAGES;
	if (attr_u32(tb[VIREO_NL_ATTR_STATE], &vm->state, &vm->malformed))
		vm->present |= VIREO_NL_HAS_STATE;
	if (tb[VIREO_NL_ATTR_EXIT_STATS]) {
		vm->present |= VIREO_NL_HAS_EXITS;
		parse_exit_stats(tb[VIREO_NL_ATTR_EXIT_STATS], vm);
	}
}

int vireo_nl_exit_slot(const struct vireo_nl_vm *vm, const char *name)
{
	int i;

	for (i = 0; i < VIREO_NL_EXIT_SLOTS; i++)
		if (!strcmp(vm->exit_names[i], name))
			return i;
	return -1;
}

int64_t vireo_nl_vm_stat(uint32_t vm_id, const char *name)
{
	struct vireo_nl_vm info;
	struct vireo_nl nl;
	int ret, slot;

	ret = vireo_nl_open(&nl);
	if (ret) {
		test_log("netlink: cannot open the vireo family: %s", strerror(-ret));
		return -1;
	}
	ret = vireo_nl_get_vm(&nl, vm_id, &info);
	vireo_nl_close(&nl);
	if (ret) {
		test_log("netlink: GET_VM %u: %s", vm_id, strerror(-ret));
		return -1;
	}
	slot = vireo_nl_exit_slot(&info, name);
	if (slot < 0) {
		test_log("netlink: VM %u has no statistics slot \"%s\"", vm_id, name);
		return -1;
	}
	return (int64_t)info.exits[slot];
}

struct vm_list {
	struct vireo_nl_vm *vms;
	int max;
	int count;
};

static int parse_vm_list(struct nl_msg *msg, void *arg)
{
	struct vm_list *list = arg;
	struct vireo_nl_vm vm;

	parse_vm_attrs(msg, &vm);
	if (list->count < list->max)
		list->vms[list->count] = vm;
	list->count++;
	return NL_OK;
}

int vireo_nl_dump_vms(struct vireo_nl *nl, struct vireo_nl_vm *vms, int max)
{
	struct vm_list list = { .vms = vms, .max = max };
	struct nl_msg *msg = new_request(nl, VIREO_NL_CMD_GET_VM, NLM_F_DUMP);
	int r;

	if (!msg)
		return -ENOMEM;
	r = nl_execute(nl, msg, parse_vm_list, &list);
	return r ? r : list.count;
}

int vireo_nl_find_vm(struct vireo_nl *nl, uint32_t vm_id,
		     struct vireo_nl_vm *vm)
{
	static struct vireo_nl_vm vms[256];
	int n, i;

	n = vireo_nl_dump_vms(nl, vms, ARRAY_SIZE(vms));
	if (n < 0)
		return n;
	for (i = 0; i < n && i < (int)ARRAY_SIZE(vms); i++) {
		if ((vms[i].present & VIREO_NL_HAS_VM_ID) &&
		    vms[i].vm_id == vm_id) {
			*vm = vms[i];
			return 0;
		}
	}
	return -ENOENT;
}

int vireo_nl_get_vm(struct vireo_nl *nl, uint32_t vm_id,
		    struct vireo_nl_vm *vm)
{
	struct vm_list list = { .vms = vm, .max = 1 };
	struct nl_msg *msg = new_request(nl, VIREO_NL_CMD_GET_VM, 0);
	int r;

	if (!msg || nla_put_u32(msg, VIREO_NL_ATTR_VM_ID, vm_id)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	r = nl_execute(nl, msg, parse_vm_list, &list);
	if (r)
		return r;
	return list.count == 1 ? 0 : -EPROTO;
}

static int parse_stats(struct nl_msg *msg, void *arg)
{
	struct vireo_nl_stats *st = arg;
	struct nlattr *tb[VIREO_NL_ATTR_MAX + 1];
	struct nlattr *b;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, VIREO_NL_ATTR_MAX, NULL)) {
		st->malformed++;
		return NL_OK;
	}
	if (attr_u32(tb[VIREO_NL_ATTR_VMS_LIVE], &st->vms_live,
		     &st->malformed))
		st->present |= VIREO_NL_HAS_STAT_LIVE;
	if (attr_u64(tb[VIREO_NL_ATTR_VMS_CREATED], &st->vms_created,
		     &st->malformed))
		st->present |= VIREO_NL_HAS_STAT_CREATED;
	if (attr_u64(tb[VIREO_NL_ATTR_GUEST_PAGES], &st->guest_pages,
		     &st->malformed))
		st->present |= VIREO_NL_HAS_STAT_GUEST;
	if (attr_u64(tb[VIREO_NL_ATTR_TABLE_PAGES], &st->table_pages,
		     &st->malformed))
		st->present |= VIREO_NL_HAS_STAT_TABLE;
	b = tb[VIREO_NL_ATTR_BACKEND];
	if (b) {
		snprintf(st->backend, sizeof(st->backend), "%.*s",
			 (int)strnlen(nla_data(b), nla_len(b)),
			 (char *)nla_data(b));
		st->present |= VIREO_NL_HAS_STAT_BACKEND;
	}
	return NL_OK;
}

int vireo_nl_get_stats(struct vireo_nl *nl, struct vireo_nl_stats *st)
{
	struct nl_msg *msg = new_request(nl, VIREO_NL_CMD_GET_STATS, 0);

	memset(st, 0, sizeof(*st));
	if (!msg)
		return -ENOMEM;
	return nl_execute(nl, msg, parse_stats, st);
}

int vireo_nl_stop_vm(struct vireo_nl *nl, uint32_t vm_id)
{
	struct nl_msg *msg = new_request(nl, VIREO_NL_CMD_STOP_VM, 0);

	if (!msg || nla_put_u32(msg, VIREO_NL_ATTR_VM_ID, vm_id)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return nl_execute(nl, msg, NULL, NULL);
}

int vireo_nl_wait_vms_live(struct vireo_nl *nl, uint32_t want,
			   int timeout_ms, struct vireo_nl_stats *st)
{
	struct timespec ms10 = { .tv_nsec = 10 * 1000 * 1000 };
	uint64_t deadline = now_ms() + timeout_ms;
	int r;

	for (;;) {
		r = vireo_nl_get_stats(nl, st);
		if (r)
			return r;
		if (st->vms_live == want)
			return 0;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&ms10, NULL);
	}
}

int vireo_nl_wait_stats_back(struct vireo_nl *nl,
			     const struct vireo_nl_stats *base,
			     int timeout_ms, struct vireo_nl_stats *st)
{
	struct timespec ms10 = { .tv_nsec = 10 * 1000 * 1000 };
	uint64_t deadline = now_ms() + timeout_ms;
	int r;

	for (;;) {
		r = vireo_nl_get_stats(nl, st);
		if (r)
			return r;
		if (st->vms_live == base->vms_live &&
		    st->guest_pages == base->guest_pages &&
		    st->table_pages == base->table_pages)
			return 0;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&ms10, NULL);
	}
}

int vireo_nl_request_raw(struct vireo_nl *nl, uint8_t cmd, int nlm_flags,
			 const void *attrs, size_t attrs_len)
{
	struct nl_msg *msg = new_request(nl, cmd, nlm_flags);

	if (!msg)
		return -ENOMEM;
	if (attrs_len && nlmsg_append(msg, (void *)attrs, attrs_len,
				      NLMSG_ALIGNTO)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return nl_execute(nl, msg, NULL, NULL);
}

size_t nla_raw_put(void *buf, size_t off, size_t cap, uint16_t type,
		   const void *data, uint16_t len)
{
	struct nlattr nla = { .nla_len = NLA_HDRLEN + len, .nla_type = type };
	size_t total = NLA_ALIGN(NLA_HDRLEN + len);

	TEST_ASSERT(off + total <= cap, "attribute buffer too small");
	memcpy((uint8_t *)buf + off, &nla, sizeof(nla));
	memcpy((uint8_t *)buf + off + NLA_HDRLEN, data, len);
	memset((uint8_t *)buf + off + NLA_HDRLEN + len, 0,
	       total - NLA_HDRLEN - len);
	return off + total;
}

int vireo_nl_events_open(struct vireo_nl *ev)
{
	int r = vireo_nl_open(ev);

	if (r)
		return r;
	if (ev->events_group < 0) {
		vireo_nl_close(ev);
		return -ENOENT;
	}
	nl_socket_disable_seq_check(ev->sock);
	if (nl_socket_add_membership(ev->sock, ev->events_group) ||
	    nl_socket_set_nonblocking(ev->sock)) {
		vireo_nl_close(ev);
		return -EIO;
	}
	return 0;
}

struct event_wait {
	uint32_t event;
	uint32_t vm_id;
	bool found;
	struct vireo_nl_vm *vm;	/* the event's VM attributes, or NULL */
};

static int parse_event(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[VIREO_NL_ATTR_MAX + 1];
	struct event_wait *w = arg;
	uint32_t event = 0, vm_id = 0;
	unsigned int bad = 0;

	if (gh->cmd != VIREO_NL_CMD_EVENT ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, VIREO_NL_ATTR_MAX, NULL))
		return NL_OK;
	attr_u32(tb[VIREO_NL_ATTR_EVENT], &event, &bad);
	attr_u32(tb[VIREO_NL_ATTR_VM_ID], &vm_id, &bad);
	if (event == w->event && vm_id == w->vm_id && !bad && !w->found) {
		w->found = true;
		if (w->vm)
			parse_vm_attrs(msg, w->vm);
	} else {
		test_log("netlink event %u for VM %u (waiting for %u/%u)%s",
			 event, vm_id, w->event, w->vm_id,
			 bad ? " (malformed)" : "");
	}
	return NL_OK;
}

static int accept_any_seq(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

int vireo_nl_wait_event_vm(struct vireo_nl *ev, uint32_t event, uint32_t vm_id,
			   int timeout_ms, struct vireo_nl_vm *vm)
{
	struct event_wait w = { .event = event, .vm_id = vm_id, .vm = vm };
	uint64_t deadline = now_ms() + timeout_ms;
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, parse_event, &w);
	/*
	 * A fresh callback set checks sequence numbers again (the socket's
	 * disabled check lives in the socket's own set): events carry seq 0.
	 */
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, accept_any_seq, NULL);
	while (!w.found) {
		struct pollfd pfd = { .fd = nl_socket_get_fd(ev->sock),
				      .events = POLLIN };
		uint64_t now = now_ms();

		if (now >= deadline)
			break;
		if (poll(&pfd, 1, deadline - now) > 0)
			nl_recvmsgs(ev->sock, cb);
	}
	nl_cb_put(cb);
	return w.found ? 0 : -ETIMEDOUT;
}

int vireo_nl_wait_event(struct vireo_nl *ev, uint32_t event, uint32_t vm_id,
			int timeout_ms)
{
	return vireo_nl_wait_event_vm(ev, event, vm_id, timeout_ms, NULL);
}
