// SPDX-License-Identifier: GPL-2.0
/*
 * Exit handling shared by every backend: CPUID from the VM's policy, port
 * I/O and MMIO forwarded to user space (with completion on the next RUN),
 * nested page faults, hypercalls, and the exit records for everything else.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <asm/msr-index.h>

#include "vireo_core.h"

#define INSN_MAX_LEN	15
#define CPUID_1_ECX_XSAVE	BIT(26)
#define CPUID_1_ECX_OSXSAVE	BIT(27)

/*
 * CPUID from the VM's policy, with the per-vCPU parts filled in: @osxsave
 * is the guest's CR4.OSXSAVE.
 */
int vireo_emulate_cpuid(struct vireo_vcpu *vcpu, bool osxsave)
{
	struct vireo_vm *vm = vcpu->vm;
	u32 function = vcpu->regs[VCPU_RAX];
	u32 index = vcpu->regs[VCPU_RCX];
	const struct vireo_cpuid_entry *e, *match = NULL;
	u32 out[4] = { 0, 0, 0, 0 };
	u32 i;

	mutex_lock(&vm->lock);
	for (i = 0; i < vm->cpuid_nent; i++) {
		e = &vm->cpuid[i];
		if (e->function != function)
			continue;
		if ((e->flags & VIREO_CPUID_FLAG_SIGNIFICANT_INDEX) &&
		    e->index != index)
			continue;
		match = e;
		break;
	}
	if (match) {
		out[0] = match->eax;
		out[1] = match->ebx;
		out[2] = match->ecx;
		out[3] = match->edx;
	}
	mutex_unlock(&vm->lock);

	/*
	 * The policy is per VM; the APIC ID in it is per vCPU (SDM vol. 2A
	 * CPUID leaves 01h EBX[31:24], 0Bh/1Fh EDX; APM vol. 3 8000_001Eh EAX).
	 */
	if (match && function == 1) {
		out[1] = (out[1] & 0x00ffffff) | (vcpu->id << 24);
		/* OSXSAVE mirrors CR4.OSXSAVE where XSAVE is offered. */
		out[2] &= ~CPUID_1_ECX_OSXSAVE;
		if (osxsave && (out[2] & CPUID_1_ECX_XSAVE))
			out[2] |= CPUID_1_ECX_OSXSAVE;
	} else if (match && function == 0xd && index == 0) {
		/* EBX: the area size for the XCR0 the guest has set. */
		out[1] = vireo_xsave_size(vcpu->xcr0);
	} else if (match && (function == 0xb || function == 0x1f)) {
		out[3] = vcpu->id;
	} else if (match && function == 0x8000001e) {
		out[0] = vcpu->id;
	}

	/* CPUID writes all four registers, zero-extended (SDM vol. 2A). */
	vcpu->regs[VCPU_RAX] = out[0];
	vcpu->regs[VCPU_RBX] = out[1];
	vcpu->regs[VCPU_RCX] = out[2];
	vcpu->regs[VCPU_RDX] = out[3];
	vcpu->rip += 2;			/* 0f a2 */
	vireo_count(vcpu, VIREO_STAT_CPUID);
	return VIREO_RESUME;
}

int vireo_emulate_io(struct vireo_vcpu *vcpu, u16 port, u8 size, bool in,
		     unsigned long next_rip)
{
	struct vireo_run *run = vcpu->run;
	u8 byte = vcpu->regs[VCPU_RAX];

	if (size == 1 && vireo_pio_fast(vcpu->vm, port, in, &byte)) {
		if (in)		/* IN AL: the rest of RAX is kept */
			vcpu->regs[VCPU_RAX] = (vcpu->regs[VCPU_RAX] & ~0xffUL) | byte;
		vcpu->rip = next_rip;
		vireo_count(vcpu, VIREO_STAT_PIO_FAST);
		return VIREO_RESUME;
	}

	run->exit_reason = VIREO_EXIT_IO;
	memset(&run->io, 0, sizeof(run->io));
	run->io.port = port;
	run->io.size = size;
	run->io.queued = READ_ONCE(vcpu->vm->pio.count);
	if (in) {
		run->io.direction = VIREO_IO_IN;
		vcpu->pending = VIREO_PENDING_IO_IN;
		vcpu->pending_io_size = size;
		vcpu->pending_next_rip = next_rip;
	} else {
		run->io.direction = VIREO_IO_OUT;
		run->io.data = vcpu->regs[VCPU_RAX] &
			       (size == 4 ? 0xffffffffUL : (1UL << (size * 8)) - 1);
		vcpu->rip = next_rip;
	}
	return VIREO_TO_USER;
}

