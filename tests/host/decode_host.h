/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-side tests of kmod/decode.c, the MMIO instruction decoder.
 *
 * kmod/decode.c is compiled unchanged in user space: shim/ provides the
 * handful of kernel headers it and kmod/vireo_core.h include (types, errno,
 * EFER bits, and the kernel objects the core header only names).  The
 * decoder reads guest-controlled bytes, so it has a unit test
 * (decode_test.c), a libFuzzer target (decode_fuzz.c) and a driver that
 * replays corpora and random inputs through that target without libFuzzer
 * (decode_replay.c).
 */
#ifndef VIREO_DECODE_HOST_H
#define VIREO_DECODE_HOST_H

#include <linux/kernel.h>
#include <linux/errno.h>
#include <asm/msr-index.h>

#include "vireo_core.h"

/* The longest instruction the CPU executes (SDM vol. 2A, 2.3.11). */
#define X86_MAX_INSN_LEN	15

/*
 * Processor modes as the decoder sees them.  A fuzz input's first byte
 * selects one by its low three bits (the remaining bits are ignored):
 * bit 0 EFER.LMA, bit 1 CS.L, bit 2 CS.D/B.  Every combination is
 * meaningful to the decoder, including CS.L without EFER.LMA, which the
 * CPU ignores (the decoder must too).
 */
#define DECODE_MODE_LMA		0x1
#define DECODE_MODE_CS_L	0x2
#define DECODE_MODE_CS_DB	0x4
#define DECODE_MODE_MASK	0x7

#define DECODE_MODE_REAL	0
#define DECODE_MODE_PROT32	DECODE_MODE_CS_DB
#define DECODE_MODE_COMPAT16	DECODE_MODE_LMA
#define DECODE_MODE_COMPAT32	(DECODE_MODE_LMA | DECODE_MODE_CS_DB)
#define DECODE_MODE_LONG	(DECODE_MODE_LMA | DECODE_MODE_CS_L)

static inline void decode_mode_paging(unsigned int mode, struct vireo_paging *pg)
{
	memset(pg, 0, sizeof(*pg));
	if (mode & DECODE_MODE_LMA)
		pg->efer = EFER_LME | EFER_LMA;
	pg->cs_l = mode & DECODE_MODE_CS_L;
	pg->cs_db = mode & DECODE_MODE_CS_DB;
}

/* 64-bit code: EFER.LMA and CS.L (APM vol. 2, 4.8.1). */
static inline bool decode_mode_is_long(unsigned int mode)
{
	return (mode & DECODE_MODE_LONG) == DECODE_MODE_LONG;
}

/*
 * @len bytes at the very end of a readable page, followed by a page that is
 * not mapped: a read past the end faults even without a sanitizer.  Only
 * one such buffer exists; guarded_copy() returns it filled with @bytes.
 */
const u8 *guarded_copy(const u8 *bytes, size_t len);

#endif /* VIREO_DECODE_HOST_H */
