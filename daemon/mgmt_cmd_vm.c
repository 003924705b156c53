// SPDX-License-Identifier: GPL-2.0
/*
 * Management commands on VMs: vm-list, vm-start, vm-stop, vm-pause,
 * vm-resume, vm-console, vm-console-input.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "errinfo.h"
#include "mgmt.h"
#include "vm.h"

/* vm-console-input: the most bytes one request may carry. */
#define CONSOLE_INPUT_MAX_BYTES		4096
/* How long vm-console-input waits for the guest to drain a full FIFO. */
#define CONSOLE_INPUT_WAIT_MS		50

static const char *const name_only[] = { "name", NULL };

static json_t *vm_describe(const struct vm_config *cfg, struct vm *vm, bool defined)
{
	json_t *item = vm_config_to_json(cfg);
	enum vm_state state;
	char why[512];

	if (!item)
		return NULL;
	json_object_set_new(item, "defined", json_boolean(defined));
	if (!vm) {
		json_object_set_new(item, "state", json_string("defined"));
		return item;
	}
	state = vm_get_state(vm, why, sizeof(why));
	json_object_set_new(item, "state", json_string(state == VM_STATE_RUNNING &&
						       vm_is_paused(vm) ? "paused" :
						       vm_state_name(state)));
	json_object_set_new(item, "vm_id", json_integer(vm->vm_id));
	json_object_set_new(item, "console_bytes", json_integer((json_int_t)console_total(&vm->console)));
	json_object_set_new(item, "reboots", json_integer(vm_reboots(vm)));
	if (why[0]) {
		size_t len;
		char *clean = mgmt_utf8_sanitize((const uint8_t *)why, strlen(why), &len);

		if (clean)
			json_object_set_new(item, "reason", json_stringn(clean, len));
		free(clean);
	}
	return item;
}

static json_t *cmd_vm_list(struct daemon *d, json_t *args, struct errinfo *e)
{
	static const char *const allowed[] = { NULL };
	json_t *list;

	if (mgmt_args_only(args, allowed, e))
		return NULL;
	list = json_array();
	/* Defined VMs first, in file order; then VMs started from inline configs. */
	for (size_t i = 0; i < d->nr_defined; i++) {
		const struct vm_config *cfg = &d->defined[i];
		struct vm *vm = daemon_find_vm(d, cfg->name);

		json_array_append_new(list, vm_describe(vm ? &vm->config : cfg, vm, true));
	}
	for (struct vm *vm = d->vms; vm; vm = vm->next)
		if (!daemon_find_defined(d, vm->config.name))
			json_array_append_new(list, vm_describe(&vm->config, vm, false));
	return json_pack("{s:o}", "vms", list);
}

/* vm-start: {"name": NAME} of a --config VM, or {"config": {VM config}}. */
static json_t *cmd_vm_start(struct daemon *d, json_t *args, struct errinfo *e)
{
	static const char *const allowed[] = { "name", "config", NULL };
	const struct vm_config *cfg;
	struct vm_config inline_cfg;
	const char *name = NULL;
	json_t *config;
	struct vm *vm;

	if (mgmt_args_only(args, allowed, e) || mgmt_arg_string(args, "name", false, &name, e))
		return NULL;
	config = json_object_get(args, "config");
	if (!!name == !!config) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "give exactly one of 'name' (a VM from the --config file) or 'config' (a VM config object)");
		return NULL;
	}
	if (config) {
		if (vm_config_from_json(config, &inline_cfg, e)) {
			char desc[sizeof(e->desc)];

			snprintf(desc, sizeof(desc), "%s", e->desc);
			errinfo_set(e, ERR_INVALID_PARAMETER, "config: %s", desc);
			return NULL;
		}
		cfg = &inline_cfg;
	} else {
		cfg = daemon_find_defined(d, name);
		if (!cfg) {
			errinfo_set(e, ERR_NOT_FOUND, "no VM named '%.64s' is defined%s", name,
				    d->nr_defined ? "" : " (vireod was started without --config)");
			return NULL;
		}
	}
	vm = daemon_start_vm(d, cfg, e);
	if (!vm)
		return NULL;
	return json_pack("{s:s, s:s, s:I}", "name", vm->config.name,
			 "state", vm_state_name(vm_get_state(vm, NULL, 0)),
			 "vm_id", (json_int_t)vm->vm_id);
}

static struct vm *lookup_vm(struct daemon *d, json_t *args, const char *const *allowed,
			    struct errinfo *e)
{
	const char *name = NULL;
	struct vm *vm;

	if (mgmt_args_only(args, allowed, e) || mgmt_arg_string(args, "name", true, &name, e))
		return NULL;
	vm = daemon_find_vm(d, name);
	if (!vm) {
		if (daemon_find_defined(d, name))
			errinfo_set(e, ERR_INVALID_STATE, "VM '%s' has not been started", name);
		else
			errinfo_set(e, ERR_NOT_FOUND, "no VM named '%.64s'", name);
	}
	return vm;
}

static json_t *cmd_vm_stop(struct daemon *d, json_t *args, struct errinfo *e)
{
	struct vm *vm = lookup_vm(d, args, name_only, e);

	if (!vm || daemon_stop_vm(d, vm, "stopped by vm-stop", e))
		return NULL;
	return json_pack("{s:s, s:s}", "name", vm->config.name,
			 "state", vm_state_name(vm_get_state(vm, NULL, 0)));
}

