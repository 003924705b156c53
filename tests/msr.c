// SPDX-License-Identifier: GPL-2.0
/*
 * Guest MSRs, emulated in the kernel: RDMSR/WRMSR never exit to user
 * space.  Known MSRs read their architectural or documented values and
 * keep what is written; unknown MSRs and refused values raise #GP(0) with
 * RIP at the instruction; RDTSCP is emulated with TSC_AUX; the guest TSC
 * starts near 0 for each VM.  The MSRs VMLOAD/VMSAVE switch (FS/GS bases,
 * SYSCALL and SYSENTER) are not intercepted at all.  Netlink counts the
 * emulated accesses ("kernel_msr") and the refused ones ("kernel_msr_gp").
 */
#include <cpuid.h>
#include <unistd.h>

#include "msr_index.h"
#include "vireo_test.h"

/* Implemented nowhere: one in the low MSR-permission-map range, one outside. */
#define UNKNOWN_MSR		0x12345
#define UNKNOWN_MSR_UNMAPPED	0xdeadbeef

#define EFER_RESERVED_BIT	(1ULL << 1)

/* Reset value (APM vol. 2, 7.8.2): WB, WT, UC-, UC, twice. */
#define PAT_DEFAULT		0x0007040600070406ULL
/* WB, WP, UC-, UC, WB, WT, WC, UC: every valid type, entry 0 kept WB. */
#define PAT_VALID		0x0001040600070506ULL
/* Types 2 and 3 are reserved, and so is anything above 7. */
#define PAT_WITH_TYPE(pat, entry, type) \
	(((pat) & ~(0xffULL << (8 * (entry)))) | ((uint64_t)(type) << (8 * (entry))))

#define APIC_BASE_BSP		0xfee00900ULL	/* 0xfee00000, EN, BSP */
#define APIC_BASE_AP		0xfee00800ULL	/* 0xfee00000, EN */
#define APIC_BASE_ENABLE	(1ULL << 11)
#define MTRR_CAP		0x508		/* WC, FIX, 8 variable ranges */
#define MISC_ENABLE_DEFAULT	0x1800		/* BTS, PEBS unavailable */

/* The guest TSC starts at 0 when the VM is created: far below 2^40. */
#define TSC_NEAR_ZERO		(1ULL << 40)
/* An emulated TSC is off by at most a few exits, far below 2^34 cycles. */
#define TSC_CLOSE		(1ULL << 34)
#define TSC_WRITTEN		(1ULL << 48)
#define TSC_AUX_VALUE		0x1234abcdULL

static void run_to_done(struct __test_metadata *_metadata, void *guest_code)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* The "kernel_msr" and "kernel_msr_gp" counters of @vm, from netlink. */
static void msr_counters(struct __test_metadata *_metadata,
			 struct vireo_vm *vm, uint64_t *emulated,
			 uint64_t *refused, uint64_t *unknown_exits)
{
	struct vireo_nl_vm info;
	struct vireo_nl nl;
	int slot;

	ASSERT_EQ(0, vireo_nl_open(&nl));
	ASSERT_EQ(0, vireo_nl_get_vm(&nl, vm->id, &info));
	vireo_nl_close(&nl);
	ASSERT_TRUE(info.present & VIREO_NL_HAS_EXITS);
	slot = vireo_nl_exit_slot(&info, "kernel_msr");
	ASSERT_GE(slot, 32);
	*emulated = info.exits[slot];
	slot = vireo_nl_exit_slot(&info, "kernel_msr_gp");
	ASSERT_GE(slot, 32);
	*refused = info.exits[slot];
	*unknown_exits = info.exits[VIREO_EXIT_UNKNOWN];
}

/* ---- EFER -------------------------------------------------------- */

static void guest_efer(uint64_t expected)
{
	uint64_t efer = rdmsr(MSR_EFER);

	GUEST_ASSERT_EQ(efer, expected);
	/* SVME is the hypervisor's, LME cannot change under paging. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_EFER, efer | X86_EFER_SVME), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_EFER, efer & ~X86_EFER_LME), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_EFER, efer | EFER_RESERVED_BIT),
			GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_EFER), efer);
	/* LMA belongs to the processor: writing it clear changes nothing. */
	wrmsr(MSR_EFER, efer & ~X86_EFER_LMA);
	GUEST_ASSERT_EQ(rdmsr(MSR_EFER), efer);
	wrmsr(MSR_EFER, efer & ~X86_EFER_SCE);
	GUEST_ASSERT_EQ(rdmsr(MSR_EFER), efer & ~X86_EFER_SCE);
	GUEST_SYNC(1);
	wrmsr(MSR_EFER, efer);
	GUEST_ASSERT_EQ(rdmsr(MSR_EFER), efer);
	GUEST_DONE();
}

