// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "cpuid_policy.h"
#include "errinfo.h"
#include "log.h"
#include "module.h"
#include "uart_16550.h"
#include "vcpu.h"
#include "vm.h"

/* Port I/O: 16-bit port space; log each unclaimed port once, quietly. */
#define VM_PIO_LIMIT		0x10000
/* MMIO: log unclaimed accesses once per 4 KiB page. */
#define VM_MMIO_GRANULE		4096

const char *vm_state_name(enum vm_state state)
{
	switch (state) {
	case VM_STATE_CREATED:	return "created";
	case VM_STATE_RUNNING:	return "running";
	case VM_STATE_HALTED:	return "halted";
	case VM_STATE_STOPPED:	return "stopped";
	case VM_STATE_CRASHED:	return "crashed";
	}
	return "unknown";
}

static struct vm *vm_alloc(const struct vm_config *cfg, int echo_fd, int notify_fd,
			   struct errinfo *e)
{
	pthread_condattr_t attr;
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm) {
		errinfo_set(e, ERR_GENERIC, "out of memory");
		return NULL;
	}
	vm->config = *cfg;
	vm->fd = -1;
	vm->notify_fd = notify_fd;
	vm->ram_bytes = vm_config_ram_bytes(cfg);
	vm->nr_vcpus = cfg->vcpus;
	vm->vcpus = calloc(cfg->vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		free(vm);
		errinfo_set(e, ERR_GENERIC, "out of memory");
		return NULL;
	}
	io_bus_init(&vm->pio, "port I/O", VM_PIO_LIMIT, 1, LOG_LEVEL_DEBUG);
	io_bus_init(&vm->mmio, "MMIO", 0, VM_MMIO_GRANULE, LOG_LEVEL_WARN);
	console_init(&vm->console, echo_fd);
	pio_fast_init(&vm->pio_fast);
	atomic_init(&vm->stop_requested, false);
	atomic_init(&vm->pause_requested, false);
	pthread_mutex_init(&vm->lock, NULL);
	pthread_rwlock_init(&vm->hw_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->ended, &attr);
	pthread_cond_init(&vm->parked, &attr);
	pthread_cond_init(&vm->unpause, &attr);
	pthread_condattr_destroy(&attr);
	vm->state = VM_STATE_CREATED;
	return vm;
}

static int vm_create_on_module(struct vm *vm, const struct module_handle *module,
			       struct errinfo *e)
{
	struct vireo_vm_config vc = { .ram_bytes = vm->ram_bytes };

	/*
	 * A Linux guest needs local APICs, and its vCPUs other than 0 must wait
	 * for a start-up IPI (linux_boot.h): both come with the irqchip.
	 */
	if (vm->config.entry == VM_ENTRY_LINUX)
		vc.flags = VIREO_VM_FLAG_IRQCHIP;
	struct vireo_vm_info info;
	struct vireo_cpuid *policy;
	int ret, tsc_khz;

	vm->fd = ioctl(module->fd, VIREO_CREATE_VM, &vc);
	if (vm->fd < 0) {
		errinfo_set(e, ERR_GENERIC, "VIREO_CREATE_VM (%" PRIu64 " MiB%s): %s",
			    vm->config.memory_mib, vc.flags ? ", irqchip" : "", strerror(errno));
		return -1;
	}
	vm->irqchip = vc.flags & VIREO_VM_FLAG_IRQCHIP;
	/* The id only links vm-list to the netlink view: not worth failing for. */
	if (ioctl(vm->fd, VIREO_GET_VM_INFO, &info) < 0)
		log_warn("vm %s: VIREO_GET_VM_INFO: %s; module VM id unknown",
			 vm->config.name, strerror(errno));
	else
		vm->vm_id = info.vm_id;
	vm->ram = mmap(NULL, vm->ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, vm->fd, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		errinfo_set(e, ERR_GENERIC, "mmap of guest RAM: %s", strerror(errno));
		return -1;
	}

