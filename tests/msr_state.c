// SPDX-License-Identifier: GPL-2.0
/*
 * VIREO_GET_MSR_LIST, VIREO_GET_MSRS and VIREO_SET_MSRS (docs/uapi.md 4.3,
 * 6.6): the system fd lists the MSRs that are a vCPU's state; GET reads
 * them as the guest left them (also the ones the hardware switches without
 * an exit: SYSCALL, SYSENTER, KERNEL_GS_BASE), SET loads values the guest
 * then reads, the TSC included; a vCPU's MSRs carry over into a second VM;
 * and a refused SET changes nothing, whatever came before the bad entry.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msr_index.h"
#include "vireo_test.h"

#define UNKNOWN_MSR		0x12345

#define APIC_BASE_BSP		0xfee00900ULL	/* 0xfee00000, EN, BSP */
#define APIC_BASE_AP		0xfee00800ULL	/* 0xfee00000, EN */
#define MISC_ENABLE_DEFAULT	0x1800
#define PAT_DEFAULT		0x0007040600070406ULL
#define LAPIC_VERSION		0x50014

/* The guest TSC starts at 0 when the VM is created: far below 2^40. */
#define TSC_NEAR_ZERO		(1ULL << 40)
/* A TSC read after a few exits and ioctls is off by far less than 2^34. */
#define TSC_CLOSE		(1ULL << 34)
#define TSC_GUEST		(1ULL << 44)	/* what guest_write_values() sets */
#define TSC_HOST		(1ULL << 40)	/* what user space sets */
#define TSC_REFUSED		(1ULL << 50)	/* in arrays that are refused */

/* Not canonical with 48 or 57 bits of linear address. */
#define NON_CANONICAL		0x8000000000001000ULL

struct msr_value {
	uint32_t index;
	uint64_t value;
};

/* Every MSR the module lists (uapi.md 6.6), in no particular order here. */
static const uint32_t saveable[] = {
	MSR_IA32_TSC, MSR_IA32_APICBASE, MSR_UCODE_REV,
	MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_MISC_ENABLE,
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
	MSR_MTRRfix64K_00000, MSR_MTRRfix16K_80000, MSR_MTRRfix16K_A0000,
	0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
	MSR_PAT, MSR_MTRRdefType,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE,
	MSR_TSC_AUX,
	MSR_HWCR, MSR_NB_CFG, MSR_LS_CFG, MSR_IC_CFG, MSR_DC_CFG, MSR_DE_CFG,
	MSR_BU_CFG2,
};

/* State elsewhere (sregs, LAPIC), constant, or nothing at all. */
static const uint32_t not_saveable[] = {
	MSR_EFER, MSR_FS_BASE, MSR_GS_BASE, MSR_IA32_TSC_DEADLINE,
	0x802 /* x2APIC ID */, MSR_MTRRcap, 0x179 /* MCG_CAP */,
	0xc0010114 /* VM_CR */, UNKNOWN_MSR,
};

/*
 * What guest_write_values() writes.  SYSENTER_ESP/EIP hold 32-bit values:
 * AMD CPUs keep only the low half of them.
 */
static const struct msr_value guest_writes[] = {
	{ MSR_STAR,		0x0023001012345678ULL },
	{ MSR_LSTAR,		0xffffffff81234560ULL },
	{ MSR_CSTAR,		0xffffffff81234570ULL },
	{ MSR_SFMASK,		0x47700 },
	{ MSR_KERNEL_GS_BASE,	0x00007f00abcde000ULL },
	{ MSR_SYSENTER_CS,	0x10 },
	{ MSR_SYSENTER_ESP,	0x12345000 },
	{ MSR_SYSENTER_EIP,	0x00401000 },
	{ MSR_TSC_AUX,		0x1234abcd },
	{ MSR_MTRR_PHYSBASE(0),	0x80000000 },
	{ MSR_MTRR_PHYSMASK(0),	0xf80000800ULL },
	{ MSR_MTRRfix64K_00000,	0x0606060606060606ULL },
	{ MSR_MTRRdefType,	0xc06 },
	{ MSR_PAT,		0x0001040600070506ULL },
	{ MSR_MISC_ENABLE,	MISC_ENABLE_DEFAULT | 1 },
	{ MSR_UCODE_REV,	0x1200000000ULL },
	{ MSR_HWCR,		0x1000010 },
	{ MSR_NB_CFG,		1ULL << 54 },
};