TEST(efer)
{
	struct vireo_vcpu *vcpu;
	struct vireo_sregs sregs;
	struct vireo_vm *vm;
	uint64_t efer;

	vm = vm_create_with_one_vcpu(&vcpu, guest_efer);
	vcpu_sregs_get(vcpu, &sregs);
	sregs.efer |= X86_EFER_SCE | X86_EFER_NX;
	vcpu_sregs_set(vcpu, &sregs);
	efer = sregs.efer;
	ASSERT_EQ(X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NX,
		  efer);
	vcpu_args_set(vcpu, 1, efer);

	vcpu_run_expect_sync(vcpu, 1);
	/* The guest's WRMSR is the EFER user space sees. */
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_EQ(efer & ~X86_EFER_SCE, sregs.efer);
	vcpu_run_expect_done(vcpu);
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_EQ(efer, sregs.efer);
	vm_free(vm);
}

/* ---- PAT --------------------------------------------------------- */

static void guest_pat(void)
{
	GUEST_ASSERT_EQ(rdmsr(MSR_PAT), PAT_DEFAULT);
	wrmsr(MSR_PAT, PAT_VALID);
	GUEST_ASSERT_EQ(rdmsr(MSR_PAT), PAT_VALID);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_PAT, PAT_WITH_TYPE(PAT_VALID, 2, 2)),
			GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_PAT, PAT_WITH_TYPE(PAT_VALID, 3, 3)),
			GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_PAT, PAT_WITH_TYPE(PAT_VALID, 7, 8)),
			GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_PAT), PAT_VALID);
	wrmsr(MSR_PAT, PAT_DEFAULT);
	GUEST_ASSERT_EQ(rdmsr(MSR_PAT), PAT_DEFAULT);
	GUEST_DONE();
}

TEST(pat)
{
	run_to_done(_metadata, guest_pat);
}

/* ---- APIC base --------------------------------------------------- */

static void guest_apic_base_bsp(void)
{
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_APICBASE), APIC_BASE_BSP);
	/* Bit 9 is reserved, bit 52 is above any physical address. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_APICBASE, APIC_BASE_BSP | 1ULL << 9),
			GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_APICBASE,
				   APIC_BASE_BSP | 1ULL << 52), GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_APICBASE), APIC_BASE_BSP);
	wrmsr(MSR_IA32_APICBASE, APIC_BASE_BSP & ~APIC_BASE_ENABLE);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_APICBASE),
			APIC_BASE_BSP & ~APIC_BASE_ENABLE);
	wrmsr(MSR_IA32_APICBASE, APIC_BASE_BSP);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_APICBASE), APIC_BASE_BSP);
	GUEST_DONE();
}

static void guest_apic_base_ap(void)
{
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_APICBASE), APIC_BASE_AP);
	GUEST_DONE();
}

/* vCPU 0 is the bootstrap processor, vCPU 1 is not. */
TEST(apic_base)
{
	struct vireo_vcpu *bsp, *ap;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&bsp, guest_apic_base_bsp);
	ap = vm_vcpu_add(vm, 1, guest_apic_base_ap);
	vcpu_run_expect_done(bsp);
	vcpu_run_expect_done(ap);
	vm_free(vm);
}

/* ---- MTRRs, MISC_ENABLE ------------------------------------------ */