	/* The guest TSC runs at the host's rate; 0 (unknown) is allowed. */
	tsc_khz = ioctl(module->fd, VIREO_GET_TSC_KHZ, 0);
	if (tsc_khz < 0) {
		log_warn("vm %s: VIREO_GET_TSC_KHZ: %s; CPUID 0x40000010 gives no TSC rate",
			 vm->config.name, strerror(errno));
		tsc_khz = 0;
	}
	policy = cpuid_policy_build(cpuid_host, cpuid_host_xcr0(), (uint32_t)tsc_khz);
	if (!policy) {
		errinfo_set(e, ERR_GENERIC, "out of memory");
		return -1;
	}
	ret = ioctl(vm->fd, VIREO_SET_CPUID, policy);
	free(policy);
	if (ret < 0) {
		errinfo_set(e, ERR_GENERIC, "VIREO_SET_CPUID: %s", strerror(errno));
		return -1;
	}

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = calloc(1, sizeof(*vcpu));

		if (!vcpu) {
			errinfo_set(e, ERR_GENERIC, "out of memory");
			return -1;
		}
		vm->vcpus[i] = vcpu;
		vcpu->vm = vm;
		vcpu->id = i;
		vcpu->fd = ioctl(vm->fd, VIREO_CREATE_VCPU, (unsigned long)i);
		if (vcpu->fd < 0) {
			errinfo_set(e, ERR_GENERIC, "VIREO_CREATE_VCPU %u: %s", i, strerror(errno));
			return -1;
		}
		vcpu->run = mmap(NULL, module->run_size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, vcpu->fd, 0);
		if (vcpu->run == MAP_FAILED) {
			vcpu->run = NULL;
			errinfo_set(e, ERR_GENERIC, "mmap of vCPU %u exit record: %s",
				    i, strerror(errno));
			return -1;
		}
		vcpu->run_size = module->run_size;
	}
	return 0;
}

