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
 * and vm_destroy() to free the rest.  A guest reset does not end the VM
 * (unless "on_reboot" is "stop"): the last vCPU thread out sets reboot_due
 * and pokes notify_fd, and the owner's vm_reboot() rebuilds the hardware
 * side in the same record.
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
#include "pio_fast.h"
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
	struct pio_fast pio_fast;	/* fast ports: own lock (pio_fast.h) */

	atomic_bool stop_requested;	/* vCPUs leave their loop when set */
	atomic_bool pause_requested;	/* vCPUs park in vm_vcpu_park() when set */
	const struct module_handle *module;	/* for a reboot; NULL if detached */

	/*
	 * Guarded by hw_lock: threads other than the owner and the vCPUs that
	 * touch the devices (the --console-stdin feeder) hold it for reading,
	 * a reboot holds it for writing while it rebuilds the hardware side.
	 */
	pthread_rwlock_t hw_lock;

	pthread_mutex_t lock;	/* guards the fields below and vCPU kicks */
	pthread_cond_t ended;	/* broadcast when state leaves RUNNING */
	pthread_cond_t parked;	/* broadcast when a vCPU parks or ends */
	pthread_cond_t unpause;	/* broadcast on resume and on stop */
	unsigned int vcpus_parked;	/* vCPU threads waiting in vm_vcpu_park() */
	bool paused;		/* vm_pause() done, vm_resume() not yet */
	enum vm_state state;
	unsigned int vcpus_active;	/* vCPU threads not yet ended */
	unsigned int vcpus_halted;	/* vCPU threads that ended by HLT */
	bool crashed;
	char stop_reason[128];	/* why a stop was requested */
	char error[512];	/* first crash report, for vm-list */
	bool reset_pending;	/* a guest reset: restart when the vCPUs are out */
	bool reboot_due;	/* every vCPU is out: the owner reboots the VM */
	unsigned int reboots;	/* guest reboots done */

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
 * The vCPUs are stopped with reason "reset requested by guest".  With
 * "on_reboot": "stop" the VM then ends as stopped; with "restart" (the
 * default) the state stays RUNNING, the last vCPU out sets reboot_due and
 * pokes notify_fd, and the owner calls vm_reboot().  A stop or crash that
 * comes before the reboot wins over it.  Safe from any thread.
 */
void vm_request_reset(struct vm *vm);
/* True if the vCPUs have left for a guest reset and vm_reboot() is due. */
bool vm_reboot_due(struct vm *vm);
/*
 * Owner only, when vm_reboot_due(): joins the vCPU threads, frees the VM
 * on the module, its RAM and its devices, builds them again from the same
 * config (fresh RAM, image or kernel/initrd/cmdline loaded again, devices
 * created anew) and starts the vCPUs.  The record, the console and its
 * offsets continue.  On failure the VM ends as crashed; returns 0 or -1.
 */
int vm_reboot(struct vm *vm, struct errinfo *e);
unsigned int vm_reboots(struct vm *vm);
/*
 * Bytes typed on the console (COM1), from any thread: takes hw_lock, so it
 * is safe during a reboot (0 bytes are taken while the devices are gone).
 */
size_t vm_console_input(struct vm *vm, const void *buf, size_t len);
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

/*
 * Pause and resume (owner only).  vm_pause() sets pause_requested, kicks
 * every vCPU out of VIREO_RUN and waits (up to timeout_ms) until every
 * running vCPU thread waits in vm_vcpu_park(), then calls the devices'
 * pause hooks.  vm_resume() calls their resume hooks and releases the
 * vCPUs.  A paused VM stays RUNNING for vm_get_state() (vm-list shows
 * "paused"); a stop releases parked vCPUs, which then leave.  0 or -errno
 * with 'e' set.
 */
int vm_pause(struct vm *vm, int timeout_ms, struct errinfo *e);
int vm_resume(struct vm *vm, struct errinfo *e);
bool vm_is_paused(struct vm *vm);
/*
 * Owner only: logs every vCPU's registers (info level).  A running VM is
 * paused for it (as vm_pause(), waiting up to timeout_ms) and resumed after.
 * 0 or -errno with 'e' set.
 */
int vm_log_vcpus(struct vm *vm, int timeout_ms, struct errinfo *e);
/* vCPU threads: waits while a pause is requested and no stop is. */
void vm_vcpu_park(struct vm *vm);

/* The guest-physical qword at @gpa (8-byte aligned); false if not in RAM. */
bool vm_guest_read_u64(const struct vm *vm, uint64_t gpa, uint64_t *val);
/*
 * @gva through the guest's 4-level long-mode page tables at @cr3 (4 KiB,
 * 2 MiB and 1 GiB pages), reading them from guest RAM; false if an entry
 * is not present or a table is not in RAM.  Access rights are not checked.
 */
bool vm_guest_translate(const struct vm *vm, uint64_t cr3, uint64_t gva, uint64_t *gpa);

/* Called by a vCPU thread as its very last action; 'halted' if it ended by HLT. */
void vm_vcpu_ended(struct vm *vm, bool halted);

#endif