int vireo_exit_to_user_hw(struct vireo_vcpu *vcpu, u32 reason, u64 code,
			  u64 info1, u64 info2, u64 int_info)
{
	struct vireo_run *run = vcpu->run;

	run->exit_reason = reason;
	memset(&run->hw, 0, sizeof(run->hw));
	run->hw.hw_exit_code = code;
	run->hw.info1 = info1;
	run->hw.info2 = info2;
	run->hw.int_info = int_info;
	return VIREO_TO_USER;
}

int vireo_exit_internal(struct vireo_vcpu *vcpu, u32 suberror, u64 gpa,
			const u8 *insn, unsigned int ninsn)
{
	struct vireo_run *run = vcpu->run;

	run->exit_reason = VIREO_EXIT_INTERNAL_ERROR;
	memset(&run->internal, 0, sizeof(run->internal));
	run->internal.suberror = suberror;
	run->internal.gpa = gpa;
	ninsn = min_t(unsigned int, ninsn, sizeof(run->internal.insn));
	if (insn)
		memcpy(run->internal.insn, insn, ninsn);
	run->internal.ninsn = insn ? ninsn : 0;
	return VIREO_TO_USER;
}

/*
 * HLT (f4, already stepped over by the backend).  Without an in-kernel
 * LAPIC nothing could wake the vCPU, so user space gets the exit; with one,
 * the vCPU sleeps in the run loop until an interrupt is due.
 */
int vireo_emulate_hlt(struct vireo_vcpu *vcpu)
{
	if (!vcpu->lapic) {
		vcpu->run->exit_reason = VIREO_EXIT_HLT;
		return VIREO_TO_USER;
	}
	vcpu->activity = VIREO_HALTED;
	return VIREO_RESUME;
}

int vireo_emulate_hypercall(struct vireo_vcpu *vcpu, unsigned int insn_len)
{
	struct vireo_run *run = vcpu->run;

	run->exit_reason = VIREO_EXIT_HYPERCALL;
	memset(&run->hypercall, 0, sizeof(run->hypercall));
	run->hypercall.nr = vcpu->regs[VCPU_RAX];
	run->hypercall.args[0] = vcpu->regs[VCPU_RBX];
	run->hypercall.args[1] = vcpu->regs[VCPU_RCX];
	run->hypercall.args[2] = vcpu->regs[VCPU_RDX];
	run->hypercall.args[3] = vcpu->regs[VCPU_RSI];
	run->hypercall.args[4] = vcpu->regs[VCPU_RDI];
	vcpu->rip += insn_len;
	vcpu->pending = VIREO_PENDING_HYPERCALL;
	return VIREO_TO_USER;
}

/* Fetch up to 15 bytes at CS:RIP through the guest's page tables. */
static int vireo_fetch_insn(struct vireo_vcpu *vcpu,
			    const struct vireo_paging *pg, u8 *buf,
			    unsigned int *len)
{
	u64 linear = pg->cs_base + vcpu->rip;
	unsigned int got = 0;

	if (!(pg->efer & EFER_LMA))	/* not long mode: 32-bit linear */
		linear = (u32)linear;

	while (got < INSN_MAX_LEN) {
		u64 gva = linear + got, gpa;
		unsigned int chunk = min_t(unsigned int, INSN_MAX_LEN - got,
					   PAGE_SIZE - offset_in_page(gva));

		if (vireo_gva_to_gpa(vcpu, pg, gva, &gpa) ||
		    gpa + chunk > vcpu->vm->ram_bytes)
			break;
		if (vireo_read_guest(vcpu->vm, gpa, buf + got, chunk))
			break;
		got += chunk;
	}
	*len = got;
	return got ? 0 : -EFAULT;
}

static void vireo_write_reg(struct vireo_vcpu *vcpu, unsigned int reg,
			    bool high_byte, unsigned int size, u64 value);

/* Put the value an MMIO load read into its register; step past the insn. */
static void vireo_finish_mmio_read(struct vireo_vcpu *vcpu,
				   const struct vireo_mmio_insn *insn,
				   u64 value, unsigned long next_rip)
{
	if (insn->access_size < 8)
		value &= (1ULL << (insn->access_size * 8)) - 1;
	if (insn->sign_extend)
		value = insn->access_size == 1 ? (u64)(s64)(s8)value :
						  (u64)(s64)(s16)value;
	vireo_write_reg(vcpu, insn->reg, insn->high_byte, insn->reg_size, value);
	vcpu->rip = next_rip;
}

/*
 * MOV to/from DR0-DR7 (0f 21 /r read, 0f 23 /r write; ModRM.rm is the GPR).
 * The guest's debug registers are kept in software and never loaded into
 * the CPU, whose DR0-DR3 belong to the host: the guest can read back what
 * it wrote, but its hardware breakpoints do not fire.  SDM vol. 3B, 17.2.
 */