static void guest_mtrr(void)
{
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRRcap), MTRR_CAP);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MTRRcap, MTRR_CAP), GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRRcap), MTRR_CAP);

	/* MTRRs disabled at reset; then enabled, fixed ranges on, WB. */
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRRdefType), 0);
	wrmsr(MSR_MTRRdefType, 0xc06);
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRRdefType), 0xc06);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MTRRdefType, 0xc06 | 1ULL << 12),
			GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRRdefType), 0xc06);

	/* Variable ranges 0 and 7 keep their own values. */
	wrmsr(MSR_MTRR_PHYSBASE(0), 0x80000000);	/* 2 GiB UC */
	wrmsr(MSR_MTRR_PHYSMASK(0), 0xf80000800);
	wrmsr(MSR_MTRR_PHYSBASE(7), 0xc0000001);	/* 1 GiB WC */
	wrmsr(MSR_MTRR_PHYSMASK(7), 0xfc0000800);
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRR_PHYSBASE(0)), 0x80000000);
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRR_PHYSMASK(0)), 0xf80000800);
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRR_PHYSBASE(7)), 0xc0000001);
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRR_PHYSMASK(7)), 0xfc0000800);

	/* Fixed ranges: the first, a 16K one and the last. */
	wrmsr(MSR_MTRRfix64K_00000, 0x0606060606060606ULL);
	wrmsr(MSR_MTRRfix16K_80000, 0x0000000006060606ULL);
	wrmsr(MSR_MTRRfix4K_F8000, 0x0505050505050505ULL);
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRRfix64K_00000), 0x0606060606060606ULL);
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRRfix16K_80000), 0x0000000006060606ULL);
	GUEST_ASSERT_EQ(rdmsr(MSR_MTRRfix4K_F8000), 0x0505050505050505ULL);
	GUEST_DONE();
}

TEST(mtrr)
{
	run_to_done(_metadata, guest_mtrr);
}

static void guest_misc_enable(void)
{
	GUEST_ASSERT_EQ(rdmsr(MSR_MISC_ENABLE), MISC_ENABLE_DEFAULT);
	wrmsr(MSR_MISC_ENABLE, MISC_ENABLE_DEFAULT | 1);	/* fast strings */
	GUEST_ASSERT_EQ(rdmsr(MSR_MISC_ENABLE), MISC_ENABLE_DEFAULT | 1);
	wrmsr(MSR_MISC_ENABLE, MISC_ENABLE_DEFAULT);
	GUEST_ASSERT_EQ(rdmsr(MSR_MISC_ENABLE), MISC_ENABLE_DEFAULT);
	GUEST_DONE();
}

TEST(misc_enable)
{
	run_to_done(_metadata, guest_misc_enable);
}

/* ---- TSC --------------------------------------------------------- */

static void guest_tsc(void)
{
	uint64_t first, a, b, c, d;

	first = rdtsc();
	GUEST_ASSERT_LT(first, TSC_NEAR_ZERO);
	GUEST_SYNC(first);

	/* RDMSR (emulated) and RDTSC (hardware + offset) agree. */
	a = rdtsc();
	b = rdmsr(MSR_IA32_TSC);
	c = rdtsc();
	d = rdmsr(MSR_IA32_TSC);
	GUEST_ASSERT_LE(first, a);
	GUEST_ASSERT_LE(a, b);
	GUEST_ASSERT_LE(b, c);
	GUEST_ASSERT_LT(b, d);

	/* Forward ... */
	wrmsr(MSR_IA32_TSC, TSC_WRITTEN);
	a = rdtsc();
	b = rdmsr(MSR_IA32_TSC);
	GUEST_ASSERT_LE(TSC_WRITTEN, a);
	GUEST_ASSERT_LT(a - TSC_WRITTEN, TSC_CLOSE);
	GUEST_ASSERT_LE(a, b);
	GUEST_ASSERT_LT(b - TSC_WRITTEN, TSC_CLOSE);

	/* ... and back. */
	wrmsr(MSR_IA32_TSC, 1000);
	a = rdtsc();
	GUEST_ASSERT_LE(1000, a);
	GUEST_ASSERT_LT(a - 1000, TSC_CLOSE);
	GUEST_DONE();
}

static void guest_tsc_read(void)
{
	GUEST_SYNC(rdtsc());
	GUEST_DONE();
}

/*
 * The TSC starts near 0 and is one clock for the VM: a vCPU created later
 * reads a later time, not a TSC of its own starting at 0.
 */
