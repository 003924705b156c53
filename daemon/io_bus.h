/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An address-range bus used twice per VM: once for port I/O (16-bit port
 * space) and once for MMIO (guest physical addresses outside RAM).
 *
 * Devices register ranges while the VM is being built; the range table is
 * immutable once the vCPUs run, so lookups take no lock.  Each device does
 * its own locking, since several vCPUs may access it at once.
 *
 * Accesses that hit no device read as all-ones and discard writes, like an
 * unclaimed ISA/PCI bus; each such address is logged once (up to a limit).
 */
#ifndef VIREOD_IO_BUS_H
#define VIREOD_IO_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct io_ops {
	/* 'offset' is relative to the range base; size is 1, 2, 4 or 8. */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
	/*
	 * Widest access the device handles (0 means 8).  Wider accesses are
	 * split into single bytes, which is what an 8-bit ISA device such as
	 * the 16550 sees on real hardware.
	 */
	unsigned max_access;
	/*
	 * Optional: 'n' one-byte writes to the same offset, in order, with
	 * the effect of n calls of write() (a replay of queued fast-port
	 * writes, pio_fast.c).  Without it the bus calls write() n times.
	 */
	void (*write_bytes)(void *opaque, uint64_t offset, const uint8_t *bytes, size_t n);
};

struct io_range {
	uint64_t base;
	uint64_t len;
	const struct io_ops *ops;
	void *opaque;
	const char *owner;
};

#define IO_BUS_UNKNOWN_LOG_MAX	64

struct io_bus {
	const char *name;		/* "port I/O" or "MMIO" */
	uint64_t limit;			/* addresses are < limit (0: 2^64) */
	uint64_t unknown_granule;	/* log unknown accesses per granule */
	enum log_level unknown_level;

	/* Written before the vCPUs start, read-only afterwards. */
	struct io_range *ranges;	/* sorted by base, non-overlapping */
	size_t nr_ranges;

	pthread_mutex_t unknown_lock;	/* guards the two fields below */
	uint64_t unknown_logged[IO_BUS_UNKNOWN_LOG_MAX];
	size_t nr_unknown_logged;
};

void io_bus_init(struct io_bus *bus, const char *name, uint64_t limit,
		 uint64_t unknown_granule, enum log_level unknown_level);
void io_bus_destroy(struct io_bus *bus);

/* Returns 0, -EINVAL for an empty or out-of-bus range, -EEXIST on overlap,
 * -ENOMEM. */
int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len,
		    const struct io_ops *ops, void *opaque, const char *owner);

/* Returns the value read, masked to 'size' bytes. */
uint64_t io_bus_read(struct io_bus *bus, uint64_t addr, unsigned size);
void io_bus_write(struct io_bus *bus, uint64_t addr, unsigned size, uint64_t value);
/* 'n' one-byte writes of bytes[0..n) to the same address, in order. */
void io_bus_write_bytes(struct io_bus *bus, uint64_t addr, const uint8_t *bytes, size_t n);

static inline uint64_t io_size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

#endif
