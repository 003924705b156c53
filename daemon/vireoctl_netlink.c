// SPDX-License-Identifier: GPL-2.0
/*
 * `vireoctl vms`: a dump of VIREO_NL_CMD_GET_VM on the generic-netlink
 * family "vireo" (uapi/vireo_netlink.h).  Works without vireod: it lists
 * every VM the module knows, whoever created it.
 */
#include <inttypes.h>
#include <jansson.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
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

static int on_vm(struct nl_msg *msg, void *arg)
{
	struct vms_ctx *ctx = arg;
	struct nlattr *tb[VIREO_NL_ATTR_MAX + 1], *nest;
	json_t *vm, *stats;
	int rem;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, VIREO_NL_ATTR_MAX, vm_policy) < 0 ||
	    !tb[VIREO_NL_ATTR_VM_ID]) {
		ctx->malformed++;
		return NL_SKIP;
	}
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
				ctx->malformed++;
		}
	}
	json_object_set_new(vm, "exit_stats", stats);
	json_array_append_new(ctx->vms, vm);
	return NL_OK;
}

static void print_vms(json_t *vms)
{
	json_t *vm, *stat;
	size_t i, j;

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
		json_array_foreach(json_object_get(vm, "exit_stats"), j, stat)
			if (json_integer_value(json_object_get(stat, "count")))
				printf("  %-18s %" JSON_INTEGER_FORMAT "\n",
				       json_string_value(json_object_get(stat, "name")),
				       json_integer_value(json_object_get(stat, "count")));
	}
}

int vireoctl_vms(bool json_output)
{
	struct vms_ctx ctx = { .vms = json_array() };
	struct nl_sock *sock = nl_socket_alloc();
	struct nl_msg *msg = NULL;
	int family, err = -1;

	if (!sock || !ctx.vms) {
		fprintf(stderr, "vireoctl: out of memory\n");
		goto out;
	}
	if ((err = genl_connect(sock)) < 0) {
		fprintf(stderr, "vireoctl: generic netlink: %s\n", nl_geterror(err));
		goto out;
	}
	family = genl_ctrl_resolve(sock, VIREO_GENL_NAME);
	if (family < 0) {
		fprintf(stderr, "vireoctl: generic netlink family '%s' not found: is vireo.ko loaded?\n",
			VIREO_GENL_NAME);
		err = family;
		goto out;
	}
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
