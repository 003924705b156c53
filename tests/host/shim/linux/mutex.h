/* SPDX-License-Identifier: GPL-2.0 */
/* Host-test shim: struct mutex as an opaque member type. */
#ifndef VIREO_SHIM_LINUX_MUTEX_H
#define VIREO_SHIM_LINUX_MUTEX_H

struct mutex {
	int locked;
};

#endif
