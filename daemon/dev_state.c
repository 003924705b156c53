// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "dev_state.h"

void dev_state_init(struct dev_state *st, enum dev_state_dir dir, void *buf, size_t len)
{
	st->dir = dir;
	st->buf = buf;
	st->len = len;
	st->pos = 0;
	st->error = 0;
}

void dev_state_bytes(struct dev_state *st, void *field, size_t len)
{
	if (st->error)
		return;
	if (len > st->len - st->pos) {
		st->error = st->dir == DEV_STATE_SAVE ? -ENOSPC : -EINVAL;
		return;
	}
	if (st->dir == DEV_STATE_SAVE)
		memcpy(st->buf + st->pos, field, len);
	else
		memcpy(field, st->buf + st->pos, len);
	st->pos += len;
}

/* Integers are stored little-endian whatever the host is. */
static void dev_state_uint(struct dev_state *st, uint64_t *value, unsigned bytes)
{
	uint8_t raw[8];
	unsigned i;

	if (st->dir == DEV_STATE_SAVE)
		for (i = 0; i < bytes; i++)
			raw[i] = (uint8_t)(*value >> (8 * i));
	dev_state_bytes(st, raw, bytes);
	if (st->dir == DEV_STATE_LOAD && !st->error) {
		*value = 0;
		for (i = 0; i < bytes; i++)
			*value |= (uint64_t)raw[i] << (8 * i);
	}
}

void dev_state_u8(struct dev_state *st, uint8_t *field)
{
	uint64_t v = *field;

	dev_state_uint(st, &v, 1);
	*field = (uint8_t)v;
}

void dev_state_u16(struct dev_state *st, uint16_t *field)
{
	uint64_t v = *field;

	dev_state_uint(st, &v, 2);
	*field = (uint16_t)v;
}

void dev_state_u32(struct dev_state *st, uint32_t *field)
{
	uint64_t v = *field;

	dev_state_uint(st, &v, 4);
	*field = (uint32_t)v;
}

void dev_state_u64(struct dev_state *st, uint64_t *field)
{
	dev_state_uint(st, field, 8);
}