/*
 * Decode the MOV to or from a control or debug register at RIP, for exits
 * that do not say which register (SVM without decode assists):
 * [F0] [REX] 0F @opcode ModRM, ModRM.mod always 3 (SDM vol. 2B, MOV--Move
 * to/from Control/Debug Registers).  *reg is ModRM.reg with REX.R, plus 8
 * with a LOCK prefix (AMD's encoding of CR8 outside 64-bit mode, APM vol.
 * 3); *gpr is ModRM.rm with REX.B, 64 bits wide in 64-bit mode and 32
 * otherwise (*wide).  Returns the length, or 0 with an internal-error exit
 * in the record.
 */
static unsigned int vireo_decode_mov_xr(struct vireo_vcpu *vcpu, u8 opcode,
					unsigned int *reg, unsigned int *gpr,
					bool *wide)
{
	struct vireo_paging pg;
	u8 bytes[INSN_MAX_LEN], rex = 0;
	unsigned int n, pos = 0, lock = 0;

	vireo_ops->get_paging(vcpu, &pg);
	if (vireo_fetch_insn(vcpu, &pg, bytes, &n)) {
		vireo_exit_internal(vcpu, VIREO_INTERNAL_GVA, 0, NULL, 0);
		return 0;
	}
	*wide = (pg.efer & EFER_LMA) && pg.cs_l;
	if (pos < n && bytes[pos] == 0xf0) {
		lock = 8;
		pos++;
	}
	if (pos < n && *wide && (bytes[pos] & 0xf0) == 0x40)
		rex = bytes[pos++];
	if (pos + 3 > n || bytes[pos] != 0x0f || bytes[pos + 1] != opcode ||
	    (bytes[pos + 2] >> 6) != 3) {
		vireo_exit_internal(vcpu, VIREO_INTERNAL_DECODE, 0, bytes, n);
		return 0;
	}
	*reg = ((bytes[pos + 2] >> 3) & 7) + ((rex & 4) ? 8 : 0) + lock;
	*gpr = (bytes[pos + 2] & 7) | ((rex & 1) ? 8 : 0);
	return pos + 3;
}

/*
 * MOV to CR8 (SVM intercepts it when the vCPU has a LAPIC): CR8 is the
 * LAPIC's task priority class.  Bits 63:4 set: #GP(0).
 */
int vireo_emulate_mov_to_cr8(struct vireo_vcpu *vcpu)
{
	unsigned int reg, gpr, len;
	bool wide;
	u64 val;

	len = vireo_decode_mov_xr(vcpu, 0x22, &reg, &gpr, &wide);
	if (!len)
		return VIREO_TO_USER;
	if (reg != 8)
		return vireo_exit_internal(vcpu, VIREO_INTERNAL_DECODE, 0, NULL, 0);
	val = wide ? vcpu->regs[gpr] : (u32)vcpu->regs[gpr];
	if (val > 15) {
		vireo_ops->queue_exception(vcpu, 13, true, 0);
		return VIREO_RESUME;
	}
	vireo_lapic_set_cr8(vcpu, val);
	vcpu->rip += len;
	return VIREO_RESUME;
}

int vireo_emulate_mov_dr(struct vireo_vcpu *vcpu, unsigned int dr, bool write)
{
	unsigned int reg, gpr, len;
	unsigned long val;
	bool wide;

	len = vireo_decode_mov_xr(vcpu, write ? 0x23 : 0x21, &reg, &gpr, &wide);
	if (!len)
		return VIREO_TO_USER;

	if (dr == 4 || dr == 5)
		dr += 2;	/* aliases of DR6/DR7 while CR4.DE is clear */
	if (dr > 7) {
		vireo_ops->queue_exception(vcpu, 6, false, 0);	/* #UD */
		return VIREO_RESUME;
	}
	if (write) {
		val = vcpu->regs[gpr];
		if (dr < 4)
			vcpu->dr[dr] = val;
		else if (dr == 6)
			vcpu->dr6 = (val & 0xf00f) | 0xffff0ff0;
		else
			vcpu->dr7 = (val & 0xffff2fff) | 0x400;
	} else {
		val = dr < 4 ? vcpu->dr[dr] : dr == 6 ? vcpu->dr6 : vcpu->dr7;
		vcpu->regs[gpr] = val;
	}
	vcpu->rip += len;
	return VIREO_RESUME;
}

