// SPDX-License-Identifier: GPL-2.0
/*
 * The Linux loader of linux_boot.h.  Field offsets and meanings are those
 * of Documentation/arch/x86/boot.rst ("THE REAL-MODE KERNEL HEADER", "64-bit
 * BOOT PROTOCOL") and zero-page.rst; the files given by the VM config are
 * untrusted input, so every field used is checked before anything is
 * written to guest RAM.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "cpuid_policy.h"
#include "errinfo.h"
#include "fw_tables.h"
#include "linux_boot.h"
#include "vm_config.h"

#define MIB		((uint64_t)1 << 20)
#define LOADFLAGS_CAN_USE_HEAP	0x80

/*
 * Once the checks pass, nothing may fail for lack of room: the page tables
 * for the largest VM end below the stack and boot_params, the longest
 * command line a config may hold fits its area, and the MP table has room
 * for the most vCPUs (fw_tables.c).
 */
_Static_assert(BOOT_PD_GPA + (VIREO_MAX_RAM_BYTES >> 30) * 4096 <= LINUX_STACK_TOP - 0x10000,
	       "page tables run into the boot stack");
_Static_assert(VM_CMDLINE_MAX + 1 <= LINUX_CMDLINE_MAX, "command line area too small");
_Static_assert(LINUX_CMDLINE_GPA + LINUX_CMDLINE_MAX <= FW_TABLES_GPA, "command line area overlaps");

