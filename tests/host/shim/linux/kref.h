/* SPDX-License-Identifier: GPL-2.0 */
/* Host-test shim: struct kref as an opaque member type. */
#ifndef VIREO_SHIM_LINUX_KREF_H
#define VIREO_SHIM_LINUX_KREF_H

struct kref {
	int refcount;
};

#endif