static int vm_create_detached_parts(struct vm *vm, struct errinfo *e)
{
	vm->ram = mmap(NULL, vm->ram_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		errinfo_set(e, ERR_GENERIC, "mmap of %" PRIu64 " MiB: %s",
			    vm->config.memory_mib, strerror(errno));
		return -1;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = calloc(1, sizeof(*vcpu));

		if (!vcpu) {
			errinfo_set(e, ERR_GENERIC, "out of memory");
			return -1;
		}
		vm->vcpus[i] = vcpu;
		vcpu->vm = vm;
		vcpu->id = i;
		vcpu->fd = -1;
		vcpu->run = calloc(1, sizeof(*vcpu->run));
		if (!vcpu->run) {
			errinfo_set(e, ERR_GENERIC, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* The part common to real and detached VMs: devices, image, registers. */
static int vm_load(struct vm *vm, struct errinfo *e)
{
	if (vm->config.entry == VM_ENTRY_LINUX)
		return linux_boot_load(&vm->config, vm->ram, vm->ram_bytes, &vm->linux_boot, e);
	return boot_load_image(&vm->config, vm->ram, vm->ram_bytes, e);
}

static int vm_build(struct vm *vm, struct errinfo *e)
{
	if (device_create_all(vm, e) || vm_load(vm, e))
		return -1;
	if (vm->fd < 0)
		return 0;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];
		struct vireo_sregs sregs;
		struct vireo_regs regs;

		if (vm->config.entry == VM_ENTRY_LINUX)
			linux_boot_vcpu_state(&vm->linux_boot, i, &regs, &sregs);
		else
			boot_vcpu_state(&vm->config, vm->ram_bytes, i, &regs, &sregs);
		if (ioctl(vcpu->fd, VIREO_SET_SREGS, &sregs) < 0) {
			errinfo_set(e, ERR_GENERIC, "VIREO_SET_SREGS on vCPU %u: %s",
				    i, strerror(errno));
			return -1;
		}
		if (ioctl(vcpu->fd, VIREO_SET_REGS, &regs) < 0) {
			errinfo_set(e, ERR_GENERIC, "VIREO_SET_REGS on vCPU %u: %s",
				    i, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * The guest's console showed a Linux oops or panic (console_write(), from
 * whichever thread wrote it): have the main loop log every vCPU's state
 * now, while the exit trace still holds the switches that led there.
 */
static void vm_guest_oops(void *arg)
{
	struct vm *vm = arg;

	log_warn("vm %s: the guest's console shows a kernel oops or panic; logging its vCPUs",
		 vm->config.name);
	kill(getpid(), SIGUSR2);	/* SIGUSR1 is the vCPU kick */
}

struct vm *vm_create(const struct vm_config *cfg, const struct module_handle *module,
		     int echo_fd, int notify_fd, struct errinfo *e)
{
	struct vm *vm = vm_alloc(cfg, echo_fd, notify_fd, e);

	if (!vm)
		return NULL;
	vm->module = module;
	vm->console.on_oops = vm_guest_oops;
	vm->console.on_oops_arg = vm;
	if (vm_create_on_module(vm, module, e) || vm_build(vm, e)) {
		vm_destroy(vm, 0);
		return NULL;
	}
	if (cfg->entry == VM_ENTRY_LINUX)
		log_info("vm %s: created (module VM id %u, %" PRIu64 " MiB, %u vCPU%s, Linux kernel %s at 0x%" PRIx64 ", entry 0x%" PRIx64 ", initrd %" PRIu64 " bytes at 0x%" PRIx64 ")",
			 cfg->name, vm->vm_id, cfg->memory_mib, cfg->vcpus,
			 cfg->vcpus == 1 ? "" : "s", cfg->kernel, vm->linux_boot.kernel_gpa,
			 vm->linux_boot.entry_rip, vm->linux_boot.initrd_bytes,
			 vm->linux_boot.initrd_gpa);
	else
		log_info("vm %s: created (module VM id %u, %" PRIu64 " MiB, %u vCPU%s, %s-mode entry at 0x%" PRIx64 ")",
			 cfg->name, vm->vm_id, cfg->memory_mib, cfg->vcpus, cfg->vcpus == 1 ? "" : "s",
			 vm_entry_name(cfg->entry), cfg->load_address);
	return vm;
}

struct vm *vm_create_detached(const struct vm_config *cfg, struct errinfo *e)
{
	struct vm *vm = vm_alloc(cfg, -1, -1, e);

	if (!vm)
		return NULL;
	if (vm_create_detached_parts(vm, e) || vm_build(vm, e)) {
		vm_destroy(vm, 0);
		return NULL;
	}
	return vm;
}

/* Called with vm->lock held once no vCPU thread is left. */
static void vm_set_ended_locked(struct vm *vm)
{
	if (vm->crashed)
		vm->state = VM_STATE_CRASHED;
	else if (vm->vcpus_halted == vm->nr_vcpus)
		vm->state = VM_STATE_HALTED;
	else
		vm->state = VM_STATE_STOPPED;
	pthread_cond_broadcast(&vm->ended);
}

/* Starts the vCPU threads of a built VM; vm->lock held, state RUNNING. */
static int vm_start_threads_locked(struct vm *vm, struct errinfo *e)
{
	unsigned int i = 0;
	int ret;

	vm->vcpus_active = vm->nr_vcpus;
	ret = pio_fast_start(vm);
	if (ret)
		snprintf(vm->error, sizeof(vm->error), "cannot start the fast-port flusher: %s",
			 strerror(-ret));
	/*
	 * Threads are started with the lock held, so a vCPU that crashes at
	 * once waits in vm_crash() until every thread_started flag is set.
	 */
	for (; i < vm->nr_vcpus && !ret; i++) {
		ret = vcpu_thread_start(vm->vcpus[i]);
		if (ret) {
			snprintf(vm->error, sizeof(vm->error), "cannot start vCPU %u thread: %s",
				 i, strerror(-ret));
			break;
		}
	}
	if (ret) {
		vm->crashed = true;
		errinfo_set(e, ERR_GENERIC, "%s", vm->error);
		atomic_store(&vm->stop_requested, true);
		for (unsigned int j = 0; j < i; j++)
			vcpu_kick(vm->vcpus[j]);
		vm->vcpus_active -= vm->nr_vcpus - i;
		if (!vm->vcpus_active)
			vm_set_ended_locked(vm);
	}
	return ret;
}

int vm_start(struct vm *vm, struct errinfo *e)
{
	int ret;

	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_STATE_CREATED || vm->fd < 0) {
		pthread_mutex_unlock(&vm->lock);
		errinfo_set(e, ERR_INVALID_STATE, "VM '%s' cannot be started", vm->config.name);
		return -EINVAL;
	}
	vm->state = VM_STATE_RUNNING;
	ret = vm_start_threads_locked(vm, e);
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

/* Writes to notify_fd: a VM ended, or a reboot is due. */
static void vm_notify_owner(int notify_fd)
{
	uint64_t one = 1;

	if (notify_fd >= 0 && write(notify_fd, &one, sizeof(one)) < 0)
		log_warn("vm: cannot notify the main loop: %s", strerror(errno));
}

static void vm_kick_all_locked(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i] && vm->vcpus[i]->run)
			vcpu_kick(vm->vcpus[i]);
}

void vm_request_stop(struct vm *vm, const char *reason)
{
	int notify_fd = -1;

	pthread_mutex_lock(&vm->lock);
	/* A stop (or crash) overrides a guest reset not yet carried out. */
	if (!atomic_load(&vm->stop_requested) || vm->reset_pending || vm->reboot_due)
		snprintf(vm->stop_reason, sizeof(vm->stop_reason), "%s", reason);
	vm->reset_pending = false;
	atomic_store(&vm->stop_requested, true);
	if (vm->reboot_due) {
		/* Every vCPU thread is already out: the VM ends here. */
		vm->reboot_due = false;
		vm_set_ended_locked(vm);
		notify_fd = vm->notify_fd;
	}
	vm_kick_all_locked(vm);
	pthread_cond_broadcast(&vm->unpause);	/* parked vCPUs leave too */
	pthread_mutex_unlock(&vm->lock);
	vm_notify_owner(notify_fd);
}

void vm_request_reset(struct vm *vm)
{
	bool restart = vm->config.on_reboot == VM_ON_REBOOT_RESTART && vm->module;
	bool first = false;

	pthread_mutex_lock(&vm->lock);
	if (!atomic_load(&vm->stop_requested)) {
		first = true;
		snprintf(vm->stop_reason, sizeof(vm->stop_reason), "reset requested by guest");
		vm->reset_pending = restart;
		atomic_store(&vm->stop_requested, true);
		vm_kick_all_locked(vm);
	}
	pthread_mutex_unlock(&vm->lock);
	if (first)
		log_info("vm %s: reset requested by guest: %s", vm->config.name,
			 restart ? "restarting" : "stopping (on_reboot is \"stop\")");
}

bool vm_reboot_due(struct vm *vm)
{
	bool due;

	pthread_mutex_lock(&vm->lock);
	due = vm->reboot_due;
	pthread_mutex_unlock(&vm->lock);
	return due;
}

unsigned int vm_reboots(struct vm *vm)
{
	unsigned int n;

	pthread_mutex_lock(&vm->lock);
	n = vm->reboots;
	pthread_mutex_unlock(&vm->lock);
	return n;
}

void vm_crash(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	if (!vm->crashed) {
		vm->crashed = true;
		va_start(ap, fmt);
		vsnprintf(vm->error, sizeof(vm->error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vm->lock);
	vm_request_stop(vm, "crashed");
}

void vm_vcpu_ended(struct vm *vm, bool halted)
{
	int notify_fd = -1;

	pthread_mutex_lock(&vm->lock);
	if (halted)
		vm->vcpus_halted++;
	pthread_cond_broadcast(&vm->parked);	/* a pause waits for fewer vCPUs */
	if (!--vm->vcpus_active) {
		/* A guest reset keeps the VM RUNNING: the owner reboots it. */
		if (vm->reset_pending && !vm->crashed)
			vm->reboot_due = true;
		else
			vm_set_ended_locked(vm);
		vm->reset_pending = false;
		notify_fd = vm->notify_fd;
	}
	pthread_mutex_unlock(&vm->lock);
	vm_notify_owner(notify_fd);
}

static void vm_deadline(struct timespec *deadline, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += timeout_ms / 1000;
	deadline->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
}

void vm_vcpu_park(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->vcpus_parked++;
	pthread_cond_broadcast(&vm->parked);
	while (atomic_load(&vm->pause_requested) && !atomic_load(&vm->stop_requested))
		pthread_cond_wait(&vm->unpause, &vm->lock);
	vm->vcpus_parked--;
	pthread_mutex_unlock(&vm->lock);
}

int vm_pause(struct vm *vm, int timeout_ms, struct errinfo *e)
{
	struct timespec deadline;
	bool timed_out = false;

	vm_deadline(&deadline, timeout_ms);
	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_STATE_RUNNING || atomic_load(&vm->stop_requested) ||
	    vm->reboot_due) {
		pthread_mutex_unlock(&vm->lock);
		errinfo_set(e, ERR_INVALID_STATE, "VM '%s' is not running", vm->config.name);
		return -EINVAL;
	}
	if (vm->paused) {
		pthread_mutex_unlock(&vm->lock);
		errinfo_set(e, ERR_INVALID_STATE, "VM '%s' is already paused", vm->config.name);
		return -EINVAL;
	}
	atomic_store(&vm->pause_requested, true);
	vm_kick_all_locked(vm);
	while (vm->vcpus_parked < vm->vcpus_active && vm->state == VM_STATE_RUNNING &&
	       !atomic_load(&vm->stop_requested) && !timed_out)
		timed_out = pthread_cond_timedwait(&vm->parked, &vm->lock, &deadline) == ETIMEDOUT;
	if (vm->vcpus_parked < vm->vcpus_active || vm->state != VM_STATE_RUNNING ||
	    atomic_load(&vm->stop_requested)) {
		/* Stopped, reset or stuck meanwhile: no pause. */
		atomic_store(&vm->pause_requested, false);
		pthread_cond_broadcast(&vm->unpause);
		pthread_mutex_unlock(&vm->lock);
		if (timed_out)
			errinfo_set(e, ERR_GENERIC, "VM '%s': vCPUs did not pause within %d ms",
				    vm->config.name, timeout_ms);
		else
			errinfo_set(e, ERR_INVALID_STATE, "VM '%s' stopped while pausing",
				    vm->config.name);
		return timed_out ? -ETIMEDOUT : -EINVAL;
	}
	vm->paused = true;
	pthread_mutex_unlock(&vm->lock);
	/* No vCPU runs: the devices can freeze their timers. */
	device_pause_all(vm);
	log_info("vm %s: paused", vm->config.name);
	return 0;
}

int vm_log_vcpus(struct vm *vm, int timeout_ms, struct errinfo *e)
{
	bool was_paused = vm_is_paused(vm);
	int ret;

	if (!was_paused) {
		ret = vm_pause(vm, timeout_ms, e);
		if (ret)
			return ret;
	}
	log_info("vm %s: registers of its %u vCPUs%s", vm->config.name, vm->nr_vcpus,
		 was_paused ? " (paused)" : "");
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_log_registers(vm->vcpus[i], LOG_LEVEL_INFO);
	return was_paused ? 0 : vm_resume(vm, e);
}

int vm_resume(struct vm *vm, struct errinfo *e)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->paused || vm->state != VM_STATE_RUNNING) {
		pthread_mutex_unlock(&vm->lock);
		errinfo_set(e, ERR_INVALID_STATE, "VM '%s' is not paused", vm->config.name);
		return -EINVAL;
	}
	pthread_mutex_unlock(&vm->lock);
	device_resume_all(vm);
	pthread_mutex_lock(&vm->lock);
	vm->paused = false;
	atomic_store(&vm->pause_requested, false);
	pthread_cond_broadcast(&vm->unpause);
	pthread_mutex_unlock(&vm->lock);
	log_info("vm %s: resumed", vm->config.name);
	return 0;
}

bool vm_is_paused(struct vm *vm)
{
	bool paused;

	pthread_mutex_lock(&vm->lock);
	paused = vm->paused && vm->state == VM_STATE_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	return paused;
}

bool vm_wait(struct vm *vm, int timeout_ms)
{
	struct timespec deadline;
	bool ended;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms > 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&vm->lock);
	while (vm->state == VM_STATE_RUNNING) {
		if (timeout_ms < 0)
			pthread_cond_wait(&vm->ended, &vm->lock);
		else if (!timeout_ms ||
			 pthread_cond_timedwait(&vm->ended, &vm->lock, &deadline) == ETIMEDOUT)
			break;
	}
	ended = vm->state != VM_STATE_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	return ended;
}

/* vm_release() without hw_lock, which the caller holds for writing. */
static void vm_release_locked(struct vm *vm)
{
	if (vm->released)
		return;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (vcpu && vcpu->thread_started && !vcpu->thread_joined) {
			pthread_join(vcpu->thread, NULL);
			vcpu->thread_joined = true;
		}
	}
	/* No thread may kick a joined vCPU, nor touch a freed device. */
	pthread_mutex_lock(&vm->lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i])
			vm->vcpus[i]->thread_started = false;
	pthread_mutex_unlock(&vm->lock);

	/* The queued port writes reach the devices before these go. */
	pio_fast_stop(vm);
	device_destroy_all(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		if (vcpu->run && vcpu->fd >= 0)
			munmap(vcpu->run, vcpu->run_size);
		else
			free(vcpu->run);
		if (vcpu->fd >= 0)
			close(vcpu->fd);
		free(vcpu);
		vm->vcpus[i] = NULL;
	}
	if (vm->ram)
		munmap(vm->ram, vm->ram_bytes);
	vm->ram = NULL;
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	vm->released = true;
}

