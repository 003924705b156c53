/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A VM: the VM fd, guest RAM, vCPUs, buses, devices and console.
 *
 * Lifetime: vm_create() builds everything and loads the image; vm_start()
 * spawns one thread per vCPU; the VM ends when every vCPU thread has ended
 * (each by HLT, by a stop request, or because some vCPU crashed the VM).
 * The last vCPU thread out wakes the owner through 'notify_fd' (an eventfd)
 * and vm_wait(); the owner then calls vm_release() to join the threads and
 * free the hardware side, keeping the record (state, console) for queries,
 * and vm_destroy() to free the rest.
 *
 * Threads: the owner (main thread) creates, starts, releases and destroys.
 * vCPU threads only run exits and call vm_crash()/vm_request_stop().
 */
#ifndef VIREOD_VM_H
#define VIREOD_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "console.h"
#include "device.h"
#include "io_bus.h"
#include "linux_boot.h"
#include "vm_config.h"

struct module_handle;
struct vcpu;

enum vm_state {
	VM_STATE_CREATED,	/* built, vCPUs not started */
	VM_STATE_RUNNING,
	VM_STATE_HALTED,	/* every vCPU executed HLT: a clean end */
	VM_STATE_STOPPED,	/* stopped on request (socket, signal, netlink) */
	VM_STATE_CRASHED,	/* a fatal exit or error; see vm->error */
};

struct vm {
	/* Set by vm_create(), immutable afterwards. */
	struct vm_config config;
	int fd;			/* VM fd; -1 for a detached VM (tests) */
	uint32_t vm_id;		/* module's id, as in the netlink family */
	uint8_t *ram;
	uint64_t ram_bytes;
	unsigned int nr_vcpus;
	struct vcpu **vcpus;
	struct io_bus pio;	/* registered during vm_create only */
	struct io_bus mmio;
	struct device_instance *devices;
	size_t nr_devices;
	int notify_fd;		/* eventfd to poke when the VM ends, or -1 */
	struct linux_layout linux_boot;	/* where the loader put a Linux guest */
	bool irqchip;		/* created with VIREO_VM_FLAG_IRQCHIP (irq.h) */

	struct console console;	/* own lock */

	atomic_bool stop_requested;	/* vCPUs leave their loop when set */

	pthread_mutex_t lock;	/* guards the fields below and vCPU kicks */
	pthread_cond_t ended;	/* broadcast when state leaves RUNNING */
	enum vm_state state;
	unsigned int vcpus_active;	/* vCPU threads not yet ended */
	unsigned int vcpus_halted;	/* vCPU threads that ended by HLT */
	bool crashed;
	char stop_reason[128];	/* why a stop was requested */
	char error[512];	/* first crash report, for vm-list */

	/* Owner (main thread) only. */
	bool released;
	struct vm *next;
};

/*
 * Builds a VM from 'cfg' on the module.  Console output is copied to
 * echo_fd if >= 0.  Returns NULL with 'e' set on failure.
 */
struct vm *vm_create(const struct vm_config *cfg, const struct module_handle *module,
		     int echo_fd, int notify_fd, struct errinfo *e);
/*
 * A VM without the module, for unit tests: RAM is anonymous memory, the
 * vCPUs have an exit record in plain memory and no fd.  It cannot start.
 */
struct vm *vm_create_detached(const struct vm_config *cfg, struct errinfo *e);

int vm_start(struct vm *vm, struct errinfo *e);
/* Asks every vCPU to leave its run loop; safe from any thread. */
void vm_request_stop(struct vm *vm, const char *reason);
/*
 * A guest asked for a system reset (i8042 command 0xFE, port 0x92 bit 0).
 * For now this stops the VM with reason "reset requested by guest"; safe
 * from any thread.
 */
void vm_request_reset(struct vm *vm);
/* Records the first crash report and stops the VM; safe from any thread. */
void vm_crash(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Waits until the VM is no longer RUNNING; false on timeout (ms, -1 = forever). */
bool vm_wait(struct vm *vm, int timeout_ms);
/* Joins the vCPU threads and frees the hardware side of an ended VM. */
void vm_release(struct vm *vm);
/* Stops (waiting up to timeout_ms), releases and frees. */
void vm_destroy(struct vm *vm, int timeout_ms);

enum vm_state vm_get_state(struct vm *vm, char *error, size_t error_len);
const char *vm_state_name(enum vm_state state);

/* Called by a vCPU thread as its very last action; 'halted' if it ended by HLT. */
void vm_vcpu_ended(struct vm *vm, bool halted);

#endif
