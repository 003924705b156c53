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
 * VMLOAD/VMSAVE switch them (see the backend's MSR permission map); user
 * space reaches all but the FS/GS bases through the backend's get_msr and
 * set_msr (VIREO_GET_MSRS / VIREO_SET_MSRS, at the end of this file).
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <asm/page.h>
#include <asm/processor.h>
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
	struct vireo_vcpu_msrs *m = &vcpu->msrs;

	memset(m, 0, sizeof(*m));
	m->apic_base = APIC_BASE_DEFAULT | APIC_BASE_ENABLE |
		       (vcpu->id == 0 ? APIC_BASE_BSP : 0);
	m->misc_enable = MISC_ENABLE_DEFAULT;
}

static u64 *vireo_msr_slot(struct vireo_vcpu *vcpu, u32 index, bool *ro)
{
	struct vireo_vcpu_msrs *m = &vcpu->msrs;
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

/*
 * Canonical for this CPU's linear-address width, as WRMSR (and, on VMX, VM
 * entry for the SYSENTER fields) checks these addresses on the hardware.
 */
static bool vireo_msr_canonical(u64 addr)
{
	return __is_canonical_address(addr, boot_cpu_data.x86_virt_bits);
}

/*
 * Whether a WRMSR of @value to @index is refused (#GP) whatever the vCPU's
 * state: the one check of the guest's WRMSR and of VIREO_SET_MSRS.  EFER's
 * checks depend on CR0 and stay in the backend.
 */
static bool vireo_msr_value_ok(u32 index, u64 value)
{
	switch (index) {
	case MSR_IA32_APICBASE:
		return !(value & ~APIC_BASE_VALID);
	case MSR_TSC_AUX:
	case MSR_SYSCALL_MASK:
		return !(value >> 32);
	case MSR_MTRRdefType:
		return !(value & ~(0xffULL | BIT_ULL(10) | BIT_ULL(11)));
	case MSR_IA32_CR_PAT:
		return vireo_pat_valid(value);
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_KERNEL_GS_BASE:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		return vireo_msr_canonical(value);
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
	if (!vireo_msr_value_ok(index, value))
		return -EINVAL;
	slot = vireo_msr_slot(vcpu, index, &ro);
	if (slot) {
		if (ro)
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

/* ------------------------------------------------------------------ */
/* State for user space: VIREO_GET_MSR_LIST, VIREO_GET/SET_MSRS        */
/* ------------------------------------------------------------------ */

/*
 * The MSRs that are a vCPU's state, in ascending order, which is also an
 * order to restore them in: the MTRR ranges come before MTRRdefType, which
 * enables them.  Not here: EFER and the FS/GS bases (VIREO_GET_SREGS),
 * TSC_DEADLINE and the x2APIC registers (VIREO_GET_LAPIC), and the MSRs
 * that read a constant or drop writes (vireo_msr_slot()).  Every index
 * here is read by vireo_msr_get() and, for any value
 * vireo_msr_value_ok() accepts, written by vireo_msr_set() without error.
 */
static const u32 vireo_msrs_to_save[] = {
	MSR_IA32_TSC, MSR_IA32_APICBASE, MSR_IA32_UCODE_REV,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_IA32_MISC_ENABLE,
	/* MTRRphysBase0/Mask0 .. MTRRphysBase7/Mask7 */
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
	MSR_MTRRfix64K_00000, MSR_MTRRfix16K_80000, MSR_MTRRfix16K_A0000,
	MSR_MTRRfix4K_C0000, MSR_MTRRfix4K_C8000, MSR_MTRRfix4K_D0000,
	MSR_MTRRfix4K_D8000, MSR_MTRRfix4K_E0000, MSR_MTRRfix4K_E8000,
	MSR_MTRRfix4K_F0000, MSR_MTRRfix4K_F8000,
	MSR_IA32_CR_PAT, MSR_MTRRdefType,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_KERNEL_GS_BASE, MSR_TSC_AUX,
	/* vireo_msr_amd_cfg[] */
	MSR_K7_HWCR, 0xc001001f /* NB_CFG */, MSR_AMD64_LS_CFG,
	0xc0011021 /* IC_CFG */, 0xc0011022 /* DC_CFG */, MSR_AMD64_DE_CFG,
	MSR_AMD64_BU_CFG2,
};

static bool vireo_msr_saveable(u32 index)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vireo_msrs_to_save); i++)
		if (vireo_msrs_to_save[i] == index)
			return true;
	return false;
}

/* VIREO_GET_MSR_LIST on the system fd: no state, no lock. */
long vireo_msr_get_list(struct vireo_msr_list __user *argp)
{
	struct vireo_msr_list hdr;
	long ret = 0;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.reserved)
		return -EINVAL;
	if (hdr.nmsrs < ARRAY_SIZE(vireo_msrs_to_save))
		ret = -E2BIG;
	else if (copy_to_user(argp->indices, vireo_msrs_to_save,
			      sizeof(vireo_msrs_to_save)))
		return -EFAULT;
	hdr.nmsrs = ARRAY_SIZE(vireo_msrs_to_save);
	if (copy_to_user(argp, &hdr, sizeof(hdr)))
		return -EFAULT;
	return ret;
}

