/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VM configuration: the JSON object accepted by `vireod --run`, by
 * `--config` files and by the vm-start command.  See
 * docs/management-protocol.md ("VM configuration") for the format.
 */
#ifndef VIREOD_VM_CONFIG_H
#define VIREOD_VM_CONFIG_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "vireo.h"

struct errinfo;

#define VM_NAME_MAX		63
#define VM_DEFAULT_MEMORY_MIB	16
#define VM_MAX_MEMORY_MIB	(VIREO_MAX_RAM_BYTES >> 20)

/* Real-mode images run at CS:IP = (load_address >> 4):0000. */
#define VM_REAL_DEFAULT_LOAD	0x10000ULL
#define VM_REAL_LOAD_LIMIT	0x100000ULL	/* reachable in real mode */
/* Long-mode images run at RIP = load_address, above the boot area. */
#define VM_LONG_DEFAULT_LOAD	0x100000ULL
#define VM_LONG_LOAD_MIN	0x100000ULL
/* Linux guests ("kernel"): see linux_boot.h and docs/boot.md. */
#define VM_LINUX_DEFAULT_MEMORY_MIB	256
#define VM_CMDLINE_MAX		4095	/* bytes; the kernel may accept fewer */

enum vm_entry {
	VM_ENTRY_REAL,		/* 16-bit real mode, like after reset */
	VM_ENTRY_LONG,		/* 64-bit mode, paging on, flat segments */
	VM_ENTRY_LINUX,		/* a bzImage through the Linux boot protocol */
};

/* What a guest reset (reboot) does: "on_reboot" in the config. */
enum vm_on_reboot {
	VM_ON_REBOOT_RESTART,	/* the default: rebuild the VM and boot again */
	VM_ON_REBOOT_STOP,	/* end the VM as stopped */
};

struct vm_config {
	char name[VM_NAME_MAX + 1];
	uint64_t memory_mib;
	unsigned int vcpus;
	enum vm_entry entry;
	/* A flat binary (VM_ENTRY_REAL, VM_ENTRY_LONG); "" for Linux. */
	char image[PATH_MAX];
	uint64_t load_address;
	/* A Linux guest (VM_ENTRY_LINUX); initrd may be "", cmdline too. */
	char kernel[PATH_MAX];
	char initrd[PATH_MAX];
	char cmdline[VM_CMDLINE_MAX + 1];
	enum vm_on_reboot on_reboot;
};

/* Parses and validates one VM object; 0, or -EINVAL with 'e' set. */
int vm_config_from_json(const json_t *obj, struct vm_config *cfg, struct errinfo *e);
json_t *vm_config_to_json(const struct vm_config *cfg);

/*
 * Loads a config file: either one VM object, or {"vms": [VM objects]}.
 * Names must be unique.  On success *cfgs is a malloc'd array of *nr.
 */
int vm_config_load_file(const char *path, struct vm_config **cfgs, size_t *nr,
			struct errinfo *e);

const char *vm_entry_name(enum vm_entry entry);
const char *vm_on_reboot_name(enum vm_on_reboot action);
int vm_name_valid(const char *name);
uint64_t vm_config_ram_bytes(const struct vm_config *cfg);

#endif
