/* SPDX-License-Identifier: GPL-2.0 */
/* Host-test shim: struct list_head as a member type. */
#ifndef VIREO_SHIM_LINUX_LIST_H
#define VIREO_SHIM_LINUX_LIST_H

struct list_head {
	struct list_head *next, *prev;
};

#endif