/* What user space sets: every value differs from the reset and the guest's. */
static const struct msr_value host_sets[] = {
	{ MSR_STAR,		0x001b000800000000ULL },
	{ MSR_LSTAR,		0xffffffff81000000ULL },
	{ MSR_CSTAR,		0xffffffff81000040ULL },
	{ MSR_SFMASK,		0x257fd5 },
	{ MSR_KERNEL_GS_BASE,	0xffff888000001000ULL },
	{ MSR_SYSENTER_CS,	0x08 },
	{ MSR_SYSENTER_ESP,	0x007ff000 },
	{ MSR_SYSENTER_EIP,	0x00100000 },
	{ MSR_TSC_AUX,		7 },
	{ MSR_MTRR_PHYSBASE(7),	0xc0000001 },
	{ MSR_MTRR_PHYSMASK(7),	0xfc0000800ULL },
	{ MSR_MTRRfix4K_F8000,	0x0505050505050505ULL },
	{ MSR_MTRRdefType,	0x806 },
	{ MSR_PAT,		0x0006040600070406ULL },
	{ MSR_MISC_ENABLE,	MISC_ENABLE_DEFAULT | 1ULL << 18 },
	{ MSR_UCODE_REV,	0x800000000ULL },
	{ MSR_IA32_APICBASE,	0xfed00900ULL },	/* no irqchip: storage */
	{ MSR_DE_CFG,		2 },
};

/* ---- host helpers ---------------------------------------------------- */

static struct vireo_msrs *msrs_alloc(uint32_t n)
{
	struct vireo_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));

	TEST_ASSERT(m, "out of memory");
	m->nmsrs = n;
	return m;
}

/* VIREO_GET_MSR_LIST with room for every MSR; asserts success. */
static struct vireo_msr_list *msr_list_get(void)
{
	struct vireo_msr_list hdr = { .nmsrs = 0 }, *list;
	int fd = vireo_open_dev();

	TEST_ASSERT(ioctl(fd, VIREO_GET_MSR_LIST, &hdr) == -1 && errno == E2BIG,
		    "VIREO_GET_MSR_LIST with no room: %s", strerror(errno));
	list = calloc(1, sizeof(*list) + hdr.nmsrs * sizeof(list->indices[0]));
	TEST_ASSERT(list, "out of memory");
	list->nmsrs = hdr.nmsrs;
	TEST_ASSERT(!ioctl(fd, VIREO_GET_MSR_LIST, list),
		    "VIREO_GET_MSR_LIST failed: %s", strerror(errno));
	TEST_ASSERT_EQ(list->nmsrs, hdr.nmsrs);
	close(fd);
	return list;
}

/* A GET of every listed MSR, entries in list order. */
static struct vireo_msrs *msrs_get_all(struct vireo_vcpu *vcpu,
				       const struct vireo_msr_list *list)
{
	struct vireo_msrs *m = msrs_alloc(list->nmsrs);
	uint32_t i;

	for (i = 0; i < list->nmsrs; i++) {
		m->entries[i].index = list->indices[i];
		m->entries[i].data = 0xa5a5a5a5a5a5a5a5ULL;
	}
	TEST_ASSERT(!__vcpu_ioctl(vcpu, VIREO_GET_MSRS, m),
		    "VIREO_GET_MSRS failed: %s", strerror(errno));
	return m;
}

static uint64_t msr_get(struct vireo_vcpu *vcpu, uint32_t index)
{
	struct vireo_msrs *m = msrs_alloc(1);
	uint64_t data;

	m->entries[0].index = index;
	TEST_ASSERT(!__vcpu_ioctl(vcpu, VIREO_GET_MSRS, m),
		    "VIREO_GET_MSRS of %#x failed: %s", index, strerror(errno));
	data = m->entries[0].data;
	free(m);
	return data;
}

static void msr_set(struct vireo_vcpu *vcpu, uint32_t index, uint64_t value)
{
	struct vireo_msrs *m = msrs_alloc(1);

	m->entries[0].index = index;
	m->entries[0].data = value;
	TEST_ASSERT(!__vcpu_ioctl(vcpu, VIREO_SET_MSRS, m),
		    "VIREO_SET_MSRS of %#x = %#llx failed: %s", index,
		    (unsigned long long)value, strerror(errno));
	free(m);
}