void vm_release(struct vm *vm)
{
	pthread_rwlock_wrlock(&vm->hw_lock);
	vm_release_locked(vm);
	pthread_rwlock_unlock(&vm->hw_lock);
}

int vm_reboot(struct vm *vm, struct errinfo *e)
{
	unsigned int reboots;
	int ret;

	pthread_mutex_lock(&vm->lock);
	if (!vm->reboot_due || !vm->module) {
		pthread_mutex_unlock(&vm->lock);
		errinfo_set(e, ERR_INVALID_STATE, "VM '%s' has no reboot due", vm->config.name);
		return -1;
	}
	pthread_mutex_unlock(&vm->lock);

	/* Every vCPU thread is out; vm_release_locked() joins them. */
	pthread_rwlock_wrlock(&vm->hw_lock);
	vm_release_locked(vm);
	io_bus_destroy(&vm->pio);
	io_bus_destroy(&vm->mmio);
	io_bus_init(&vm->pio, "port I/O", VM_PIO_LIMIT, 1, LOG_LEVEL_DEBUG);
	io_bus_init(&vm->mmio, "MMIO", 0, VM_MMIO_GRANULE, LOG_LEVEL_WARN);
	vm->released = false;
	vm->vm_id = 0;
	vm->irqchip = false;
	memset(&vm->linux_boot, 0, sizeof(vm->linux_boot));
	ret = vm_create_on_module(vm, vm->module, e) || vm_build(vm, e) ? -1 : 0;
	if (ret)
		vm_release_locked(vm);
	pthread_rwlock_unlock(&vm->hw_lock);

	pthread_mutex_lock(&vm->lock);
	vm->reboot_due = false;
	if (ret) {
		vm->crashed = true;
		snprintf(vm->error, sizeof(vm->error), "reboot failed: %.480s", e->desc);
		vm_set_ended_locked(vm);
		pthread_mutex_unlock(&vm->lock);
		log_error("vm %s: reboot failed: %s", vm->config.name, e->desc);
		return -1;
	}
	atomic_store(&vm->stop_requested, false);
	vm->vcpus_halted = 0;
	vm->stop_reason[0] = '\0';
	reboots = ++vm->reboots;
	ret = vm_start_threads_locked(vm, e);
	pthread_mutex_unlock(&vm->lock);
	if (ret) {
		log_error("vm %s: reboot failed: %s", vm->config.name, e->desc);
		return -1;
	}
	log_info("vm %s: rebooted (reboot %u, module VM id %u)", vm->config.name, reboots,
		 vm->vm_id);
	return 0;
}

