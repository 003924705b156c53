/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-test shim: the uapi errno values (EINVAL, EFAULT, ...), which are
 * the ones the kernel uses internally.  Not <errno.h>: glibc's includes
 * <linux/errno.h> itself.
 */
#ifndef VIREO_SHIM_LINUX_ERRNO_H
#define VIREO_SHIM_LINUX_ERRNO_H

#include_next <linux/errno.h>

#endif
