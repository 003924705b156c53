// SPDX-License-Identifier: GPL-2.0
/*
 * `vireoctl vms`: a dump of VIREO_NL_CMD_GET_VM on the generic-netlink
 * family "vireo" (uapi/vireo_netlink.h).  `vireoctl events`: the family's
 * "events" multicast group, as it comes.  Both work without vireod: they
 * see every VM the module knows, whoever created it.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vireo_netlink.h"
#include "vireoctl.h"

struct vms_ctx {
	json_t *vms;		/* array of VM objects */
	int malformed;
};

static struct nla_policy vm_policy[VIREO_NL_ATTR_MAX + 1] = {
	[VIREO_NL_ATTR_VM_ID] = { .type = NLA_U32 },
	[VIREO_NL_ATTR_OWNER_PID] = { .type = NLA_U32 },
	[VIREO_NL_ATTR_RAM_BYTES] = { .type = NLA_U64 },
	[VIREO_NL_ATTR_NR_VCPUS] = { .type = NLA_U32 },
	[VIREO_NL_ATTR_PAGES_PRESENT] = { .type = NLA_U64 },
	[VIREO_NL_ATTR_EXIT_STATS] = { .type = NLA_NESTED },
	[VIREO_NL_ATTR_STATE] = { .type = NLA_U32 },
};

static struct nla_policy stat_policy[VIREO_NL_ATTR_MAX + 1] = {
	[VIREO_NL_ATTR_EXIT_REASON] = { .type = NLA_U32 },
	[VIREO_NL_ATTR_EXIT_REASON_NAME] = { .type = NLA_UNSPEC },
	[VIREO_NL_ATTR_EXIT_COUNT] = { .type = NLA_U64 },
};

static const char *state_name(uint32_t state)
{
	switch (state) {
	case VIREO_VM_STATE_RUNNABLE:	return "runnable";
	case VIREO_VM_STATE_CRASHED:	return "crashed";
	case VIREO_VM_STATE_STOPPED:	return "stopped";
	}
	return "unknown";
}

static json_t *parse_exit_stat(struct nlattr *nest)
{
	struct nlattr *tb[VIREO_NL_ATTR_MAX + 1];
	char name[64] = "?";

	if (nla_parse_nested(tb, VIREO_NL_ATTR_MAX, nest, stat_policy) < 0 ||
	    !tb[VIREO_NL_ATTR_EXIT_COUNT])
		return NULL;
	/* Copy at most the attribute's length: never trust a terminator. */
	if (tb[VIREO_NL_ATTR_EXIT_REASON_NAME])
		snprintf(name, sizeof(name), "%.*s",
			 (int)strnlen(nla_data(tb[VIREO_NL_ATTR_EXIT_REASON_NAME]),
				      (size_t)nla_len(tb[VIREO_NL_ATTR_EXIT_REASON_NAME])),
			 (const char *)nla_data(tb[VIREO_NL_ATTR_EXIT_REASON_NAME]));
	for (char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return json_pack("{s:i, s:s, s:I}",
			 "reason", tb[VIREO_NL_ATTR_EXIT_REASON] ?
			 (int)nla_get_u32(tb[VIREO_NL_ATTR_EXIT_REASON]) : -1,
			 "name", name,
			 "count", (json_int_t)nla_get_u64(tb[VIREO_NL_ATTR_EXIT_COUNT]));
}

/* One VM's attributes, from a GET_VM answer or an event, as a JSON object. */
static json_t *parse_vm(struct nlattr **tb, int *malformed)
{
	struct nlattr *nest;
	json_t *vm, *stats;
	int rem;

	vm = json_pack("{s:I}", "vm_id", (json_int_t)nla_get_u32(tb[VIREO_NL_ATTR_VM_ID]));
	if (tb[VIREO_NL_ATTR_OWNER_PID])
		json_object_set_new(vm, "owner_pid", json_integer(nla_get_u32(tb[VIREO_NL_ATTR_OWNER_PID])));
	if (tb[VIREO_NL_ATTR_RAM_BYTES])
		json_object_set_new(vm, "ram_bytes", json_integer((json_int_t)nla_get_u64(tb[VIREO_NL_ATTR_RAM_BYTES])));
	if (tb[VIREO_NL_ATTR_NR_VCPUS])
		json_object_set_new(vm, "vcpus", json_integer(nla_get_u32(tb[VIREO_NL_ATTR_NR_VCPUS])));
	if (tb[VIREO_NL_ATTR_PAGES_PRESENT])
		json_object_set_new(vm, "pages_present", json_integer((json_int_t)nla_get_u64(tb[VIREO_NL_ATTR_PAGES_PRESENT])));
	if (tb[VIREO_NL_ATTR_STATE])
		json_object_set_new(vm, "state", json_string(state_name(nla_get_u32(tb[VIREO_NL_ATTR_STATE]))));
	stats = json_array();
	if (tb[VIREO_NL_ATTR_EXIT_STATS]) {
		nla_for_each_nested(nest, tb[VIREO_NL_ATTR_EXIT_STATS], rem) {
			json_t *stat;

			if (nla_type(nest) != VIREO_NL_ATTR_EXIT_STAT)
				continue;
			stat = parse_exit_stat(nest);
			if (stat)
				json_array_append_new(stats, stat);
			else
				(*malformed)++;
		}
	}
	json_object_set_new(vm, "exit_stats", stats);
	return vm;
}

static int on_vm(struct nl_msg *msg, void *arg)
{
	struct vms_ctx *ctx = arg;
	struct nlattr *tb[VIREO_NL_ATTR_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, VIREO_NL_ATTR_MAX, vm_policy) < 0 ||
	    !tb[VIREO_NL_ATTR_VM_ID]) {
		ctx->malformed++;
		return NL_SKIP;
	}
	json_array_append_new(ctx->vms, parse_vm(tb, &ctx->malformed));
	return NL_OK;
}

