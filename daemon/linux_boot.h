/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading a Linux bzImage through the 64-bit entry of the Linux/x86 boot
 * protocol (Documentation/arch/x86/boot.rst, "64-bit BOOT PROTOCOL"), with
 * an initramfs, a command line, an e820 map and the MP table of
 * fw_tables.h.  No BIOS runs: vCPU 0 starts in 64-bit mode at the kernel's
 * startup_64 and the other vCPUs wait for a start-up IPI.
 *
 * Guest-physical layout (docs/boot.md has the picture):
 *
 *	0x00000-0x00fff  zero (real-mode IVT and BIOS data area: no BIOS)
 *	0x01000          GDT: 0x10 __BOOT_CS (64-bit code), 0x18 __BOOT_DS,
 *	                 0x20 TSS; the TSS at 0x1080          (boot.h)
 *	0x02000-...      identity-mapped page tables, 2 MiB pages (boot.h)
 *	0x80000          boot_params ("zero page"); the BSP's stack below it
 *	0x81000          kernel command line
 *	0x9f000-0x9ffff  firmware tables: the MP table (e820 reserved)
 *	0xa0000-0xfffff  legacy VGA/ROM hole: not in the e820 map
 *	pref_address     the kernel (16 MiB for Debian's), then init_size
 *	                 bytes it decompresses into
 *	below 2 GiB      the initramfs, as high as RAM and initrd_addr_max allow
 *
 * e820: RAM 0-0x9efff, reserved 0x9f000-0x9ffff, RAM from 1 MiB to the end
 * of RAM or 3 GiB, whichever is lower, and RAM from 4 GiB to the end of RAM
 * above it.  Guest-physical 3-4 GiB is never RAM to the guest: the
 * 32-bit MMIO window (IOAPIC at 0xfec00000, local APICs at 0xfee00000).
 */
#ifndef VIREOD_LINUX_BOOT_H
#define VIREOD_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "vireo.h"

struct vm_config;
struct errinfo;

/* Selectors boot.rst requires for the 64-bit entry, plus our TSS. */
#define LINUX_SEL_CODE64	0x10	/* __BOOT_CS */
#define LINUX_SEL_DATA		0x18	/* __BOOT_DS */
#define LINUX_SEL_TSS		0x20

#define LINUX_BOOT_PARAMS_GPA	0x80000ULL
#define LINUX_CMDLINE_GPA	0x81000ULL
#define LINUX_CMDLINE_MAX	0x10000ULL	/* with the NUL; below 0x9d000 */
#define LINUX_STACK_TOP		LINUX_BOOT_PARAMS_GPA
#define LINUX_HIGH_RAM_GPA	0x100000ULL
#define LINUX_MMIO_HOLE_GPA	0xc0000000ULL
#define LINUX_4GIB		0x100000000ULL
#define LINUX_INITRD_ALIGN	4096ULL

#define LINUX_ENTRY_64_OFFSET	0x200	/* startup_64 from the load address */
#define LINUX_MIN_PROTOCOL	0x020c	/* 2.12: xloadflags, XLF_KERNEL_64 */
#define LINUX_HEADER_READ	1024	/* the setup header lies within this */

/* struct boot_params and struct setup_header offsets (bootparam.h, boot.rst). */
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_SENTINEL		0x1ef
#define BP_HDR			0x1f1	/* the setup header, as in the image */
#define BP_HDR_LIMIT		0x290	/* where boot_params' next field starts */
#define BP_E820_TABLE		0x2d0
#define BP_E820_MAX		128

#define HDR_SETUP_SECTS		0x1f1
#define HDR_SYSSIZE		0x1f4
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP		0x200	/* byte 0x201 + 0x202 = header end */
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_CODE32_START	0x214
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_RELOCATABLE		0x234
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define HDR_END_MIN		0x264	/* a 2.12 header reaches init_size */

#define LINUX_HDR_MAGIC		0x53726448	/* "HdrS" */
#define LINUX_BOOT_FLAG		0xaa55
#define LINUX_LOADED_HIGH	0x01		/* loadflags */
#define LINUX_XLF_KERNEL_64	0x0001		/* xloadflags */
#define LINUX_LOADER_UNDEFINED	0xff		/* type_of_loader */

#define E820_TYPE_RAM		1
#define E820_TYPE_RESERVED	2
#define E820_ENTRY_BYTES	20

/* What a bzImage's setup header says, validated. */
struct linux_image {
	uint16_t version;		/* boot protocol, e.g. 0x020f */
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;		/* without the terminating NUL */
	uint64_t pref_address;
	uint32_t init_size;
	uint64_t setup_bytes;		/* file offset of the protected-mode kernel */
	uint64_t kernel_bytes;		/* its size in the file */
	size_t header_end;		/* 0x202 + byte 0x201 */
};

/* Where the loader put everything; the vCPU state is derived from it. */
struct linux_layout {
	uint64_t kernel_gpa;		/* load address = runtime start */
	uint64_t kernel_bytes;
	uint64_t kernel_end;		/* kernel_gpa + max(init_size, kernel_bytes) */
	uint64_t entry_rip;		/* kernel_gpa + 0x200: startup_64 */
	uint64_t boot_params_gpa;
	uint64_t cmdline_gpa;
	size_t cmdline_bytes;		/* with the NUL */
	uint64_t initrd_gpa;		/* 0 without an initrd */
	uint64_t initrd_bytes;
	unsigned int e820_entries;
};

struct linux_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/*
 * Checks the first bytes of a file (at least LINUX_HEADER_READ, or the
 * whole file if shorter) of file_bytes in total.  0, or -ENOEXEC with 'e'
 * saying what is wrong.  'what' names the file in messages.
 */
int linux_image_parse(const uint8_t *buf, size_t len, uint64_t file_bytes,
		      const char *what, struct linux_image *img, struct errinfo *e);

/* The e820 map of the layout above; returns the number of entries (<= 4). */
unsigned int linux_e820_build(uint64_t ram_bytes, struct linux_e820_entry *map);

/*
 * Loads cfg->kernel, cfg->initrd and cfg->cmdline into 'ram' and writes
 * boot_params, the page tables, the GDT and the MP table.  0, or -errno
 * with 'e' set (ERR_INVALID_PARAMETER for anything about the files or the
 * memory size).
 */
int linux_boot_load(const struct vm_config *cfg, uint8_t *ram, uint64_t ram_bytes,
		    struct linux_layout *layout, struct errinfo *e);

/*
 * vCPU 0: 64-bit mode on the loader's GDT and page tables, RIP = startup_64,
 * RSI = boot_params, interrupts off.  Other vCPUs: the INIT state
 * (boot_init_state()); they must not run before a start-up IPI.
 */
void linux_boot_vcpu_state(const struct linux_layout *layout, unsigned int vcpu_id,
			   struct vireo_regs *regs, struct vireo_sregs *sregs);

#endif
