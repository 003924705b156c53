/* SPDX-License-Identifier: GPL-2.0 */
/* Host-test shim: spinlock_t as an opaque member type. */
#ifndef VIREO_SHIM_LINUX_SPINLOCK_H
#define VIREO_SHIM_LINUX_SPINLOCK_H

typedef struct {
	int locked;
} spinlock_t;

#endif