/* The entry for @index in @m (a GET of the whole list). */
static uint64_t msrs_find(const struct vireo_msrs *m, uint32_t index)
{
	uint32_t i;

	for (i = 0; i < m->nmsrs; i++)
		if (m->entries[i].index == index)
			return m->entries[i].data;
	TEST_FAIL("MSR %#x is not in the list", index);
}

/* @a and @b (GETs of the same list) agree on every MSR but the TSC. */
static void expect_same_but_tsc(struct __test_metadata *_metadata,
				const struct vireo_msrs *a,
				const struct vireo_msrs *b)
{
	uint32_t i;

	ASSERT_EQ(a->nmsrs, b->nmsrs);
	for (i = 0; i < a->nmsrs; i++) {
		ASSERT_EQ(a->entries[i].index, b->entries[i].index);
		if (a->entries[i].index == MSR_IA32_TSC)
			continue;
		if (a->entries[i].data != b->entries[i].data)
			TH_LOG("MSR %#x: %#llx, then %#llx", a->entries[i].index,
			       (unsigned long long)a->entries[i].data,
			       (unsigned long long)b->entries[i].data);
		EXPECT_EQ(a->entries[i].data, b->entries[i].data);
	}
}

/*
 * Two pages, the second one made @prot after @fill ran on it: a header at
 * the end of the first page has its array in the second.
 */
static void *header_before_page(size_t hdr_size, int prot,
				void (*fill)(void *page), void **map)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	if (fill)
		fill(p + pg);
	TEST_ASSERT(!mprotect(p + pg, pg, prot), "mprotect: %s", strerror(errno));
	*map = p;
	return p + pg - hdr_size;
}

/* ---- guest code ------------------------------------------------------ */

static void guest_write_values(void)
{
	unsigned int i;

	wrmsr(MSR_IA32_TSC, TSC_GUEST);
	for (i = 0; i < ARRAY_SIZE(guest_writes); i++)
		wrmsr(guest_writes[i].index, guest_writes[i].value);
	GUEST_SYNC(1);
	GUEST_DONE();
}

/* The guest of a VM whose MSRs were restored from guest_write_values()'s. */
static void guest_check_restored(uint64_t tsc_min)
{
	uint64_t tsc = rdtsc();
	unsigned int i;

	GUEST_ASSERT_LE(tsc_min, tsc);
	GUEST_ASSERT_LT(tsc - tsc_min, TSC_CLOSE);
	for (i = 0; i < ARRAY_SIZE(guest_writes); i++)
		GUEST_ASSERT_EQ(rdmsr(guest_writes[i].index),
				guest_writes[i].value);
	GUEST_DONE();
}

static void guest_read_host_values(void)
{
	uint64_t tsc;
	unsigned int i;

	GUEST_SYNC(1);
	/* User space set host_sets[], SYSENTER_CS's bits 63:32, the TSC. */
	tsc = rdtsc();
	GUEST_ASSERT_LE(TSC_HOST, tsc);
	GUEST_ASSERT_LT(tsc - TSC_HOST, TSC_CLOSE);
	for (i = 0; i < ARRAY_SIZE(host_sets); i++) {
		if (host_sets[i].index == MSR_SYSENTER_CS)
			continue;
		GUEST_ASSERT_EQ(rdmsr(host_sets[i].index), host_sets[i].value);
	}
	GUEST_ASSERT_EQ(rdmsr(MSR_SYSENTER_CS), 0x18);
	GUEST_DONE();
}

static void guest_idle(void)
{
	GUEST_SYNC(1);
	GUEST_DONE();
}

/* ---- the list -------------------------------------------------------- */