TEST(tsc)
{
	struct vireo_vcpu *vcpu, *late;
	struct vireo_vm *vm;
	uint64_t first, later;
	struct ucall uc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_tsc);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc));
	first = uc.args[0];
	TH_LOG("guest TSC at first RDTSC: %llu", (unsigned long long)first);

	usleep(10 * 1000);
	late = vm_vcpu_add(vm, 1, guest_tsc_read);
	ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(late, &uc));
	later = uc.args[0];
	EXPECT_LT(first, later);
	EXPECT_LT(later, TSC_NEAR_ZERO);
	vcpu_run_expect_done(late);

	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static bool host_has_rdtscp(void)
{
	unsigned int eax, ebx, ecx, edx;

	return __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) &&
	       (edx & (1U << 27));
}

/*
 * QEMU's TCG (the nested test VM) names itself in the hypervisor leaf.  It
 * does not implement the SVM RDTSCP intercept (QEMU 7.2 checks the RDTSC
 * one instead), so a guest's RDTSCP never reaches the module there and
 * returns the TSC_AUX of the CPU running the test.
 */
static bool host_is_qemu_tcg(void)
{
	unsigned int eax, ebx, ecx, edx, sig[3];

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1U << 31)))
		return false;		/* no hypervisor */
	__cpuid(0x40000000, eax, sig[0], sig[1], sig[2]);
	return !memcmp(sig, "TCGTCGTCGTCG", 12);
}

/* RDTSCP with RCX all ones before: ECX must be zero-extended into RCX. */
static uint64_t rdtscp_rcx(uint64_t *rcx)
{
	uint32_t lo, hi;
	uint64_t c = ~0ULL;

	asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "+c"(c) : : "memory");
	*rcx = c;
	return lo | ((uint64_t)hi << 32);
}

static void guest_tsc_aux(void)
{
	GUEST_ASSERT_EQ(rdmsr(MSR_TSC_AUX), 0);
	wrmsr(MSR_TSC_AUX, TSC_AUX_VALUE);
	GUEST_ASSERT_EQ(rdmsr(MSR_TSC_AUX), TSC_AUX_VALUE);
	/* TSC_AUX is 32 bits wide. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_TSC_AUX, 1ULL << 32), GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_TSC_AUX), TSC_AUX_VALUE);
	GUEST_DONE();
}

TEST(tsc_aux)
{
	run_to_done(_metadata, guest_tsc_aux);
}

static void guest_rdtscp(void)
{
	uint64_t before, tsc, after, rcx;

	rdtscp_rcx(&rcx);
	GUEST_ASSERT_EQ(rcx, 0);

	wrmsr(MSR_TSC_AUX, TSC_AUX_VALUE);
	before = rdtsc();
	tsc = rdtscp_rcx(&rcx);
	after = rdtsc();
	GUEST_ASSERT_EQ(rcx, TSC_AUX_VALUE);
	GUEST_ASSERT_LE(before, tsc);
	GUEST_ASSERT_LE(tsc, after);

	/* After a TSC write RDTSCP reads the new clock too. */
	wrmsr(MSR_IA32_TSC, TSC_WRITTEN);
	tsc = rdtscp_rcx(&rcx);
	GUEST_ASSERT_LE(TSC_WRITTEN, tsc);
	GUEST_ASSERT_LT(tsc - TSC_WRITTEN, TSC_CLOSE);
	GUEST_ASSERT_EQ(rcx, TSC_AUX_VALUE);
	GUEST_DONE();
}

TEST(rdtscp_returns_tsc_aux)
{
	TEST_REQUIRE(host_has_rdtscp());
	if (host_is_qemu_tcg())
		SKIP(return, "QEMU TCG ignores the SVM RDTSCP intercept: the guest would read this CPU's own TSC_AUX");
	run_to_done(_metadata, guest_rdtscp);
}

/* ---- #GP --------------------------------------------------------- */

extern const char unknown_rdmsr_insn[], unknown_wrmsr_insn[];

static uint64_t gp_count, gp_error_code, gp_expected_rip;

static void guest_gp_handler(struct ex_regs *regs)
{
	GUEST_ASSERT_EQ(regs->vector, GP_VECTOR);
	GUEST_ASSERT_EQ(regs->rip, gp_expected_rip);
	gp_error_code = regs->error_code;
	gp_count++;
	regs->rip += 2;			/* RDMSR 0f 32, WRMSR 0f 30 */
}

