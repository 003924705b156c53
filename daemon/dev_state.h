/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device state save/load as one routine whose direction is a parameter, so
 * that the two can never drift apart (the STYLE rule).  A device's
 * sync_state hook calls dev_state_u8() & co. once per field, in a fixed
 * order: when saving they append the field to the buffer, when loading they
 * overwrite the field from it.  Errors are sticky: after the first one every
 * call is a no-op and the hook's caller sees st->error.
 *
 * A device must validate loaded values (ring indexes, counts) before using
 * them: a saved image is untrusted input like anything from the guest.
 */
#ifndef VIREOD_DEV_STATE_H
#define VIREOD_DEV_STATE_H

#include <stddef.h>
#include <stdint.h>

enum dev_state_dir {
	DEV_STATE_SAVE,
	DEV_STATE_LOAD,
};

struct dev_state {
	enum dev_state_dir dir;
	uint8_t *buf;
	size_t len;	/* capacity when saving, data length when loading */
	size_t pos;
	int error;	/* 0, -ENOSPC (save overflow), -EINVAL (load truncated) */
};

void dev_state_init(struct dev_state *st, enum dev_state_dir dir, void *buf, size_t len);
void dev_state_bytes(struct dev_state *st, void *field, size_t len);
void dev_state_u8(struct dev_state *st, uint8_t *field);
void dev_state_u16(struct dev_state *st, uint16_t *field);
void dev_state_u32(struct dev_state *st, uint32_t *field);
void dev_state_u64(struct dev_state *st, uint64_t *field);

#endif