size_t vm_console_input(struct vm *vm, const void *buf, size_t len)
{
	size_t taken = 0;

	pthread_rwlock_rdlock(&vm->hw_lock);
	if (!vm->released && vm->devices)
		taken = uart_input(vm, buf, len);
	pthread_rwlock_unlock(&vm->hw_lock);
	return taken;
}

void vm_destroy(struct vm *vm, int timeout_ms)
{
	if (!vm)
		return;
	if (vm_get_state(vm, NULL, 0) == VM_STATE_RUNNING) {
		vm_request_stop(vm, "destroyed");
		if (!vm_wait(vm, timeout_ms)) {
			/* Freeing under running threads would be worse than a leak. */
			log_error("vm %s: vCPUs did not stop within %d ms; leaking the VM",
				  vm->config.name, timeout_ms);
			return;
		}
	}
	vm_release(vm);
	io_bus_destroy(&vm->pio);
	io_bus_destroy(&vm->mmio);
	console_destroy(&vm->console);
	pio_fast_destroy(&vm->pio_fast);
	pthread_cond_destroy(&vm->ended);
	pthread_cond_destroy(&vm->parked);
	pthread_cond_destroy(&vm->unpause);
	pthread_rwlock_destroy(&vm->hw_lock);
	pthread_mutex_destroy(&vm->lock);
	free(vm->vcpus);
	free(vm);
}

