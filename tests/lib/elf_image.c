// SPDX-License-Identifier: GPL-2.0
/*
 * ELF loading of the test binary into guest memory, and symbol lookup for
 * failure reports.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_image.h"
#include "test_util.h"

static bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

int elf_load_buffer(const void *file, size_t size, uint8_t *mem,
		    uint64_t mem_bytes, uint64_t min_gpa, uint64_t max_gpa,
		    struct elf_image *out)
{
	const Elf64_Ehdr *eh = file;
	struct elf_image img = { .lowest = UINT64_MAX };
	const Elf64_Phdr *phdrs;
	unsigned int i;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64)
		return -ENOEXEC;
	/* A PIE (ET_DYN) would run at another address than in the guest. */
	if (eh->e_type != ET_EXEC)
		return -ENOEXEC;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !range_ok(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr),
		      size))
		return -EINVAL;
	if (max_gpa > mem_bytes)
		max_gpa = mem_bytes;

	/* Validate everything before touching guest memory. */
	phdrs = (const Elf64_Phdr *)((const uint8_t *)file + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = &phdrs[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_filesz > ph->p_memsz ||
		    !range_ok(ph->p_offset, ph->p_filesz, size))
			return -EINVAL;
		if (ph->p_vaddr < min_gpa || ph->p_vaddr > max_gpa ||
		    ph->p_memsz > max_gpa - ph->p_vaddr)
			return -ERANGE;
		if (ph->p_vaddr < img.lowest)
			img.lowest = ph->p_vaddr;
		if (ph->p_vaddr + ph->p_memsz > img.highest)
			img.highest = ph->p_vaddr + ph->p_memsz;
		img.nr_load++;
	}
	if (!img.nr_load)
		return -ENOEXEC;

	for (i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = &phdrs[i];

		if (ph->p_type != PT_LOAD)
			continue;
		memcpy(mem + ph->p_vaddr, (const uint8_t *)file + ph->p_offset,
		       ph->p_filesz);
		memset(mem + ph->p_vaddr + ph->p_filesz, 0,
		       ph->p_memsz - ph->p_filesz);
	}
	img.entry = eh->e_entry;
	if (out)
		*out = img;
	return 0;
}

static void *self_image;
static size_t self_size;

const void *elf_self(size_t *size)
{
	struct stat st;
	size_t done = 0;
	int fd;

	if (!self_image) {
		fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
		TEST_ASSERT(fd >= 0, "cannot open /proc/self/exe");
		TEST_ASSERT(!fstat(fd, &st) && st.st_size > 0,
			    "cannot stat /proc/self/exe");
		self_image = malloc(st.st_size);
		TEST_ASSERT(self_image, "out of memory");
		while (done < (size_t)st.st_size) {
			ssize_t n = read(fd, (uint8_t *)self_image + done,
					 st.st_size - done);

			TEST_ASSERT(n > 0, "short read of /proc/self/exe");
			done += n;
		}
		close(fd);
		self_size = st.st_size;
	}
	*size = self_size;
	return self_image;
}

const char *elf_symbolize(uint64_t addr, char *buf, size_t len)
{
	const Elf64_Sym *best = NULL;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	const uint8_t *file;
	size_t size;
	unsigned int i;

	snprintf(buf, len, "?");
	file = elf_self(&size);
	eh = (const void *)file;
	if (!range_ok(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(*sh), size))
		return buf;
	sh = (const void *)(file + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *strs;
		const Elf64_Sym *sym;
		uint64_t n, j;

		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		strs = &sh[sh[i].sh_link];
		if (!range_ok(sh[i].sh_offset, sh[i].sh_size, size) ||
		    !range_ok(strs->sh_offset, strs->sh_size, size))
			continue;
		sym = (const void *)(file + sh[i].sh_offset);
		n = sh[i].sh_size / sizeof(*sym);
		for (j = 0; j < n; j++) {
			if (ELF64_ST_TYPE(sym[j].st_info) != STT_FUNC ||
			    addr < sym[j].st_value ||
			    addr >= sym[j].st_value + sym[j].st_size)
				continue;
			if (sym[j].st_name < strs->sh_size)
				best = &sym[j];
		}
		if (best) {
			const char *name = (const char *)file +
					   strs->sh_offset + best->st_name;

			snprintf(buf, len, "%.*s+0x%llx",
				 (int)strnlen(name, strs->sh_size -
					      best->st_name), name,
				 (unsigned long long)(addr - best->st_value));
			return buf;
		}
	}
	return buf;
}