int vireo_emulate_mmio(struct vireo_vcpu *vcpu, u64 gpa)
{
	struct vireo_run *run = vcpu->run;
	struct vireo_mmio_insn *insn = &vcpu->pending_insn;
	struct vireo_paging pg;
	u8 bytes[INSN_MAX_LEN];
	unsigned int nbytes;
	u64 value = 0;

	vireo_ops->get_paging(vcpu, &pg);
	if (vireo_fetch_insn(vcpu, &pg, bytes, &nbytes))
		return vireo_exit_internal(vcpu, VIREO_INTERNAL_GVA, gpa, NULL, 0);
	if (vireo_decode_mmio(bytes, nbytes, &pg, insn))
		return vireo_exit_internal(vcpu, VIREO_INTERNAL_DECODE, gpa,
					   bytes, nbytes);

	if (insn->is_write) {
		if (insn->has_imm)
			value = insn->imm;
		else if (insn->high_byte)
			value = vcpu->regs[insn->reg - 4] >> 8;
		else
			value = vcpu->regs[insn->reg];
		if (insn->access_size < 8)
			value &= (1ULL << (insn->access_size * 8)) - 1;
	}

	/* The interrupt controllers are emulated in the kernel. */
	if (vireo_lapic_mmio(vcpu, gpa, insn->access_size, insn->is_write,
			     &value) ||
	    vireo_ioapic_mmio(vcpu, gpa, insn->access_size, insn->is_write,
			      &value)) {
		if (insn->is_write)
			vcpu->rip += insn->len;
		else
			vireo_finish_mmio_read(vcpu, insn, value,
					       vcpu->rip + insn->len);
		return VIREO_RESUME;
	}

	run->exit_reason = VIREO_EXIT_MMIO;
	memset(&run->mmio, 0, sizeof(run->mmio));
	run->mmio.gpa = gpa;
	run->mmio.len = insn->access_size;
	run->mmio.is_write = insn->is_write;

	if (!insn->is_write) {
		vcpu->pending = VIREO_PENDING_MMIO_READ;
		vcpu->pending_next_rip = vcpu->rip + insn->len;
		return VIREO_TO_USER;
	}
	run->mmio.data = value;
	vcpu->rip += insn->len;
	return VIREO_TO_USER;
}

int vireo_emulate_npf(struct vireo_vcpu *vcpu, u64 gpa, bool in_table_walk)
{
	int ret;

	if (gpa >= vcpu->vm->ram_bytes) {
		/* Guest page tables outside RAM: nothing to emulate. */
		if (in_table_walk)
			return vireo_exit_internal(vcpu, VIREO_INTERNAL_GVA, gpa,
						   NULL, 0);
		return vireo_emulate_mmio(vcpu, gpa);
	}

	ret = vireo_tdp_map(vcpu->vm, gpa);
	if (ret == -ENOMEM)
		return vireo_exit_internal(vcpu, VIREO_INTERNAL_NOMEM, gpa, NULL, 0);
	if (ret)
		return ret;
	vireo_count(vcpu, VIREO_STAT_NPF_MAP);
	return VIREO_RESUME;
}

/* Write @value into a register as an x86 instruction of @size would. */
static void vireo_write_reg(struct vireo_vcpu *vcpu, unsigned int reg,
			    bool high_byte, unsigned int size, u64 value)
{
	unsigned long *r;

	if (high_byte) {
		r = &vcpu->regs[reg - 4];
		*r = (*r & ~0xff00UL) | ((value & 0xff) << 8);
		return;
	}
	r = &vcpu->regs[reg];
	switch (size) {
	case 1:
		*r = (*r & ~0xffUL) | (value & 0xff);
		break;
	case 2:
		*r = (*r & ~0xffffUL) | (value & 0xffff);
		break;
	case 4:
		*r = (u32)value;	/* 32-bit writes zero-extend */
		break;
	default:
		*r = value;
	}
}

/* Finish the instruction that the last exit to user space left pending. */
void vireo_complete_pending(struct vireo_vcpu *vcpu)
{
	struct vireo_run *run = vcpu->run;
	struct vireo_mmio_insn *insn = &vcpu->pending_insn;

	switch (vcpu->pending) {
	case VIREO_PENDING_NONE:
		return;
	case VIREO_PENDING_IO_IN:
		vireo_write_reg(vcpu, VCPU_RAX, false, vcpu->pending_io_size,
				run->io.data);
		vcpu->rip = vcpu->pending_next_rip;
		break;
	case VIREO_PENDING_MMIO_READ:
		vireo_finish_mmio_read(vcpu, insn, run->mmio.data,
				       vcpu->pending_next_rip);
		break;
	case VIREO_PENDING_HYPERCALL:
		vcpu->regs[VCPU_RAX] = run->hypercall.ret;
		break;
	}
	vcpu->pending = VIREO_PENDING_NONE;
}