TEST(msr_list)
{
	struct vireo_msr_list hdr = { .nmsrs = 0 }, *list;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint32_t i, j, n;
	void *map;
	int fd = vireo_open_dev();

	/* No room: E2BIG, and the count. */
	EXPECT_EQ(-1, ioctl(fd, VIREO_GET_MSR_LIST, &hdr));
	EXPECT_EQ(E2BIG, errno);
	n = hdr.nmsrs;
	ASSERT_EQ(ARRAY_SIZE(saveable), n);

	list = calloc(1, sizeof(*list) + (n + 4) * sizeof(list->indices[0]));
	ASSERT_TRUE(list != NULL);
	/* One short: E2BIG, nothing written. */
	memset(list->indices, 0xff, (n + 4) * sizeof(list->indices[0]));
	list->nmsrs = n - 1;
	EXPECT_EQ(-1, ioctl(fd, VIREO_GET_MSR_LIST, list));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(n, list->nmsrs);
	EXPECT_EQ(0xffffffff, list->indices[0]);

	/* More room than needed: the count, the room past it untouched. */
	list->nmsrs = n + 4;
	ASSERT_EQ(0, ioctl(fd, VIREO_GET_MSR_LIST, list));
	EXPECT_EQ(n, list->nmsrs);
	EXPECT_EQ(0xffffffff, list->indices[n]);
	for (i = 0; i < ARRAY_SIZE(saveable); i++) {
		unsigned int found = 0;

		for (j = 0; j < n; j++)
			found += list->indices[j] == saveable[i];
		if (found != 1)
			TH_LOG("MSR %#x listed %u times", saveable[i], found);
		EXPECT_EQ(1, found);
	}
	for (i = 0; i < ARRAY_SIZE(not_saveable); i++)
		for (j = 0; j < n; j++)
			EXPECT_NE(not_saveable[i], list->indices[j]);
	/* MTRRdefType, which enables the ranges, is restored after them. */
	for (j = 0; j < n && list->indices[j] != MSR_MTRRdefType; j++)
		;
	for (i = j; i < n; i++)
		EXPECT_FALSE(list->indices[i] >= 0x200 && list->indices[i] <= 0x26f);

	/* Exactly enough room. */
	list->nmsrs = n;
	EXPECT_EQ(0, ioctl(fd, VIREO_GET_MSR_LIST, list));
	EXPECT_EQ(n, list->nmsrs);

	list->reserved = 1;
	EXPECT_EQ(-1, ioctl(fd, VIREO_GET_MSR_LIST, list));
	EXPECT_EQ(EINVAL, errno);

	free(list);

	EXPECT_EQ(-1, ioctl(fd, VIREO_GET_MSR_LIST, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* The header readable, the array not writable. */
	list = header_before_page(sizeof(*list), PROT_NONE, NULL, &map);
	list->nmsrs = n;
	EXPECT_EQ(-1, ioctl(fd, VIREO_GET_MSR_LIST, list));
	EXPECT_EQ(EFAULT, errno);
	munmap(map, 2 * sysconf(_SC_PAGESIZE));

	/* A system-fd command: not on a vCPU fd. */
	vm = vm_create_with_one_vcpu(&vcpu, guest_idle);
	hdr.nmsrs = 0;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_MSR_LIST, &hdr));
	EXPECT_EQ(ENOTTY, errno);
	vm_free(vm);
	close(fd);
}

/* ---- GET ------------------------------------------------------------- */

