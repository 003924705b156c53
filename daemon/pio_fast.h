/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fast ports (uapi VIREO_SET_PIO_FAST): device models name the 1-byte
 * ports the module may complete without an exit, and the writes the module
 * queued meanwhile are replayed through the VM's port I/O bus, in the
 * guest's order, before any later port I/O exit is handled.
 *
 * Who replays: a flusher thread per running VM, woken by the module's
 * eventfd when the queue fills from empty, at most once per 10 ms (so
 * output does not wait for the guest's next exit); a vCPU thread whose port I/O exit reports queued
 * records (run->io.queued), before it handles the exit; pio_fast_stop(),
 * for whatever is left when the vCPUs are gone.  One mutex covers a drain
 * and its replay, so a vCPU never overtakes records another thread drained
 * but has not replayed yet.
 *
 * Device models must not call pio_fast_sync() from their io_ops: replayed
 * writes reach them through those ops with the mutex held.
 */
#ifndef VIREOD_PIO_FAST_H
#define VIREOD_PIO_FAST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vireo.h"

struct errinfo;
struct vm;

struct pio_fast {
	/*
	 * A drain and its replay, and the fields below it.  Taken before
	 * the device locks (the replay writes to the devices), so a device
	 * never takes it.
	 */
	pthread_mutex_t lock;
	struct vireo_pio_record recs[VIREO_PIO_QUEUE_LEN];
	uint64_t replayed;	/* records replayed since the VM was created */

	atomic_bool unsupported;	/* the module refused: every access exits */
	/* Owner (start/stop) only. */
	int event_fd;		/* signalled by the module; -1 when stopped */
	int stop_fd;		/* wakes the flusher to end; -1 when stopped */
	pthread_t thread;
	bool thread_running;
};

void pio_fast_init(struct pio_fast *pf);
void pio_fast_destroy(struct pio_fast *pf);

/*
 * Makes 'port' fast with VIREO_PIO_FAST_* 'flags' (0: an ordinary port
 * again); an IN then returns 'in_value'.  A no-op for a VM without a
 * module fd or on a module that refuses fast ports (logged once).  Safe
 * from any thread, with the device's own lock held.
 */
void pio_fast_set(struct vm *vm, uint16_t port, unsigned int flags, uint8_t in_value);

/*
 * Before a port I/O exit is handled: with 'queued' (run->io.queued) not 0,
 * drains and replays the whole queue; with 0, only waits for a replay in
 * progress.  Also called before a fatal exit is reported, so the guest's
 * last output comes first.  vCPU threads and pio_fast_stop() only.
 */
void pio_fast_sync(struct vm *vm, uint32_t queued);

/* The flusher thread, started with the vCPUs; 0 or -errno. */
int pio_fast_start(struct vm *vm);
/* Ends the flusher and replays what is left; the vCPUs must be out. */
void pio_fast_stop(struct vm *vm);

/* Unit tests: receives pio_fast_set() calls instead of the module. */
typedef void (*pio_fast_sink_fn)(struct vm *vm, uint16_t port, unsigned int flags,
				 uint8_t in_value);
void pio_fast_set_test_sink(pio_fast_sink_fn sink);

#endif
