// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "io_bus.h"

void io_bus_init(struct io_bus *bus, const char *name, uint64_t limit,
		 uint64_t unknown_granule, enum log_level unknown_level)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bus->limit = limit;
	bus->unknown_granule = unknown_granule ? unknown_granule : 1;
	bus->unknown_level = unknown_level;
	pthread_mutex_init(&bus->unknown_lock, NULL);
}

void io_bus_destroy(struct io_bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr_ranges = 0;
	pthread_mutex_destroy(&bus->unknown_lock);
}

int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len,
		    const struct io_ops *ops, void *opaque, const char *owner)
{
	struct io_range *grown;
	size_t i;

	if (!len || base + len < base || !ops || !ops->read || !ops->write)
		return -EINVAL;
	if (bus->limit && (base >= bus->limit || len > bus->limit - base))
		return -EINVAL;

	for (i = 0; i < bus->nr_ranges; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
		if (r->base > base)
			break;
	}
	grown = realloc(bus->ranges, (bus->nr_ranges + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	bus->ranges = grown;
	memmove(&grown[i + 1], &grown[i], (bus->nr_ranges - i) * sizeof(*grown));
	grown[i] = (struct io_range){
		.base = base, .len = len, .ops = ops, .opaque = opaque,
		.owner = owner,
	};
	bus->nr_ranges++;
	return 0;
}

static const struct io_range *io_bus_find(const struct io_bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->nr_ranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct io_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static void io_bus_log_unknown(struct io_bus *bus, uint64_t addr, unsigned size,
			       bool is_write, uint64_t value)
{
	uint64_t key = addr / bus->unknown_granule;
	bool first = true, last = false;
	size_t i;

	if (!log_enabled(bus->unknown_level))
		return;
	pthread_mutex_lock(&bus->unknown_lock);
	for (i = 0; i < bus->nr_unknown_logged; i++)
		if (bus->unknown_logged[i] == key)
			first = false;
	if (first && bus->nr_unknown_logged == IO_BUS_UNKNOWN_LOG_MAX)
		first = false;	/* table full: stay quiet from now on */
	if (first) {
		bus->unknown_logged[bus->nr_unknown_logged++] = key;
		last = bus->nr_unknown_logged == IO_BUS_UNKNOWN_LOG_MAX;
	}
	pthread_mutex_unlock(&bus->unknown_lock);

	if (!first)
		return;
	if (is_write)
		log_msg(bus->unknown_level,
			"%s: write of 0x%" PRIx64 " (%u bytes) to unclaimed address 0x%" PRIx64 " ignored",
			bus->name, value, size, addr);
	else
		log_msg(bus->unknown_level,
			"%s: read (%u bytes) from unclaimed address 0x%" PRIx64 " returns all-ones",
			bus->name, size, addr);
	if (last)
		log_msg(bus->unknown_level,
			"%s: further unclaimed addresses are not logged", bus->name);
}

/*
 * One access, either handed whole to the device that claims it, or split
 * into bytes when it is wider than the device accepts or runs past the end
 * of its range.  Byte accesses never split further, so recursion depth is 1.
 */
static uint64_t io_bus_access(struct io_bus *bus, uint64_t addr, unsigned size,
			      bool is_write, uint64_t value)
{
	const struct io_range *r = io_bus_find(bus, addr);
	uint64_t offset, result = 0;
	unsigned max, i;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return io_size_mask(8);	/* the caller validated; be safe */
	if (!r) {
		io_bus_log_unknown(bus, addr, size, is_write, value);
		return io_size_mask(size);
	}
	offset = addr - r->base;
	max = r->ops->max_access ? r->ops->max_access : 8;
	if (size <= max && size <= r->len - offset) {
		if (is_write) {
			r->ops->write(r->opaque, offset, size, value & io_size_mask(size));
			return 0;
		}
		return r->ops->read(r->opaque, offset, size) & io_size_mask(size);
	}
	for (i = 0; i < size; i++) {
		uint64_t byte = io_bus_access(bus, addr + i, 1, is_write,
					      (value >> (8 * i)) & 0xff);

		result |= (byte & 0xff) << (8 * i);
	}
	return is_write ? 0 : result;
}

uint64_t io_bus_read(struct io_bus *bus, uint64_t addr, unsigned size)
{
	return io_bus_access(bus, addr, size, false, 0);
}

void io_bus_write(struct io_bus *bus, uint64_t addr, unsigned size, uint64_t value)
{
	io_bus_access(bus, addr, size, true, value);
}

void io_bus_write_bytes(struct io_bus *bus, uint64_t addr, const uint8_t *bytes, size_t n)
{
	const struct io_range *r = io_bus_find(bus, addr);

	if (r && r->ops->write_bytes) {
		r->ops->write_bytes(r->opaque, addr - r->base, bytes, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		io_bus_access(bus, addr, 1, true, bytes[i]);
}