/*
 * The entries of a VIREO_GET_MSRS / VIREO_SET_MSRS argument, copied in and
 * checked in order (the first bad one decides): EINVAL for too many or a
 * reserved field that is not 0, ENOENT for an MSR not in the list.  NULL
 * with *n = 0 for an empty array.
 */
static struct vireo_msr_entry *vireo_msrs_copy_in(struct vireo_msrs __user *argp,
						  u32 *n)
{
	struct vireo_msr_entry *e;
	struct vireo_msrs hdr;
	u32 i;

	*n = 0;
	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return ERR_PTR(-EFAULT);
	if (hdr.reserved || hdr.nmsrs > VIREO_MAX_MSR_ENTRIES)
		return ERR_PTR(-EINVAL);
	if (!hdr.nmsrs)
		return NULL;
	/* At most 256 entries of 16 bytes: one page. */
	e = memdup_user(argp->entries, array_size(hdr.nmsrs, sizeof(*e)));
	if (IS_ERR(e))
		return e;
	for (i = 0; i < hdr.nmsrs; i++) {
		int err = e[i].reserved ? -EINVAL :
			  !vireo_msr_saveable(e[i].index) ? -ENOENT : 0;

		if (err) {
			kfree(e);
			return ERR_PTR(err);
		}
	}
	*n = hdr.nmsrs;
	return e;
}

/* VIREO_GET_MSRS: each entry's data as the guest's RDMSR reads it now. */
long vireo_msr_get_state(struct vireo_vcpu *vcpu, struct vireo_msrs __user *argp)
{
	struct vireo_msr_entry *e;
	long ret = 0;
	u32 i, n;

	e = vireo_msrs_copy_in(argp, &n);
	if (IS_ERR_OR_NULL(e))
		return PTR_ERR_OR_ZERO(e);
	for (i = 0; i < n && !ret; i++)
		ret = vireo_msr_get(vcpu, e[i].index, &e[i].data);
	if (WARN_ON_ONCE(ret))		/* a saveable MSR must be readable */
		ret = -EIO;
	else if (copy_to_user(argp->entries, e, array_size(n, sizeof(*e))))
		ret = -EFAULT;
	kfree(e);
	return ret;
}

/*
 * VIREO_SET_MSRS: every value is checked before the first is written, so
 * the entries are written all or not at all; then each is written in
 * order as the guest's WRMSR writes it (a later entry for the same MSR
 * wins).  The caller holds vcpu->mutex: the vCPU is not in the guest.
 */
long vireo_msr_set_state(struct vireo_vcpu *vcpu, struct vireo_msrs __user *argp)
{
	struct vireo_msr_entry *e;
	long ret = 0;
	u32 i, n;

	e = vireo_msrs_copy_in(argp, &n);
	if (IS_ERR_OR_NULL(e))
		return PTR_ERR_OR_ZERO(e);
	for (i = 0; i < n; i++) {
		if (!vireo_msr_value_ok(e[i].index, e[i].data)) {
			ret = -EINVAL;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		/* Checked above: only a module bug makes this fail. */
		if (WARN_ON_ONCE(vireo_msr_set(vcpu, e[i].index, e[i].data))) {
			ret = -EIO;
			break;
		}
	}
out:
	kfree(e);
	return ret;
}