static uint16_t get16(const uint8_t *b, size_t off)
{
	uint16_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint64_t get64(const uint8_t *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

/* Every header complaint has the shape "kernel PATH: problem". */
#define bad_image(e, what, fmt, ...)						\
	(errinfo_set(e, ERR_INVALID_PARAMETER, "kernel %s: " fmt, what, ##__VA_ARGS__), -ENOEXEC)

int linux_image_parse(const uint8_t *buf, size_t len, uint64_t file_bytes,
		      const char *what, struct linux_image *img, struct errinfo *e)
{
	unsigned int setup_sects;
	uint64_t syssize_bytes;

	memset(img, 0, sizeof(*img));
	if (len >= 4 && !memcmp(buf, "\x7f" "ELF", 4))
		return bad_image(e, what, "an ELF file (a vmlinux?), not a bzImage");
	if (len < LINUX_HEADER_READ || file_bytes < LINUX_HEADER_READ)
		return bad_image(e, what, "only %" PRIu64 " bytes: too small for a bzImage (truncated?)",
				 file_bytes);
	if (get32(buf, HDR_MAGIC) != LINUX_HDR_MAGIC)
		return bad_image(e, what, "not a bzImage: no \"HdrS\" signature at offset 0x%x",
				 HDR_MAGIC);
	if (get16(buf, HDR_BOOT_FLAG) != LINUX_BOOT_FLAG)
		return bad_image(e, what, "not a bzImage: boot_flag at 0x%x is 0x%04x, not 0x%x",
				 HDR_BOOT_FLAG, get16(buf, HDR_BOOT_FLAG), LINUX_BOOT_FLAG);
	img->version = get16(buf, HDR_VERSION);
	if (img->version < LINUX_MIN_PROTOCOL)
		return bad_image(e, what, "boot protocol %u.%02u is too old: the 64-bit entry needs 2.12 (Linux 3.8) or later",
				 img->version >> 8, img->version & 0xff);
	img->header_end = 0x202 + (size_t)buf[HDR_JUMP + 1];
	if (img->header_end < HDR_END_MIN || img->header_end > BP_HDR_LIMIT)
		return bad_image(e, what, "setup header ends at 0x%zx, outside 0x%x-0x%x (corrupt?)",
				 img->header_end, HDR_END_MIN, BP_HDR_LIMIT);
	img->loadflags = buf[HDR_LOADFLAGS];
	if (!(img->loadflags & LINUX_LOADED_HIGH))
		return bad_image(e, what, "a zImage (LOADED_HIGH clear in loadflags 0x%02x): only bzImages are supported",
				 img->loadflags);
	img->xloadflags = get16(buf, HDR_XLOADFLAGS);
	if (!(img->xloadflags & LINUX_XLF_KERNEL_64))
		return bad_image(e, what, "no 64-bit entry point (XLF_KERNEL_64 clear in xloadflags 0x%x): a 32-bit kernel?",
				 img->xloadflags);

	setup_sects = buf[HDR_SETUP_SECTS] ? buf[HDR_SETUP_SECTS] : 4;	/* 0 means 4 */
	img->setup_bytes = (setup_sects + 1ULL) * 512;
	if (file_bytes <= img->setup_bytes)
		return bad_image(e, what, "truncated: %" PRIu64 " bytes, but the setup code alone takes %" PRIu64,
				 file_bytes, img->setup_bytes);
	img->kernel_bytes = file_bytes - img->setup_bytes;
	syssize_bytes = (uint64_t)get32(buf, HDR_SYSSIZE) * 16;
	if (syssize_bytes > img->kernel_bytes)
		return bad_image(e, what, "truncated: the protected-mode kernel is %" PRIu64 " bytes, syssize says %" PRIu64,
				 img->kernel_bytes, syssize_bytes);

	img->relocatable = buf[HDR_RELOCATABLE];
	img->kernel_alignment = get32(buf, HDR_KERNEL_ALIGNMENT);
	img->initrd_addr_max = get32(buf, HDR_INITRD_ADDR_MAX);
	img->cmdline_size = get32(buf, HDR_CMDLINE_SIZE);
	img->pref_address = get64(buf, HDR_PREF_ADDRESS);
	img->init_size = get32(buf, HDR_INIT_SIZE);
	if (img->relocatable && (img->kernel_alignment < 4096 ||
				 (img->kernel_alignment & (img->kernel_alignment - 1))))
		return bad_image(e, what, "kernel_alignment 0x%x is not a power of two of at least 4 KiB",
				 img->kernel_alignment);
	if (img->pref_address < LINUX_HIGH_RAM_GPA || img->pref_address >= LINUX_MMIO_HOLE_GPA)
		return bad_image(e, what, "pref_address 0x%" PRIx64 " is outside 1 MiB - 3 GiB",
				 img->pref_address);
	if (!img->init_size)
		return bad_image(e, what, "init_size is 0: the header is corrupt");
	return 0;
}

unsigned int linux_e820_build(uint64_t ram_bytes, struct linux_e820_entry *map)
{
	uint64_t low_end = ram_bytes < LINUX_MMIO_HOLE_GPA ? ram_bytes : LINUX_MMIO_HOLE_GPA;
	unsigned int n = 0;

	map[n++] = (struct linux_e820_entry){ 0, FW_TABLES_GPA, E820_TYPE_RAM };
	map[n++] = (struct linux_e820_entry){ FW_TABLES_GPA, FW_TABLES_END - FW_TABLES_GPA,
					      E820_TYPE_RESERVED };
	if (low_end > LINUX_HIGH_RAM_GPA)
		map[n++] = (struct linux_e820_entry){ LINUX_HIGH_RAM_GPA, low_end - LINUX_HIGH_RAM_GPA,
						      E820_TYPE_RAM };
	if (ram_bytes > LINUX_4GIB)
		map[n++] = (struct linux_e820_entry){ LINUX_4GIB, ram_bytes - LINUX_4GIB,
						      E820_TYPE_RAM };
	return n;
}

/* Opens a regular, non-empty file; its size in *bytes.  fd or -errno. */
static int linux_open(const char *label, const char *path, uint64_t *bytes, struct errinfo *e)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0) {
		err = errno;
		errinfo_set(e, ERR_INVALID_PARAMETER, "%s %s: %s", label, path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		errinfo_set(e, ERR_INVALID_PARAMETER, "%s %s: not a non-empty regular file", label, path);
		close(fd);
		return -EINVAL;
	}
	*bytes = (uint64_t)st.st_size;
	return fd;
}

/* Reads exactly 'len' bytes from 'off'; a short file is an error. */
static int linux_read(int fd, uint8_t *dst, uint64_t len, uint64_t off, const char *label,
		      const char *path, struct errinfo *e)
{
	uint64_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, dst + got, (size_t)(len - got), (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errinfo_set(e, ERR_GENERIC, "%s %s: read failed: %s", label, path,
				    n < 0 ? strerror(errno) : "file shrank");
			return -EIO;
		}
		got += (uint64_t)n;
	}
	return 0;
}

/* Puts the kernel at its preferred address (docs/boot.md says why). */
static int linux_place_kernel(const struct vm_config *cfg, const struct linux_image *img,
			      uint64_t low_end, struct linux_layout *l, struct errinfo *e)
{
	uint64_t window = img->init_size > img->kernel_bytes ? img->init_size : img->kernel_bytes;

	l->kernel_gpa = img->pref_address;
	if (img->relocatable)
		l->kernel_gpa = align_up(l->kernel_gpa, img->kernel_alignment);
	l->kernel_bytes = img->kernel_bytes;
	l->kernel_end = l->kernel_gpa + window;
	l->entry_rip = l->kernel_gpa + LINUX_ENTRY_64_OFFSET;
	if (l->kernel_end > low_end) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "kernel %s needs RAM up to 0x%" PRIx64 " (loaded at 0x%" PRIx64 ", init_size %" PRIu64 " MiB); raise memory_mib from %" PRIu64 " to at least %" PRIu64,
			    cfg->kernel, l->kernel_end, l->kernel_gpa, (uint64_t)img->init_size / MIB,
			    cfg->memory_mib, (l->kernel_end + MIB - 1) / MIB);
		return -EINVAL;
	}
	return 0;
}

