// SPDX-License-Identifier: GPL-2.0
/*
 * A buffer that ends where readable memory ends, so that a decoder reading
 * one byte too far faults at once, with or without a sanitizer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "decode_host.h"

#define GUARD_DATA_PAGES	4

const u8 *guarded_copy(const u8 *bytes, size_t len)
{
	static u8 *area;
	static size_t data_size;
	u8 *dst;

	if (!area) {
		size_t page = sysconf(_SC_PAGESIZE);

		data_size = GUARD_DATA_PAGES * page;
		area = mmap(NULL, data_size + page, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (area == MAP_FAILED ||
		    mprotect(area + data_size, page, PROT_NONE)) {
			perror("guarded_copy: mmap/mprotect");
			abort();
		}
	}
	if (len > data_size) {
		fprintf(stderr, "guarded_copy: %zu bytes is more than %zu\n",
			len, data_size);
		abort();
	}
	dst = area + data_size - len;
	if (len)
		memcpy(dst, bytes, len);
	return dst;
}
