/* SPDX-License-Identifier: GPL-2.0 */
/* Host-test shim: the MSR bits kmod/ uses (APM vol. 2, 3.1.7 EFER). */
#ifndef VIREO_SHIM_ASM_MSR_INDEX_H
#define VIREO_SHIM_ASM_MSR_INDEX_H

#define MSR_EFER	0xc0000080
#define _EFER_SCE	0
#define _EFER_LME	8
#define _EFER_LMA	10
#define _EFER_NX	11
#define _EFER_SVME	12
#define EFER_SCE	(1 << _EFER_SCE)
#define EFER_LME	(1 << _EFER_LME)
#define EFER_LMA	(1 << _EFER_LMA)
#define EFER_NX		(1 << _EFER_NX)
#define EFER_SVME	(1 << _EFER_SVME)

#endif
