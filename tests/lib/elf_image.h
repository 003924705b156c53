/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading the test binary itself into guest memory.  Guest code is ordinary
 * C in the test binary: the PT_LOAD segments of the (non-PIE) executable
 * are copied to guest-physical addresses equal to their virtual addresses,
 * so a function pointer of the host is a valid guest RIP and the .rodata
 * strings of GUEST_ASSERT() sit at the same addresses in the guest.
 */
#ifndef VIREO_TEST_ELF_IMAGE_H
#define VIREO_TEST_ELF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct elf_image {
	uint64_t lowest;	/* first byte of the lowest PT_LOAD */
	uint64_t highest;	/* one past the last byte of the highest one */
	uint64_t entry;
	unsigned int nr_load;
};

/*
 * Copy the PT_LOAD segments of the ELF file in @file (of @size bytes) into
 * @mem (guest-physical memory of @mem_bytes), zeroing each segment's tail
 * past p_filesz.  Every segment must lie within [min_gpa, max_gpa).
 * Returns 0, or -ENOEXEC for something that is not a static x86-64 ET_EXEC
 * image, -ERANGE for a segment outside the window, -EINVAL for offsets
 * outside the file.  @out may be NULL.
 */
int elf_load_buffer(const void *file, size_t size, uint8_t *mem,
		    uint64_t mem_bytes, uint64_t min_gpa, uint64_t max_gpa,
		    struct elf_image *out);

/* The test binary (/proc/self/exe), read once and cached. */
const void *elf_self(size_t *size);

/*
 * Name the function containing @addr from the binary's symbol table, as
 * "name+0xoff" in @buf; "?" when unknown.  For failure reports.
 */
const char *elf_symbolize(uint64_t addr, char *buf, size_t len);

#endif /* VIREO_TEST_ELF_IMAGE_H */
