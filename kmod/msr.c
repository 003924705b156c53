// SPDX-License-Identifier: GPL-2.0
/*
 * Model-specific registers of the guest.
 *
 * RDMSR/WRMSR of MSRs that the hardware does not switch for us exit to the
 * module and are answered here from per-vCPU state; MSRs kept in the
 * VMCB/VMCS (EFER, PAT, the TSC offset) go to the backend.  Anything else
 * raises #GP in the guest as a real CPU does for an unimplemented MSR, with
 * a rate-limited log line: never an exit to user space, never a crash.
 * The FS/GS bases and the SYSCALL/SYSENTER MSRs are not intercepted at all:
 * VMLOAD/VMSAVE switch them (see the backend's MSR permission map).
 */
#include <linux/kernel.h>
#include <asm/msr-index.h>
#include <asm/trapnr.h>
#include <asm/tsc.h>

#include "vireo_core.h"

#define APIC_BASE_DEFAULT	0xfee00000ULL
#define APIC_BASE_BSP		BIT_ULL(8)
#define APIC_BASE_X2APIC	BIT_ULL(10)
#define APIC_BASE_ENABLE	BIT_ULL(11)
#define APIC_BASE_VALID		(APIC_BASE_BSP | APIC_BASE_X2APIC | \
				 APIC_BASE_ENABLE | GENMASK_ULL(51, 12))

/* MTRRcap: 8 variable ranges, fixed ranges, write-combining (SDM 11.11.1). */
#define MTRR_CAP_VALUE		(8 | BIT_ULL(8) | BIT_ULL(10))
/* MISC_ENABLE: BTS and PEBS unavailable (SDM vol. 4, table 2-2). */
#define MISC_ENABLE_DEFAULT	(BIT_ULL(11) | BIT_ULL(12))

/* AMD configuration MSRs Linux pokes at boot; kept as plain storage. */
static const u32 vireo_msr_amd_cfg[VIREO_MSR_AMD_CFG] = {
	MSR_K7_HWCR, MSR_AMD64_LS_CFG, 0xc0011021 /* IC_CFG */,
	0xc0011022 /* DC_CFG */, MSR_AMD64_DE_CFG, MSR_AMD64_BU_CFG2,
	0xc001001f /* NB_CFG: Linux reads it unchecked on SMP boots */,
};

void vireo_msr_reset(struct vireo_vcpu *vcpu)
{
	struct vireo_msrs *m = &vcpu->msrs;

	memset(m, 0, sizeof(*m));
	m->apic_base = APIC_BASE_DEFAULT | APIC_BASE_ENABLE |
		       (vcpu->id == 0 ? APIC_BASE_BSP : 0);
	m->misc_enable = MISC_ENABLE_DEFAULT;
}

static u64 *vireo_msr_slot(struct vireo_vcpu *vcpu, u32 index, bool *ro)
{
	struct vireo_msrs *m = &vcpu->msrs;
	unsigned int i;

	*ro = false;
	switch (index) {
	case MSR_IA32_APICBASE:
		return &m->apic_base;
	case MSR_IA32_MISC_ENABLE:
		return &m->misc_enable;
	case MSR_MTRRdefType:
		return &m->mtrr_def_type;
	case MSR_MTRRfix64K_00000:
		return &m->mtrr_fixed[0];
	case MSR_MTRRfix16K_80000:
	case MSR_MTRRfix16K_A0000:
		return &m->mtrr_fixed[1 + index - MSR_MTRRfix16K_80000];
	case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_F8000:
		return &m->mtrr_fixed[3 + index - MSR_MTRRfix4K_C0000];
	case 0x200 ... 0x20f:		/* MTRRphysBase/Mask 0-7 */
		return &m->mtrr_var[index - 0x200];
	case MSR_TSC_AUX:
		return &m->tsc_aux;
	case MSR_IA32_UCODE_REV:
		return &m->ucode_rev;
	case MSR_K7_EVNTSEL0 ... MSR_K7_EVNTSEL3:
	case MSR_K7_PERFCTR0 ... MSR_K7_PERFCTR3:
		/* A PMU with no events: reads 0, writes are dropped. */
		m->scratch = 0;
		return &m->scratch;
	case MSR_IA32_MCG_CAP:		/* no machine-check banks */
	case MSR_IA32_MCG_STATUS:
	case MSR_AMD64_OSVW_ID_LENGTH:	/* no erratum workarounds */
	case MSR_AMD64_OSVW_STATUS:
	case MSR_AMD64_SYSCFG:
	case MSR_IA32_DEBUGCTLMSR:
		m->scratch = 0;
		*ro = index == MSR_IA32_MCG_CAP;
		return &m->scratch;
	case MSR_MTRRcap:
		m->scratch = MTRR_CAP_VALUE;
		*ro = true;
		return &m->scratch;
	case MSR_VM_CR:
		/* No nested SVM for guests: disabled and locked. */
		m->scratch = BIT_ULL(3) | BIT_ULL(4);
		*ro = true;
		return &m->scratch;
	}
	for (i = 0; i < ARRAY_SIZE(vireo_msr_amd_cfg); i++)
		if (vireo_msr_amd_cfg[i] == index)
			return &m->amd_cfg[i];
	return NULL;
}

