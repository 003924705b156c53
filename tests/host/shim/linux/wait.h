/* SPDX-License-Identifier: GPL-2.0 */
/* Host-test shim: wait_queue_head_t as a member type. */
#ifndef VIREO_SHIM_LINUX_WAIT_H
#define VIREO_SHIM_LINUX_WAIT_H

#include <linux/list.h>

typedef struct {
	struct list_head head;
} wait_queue_head_t;

#endif
