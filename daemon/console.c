// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "console.h"
#include "log.h"

void console_init(struct console *c, int echo_fd)
{
	pthread_mutex_init(&c->lock, NULL);
	c->total = 0;
	c->echo_fd = echo_fd;
	c->echo_failed = 0;
	c->on_oops = NULL;
	c->on_oops_arg = NULL;
	c->oops_seen = 0;
	c->watch_tail_len = 0;
}

void console_destroy(struct console *c)
{
	pthread_mutex_destroy(&c->lock);
}

static void console_echo(struct console *c, const uint8_t *buf, size_t len)
{
	while (len && !c->echo_failed) {
		ssize_t n = write(c->echo_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A closed stdout must not take the VM down. */
			c->echo_failed = 1;
			log_warn("console: echo write failed (%s); echo disabled",
				 n < 0 ? strerror(errno) : "short write");
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * True the first time the output so far shows a Linux oops or panic.  The
 * window is the kept tail plus up to 512 new bytes at a time, so a text
 * split across two writes is still found.  Caller holds the lock.
 */
static bool console_watch(struct console *c, const uint8_t *p, size_t len)
{
	static const char *const texts[] = {
		"BUG: ", "Oops: ", "general protection fault", "Kernel panic",
	};
	uint8_t window[CONSOLE_WATCH_TAIL + 512];

	while (len && !c->oops_seen) {
		size_t chunk = len < 512 ? len : 512, n, keep;

		memcpy(window, c->watch_tail, c->watch_tail_len);
		memcpy(window + c->watch_tail_len, p, chunk);
		n = c->watch_tail_len + chunk;
		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
			if (memmem(window, n, texts[i], strlen(texts[i])))
				c->oops_seen = 1;
		keep = n < CONSOLE_WATCH_TAIL ? n : CONSOLE_WATCH_TAIL;
		memcpy(c->watch_tail, window + n - keep, keep);
		c->watch_tail_len = keep;
		p += chunk;
		len -= chunk;
	}
	return c->oops_seen == 1 && (c->oops_seen = 2);
}

void console_write(struct console *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	bool oops = false;

	pthread_mutex_lock(&c->lock);
	if (c->on_oops)
		oops = console_watch(c, p, len);
	if (c->echo_fd >= 0)
		console_echo(c, p, len);
	/* Only the tail fits if len exceeds the ring. */
	if (len > CONSOLE_RING_BYTES) {
		c->total += len - CONSOLE_RING_BYTES;
		p += len - CONSOLE_RING_BYTES;
		len = CONSOLE_RING_BYTES;
	}
	while (len) {
		size_t at = c->total % CONSOLE_RING_BYTES;
		size_t chunk = CONSOLE_RING_BYTES - at;

		if (chunk > len)
			chunk = len;
		memcpy(c->ring + at, p, chunk);
		c->total += chunk;
		p += chunk;
		len -= chunk;
	}
	pthread_mutex_unlock(&c->lock);
	if (oops)
		c->on_oops(c->on_oops_arg);
}

size_t console_read(struct console *c, uint64_t offset, void *buf, size_t cap,
		    uint64_t *start, uint64_t *end)
{
	uint8_t *out = buf;
	uint64_t oldest, pos;
	size_t copied = 0;

	pthread_mutex_lock(&c->lock);
	oldest = c->total > CONSOLE_RING_BYTES ? c->total - CONSOLE_RING_BYTES : 0;
	if (offset < oldest)
		offset = oldest;
	if (offset > c->total)
		offset = c->total;
	pos = offset;
	while (pos < c->total && copied < cap) {
		size_t at = pos % CONSOLE_RING_BYTES;
		size_t chunk = CONSOLE_RING_BYTES - at;

		if (chunk > c->total - pos)
			chunk = c->total - pos;
		if (chunk > cap - copied)
			chunk = cap - copied;
		memcpy(out + copied, c->ring + at, chunk);
		copied += chunk;
		pos += chunk;
	}
	pthread_mutex_unlock(&c->lock);
	*start = offset;
	*end = pos;
	return copied;
}

uint64_t console_total(struct console *c)
{
	uint64_t total;

	pthread_mutex_lock(&c->lock);
	total = c->total;
	pthread_mutex_unlock(&c->lock);
	return total;
}