enum vm_state vm_get_state(struct vm *vm, char *error, size_t error_len)
{
	enum vm_state state;

	pthread_mutex_lock(&vm->lock);
	state = vm->state;
	if (error && error_len) {
		if (state == VM_STATE_CRASHED)
			snprintf(error, error_len, "%s", vm->error);
		else if (state == VM_STATE_STOPPED)
			snprintf(error, error_len, "%s", vm->stop_reason);
		else
			error[0] = '\0';
	}
	pthread_mutex_unlock(&vm->lock);
	return state;
}

bool vm_guest_read_u64(const struct vm *vm, uint64_t gpa, uint64_t *val)
{
	if (gpa % 8 || gpa >= vm->ram_bytes)
		return false;
	memcpy(val, vm->ram + gpa, sizeof(*val));
	return true;
}

bool vm_guest_translate(const struct vm *vm, uint64_t cr3, uint64_t gva, uint64_t *gpa)
{
	const uint64_t addr_mask = 0x000ffffffffff000ULL;
	uint64_t table = cr3 & addr_mask, e;

	for (int level = 3; level >= 0; level--) {
		unsigned int shift = 12 + 9 * level;

		if (!vm_guest_read_u64(vm, table + ((gva >> shift) & 511) * 8, &e) || !(e & 1))
			return false;
		if ((level == 1 || level == 2) && (e & 0x80)) {	/* PS: a large page */
			*gpa = (e & addr_mask & ~((1ULL << shift) - 1)) | (gva & ((1ULL << shift) - 1));
			return true;
		}
		table = e & addr_mask;
	}
	*gpa = table | (gva & 0xfff);
	return true;
}
