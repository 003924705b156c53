/* SPDX-License-Identifier: GPL-2.0 */
/* Host-test shim: struct fxregs_state, only pointed to by the core header. */
#ifndef VIREO_SHIM_ASM_FPU_TYPES_H
#define VIREO_SHIM_ASM_FPU_TYPES_H

struct fxregs_state;

#endif
