/* SPDX-License-Identifier: GPL-2.0 */
/* Host-test shim: what kmod/ takes from <linux/kernel.h> and friends. */
#ifndef VIREO_SHIM_LINUX_KERNEL_H
#define VIREO_SHIM_LINUX_KERNEL_H

#include <linux/types.h>
#include <string.h>

#define BIT(n)		(1UL << (n))
#define BIT_ULL(n)	(1ULL << (n))

#define min_t(type, a, b)	((type)(a) < (type)(b) ? (type)(a) : (type)(b))
#define max_t(type, a, b)	((type)(a) > (type)(b) ? (type)(a) : (type)(b))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* Kernel objects the core header only names through pointers. */
struct page;
struct task_struct;
struct vm_area_struct;

#endif