TEST(get_shows_what_the_guest_wrote)
{
	struct vireo_vcpu *vcpu, *ap;
	struct vireo_vm *vm;
	struct vireo_msrs *m;
	unsigned int i;
	uint64_t tsc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_write_values);
	ap = vm_vcpu_add(vm, 1, guest_idle);

	/* Before the guest ran: the reset values. */
	EXPECT_EQ(APIC_BASE_BSP, msr_get(vcpu, MSR_IA32_APICBASE));
	EXPECT_EQ(APIC_BASE_AP, msr_get(ap, MSR_IA32_APICBASE));
	EXPECT_EQ(MISC_ENABLE_DEFAULT, msr_get(vcpu, MSR_MISC_ENABLE));
	EXPECT_EQ(PAT_DEFAULT, msr_get(vcpu, MSR_PAT));
	EXPECT_EQ(0, msr_get(vcpu, MSR_LSTAR));
	EXPECT_EQ(0, msr_get(vcpu, MSR_SYSENTER_CS));
	EXPECT_EQ(0, msr_get(vcpu, MSR_MTRRdefType));
	EXPECT_LT(msr_get(vcpu, MSR_IA32_TSC), TSC_NEAR_ZERO);

	vcpu_run_expect_sync(vcpu, 1);
	/* One GET of them all, in the table's order. */
	m = msrs_alloc(ARRAY_SIZE(guest_writes) + 1);
	for (i = 0; i < ARRAY_SIZE(guest_writes); i++)
		m->entries[i].index = guest_writes[i].index;
	m->entries[i].index = MSR_IA32_TSC;
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VIREO_GET_MSRS, m));
	for (i = 0; i < ARRAY_SIZE(guest_writes); i++) {
		EXPECT_EQ(guest_writes[i].index, m->entries[i].index);
		EXPECT_EQ(0, m->entries[i].reserved);
		if (guest_writes[i].value != m->entries[i].data)
			TH_LOG("MSR %#x", guest_writes[i].index);
		EXPECT_EQ(guest_writes[i].value, m->entries[i].data);
	}
	/* The guest TSC now: past what the guest wrote, not far past. */
	tsc = m->entries[i].data;
	EXPECT_LE(TSC_GUEST, tsc);
	EXPECT_LT(tsc - TSC_GUEST, TSC_CLOSE);
	free(m);
	/* The TSC is the vCPU's own: the other one's did not move. */
	EXPECT_LT(msr_get(ap, MSR_IA32_TSC), TSC_NEAR_ZERO);

	/* An empty array is a GET of nothing. */
	m = msrs_alloc(0);
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VIREO_GET_MSRS, m));
	free(m);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* ---- SET ------------------------------------------------------------- */

TEST(set_is_what_the_guest_reads)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	struct vireo_msrs *m;
	unsigned int i;
	uint64_t tsc;

	vm = vm_create_with_one_vcpu(&vcpu, guest_read_host_values);
	vcpu_run_expect_sync(vcpu, 1);

	m = msrs_alloc(ARRAY_SIZE(host_sets) + 1);
	for (i = 0; i < ARRAY_SIZE(host_sets); i++) {
		m->entries[i].index = host_sets[i].index;
		m->entries[i].data = host_sets[i].value;
	}
	m->entries[i].index = MSR_IA32_TSC;
	m->entries[i].data = TSC_HOST;
	ASSERT_EQ(0, __vcpu_ioctl(vcpu, VIREO_SET_MSRS, m));
	free(m);

	/* Read back before the guest runs. */
	for (i = 0; i < ARRAY_SIZE(host_sets); i++)
		EXPECT_EQ(host_sets[i].value, msr_get(vcpu, host_sets[i].index));
	tsc = msr_get(vcpu, MSR_IA32_TSC);
	EXPECT_LE(TSC_HOST, tsc);
	EXPECT_LT(tsc - TSC_HOST, TSC_CLOSE);

	/* SYSENTER_CS keeps bits 31:0 (the VMCS field's width). */
	msr_set(vcpu, MSR_SYSENTER_CS, 0xdead00000018ULL);
	EXPECT_EQ(0x18, msr_get(vcpu, MSR_SYSENTER_CS));

	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

/* ---- a vCPU's MSRs into a second VM ---------------------------------- */

TEST(round_trip_into_a_second_vm)
{
	struct vireo_msrs *from_a, *into_b, *from_b, *fresh;
	struct vireo_vcpu *vcpu_a, *vcpu_b;
	struct vireo_msr_list *list = msr_list_get();
	struct vireo_vm *vm_a, *vm_b;
	uint64_t tsc_a;
	unsigned int i;

	vm_a = vm_create_with_one_vcpu(&vcpu_a, guest_write_values);
	vcpu_run_expect_sync(vcpu_a, 1);
	from_a = msrs_get_all(vcpu_a, list);
	tsc_a = msrs_find(from_a, MSR_IA32_TSC);
	EXPECT_LE(TSC_GUEST, tsc_a);

	vm_b = vm_create_with_one_vcpu(&vcpu_b, guest_check_restored);
	/* B starts from the reset values: the restore has work to do. */
	fresh = msrs_get_all(vcpu_b, list);
	for (i = 0; i < ARRAY_SIZE(guest_writes); i++)
		EXPECT_NE(guest_writes[i].value,
			  msrs_find(fresh, guest_writes[i].index));
	EXPECT_LT(msrs_find(fresh, MSR_IA32_TSC), TSC_NEAR_ZERO);

	/* GET's output is SET's input as it is. */
	into_b = msrs_alloc(from_a->nmsrs);
	memcpy(into_b, from_a, sizeof(*from_a) +
	       from_a->nmsrs * sizeof(from_a->entries[0]));
	ASSERT_EQ(0, __vcpu_ioctl(vcpu_b, VIREO_SET_MSRS, into_b));
	from_b = msrs_get_all(vcpu_b, list);
	expect_same_but_tsc(_metadata, from_a, from_b);
	EXPECT_LE(tsc_a, msrs_find(from_b, MSR_IA32_TSC));
	EXPECT_LT(msrs_find(from_b, MSR_IA32_TSC) - tsc_a, TSC_CLOSE);

	/* B's guest reads A's values and A's TSC, moved on. */
	vcpu_args_set(vcpu_b, 1, tsc_a);
	vcpu_run_expect_done(vcpu_b);
	vcpu_run_expect_done(vcpu_a);
	free(from_a);
	free(into_b);
	free(from_b);
	free(fresh);
	free(list);
	vm_free(vm_b);
	vm_free(vm_a);
}