static void __guest_code guest_unknown_msr(void)
{
	uint64_t rax = 0x1111111155555555ULL, rdx = 0x2222222266666666ULL;
	uint64_t val = 0x77, error_code = ~0ULL;

	gp_expected_rip = (uint64_t)unknown_rdmsr_insn;
	gp_error_code = ~0ULL;
	asm volatile(".globl unknown_rdmsr_insn\n"
		     "unknown_rdmsr_insn: rdmsr"
		     : "+a"(rax), "+d"(rdx) : "c"(UNKNOWN_MSR) : "memory");
	GUEST_ASSERT_EQ(gp_count, 1);
	GUEST_ASSERT_EQ(gp_error_code, 0);
	/* A refused RDMSR writes nothing. */
	GUEST_ASSERT_EQ(rax, 0x1111111155555555ULL);
	GUEST_ASSERT_EQ(rdx, 0x2222222266666666ULL);

	gp_expected_rip = (uint64_t)unknown_wrmsr_insn;
	gp_error_code = ~0ULL;
	asm volatile(".globl unknown_wrmsr_insn\n"
		     "unknown_wrmsr_insn: wrmsr"
		     : : "a"(1), "d"(0), "c"(UNKNOWN_MSR) : "memory");
	GUEST_ASSERT_EQ(gp_count, 2);
	GUEST_ASSERT_EQ(gp_error_code, 0);

	/* The same through fixups, which the handler never sees. */
	GUEST_ASSERT_EQ(__rdmsr_safe(UNKNOWN_MSR, &val, &error_code),
			GP_VECTOR);
	GUEST_ASSERT_EQ(error_code, 0);
	GUEST_ASSERT_EQ(val, 0x77);
	GUEST_ASSERT_EQ(rdmsr_safe(UNKNOWN_MSR_UNMAPPED, &val), GP_VECTOR);
	error_code = ~0ULL;
	GUEST_ASSERT_EQ(__wrmsr_safe(UNKNOWN_MSR_UNMAPPED, 0, &error_code),
			GP_VECTOR);
	GUEST_ASSERT_EQ(error_code, 0);
	GUEST_ASSERT_EQ(gp_count, 2);
	GUEST_DONE();
}

TEST(unknown_msr_raises_gp)
{
	uint64_t emulated, refused, unknown_exits;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_unknown_msr);
	vm_install_exception_handler(vm, GP_VECTOR, guest_gp_handler);
	vcpu_run_expect_done(vcpu);
	msr_counters(_metadata, vm, &emulated, &refused, &unknown_exits);
	EXPECT_EQ(0, emulated);
	EXPECT_EQ(5, refused);
	EXPECT_EQ(0, unknown_exits);
	vm_free(vm);
}

/* ---- MSRs VMLOAD/VMSAVE switch: not intercepted ------------------ */

#define FS_BASE_GUEST		0x00007f0012345000ULL
#define GS_BASE_GUEST		0xffff888012345000ULL
#define KERNEL_GS_BASE_GUEST	0x00007f00abcde000ULL
#define FS_BASE_HOST		0x00007f0055550000ULL
#define GS_BASE_HOST		0xffff888066660000ULL

static const struct {
	uint32_t index;
	uint64_t value;
} switched_msrs[] = {
	{ MSR_FS_BASE, FS_BASE_GUEST },
	{ MSR_GS_BASE, GS_BASE_GUEST },
	{ MSR_KERNEL_GS_BASE, KERNEL_GS_BASE_GUEST },
	{ MSR_STAR, 0x0023001012345678ULL },
	{ MSR_LSTAR, 0xffffffff81234560ULL },
	{ MSR_CSTAR, 0xffffffff81234570ULL },
	{ MSR_SFMASK, 0x47700 },
	/* 32-bit values: AMD CPUs keep only the low half of ESP/EIP. */
	{ MSR_SYSENTER_CS, 0x10 },
	{ MSR_SYSENTER_ESP, 0x12345000 },
	{ MSR_SYSENTER_EIP, 0x00401000 },
};

