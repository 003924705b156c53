// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon.h"
#include "errinfo.h"
#include "log.h"

void daemon_init(struct daemon *d)
{
	memset(d, 0, sizeof(*d));
	d->module.fd = -1;
	d->echo_fd = -1;
	d->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->notify_fd < 0)
		log_warn("eventfd: %s; ended VMs are reaped on the next command",
			 strerror(errno));
}

bool daemon_have_module(const struct daemon *d)
{
	return d->module.fd >= 0;
}

void daemon_fini(struct daemon *d)
{
	daemon_stop_all(d, "vireod is shutting down");
	while (d->vms) {
		struct vm *vm = d->vms;

		d->vms = vm->next;
		vm_destroy(vm, DAEMON_STOP_TIMEOUT_MS);
	}
	free(d->defined);
	d->defined = NULL;
	d->nr_defined = 0;
	module_close(&d->module);
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	d->notify_fd = -1;
}

const struct vm_config *daemon_find_defined(const struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->nr_defined; i++)
		if (!strcmp(d->defined[i].name, name))
			return &d->defined[i];
	return NULL;
}

struct vm *daemon_find_vm(const struct daemon *d, const char *name)
{
	for (struct vm *vm = d->vms; vm; vm = vm->next)
		if (!strcmp(vm->config.name, name))
			return vm;
	return NULL;
}

static void daemon_unlink_vm(struct daemon *d, struct vm *vm)
{
	for (struct vm **p = &d->vms; *p; p = &(*p)->next) {
		if (*p == vm) {
			*p = vm->next;
			return;
		}
	}
}

struct vm *daemon_start_vm(struct daemon *d, const struct vm_config *cfg, struct errinfo *e)
{
	struct vm *old = daemon_find_vm(d, cfg->name);
	struct vm *vm;

	if (!daemon_have_module(d)) {
		errinfo_set(e, ERR_MODULE_UNAVAILABLE,
			    "vireod runs without the module (--no-module): VMs cannot start");
		return NULL;
	}
	if (old && vm_get_state(old, NULL, 0) == VM_STATE_RUNNING) {
		errinfo_set(e, ERR_INVALID_STATE, "VM '%s' is already running", cfg->name);
		return NULL;
	}
	vm = vm_create(cfg, &d->module, d->echo_fd, d->notify_fd, e);
	if (!vm)
		return NULL;
	log_info("vm %s: starting", cfg->name);
	if (vm_start(vm, e)) {
		vm_destroy(vm, DAEMON_STOP_TIMEOUT_MS);
		return NULL;
	}
	if (old) {
		daemon_unlink_vm(d, old);
		vm_destroy(old, DAEMON_STOP_TIMEOUT_MS);
	}
	vm->next = d->vms;
	d->vms = vm;
	return vm;
}

int daemon_stop_vm(struct daemon *d, struct vm *vm, const char *reason, struct errinfo *e)
{
	if (vm_get_state(vm, NULL, 0) != VM_STATE_RUNNING) {
		errinfo_set(e, ERR_INVALID_STATE, "VM '%s' is not running", vm->config.name);
		return -EINVAL;
	}
	vm_request_stop(vm, reason);
	if (!vm_wait(vm, DAEMON_STOP_TIMEOUT_MS)) {
		errinfo_set(e, ERR_GENERIC, "VM '%s' did not stop within %d ms",
			    vm->config.name, DAEMON_STOP_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	daemon_reap(d);
	return 0;
}

static void daemon_log_end(struct vm *vm, enum vm_state state, const char *why)
{
	if (state == VM_STATE_CRASHED)
		log_error("vm %s: crashed: %s", vm->config.name, why);
	else if (state == VM_STATE_STOPPED)
		log_info("vm %s: stopped (%s)", vm->config.name, why);
	else
		log_info("vm %s: halted (every vCPU executed HLT)", vm->config.name);
}

void daemon_reboot_vms(struct daemon *d, bool drain)
{
	uint64_t count;

	if (drain && d->notify_fd >= 0 && read(d->notify_fd, &count, sizeof(count)) < 0 &&
	    errno != EAGAIN)
		log_warn("eventfd read: %s", strerror(errno));
	for (struct vm *vm = d->vms; vm; vm = vm->next) {
		struct errinfo e = { 0 };

		/* On failure the VM ends as crashed, and is reaped as such. */
		if (vm_reboot_due(vm))
			vm_reboot(vm, &e);
	}
}

void daemon_reap(struct daemon *d)
{
	char why[512];

	daemon_reboot_vms(d, true);
	for (struct vm *vm = d->vms; vm; vm = vm->next) {
		enum vm_state state = vm_get_state(vm, why, sizeof(why));

		if (vm->released || state == VM_STATE_RUNNING || state == VM_STATE_CREATED)
			continue;
		daemon_log_end(vm, state, why);
		vm_release(vm);
	}
}

void daemon_stop_all(struct daemon *d, const char *reason)
{
	for (struct vm *vm = d->vms; vm; vm = vm->next)
		if (vm_get_state(vm, NULL, 0) == VM_STATE_RUNNING)
			vm_request_stop(vm, reason);
	for (struct vm *vm = d->vms; vm; vm = vm->next)
		if (!vm_wait(vm, DAEMON_STOP_TIMEOUT_MS))
			log_error("vm %s: did not stop within %d ms", vm->config.name,
				  DAEMON_STOP_TIMEOUT_MS);
	daemon_reap(d);
}
