// SPDX-License-Identifier: GPL-2.0
/*
 * Management commands about the daemon itself: version, commands, quit.
 */
#include "daemon.h"
#include "errinfo.h"
#include "mgmt.h"
#include "vireo.h"

static const char *const no_arguments[] = { NULL };

static json_t *cmd_version(struct daemon *d, json_t *args, struct errinfo *e)
{
	json_t *api;

	if (mgmt_args_only(args, no_arguments, e))
		return NULL;
	api = daemon_have_module(d) ? json_integer(d->module.api_version) : json_null();
	return json_pack("{s:s, s:o, s:i, s:b}",
			 "daemon", VIREOD_VERSION,
			 "api_version", api,
			 "uapi_version", VIREO_API_VERSION,
			 "module", daemon_have_module(d));
}

static void add_command(const struct mgmt_command *cmd, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:s}", "name", cmd->name,
					     "help", cmd->help));
}

static json_t *cmd_commands(struct daemon *d, json_t *args, struct errinfo *e)
{
	json_t *list;

	(void)d;
	if (mgmt_args_only(args, no_arguments, e))
		return NULL;
	list = json_array();
	mgmt_command_foreach(add_command, list);
	return json_pack("{s:o}", "commands", list);
}

/* The answer is sent before the daemon stops its VMs and exits. */
static json_t *cmd_quit(struct daemon *d, json_t *args, struct errinfo *e)
{
	if (mgmt_args_only(args, no_arguments, e))
		return NULL;
	d->quit = true;
	return json_object();
}

static const struct mgmt_command mgmt_daemon_commands[] = {
	{ "version", cmd_version, "daemon version and module API version" },
	{ "commands", cmd_commands, "list the commands this daemon accepts" },
	{ "quit", cmd_quit, "stop every VM and exit vireod" },
	{ NULL, NULL, NULL },
};
MGMT_COMMAND_GROUP(mgmt_daemon_commands);
