/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-test shim: the kernel's internal fixed-width types on top of the
 * user-space uapi <linux/types.h> (__u8 ... __u64), which the uapi headers
 * of the project (../uapi/vireo.h) need as they are.
 */
#ifndef VIREO_SHIM_LINUX_TYPES_H
#define VIREO_SHIM_LINUX_TYPES_H

#include_next <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

/* The sparse annotation of user pointers (vireo_core.h prototypes). */
#define __user

#endif
