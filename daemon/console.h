/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A VM's console sink: bytes the guest writes to its serial port.  They are
 * kept in a ring buffer (readable over the management socket with an offset,
 * so a client can poll for new output) and optionally copied to a file
 * descriptor (vireod's stdout in --run mode).
 *
 * Offsets count every byte the guest ever wrote; only the last
 * CONSOLE_RING_BYTES of them are kept.
 */
#ifndef VIREOD_CONSOLE_H
#define VIREOD_CONSOLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_RING_BYTES	(64 * 1024)

/* The longest text console_write() watches for, and what it keeps of it. */
#define CONSOLE_WATCH_TAIL	31

struct console {
	pthread_mutex_t lock;		/* guards everything below */
	uint8_t ring[CONSOLE_RING_BYTES];
	uint64_t total;			/* bytes written since creation */
	int echo_fd;			/* -1 for none; set at init only */
	int echo_failed;		/* stop echoing after a write error */
	/*
	 * Called once, outside the lock, the first time the output shows a
	 * Linux oops or panic ("BUG: ", "Oops: ", "general protection
	 * fault", "Kernel panic"); set before the guest runs, may be NULL.
	 */
	void (*on_oops)(void *arg);
	void *on_oops_arg;
	int oops_seen;
	uint8_t watch_tail[CONSOLE_WATCH_TAIL];
	size_t watch_tail_len;
};

void console_init(struct console *c, int echo_fd);
void console_destroy(struct console *c);
void console_write(struct console *c, const void *buf, size_t len);

/*
 * Copies the bytes from 'offset' on (or from the oldest byte still kept, if
 * 'offset' is older) into buf, at most cap bytes.  Returns the number of
 * bytes copied; *start is the offset of the first one, *end the offset just
 * after the last one.
 */
size_t console_read(struct console *c, uint64_t offset, void *buf, size_t cap,
		    uint64_t *start, uint64_t *end);

uint64_t console_total(struct console *c);

#endif
