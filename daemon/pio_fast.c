// SPDX-License-Identifier: GPL-2.0
/*
 * Fast ports on the daemon side: arming them on the module and replaying
 * the writes it queued.  See pio_fast.h for who replays when.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "io_bus.h"
#include "log.h"
#include "pio_fast.h"
#include "vm.h"

/*
 * Shortest time between two replays by the flusher thread: how late console
 * output may appear.  At 2 ms, a Linux boot in the single-threaded test VM
 * took 7% longer (docs/devices.md).
 */
#define PIO_FAST_BATCH_MS	10

static _Atomic(pio_fast_sink_fn) pio_fast_test_sink;

void pio_fast_set_test_sink(pio_fast_sink_fn sink)
{
	atomic_store(&pio_fast_test_sink, sink);
}

void pio_fast_init(struct pio_fast *pf)
{
	memset(pf, 0, sizeof(*pf));
	pthread_mutex_init(&pf->lock, NULL);
	atomic_init(&pf->unsupported, false);
	pf->event_fd = -1;
	pf->stop_fd = -1;
}

void pio_fast_destroy(struct pio_fast *pf)
{
	pthread_mutex_destroy(&pf->lock);
}

/* A module without fast ports (older, or a test double): carry on without. */
static void pio_fast_refused(struct vm *vm, const char *what, int err)
{
	if (!atomic_exchange(&vm->pio_fast.unsupported, true))
		log_info("vm %s: %s: %s; port I/O exits to vireod for every access",
			 vm->config.name, what, strerror(err));
}

void pio_fast_set(struct vm *vm, uint16_t port, unsigned int flags, uint8_t in_value)
{
	struct vireo_pio_fast req = { .port = port, .flags = flags, .in_value = in_value };
	pio_fast_sink_fn sink = atomic_load(&pio_fast_test_sink);
	int err;

	if (sink) {
		sink(vm, port, flags, in_value);
		return;
	}
	if (vm->fd < 0 || atomic_load(&vm->pio_fast.unsupported))
		return;
	if (ioctl(vm->fd, VIREO_SET_PIO_FAST, &req) == 0)
		return;
	/*
	 * A port left fast with a stale answer would lie to the guest:
	 * take it back (removal cannot fail on a module that has the
	 * ioctl) and arm no port from now on.  What is already queued is
	 * still replayed (pio_fast_sync() does not look at 'unsupported').
	 */
	err = errno;
	req = (struct vireo_pio_fast){ .port = port };
	if (err != ENOTTY)
		(void)ioctl(vm->fd, VIREO_SET_PIO_FAST, &req);
	pio_fast_refused(vm, "VIREO_SET_PIO_FAST", err);
}

/*
 * Replays records in order, each run of writes to one port as one burst
 * (a console line is one write to the console, not one per byte).
 */
static void pio_fast_replay(struct vm *vm, const struct vireo_pio_record *recs, uint32_t n)
{
	uint8_t bytes[VIREO_PIO_QUEUE_LEN];
	uint32_t i = 0, len;

	while (i < n) {
		for (len = 0; i + len < n && recs[i + len].port == recs[i].port; len++)
			bytes[len] = recs[i + len].value;
		io_bus_write_bytes(&vm->pio, recs[i].port, bytes, len);
		i += len;
	}
}

/* Drains the module's queue and replays it; pf->lock held. */
static void pio_fast_replay_locked(struct vm *vm)
{
	struct vireo_pio_record *recs = vm->pio_fast.recs;
	struct vireo_pio_drain d;

	do {
		d = (struct vireo_pio_drain){
			.records = (uintptr_t)recs,
			.max = VIREO_PIO_QUEUE_LEN,
		};
		if (ioctl(vm->fd, VIREO_PIO_DRAIN, &d) < 0) {
			log_error("vm %s: VIREO_PIO_DRAIN: %s; queued port writes are lost",
				  vm->config.name, strerror(errno));
			break;
		}
		pio_fast_replay(vm, recs, d.count);
		vm->pio_fast.replayed += d.count;
	} while (d.count == d.max);
}

void pio_fast_sync(struct vm *vm, uint32_t queued)
{
	struct pio_fast *pf = &vm->pio_fast;

	if (vm->fd < 0)
		return;
	pthread_mutex_lock(&pf->lock);
	if (queued)
		pio_fast_replay_locked(vm);
	pthread_mutex_unlock(&pf->lock);
}

static void *pio_fast_flusher(void *arg)
{
	struct vm *vm = arg;
	struct pio_fast *pf = &vm->pio_fast;

	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = pf->event_fd, .events = POLLIN },
			{ .fd = pf->stop_fd, .events = POLLIN },
		};
		uint64_t count;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("vm %s: fast-port flusher: poll: %s", vm->config.name,
				  strerror(errno));
			break;
		}
		if (fds[1].revents)
			break;
		if (read(pf->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			log_warn("vm %s: fast-port eventfd: %s", vm->config.name, strerror(errno));
		pthread_mutex_lock(&pf->lock);
		pio_fast_replay_locked(vm);
		pthread_mutex_unlock(&pf->lock);
		/*
		 * The module signals each time the queue fills from empty,
		 * so a guest printing a line would wake us for every few
		 * bytes.  Let a batch gather instead: at most one replay per
		 * PIO_FAST_BATCH_MS (console output waits that much at most;
		 * an exit that needs the queue replays it itself).
		 */
		if (poll(&fds[1], 1, PIO_FAST_BATCH_MS) > 0)
			break;
	}
	return NULL;
}

int pio_fast_start(struct vm *vm)
{
	struct pio_fast *pf = &vm->pio_fast;
	struct vireo_pio_notify notify = { .fd = -1 };
	int ret;

	if (vm->fd < 0 || atomic_load(&pf->unsupported) || pf->thread_running)
		return 0;
	pf->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pf->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (pf->event_fd < 0 || pf->stop_fd < 0) {
		ret = -errno;
		goto fail;
	}
	notify.fd = pf->event_fd;
	if (ioctl(vm->fd, VIREO_SET_PIO_NOTIFY, &notify) < 0) {
		ret = -errno;
		if (ret == -ENOTTY) {
			pio_fast_refused(vm, "VIREO_SET_PIO_NOTIFY", ENOTTY);
			ret = 0;
		}
		goto fail;
	}
	ret = -pthread_create(&pf->thread, NULL, pio_fast_flusher, vm);
	if (ret) {
		notify.fd = -1;
		(void)ioctl(vm->fd, VIREO_SET_PIO_NOTIFY, &notify);
		goto fail;
	}
	pf->thread_running = true;
	return 0;
fail:
	if (pf->event_fd >= 0)
		close(pf->event_fd);
	if (pf->stop_fd >= 0)
		close(pf->stop_fd);
	pf->event_fd = pf->stop_fd = -1;
	return ret;
}

void pio_fast_stop(struct vm *vm)
{
	struct pio_fast *pf = &vm->pio_fast;
	uint64_t one = 1;

	if (pf->thread_running) {
		/* An eventfd write fails only on counter overflow: not from 0. */
		if (write(pf->stop_fd, &one, sizeof(one)) < 0)
			log_error("vm %s: cannot stop the fast-port flusher: %s",
				  vm->config.name, strerror(errno));
		pthread_join(pf->thread, NULL);
		pf->thread_running = false;
		close(pf->event_fd);
		close(pf->stop_fd);
		pf->event_fd = pf->stop_fd = -1;
	}
	/* The guest's last words before it stopped or crashed. */
	pio_fast_sync(vm, UINT32_MAX);
}