/* The initramfs goes as high as it may: below RAM's end, 3 GiB and initrd_addr_max. */
static int linux_place_initrd(const struct vm_config *cfg, const struct linux_image *img,
			      uint64_t low_end, uint64_t bytes, struct linux_layout *l,
			      struct errinfo *e)
{
	uint64_t top = (uint64_t)img->initrd_addr_max + 1;

	if (top > low_end)
		top = low_end;
	l->initrd_bytes = bytes;
	if (bytes > top || ((top - bytes) & ~(LINUX_INITRD_ALIGN - 1)) < l->kernel_end) {
		uint64_t need = l->kernel_end + align_up(bytes, LINUX_INITRD_ALIGN);

		if (need > (uint64_t)img->initrd_addr_max + 1)
			errinfo_set(e, ERR_INVALID_PARAMETER,
				    "initrd %s (%" PRIu64 " bytes) cannot fit between the kernel's end 0x%" PRIx64 " and its initrd_addr_max 0x%x",
				    cfg->initrd, bytes, l->kernel_end, img->initrd_addr_max);
		else
			errinfo_set(e, ERR_INVALID_PARAMETER,
				    "initrd %s (%" PRIu64 " bytes) does not fit above the kernel (which ends at 0x%" PRIx64 "); raise memory_mib from %" PRIu64 " to at least %" PRIu64,
				    cfg->initrd, bytes, l->kernel_end, cfg->memory_mib,
				    (need + MIB - 1) / MIB);
		return -EINVAL;
	}
	l->initrd_gpa = (top - bytes) & ~(LINUX_INITRD_ALIGN - 1);
	return 0;
}

/* boot_params: the kernel's own setup header, then what a loader fills in. */
static void linux_write_boot_params(uint8_t *ram, uint64_t ram_bytes, const uint8_t *header,
				    const struct linux_image *img, struct linux_layout *l)
{
	uint8_t *bp = ram + LINUX_BOOT_PARAMS_GPA;
	struct linux_e820_entry map[BP_E820_MAX];

	memset(bp, 0, 4096);
	memcpy(bp + BP_HDR, header + BP_HDR, img->header_end - BP_HDR);
	bp[HDR_TYPE_OF_LOADER] = LINUX_LOADER_UNDEFINED;
	bp[HDR_LOADFLAGS] = (uint8_t)(img->loadflags & ~LOADFLAGS_CAN_USE_HEAP);
	put32(bp, HDR_CODE32_START, (uint32_t)l->kernel_gpa);
	put32(bp, HDR_CMD_LINE_PTR, (uint32_t)l->cmdline_gpa);
	put32(bp, HDR_RAMDISK_IMAGE, (uint32_t)l->initrd_gpa);
	put32(bp, HDR_RAMDISK_SIZE, (uint32_t)l->initrd_bytes);
	/* Everything is below 4 GiB: the ext_ high halves stay zero. */

	l->e820_entries = linux_e820_build(ram_bytes, map);
	bp[BP_E820_ENTRIES] = (uint8_t)l->e820_entries;
	for (unsigned int i = 0; i < l->e820_entries; i++) {
		uint8_t *entry = bp + BP_E820_TABLE + i * E820_ENTRY_BYTES;

		memcpy(entry, &map[i].addr, 8);
		memcpy(entry + 8, &map[i].size, 8);
		memcpy(entry + 16, &map[i].type, 4);
	}
}