static void guest_passthrough(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(switched_msrs); i++)
		wrmsr(switched_msrs[i].index, switched_msrs[i].value);
	for (i = 0; i < ARRAY_SIZE(switched_msrs); i++)
		GUEST_ASSERT_EQ(rdmsr(switched_msrs[i].index),
				switched_msrs[i].value);

	/* SWAPGS exchanges GS_BASE and KERNEL_GS_BASE. */
	asm volatile("swapgs" : : : "memory");
	GUEST_ASSERT_EQ(rdmsr(MSR_GS_BASE), KERNEL_GS_BASE_GUEST);
	GUEST_ASSERT_EQ(rdmsr(MSR_KERNEL_GS_BASE), GS_BASE_GUEST);
	asm volatile("swapgs" : : : "memory");
	GUEST_SYNC(1);

	/* User space changed the segment bases in between. */
	GUEST_ASSERT_EQ(rdmsr(MSR_FS_BASE), FS_BASE_HOST);
	GUEST_ASSERT_EQ(rdmsr(MSR_GS_BASE), GS_BASE_HOST);
	GUEST_ASSERT_EQ(rdmsr(MSR_KERNEL_GS_BASE), KERNEL_GS_BASE_GUEST);
	GUEST_DONE();
}

TEST(passthrough_msrs)
{
	uint64_t emulated, refused, unknown_exits;
	struct vireo_vcpu *vcpu;
	struct vireo_sregs sregs;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_passthrough);
	vcpu_run_expect_sync(vcpu, 1);

	/* The WRMSRs reached the segment state VMSAVE stored ... */
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_EQ(FS_BASE_GUEST, sregs.fs.base);
	EXPECT_EQ(GS_BASE_GUEST, sregs.gs.base);
	/* ... and not one of those accesses was intercepted. */
	msr_counters(_metadata, vm, &emulated, &refused, &unknown_exits);
	EXPECT_EQ(0, emulated);
	EXPECT_EQ(0, refused);
	EXPECT_EQ(0, unknown_exits);

	sregs.fs.base = FS_BASE_HOST;
	sregs.gs.base = GS_BASE_HOST;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_run_expect_done(vcpu);
	msr_counters(_metadata, vm, &emulated, &refused, &unknown_exits);
	EXPECT_EQ(0, emulated);
	EXPECT_EQ(0, refused);
	vm_free(vm);
}

/* ---- netlink counters -------------------------------------------- */

static void guest_counted(void)
{
	uint64_t val;

	GUEST_SYNC(1);
	/* Five emulated accesses ... */
	rdmsr(MSR_IA32_APICBASE);
	rdmsr(MSR_MTRRcap);
	rdmsr(MSR_IA32_TSC);
	wrmsr(MSR_TSC_AUX, 5);
	wrmsr(MSR_MISC_ENABLE, MISC_ENABLE_DEFAULT);
	/* ... three refused ... */
	GUEST_ASSERT_EQ(rdmsr_safe(UNKNOWN_MSR, &val), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(UNKNOWN_MSR, 0), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_PAT, PAT_WITH_TYPE(PAT_DEFAULT, 0, 2)),
			GP_VECTOR);
	/* ... and two that never leave the guest. */
	rdmsr(MSR_FS_BASE);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	GUEST_SYNC(2);
	rdmsr(MSR_EFER);
	GUEST_DONE();
}

TEST(netlink_counters)
{
	uint64_t emulated[3], refused[3], unknown_exits[3];
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_counted);
	vcpu_run_expect_sync(vcpu, 1);
	msr_counters(_metadata, vm, &emulated[0], &refused[0],
		     &unknown_exits[0]);
	vcpu_run_expect_sync(vcpu, 2);
	msr_counters(_metadata, vm, &emulated[1], &refused[1],
		     &unknown_exits[1]);
	vcpu_run_expect_done(vcpu);
	msr_counters(_metadata, vm, &emulated[2], &refused[2],
		     &unknown_exits[2]);

	EXPECT_EQ(0, emulated[0]);
	EXPECT_EQ(0, refused[0]);
	EXPECT_EQ(5, emulated[1] - emulated[0]);
	EXPECT_EQ(3, refused[1] - refused[0]);
	EXPECT_EQ(1, emulated[2] - emulated[1]);
	EXPECT_EQ(0, refused[2] - refused[1]);
	/* MSR accesses never reach user space any more. */
	EXPECT_EQ(0, unknown_exits[2]);
	vm_free(vm);
}

VIREO_TEST_MAIN
