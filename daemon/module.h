/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The system file descriptor: /dev/vireo, opened once per daemon.
 */
#ifndef VIREOD_MODULE_H
#define VIREOD_MODULE_H

#include <stddef.h>

struct errinfo;

#define MODULE_DEVICE_PATH	"/dev/vireo"

struct module_handle {
	int fd;			/* -1 when closed */
	int api_version;	/* VIREO_GET_API_VERSION */
	size_t run_size;	/* VIREO_GET_RUN_SIZE: mmap size of an exit record */
};

/* Opens the device and checks the API version; 0 or -errno with 'e' set. */
int module_open(struct module_handle *m, const char *path, struct errinfo *e);
void module_close(struct module_handle *m);

#endif