static bool vireo_msr_value_ok(u32 index, u64 value)
{
	switch (index) {
	case MSR_IA32_APICBASE:
		return !(value & ~APIC_BASE_VALID);
	case MSR_TSC_AUX:
		return !(value >> 32);
	case MSR_MTRRdefType:
		return !(value & ~(0xffULL | BIT_ULL(10) | BIT_ULL(11)));
	}
	return true;
}

int vireo_msr_get(struct vireo_vcpu *vcpu, u32 index, u64 *value)
{
	u64 *slot;
	bool ro;

	int ret;

	if (index == MSR_IA32_TSC) {
		*value = rdtsc() + vcpu->tsc_offset;
		return 0;
	}
	ret = vireo_lapic_msr(vcpu, index, false, value);
	if (ret != -ENOENT)
		return ret;
	slot = vireo_msr_slot(vcpu, index, &ro);
	if (slot) {
		*value = *slot;
		return 0;
	}
	return vireo_ops->get_msr(vcpu, index, value);
}

int vireo_msr_set(struct vireo_vcpu *vcpu, u32 index, u64 value)
{
	u64 *slot;
	bool ro;

	int ret;

	if (index == MSR_IA32_TSC) {
		vcpu->tsc_offset = value - rdtsc();
		return 0;
	}
	ret = vireo_lapic_msr(vcpu, index, true, &value);
	if (ret != -ENOENT)
		return ret;
	slot = vireo_msr_slot(vcpu, index, &ro);
	if (slot) {
		if (ro || !vireo_msr_value_ok(index, value))
			return -EINVAL;
		*slot = value;
		return 0;
	}
	return vireo_ops->set_msr(vcpu, index, value);
}

/* RDMSR (0f 32) / WRMSR (0f 30): ECX = index, EDX:EAX = value. */
int vireo_emulate_msr(struct vireo_vcpu *vcpu, bool write)
{
	u32 index = vcpu->regs[VCPU_RCX];
	u64 value;
	int ret;

	if (write) {
		value = (u32)vcpu->regs[VCPU_RAX] |
			((u64)(u32)vcpu->regs[VCPU_RDX] << 32);
		ret = vireo_msr_set(vcpu, index, value);
	} else {
		ret = vireo_msr_get(vcpu, index, &value);
	}

	if (ret) {
		pr_info_ratelimited(VIREO_LOG_PREFIX "vm %u vcpu %u: %s of MSR %#x %s: #GP\n",
				    vcpu->vm->id, vcpu->id,
				    write ? "WRMSR" : "RDMSR", index,
				    ret == -ENOENT ? "not emulated" : "refused");
		vireo_count(vcpu, VIREO_STAT_MSR_GP);
		vireo_ops->queue_exception(vcpu, X86_TRAP_GP, true, 0);
		return VIREO_RESUME;
	}
	if (!write) {
		vcpu->regs[VCPU_RAX] = (u32)value;
		vcpu->regs[VCPU_RDX] = value >> 32;
	}
	vcpu->rip += 2;
	vireo_count(vcpu, VIREO_STAT_MSR);
	return VIREO_RESUME;
}

/* RDTSCP (0f 01 f9): the guest's TSC and its TSC_AUX, which VMRUN does not switch. */
int vireo_emulate_rdtscp(struct vireo_vcpu *vcpu)
{
	u64 tsc = rdtsc() + vcpu->tsc_offset;

	vcpu->regs[VCPU_RAX] = (u32)tsc;
	vcpu->regs[VCPU_RDX] = tsc >> 32;
	vcpu->regs[VCPU_RCX] = (u32)vcpu->msrs.tsc_aux;
	vcpu->rip += 3;
	return VIREO_RESUME;
}

/* Each PAT entry must be a defined memory type: 0, 1, 4, 5, 6 or 7 (SDM 11.12.2). */
bool vireo_pat_valid(u64 pat)
{
	unsigned int i;

	for (i = 0; i < 8; i++) {
		u8 type = pat >> (i * 8);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}
