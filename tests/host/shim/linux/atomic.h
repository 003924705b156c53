/* SPDX-License-Identifier: GPL-2.0 */
/* Host-test shim: atomic_t and atomic64_t as member types. */
#ifndef VIREO_SHIM_LINUX_ATOMIC_H
#define VIREO_SHIM_LINUX_ATOMIC_H

#include <linux/types.h>

typedef struct {
	int counter;
} atomic_t;

typedef struct {
	s64 counter;
} atomic64_t;

#endif
