/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's state: the module handle, the VMs defined in the --config
 * file and the VMs that exist (running or ended).  Owned by the main thread;
 * management commands run there too, so none of this needs a lock.
 */
#ifndef VIREOD_DAEMON_H
#define VIREOD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "module.h"
#include "vm.h"

#define VIREOD_VERSION		"0.1.0"
/* How long vm-stop, quit and shutdown wait for vCPU threads to end. */
#define DAEMON_STOP_TIMEOUT_MS	5000

struct daemon {
	struct module_handle module;	/* fd -1 with --no-module */
	struct vm_config *defined;	/* from --config, may be empty */
	size_t nr_defined;
	struct vm *vms;			/* every VM created, newest first */
	int notify_fd;			/* eventfd poked when a VM ends */
	int echo_fd;			/* console echo for new VMs, or -1 */
	bool quit;			/* set by the quit command */
};

void daemon_init(struct daemon *d);
void daemon_fini(struct daemon *d);
bool daemon_have_module(const struct daemon *d);

const struct vm_config *daemon_find_defined(const struct daemon *d, const char *name);
struct vm *daemon_find_vm(const struct daemon *d, const char *name);

/*
 * Creates and starts a VM.  A VM of the same name that has ended is
 * replaced; one that is running is an error.  Returns the VM or NULL.
 */
struct vm *daemon_start_vm(struct daemon *d, const struct vm_config *cfg, struct errinfo *e);
/* Stops a running VM and waits for it; 0 or -errno with 'e' set. */
int daemon_stop_vm(struct daemon *d, struct vm *vm, const char *reason, struct errinfo *e);
/*
 * Reboots every VM whose guest asked for a reset (vm_reboot_due()); with
 * 'drain', first empties notify_fd.  daemon_reap() calls it.
 */
void daemon_reboot_vms(struct daemon *d, bool drain);
/* Reboots and releases the hardware of every VM that has ended (after notify_fd fired). */
void daemon_reap(struct daemon *d);
void daemon_stop_all(struct daemon *d, const char *reason);

#endif