/* ---- bad input ------------------------------------------------------- */

static void fill_valid_entries(void *page)
{
	struct vireo_msr_entry *e = page;

	e[0].index = MSR_LSTAR;
	e[1].index = MSR_PAT;
}

/* Entries that would change the state, then @bad: the SET is refused. */
static void expect_set_refused(struct __test_metadata *_metadata,
			       struct vireo_vcpu *vcpu,
			       const struct vireo_msr_entry *bad, int err)
{
	uint32_t n = ARRAY_SIZE(host_sets) + 2, i;
	struct vireo_msrs *m = msrs_alloc(n);

	for (i = 0; i < ARRAY_SIZE(host_sets); i++) {
		m->entries[i].index = host_sets[i].index;
		m->entries[i].data = host_sets[i].value;
	}
	m->entries[i].index = MSR_IA32_TSC;
	m->entries[i].data = TSC_REFUSED;
	m->entries[n - 1] = *bad;
	errno = 0;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_MSRS, m));
	if (errno != err)
		TH_LOG("MSR %#x = %#llx (reserved %u): %s", bad->index,
		       (unsigned long long)bad->data, bad->reserved,
		       strerror(errno));
	EXPECT_EQ(err, errno);
	free(m);
}

TEST(bad_input_changes_nothing)
{
	static const struct vireo_msr_entry refused[] = {
		{ .index = UNKNOWN_MSR },
		{ .index = MSR_EFER },
		{ .index = MSR_FS_BASE },
		{ .index = MSR_MTRRcap, .data = 0x508 },
		{ .index = MSR_IA32_TSC_DEADLINE },
		{ .index = MSR_STAR, .reserved = 1 },
		{ .index = MSR_LSTAR, .data = NON_CANONICAL },
		{ .index = MSR_CSTAR, .data = NON_CANONICAL },
		{ .index = MSR_KERNEL_GS_BASE, .data = NON_CANONICAL },
		{ .index = MSR_SYSENTER_ESP, .data = NON_CANONICAL },
		{ .index = MSR_SYSENTER_EIP, .data = NON_CANONICAL },
		{ .index = MSR_PAT, .data = 0x0007040600070402ULL },
		{ .index = MSR_PAT, .data = 0x0807040600070406ULL },
		{ .index = MSR_SFMASK, .data = 1ULL << 32 },
		{ .index = MSR_TSC_AUX, .data = 1ULL << 32 },
		{ .index = MSR_IA32_APICBASE, .data = APIC_BASE_BSP | 1 << 9 },
		{ .index = MSR_MTRRdefType, .data = 0xc06 | 1 << 12 },
	};
	struct vireo_msr_list *list = msr_list_get();
	struct vireo_msrs *before, *after, *m;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	unsigned int i;
	void *map;
	long pg = sysconf(_SC_PAGESIZE);

	vm = vm_create_with_one_vcpu(&vcpu, guest_write_values);
	vcpu_run_expect_sync(vcpu, 1);
	before = msrs_get_all(vcpu, list);

	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		int err = i < 5 ? ENOENT : EINVAL;
		struct vireo_msrs *one = msrs_alloc(1);

		expect_set_refused(_metadata, vcpu, &refused[i], err);
		/* GET checks the index and reserved too. */
		one->entries[0] = refused[i];
		if (i <= 5) {
			EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_MSRS, one));
			EXPECT_EQ(err, errno);
		}
		free(one);
	}

	/* The header: reserved, and more entries than allowed. */
	m = msrs_alloc(VIREO_MAX_MSR_ENTRIES + 1);
	for (i = 0; i < m->nmsrs; i++)
		m->entries[i].index = MSR_STAR;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_MSRS, m));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_MSRS, m));
	EXPECT_EQ(EINVAL, errno);
	/* The limit itself is fine. */
	m->nmsrs = VIREO_MAX_MSR_ENTRIES;
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VIREO_GET_MSRS, m));
	EXPECT_EQ(0, __vcpu_ioctl(vcpu, VIREO_SET_MSRS, m));
	m->nmsrs = 1;
	m->reserved = 1;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_MSRS, m));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_MSRS, m));
	EXPECT_EQ(EINVAL, errno);
	free(m);

	/* Bad pointers: the header, then an array that is not there. */
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_MSRS, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_MSRS, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	m = header_before_page(sizeof(*m), PROT_NONE, NULL, &map);
	m->nmsrs = 2;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_MSRS, m));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_MSRS, m));
	EXPECT_EQ(EFAULT, errno);
	munmap(map, 2 * pg);
	/* Entries readable, not writable: GET cannot answer. */
	m = header_before_page(sizeof(*m), PROT_READ, fill_valid_entries, &map);
	m->nmsrs = 2;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_MSRS, m));
	EXPECT_EQ(EFAULT, errno);
	munmap(map, 2 * pg);

	/* Nothing changed: no entry before a bad one was applied. */
	after = msrs_get_all(vcpu, list);
	expect_same_but_tsc(_metadata, before, after);
	EXPECT_LE(msrs_find(before, MSR_IA32_TSC), msrs_find(after, MSR_IA32_TSC));
	EXPECT_LT(msrs_find(after, MSR_IA32_TSC), TSC_GUEST + TSC_CLOSE);
	vcpu_run_expect_done(vcpu);
	free(before);
	free(after);
	free(list);
	vm_free(vm);
}