/* The non-zero exit counts of one VM object, one per line. */
static void print_exit_stats(json_t *vm)
{
	json_t *stat;
	size_t j;

	json_array_foreach(json_object_get(vm, "exit_stats"), j, stat)
		if (json_integer_value(json_object_get(stat, "count")))
			printf("  %-18s %" JSON_INTEGER_FORMAT "\n",
			       json_string_value(json_object_get(stat, "name")),
			       json_integer_value(json_object_get(stat, "count")));
}

static void print_vms(json_t *vms)
{
	json_t *vm;
	size_t i;

	if (!json_array_size(vms)) {
		printf("no VMs\n");
		return;
	}
	json_array_foreach(vms, i, vm) {
		printf("VM %" JSON_INTEGER_FORMAT ": %s, owner pid %" JSON_INTEGER_FORMAT
		       ", %" JSON_INTEGER_FORMAT " MiB, %" JSON_INTEGER_FORMAT " vCPU(s), %"
		       JSON_INTEGER_FORMAT " pages present\n",
		       json_integer_value(json_object_get(vm, "vm_id")),
		       json_string_value(json_object_get(vm, "state")) ?: "unknown",
		       json_integer_value(json_object_get(vm, "owner_pid")),
		       json_integer_value(json_object_get(vm, "ram_bytes")) >> 20,
		       json_integer_value(json_object_get(vm, "vcpus")),
		       json_integer_value(json_object_get(vm, "pages_present")));
		print_exit_stats(vm);
	}
}

/* A generic-netlink socket and the family's id, or NULL after a message. */
static struct nl_sock *connect_family(int *family)
{
	struct nl_sock *sock = nl_socket_alloc();
	int err;

	if (!sock) {
		fprintf(stderr, "vireoctl: out of memory\n");
		return NULL;
	}
	if ((err = genl_connect(sock)) < 0) {
		fprintf(stderr, "vireoctl: generic netlink: %s\n", nl_geterror(err));
		nl_socket_free(sock);
		return NULL;
	}
	*family = genl_ctrl_resolve(sock, VIREO_GENL_NAME);
	if (*family < 0) {
		fprintf(stderr, "vireoctl: generic netlink family '%s' not found: is vireo.ko loaded?\n",
			VIREO_GENL_NAME);
		nl_socket_free(sock);
		return NULL;
	}
	return sock;
}

int vireoctl_vms(bool json_output)
{
	struct vms_ctx ctx = { .vms = json_array() };
	struct nl_msg *msg = NULL;
	struct nl_sock *sock;
	int family, err = -1;

	sock = connect_family(&family);
	if (!sock || !ctx.vms)
		goto out;
	nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, on_vm, &ctx);
	msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP,
				 VIREO_NL_CMD_GET_VM, VIREO_GENL_VERSION)) {
		fprintf(stderr, "vireoctl: cannot build the netlink request\n");
		err = -1;
		goto out;
	}
	if ((err = nl_send_auto(sock, msg)) < 0 || (err = nl_recvmsgs_default(sock)) < 0) {
		fprintf(stderr, "vireoctl: VIREO_NL_CMD_GET_VM: %s\n", nl_geterror(err));
		goto out;
	}
	if (ctx.malformed)
		fprintf(stderr, "vireoctl: skipped %d malformed attribute set(s)\n", ctx.malformed);
	if (json_output) {
		char *text = json_dumps(ctx.vms, JSON_INDENT(2));

		if (text)
			puts(text);
		free(text);
	} else {
		print_vms(ctx.vms);
	}
	err = 0;
out:
	nlmsg_free(msg);
	nl_socket_free(sock);
	json_decref(ctx.vms);
	return err;
}

/* --- vireoctl events ------------------------------------------------------- */

static const char *const event_names[] = {
	[VIREO_NL_EVENT_VM_CREATED] = "created",
	[VIREO_NL_EVENT_VM_DESTROYED] = "destroyed",
	[VIREO_NL_EVENT_VM_CRASHED] = "crashed",
	[VIREO_NL_EVENT_VM_STOPPED] = "stopped",
};

#define NR_EVENT_NAMES (sizeof(event_names) / sizeof(event_names[0]))

