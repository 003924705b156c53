// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
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

void console_write(struct console *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_mutex_lock(&c->lock);
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
