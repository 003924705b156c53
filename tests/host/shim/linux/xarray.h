/* SPDX-License-Identifier: GPL-2.0 */
/* Host-test shim: struct xarray as an opaque member type. */
#ifndef VIREO_SHIM_LINUX_XARRAY_H
#define VIREO_SHIM_LINUX_XARRAY_H

struct xarray {
	void *head;
};

#endif