static json_t *vm_name_and_state(struct vm *vm)
{
	enum vm_state state = vm_get_state(vm, NULL, 0);

	return json_pack("{s:s, s:s}", "name", vm->config.name,
			 "state", state == VM_STATE_RUNNING && vm_is_paused(vm) ? "paused" :
			 vm_state_name(state));
}

/* vm-pause: every vCPU out of the guest and waiting; devices paused. */
static json_t *cmd_vm_pause(struct daemon *d, json_t *args, struct errinfo *e)
{
	struct vm *vm = lookup_vm(d, args, name_only, e);

	if (!vm || vm_pause(vm, DAEMON_STOP_TIMEOUT_MS, e))
		return NULL;
	return vm_name_and_state(vm);
}

static json_t *cmd_vm_resume(struct daemon *d, json_t *args, struct errinfo *e)
{
	struct vm *vm = lookup_vm(d, args, name_only, e);

	if (!vm || vm_resume(vm, e))
		return NULL;
	return vm_name_and_state(vm);
}

/*
 * vm-console: console output from 'offset' (default 0) on.  If the ring
 * no longer holds that offset, the answer starts at the oldest byte kept
 * and says "truncated".  Poll with offset = the previous next_offset.
 */
static json_t *cmd_vm_console(struct daemon *d, json_t *args, struct errinfo *e)
{
	static const char *const allowed[] = { "name", "offset", NULL };
	uint64_t offset = 0, start, end;
	struct vm *vm;
	uint8_t *raw;
	char *text;
	size_t n, len;
	json_t *answer;

	/* Arguments first, so a bad offset is reported as such. */
	if (mgmt_arg_uint(args, "offset", false, &offset, e))
		return NULL;
	vm = lookup_vm(d, args, allowed, e);
	if (!vm)
		return NULL;
	raw = malloc(CONSOLE_RING_BYTES);
	if (!raw) {
		errinfo_set(e, ERR_GENERIC, "out of memory");
		return NULL;
	}
	n = console_read(&vm->console, offset, raw, CONSOLE_RING_BYTES, &start, &end);
	text = mgmt_utf8_sanitize(raw, n, &len);
	free(raw);
	if (!text) {
		errinfo_set(e, ERR_GENERIC, "out of memory");
		return NULL;
	}
	answer = json_pack("{s:s%, s:I, s:I, s:b}", "data", text, len,
			   "offset", (json_int_t)start, "next_offset", (json_int_t)end,
			   "truncated", start > offset);
	free(text);
	if (!answer)
		errinfo_set(e, ERR_GENERIC, "out of memory");
	return answer;
}

/*
 * vm-console-input: bytes for the guest's COM1, as if typed on its serial
 * line.  The receive FIFO holds 16 bytes, so this waits up to
 * CONSOLE_INPUT_WAIT_MS (while the guest keeps reading) for the rest to
 * fit; "accepted" says how many bytes of the UTF-8 'data' went in, and a
 * client resends the remainder later.
 */
static json_t *cmd_vm_console_input(struct daemon *d, json_t *args, struct errinfo *e)
{
	static const char *const allowed[] = { "name", "data", NULL };
	const char *data = NULL;
	size_t len, done = 0;
	int idle_ms = 0;
	struct vm *vm;

	if (mgmt_arg_string(args, "data", true, &data, e))
		return NULL;
	len = json_string_length(json_object_get(args, "data"));
	if (len > CONSOLE_INPUT_MAX_BYTES) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "argument 'data' holds %zu bytes; at most %d are accepted at once",
			    len, CONSOLE_INPUT_MAX_BYTES);
		return NULL;
	}
	vm = lookup_vm(d, args, allowed, e);
	if (!vm)
		return NULL;
	if (vm->released || vm_get_state(vm, NULL, 0) != VM_STATE_RUNNING) {
		errinfo_set(e, ERR_INVALID_STATE, "VM '%s' is not running", vm->config.name);
		return NULL;
	}
	while (done < len) {
		size_t taken = vm_console_input(vm, data + done, len - done);
		struct timespec ts = { 0, 1000000L };

		done += taken;
		if (done == len)
			break;
		if (taken)
			idle_ms = 0;
		else if (++idle_ms > CONSOLE_INPUT_WAIT_MS)
			break;
		if (vm_get_state(vm, NULL, 0) != VM_STATE_RUNNING)
			break;
		nanosleep(&ts, NULL);
	}
	return json_pack("{s:s, s:I, s:I}", "name", vm->config.name,
			 "accepted", (json_int_t)done, "length", (json_int_t)len);
}

static const struct mgmt_command mgmt_vm_commands[] = {
	{ "vm-list", cmd_vm_list, "list defined and created VMs with their state" },
	{ "vm-start", cmd_vm_start, "start a VM: {\"name\": N} or {\"config\": {...}}" },
	{ "vm-stop", cmd_vm_stop, "stop a running VM: {\"name\": N}" },
	{ "vm-pause", cmd_vm_pause, "pause a running VM: {\"name\": N}" },
	{ "vm-resume", cmd_vm_resume, "resume a paused VM: {\"name\": N}" },
	{ "vm-console", cmd_vm_console, "console output: {\"name\": N, \"offset\": O}" },
	{ "vm-console-input", cmd_vm_console_input,
	  "type on the console: {\"name\": N, \"data\": S}" },
	{ NULL, NULL, NULL },
};
MGMT_COMMAND_GROUP(mgmt_vm_commands);