int vireoctl_event_type(const char *name)
{
	for (size_t i = 0; i < NR_EVENT_NAMES; i++)
		if (event_names[i] && !strcmp(event_names[i], name))
			return (int)i;
	return -1;
}

struct events_ctx {
	const struct vireoctl_events_opts *opts;
	bool json_output;
	unsigned int printed;
	int malformed;
};

static int on_event(struct nl_msg *msg, void *arg)
{
	struct events_ctx *ctx = arg;
	struct nlattr *tb[VIREO_NL_ATTR_MAX + 1];
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	uint32_t type;
	json_t *ev;

	if (gh->cmd != VIREO_NL_CMD_EVENT)
		return NL_SKIP;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, VIREO_NL_ATTR_MAX, vm_policy) < 0 ||
	    !tb[VIREO_NL_ATTR_VM_ID] || !tb[VIREO_NL_ATTR_EVENT]) {
		ctx->malformed++;
		return NL_SKIP;
	}
	type = nla_get_u32(tb[VIREO_NL_ATTR_EVENT]);
	if ((ctx->opts->type > 0 && type != (uint32_t)ctx->opts->type) ||
	    (ctx->opts->vm_id && nla_get_u32(tb[VIREO_NL_ATTR_VM_ID]) != ctx->opts->vm_id))
		return NL_OK;
	if (ctx->opts->count && ctx->printed >= ctx->opts->count)
		return NL_OK;
	ev = parse_vm(tb, &ctx->malformed);
	json_object_set_new(ev, "event",
			    json_string(type < NR_EVENT_NAMES && event_names[type] ?
					event_names[type] : "unknown"));
	if (ctx->json_output) {
		char *text = json_dumps(ev, JSON_COMPACT);

		if (text)
			puts(text);
		free(text);
	} else {
		printf("VM %" JSON_INTEGER_FORMAT " %s: state %s, owner pid %" JSON_INTEGER_FORMAT
		       ", %" JSON_INTEGER_FORMAT " vCPU(s)\n",
		       json_integer_value(json_object_get(ev, "vm_id")),
		       json_string_value(json_object_get(ev, "event")),
		       json_string_value(json_object_get(ev, "state")) ?: "unknown",
		       json_integer_value(json_object_get(ev, "owner_pid")),
		       json_integer_value(json_object_get(ev, "vcpus")));
		print_exit_stats(ev);
	}
	fflush(stdout);
	json_decref(ev);
	ctx->printed++;
	return NL_OK;
}

static volatile sig_atomic_t events_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	events_stop = 1;
}

int vireoctl_events(bool json_output, const struct vireoctl_events_opts *opts)
{
	struct events_ctx ctx = { .opts = opts, .json_output = json_output };
	struct sigaction sa = { .sa_handler = on_stop_signal };
	long deadline = 0;
	struct nl_sock *sock;
	int family, group, err, status = 1;

	sock = connect_family(&family);
	if (!sock)
		return 1;
	group = genl_ctrl_resolve_grp(sock, VIREO_GENL_NAME, VIREO_GENL_MCGRP_EVENTS);
	if (group < 0) {
		fprintf(stderr, "vireoctl: multicast group '%s' not found: %s\n",
			VIREO_GENL_MCGRP_EVENTS, nl_geterror(group));
		goto out;
	}
	/* Events carry sequence number 0: accept them whatever the socket expects. */
	nl_socket_disable_seq_check(sock);
	nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, on_event, &ctx);
	if ((err = nl_socket_add_membership(sock, group)) < 0) {
		fprintf(stderr, "vireoctl: joining '%s': %s\n", VIREO_GENL_MCGRP_EVENTS,
			nl_geterror(err));
		goto out;
	}
	/* No SA_RESTART: a signal must end the poll() below. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Scripts wait for this line before they start what they watch. */
	fprintf(stderr, "vireoctl: listening for module events\n");
	if (opts->timeout_s)
		deadline = vireoctl_now_ms() + opts->timeout_s * 1000L;
	while (!events_stop && !(opts->count && ctx.printed >= opts->count)) {
		struct pollfd pfd = { .fd = nl_socket_get_fd(sock), .events = POLLIN };
		int wait_ms = -1;

		if (deadline) {
			long left = deadline - vireoctl_now_ms();

			if (left <= 0) {
				fprintf(stderr, "vireoctl: %u s passed with %u of %u event(s)\n",
					opts->timeout_s, ctx.printed, opts->count);
				goto out;
			}
			wait_ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		if (poll(&pfd, 1, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			perror("vireoctl: poll");
			goto out;
		}
		if ((pfd.revents & POLLIN) && (err = nl_recvmsgs_default(sock)) < 0) {
			/* A full socket buffer drops events: say so, keep going. */
			fprintf(stderr, "vireoctl: receiving events: %s\n", nl_geterror(err));
			if (err != -NLE_NOMEM)
				goto out;
		}
	}
	status = 0;
out:
	if (ctx.malformed)
		fprintf(stderr, "vireoctl: skipped %d malformed event(s)\n", ctx.malformed);
	nl_socket_free(sock);
	return status;
}
