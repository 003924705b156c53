/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A synthetic bzImage for the loader tests: a setup header with the fields
 * of a modern x86-64 kernel (protocol 2.15, relocatable, 64-bit entry,
 * 2 MiB alignment, pref_address 16 MiB), one setup sector, and a small
 * protected-mode part whose bytes at the 64-bit entry (offset 0x200) are a
 * caller-chosen payload.  Tests then break one field at a time.
 */
#ifndef VIREOD_TESTS_FAKE_BZIMAGE_H
#define VIREOD_TESTS_FAKE_BZIMAGE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux_boot.h"

#define FAKE_SETUP_SECTS	1
#define FAKE_SETUP_BYTES	((FAKE_SETUP_SECTS + 1) * 512)
#define FAKE_PM_BYTES		8192
#define FAKE_PREF_ADDRESS	0x1000000u
#define FAKE_INIT_SIZE		0x400000u		/* 4 MiB */
#define FAKE_CMDLINE_SIZE	2047u

struct fake_bzimage {
	uint8_t bytes[FAKE_SETUP_BYTES + FAKE_PM_BYTES];
	size_t len;
};

static inline void fake_put16(uint8_t *b, size_t off, uint16_t v) { memcpy(b + off, &v, 2); }
static inline void fake_put32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static inline void fake_put64(uint8_t *b, size_t off, uint64_t v) { memcpy(b + off, &v, 8); }

static inline void fake_bzimage_init(struct fake_bzimage *k, const char *payload)
{
	uint8_t *b = k->bytes;

	memset(k, 0, sizeof(*k));
	k->len = sizeof(k->bytes);
	b[HDR_SETUP_SECTS] = FAKE_SETUP_SECTS;
	fake_put32(b, HDR_SYSSIZE, FAKE_PM_BYTES / 16);
	fake_put16(b, HDR_BOOT_FLAG, LINUX_BOOT_FLAG);
	b[HDR_JUMP] = 0xeb;				/* jmp short over the header */
	b[HDR_JUMP + 1] = 0x6a;				/* header ends at 0x26c */
	fake_put32(b, HDR_MAGIC, LINUX_HDR_MAGIC);
	fake_put16(b, HDR_VERSION, 0x020f);
	b[HDR_LOADFLAGS] = LINUX_LOADED_HIGH;
	fake_put32(b, HDR_CODE32_START, 0x100000);
	fake_put32(b, HDR_INITRD_ADDR_MAX, 0x7fffffff);
	fake_put32(b, HDR_KERNEL_ALIGNMENT, 0x200000);
	b[HDR_RELOCATABLE] = 1;
	b[HDR_RELOCATABLE + 1] = 21;			/* min_alignment */
	fake_put16(b, HDR_XLOADFLAGS, 0x7f);
	fake_put32(b, HDR_CMDLINE_SIZE, FAKE_CMDLINE_SIZE);
	fake_put64(b, HDR_PREF_ADDRESS, FAKE_PREF_ADDRESS);
	fake_put32(b, HDR_INIT_SIZE, FAKE_INIT_SIZE);
	for (size_t i = 0; i < FAKE_PM_BYTES; i++)
		b[FAKE_SETUP_BYTES + i] = (uint8_t)(i * 13 + 5);
	if (payload)
		memcpy(b + FAKE_SETUP_BYTES + LINUX_ENTRY_64_OFFSET, payload, strlen(payload) + 1);
}

static inline int fake_bzimage_write(const struct fake_bzimage *k, const char *path)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(k->bytes, 1, k->len, f) == k->len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

#endif