/* ---- APIC_BASE in an irqchip VM: a SET does what a WRMSR does -------- */

static void guest_x2apic_after_set(void)
{
	uint64_t val;

	/* xAPIC mode: the x2APIC MSRs raise #GP. */
	GUEST_ASSERT_EQ(rdmsr_safe(X2APIC_MSR(APIC_LVR), &val), GP_VECTOR);
	GUEST_SYNC(1);
	/* User space set APIC_BASE.EXTD: x2APIC mode, as after a WRMSR. */
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_APICBASE),
			APIC_BASE_BSP | MSR_IA32_APICBASE_EXTD);
	GUEST_ASSERT_EQ(rdmsr_safe(X2APIC_MSR(APIC_LVR), &val), 0);
	GUEST_ASSERT_EQ(val, LAPIC_VERSION);
	GUEST_DONE();
}

TEST(apic_base_set_switches_to_x2apic)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	struct vireo_msrs *m = msrs_alloc(1);

	vm = vm_create_irqchip_with_one_vcpu(&vcpu, guest_x2apic_after_set);
	vcpu_run_expect_sync(vcpu, 1);
	EXPECT_EQ(APIC_BASE_BSP, msr_get(vcpu, MSR_IA32_APICBASE));
	msr_set(vcpu, MSR_IA32_APICBASE, APIC_BASE_BSP | MSR_IA32_APICBASE_EXTD);
	EXPECT_EQ(APIC_BASE_BSP | MSR_IA32_APICBASE_EXTD,
		  msr_get(vcpu, MSR_IA32_APICBASE));
	/* The LAPIC's MSRs are its state (GET_LAPIC), not in this list. */
	m->entries[0].index = MSR_IA32_TSC_DEADLINE;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_MSRS, m));
	EXPECT_EQ(ENOENT, errno);
	m->entries[0].index = X2APIC_MSR(APIC_LVR);
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_MSRS, m));
	EXPECT_EQ(ENOENT, errno);
	free(m);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

VIREO_TEST_MAIN