int linux_boot_load(const struct vm_config *cfg, uint8_t *ram, uint64_t ram_bytes,
		    struct linux_layout *l, struct errinfo *e)
{
	uint64_t low_end = ram_bytes < LINUX_MMIO_HOLE_GPA ? ram_bytes : LINUX_MMIO_HOLE_GPA;
	uint8_t header[LINUX_HEADER_READ] = { 0 };
	uint64_t kernel_file, initrd_file = 0;
	size_t cmdline_len = strlen(cfg->cmdline);
	struct linux_image img;
	int kfd, ifd = -1, ret;
	uint32_t leaf1[4];

	memset(l, 0, sizeof(*l));
	kfd = linux_open("kernel", cfg->kernel, &kernel_file, e);
	if (kfd < 0)
		return kfd;
	ret = linux_read(kfd, header, kernel_file < sizeof(header) ? kernel_file : sizeof(header),
			 0, "kernel", cfg->kernel, e);
	if (!ret)
		ret = linux_image_parse(header, sizeof(header), kernel_file, cfg->kernel, &img, e);
	if (!ret)
		ret = linux_place_kernel(cfg, &img, low_end, l, e);
	if (!ret && cmdline_len > img.cmdline_size) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "cmdline is %zu bytes; kernel %s accepts at most %u", cmdline_len,
			    cfg->kernel, img.cmdline_size);
		ret = -EINVAL;
	}
	if (!ret && cfg->initrd[0]) {
		ifd = linux_open("initrd", cfg->initrd, &initrd_file, e);
		ret = ifd < 0 ? ifd : linux_place_initrd(cfg, &img, low_end, initrd_file, l, e);
	}
	if (ret)
		goto close_files;

	/* Everything is checked: now write guest RAM. */
	memset(ram, 0, FW_TABLES_GPA);
	boot_write_gdt(ram, LINUX_SEL_CODE64, LINUX_SEL_DATA, LINUX_SEL_TSS);
	boot_write_page_tables(ram, ram_bytes);
	ret = linux_read(kfd, ram + l->kernel_gpa, img.kernel_bytes, img.setup_bytes,
			 "kernel", cfg->kernel, e);
	if (!ret && ifd >= 0)
		ret = linux_read(ifd, ram + l->initrd_gpa, initrd_file, 0, "initrd", cfg->initrd, e);
	if (ret)
		goto close_files;
	l->cmdline_gpa = LINUX_CMDLINE_GPA;
	l->cmdline_bytes = cmdline_len + 1;
	memcpy(ram + LINUX_CMDLINE_GPA, cfg->cmdline, cmdline_len + 1);
	l->boot_params_gpa = LINUX_BOOT_PARAMS_GPA;
	linux_write_boot_params(ram, ram_bytes, header, &img, l);
	cpuid_host(1, 0, leaf1);
	ret = fw_mptable_write(ram, cfg->vcpus, leaf1[0], leaf1[3], e);
close_files:
	if (ifd >= 0)
		close(ifd);
	close(kfd);
	return ret;
}

void linux_boot_vcpu_state(const struct linux_layout *l, unsigned int vcpu_id,
			   struct vireo_regs *regs, struct vireo_sregs *sregs)
{
	if (vcpu_id != 0) {
		boot_init_state(regs, sregs);
		return;
	}
	memset(regs, 0, sizeof(*regs));
	memset(sregs, 0, sizeof(*sregs));
	boot_long_mode_sregs(sregs, LINUX_SEL_CODE64, LINUX_SEL_DATA, LINUX_SEL_TSS);
	regs->rip = l->entry_rip;
	regs->rsi = l->boot_params_gpa;
	regs->rsp = LINUX_STACK_TOP;
	regs->rflags = X86_RFLAGS_FIXED;	/* IF clear: interrupts off */
}
