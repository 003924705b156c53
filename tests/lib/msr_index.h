/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MSR indices the tests read and write from guests and through
 * VIREO_GET_MSRS / VIREO_SET_MSRS (SDM vol. 4; AMD APM vol. 2, appendix A).
 * IA32_APIC_BASE and TSC_DEADLINE are in apic.h.
 */
#ifndef VIREO_TEST_MSR_INDEX_H
#define VIREO_TEST_MSR_INDEX_H

#define MSR_IA32_TSC		0x10
#define MSR_UCODE_REV		0x8b
#define MSR_MTRRcap		0xfe
#define MSR_SYSENTER_CS		0x174
#define MSR_SYSENTER_ESP	0x175
#define MSR_SYSENTER_EIP	0x176
#define MSR_MISC_ENABLE		0x1a0
#define MSR_MTRR_PHYSBASE(n)	(0x200 + 2 * (n))
#define MSR_MTRR_PHYSMASK(n)	(0x201 + 2 * (n))
#define MSR_MTRRfix64K_00000	0x250
#define MSR_MTRRfix16K_80000	0x258
#define MSR_MTRRfix16K_A0000	0x259
#define MSR_MTRRfix4K_C0000	0x268
#define MSR_MTRRfix4K_F8000	0x26f
#define MSR_PAT			0x277
#define MSR_MTRRdefType		0x2ff
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SFMASK		0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103
#define MSR_HWCR		0xc0010015
#define MSR_NB_CFG		0xc001001f
#define MSR_LS_CFG		0xc0011020
#define MSR_IC_CFG		0xc0011021
#define MSR_DC_CFG		0xc0011022
#define MSR_DE_CFG		0xc0011029
#define MSR_BU_CFG2		0xc001102a

#endif /* VIREO_TEST_MSR_INDEX_H */
