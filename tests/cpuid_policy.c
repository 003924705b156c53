// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID is answered in the kernel from the VM's VIREO_SET_CPUID table:
 * exact match on function (and on index for SIGNIFICANT_INDEX entries),
 * all zeroes for anything else, no exit to user space; the first matching
 * entry wins and a new table applies from the next CPUID.  Also the
 * SET/GET_CPUID ioctl limits and validation.
 */
#include <stdlib.h>
#include <sys/ioctl.h>

#include "vireo_test.h"

#define SIG	VIREO_CPUID_FLAG_SIGNIFICANT_INDEX

/* The policy; guest code reads the same table (it is in .rodata). */
static const struct vireo_cpuid_entry policy[] = {
	{ .function = 0x0, .eax = 0xd, .ebx = 0x65726956, .ecx = 0x6f65726f,
	  .edx = 0x65726956 },
	{ .function = 0x1, .eax = 0x00a00f11, .ebx = 0x00020800,
	  .ecx = 0x80000001, .edx = 0x078bfbff },
	{ .function = 0x7, .index = 0, .flags = SIG, .eax = 1,
	  .ebx = 0x12345678 },
	{ .function = 0x7, .index = 1, .flags = SIG, .eax = 0x11111111,
	  .edx = 0x87654321 },
	{ .function = 0xd, .index = 1, .flags = SIG, .eax = 0xf },
	{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x65726956,
	  .ecx = 0x65726956, .edx = 0x65726956 },
	{ .function = 0x80000001, .ecx = 0x00000001, .edx = 0x2c100800 },
};

struct cpuid_query {
	uint32_t function, index;
	int expect;		/* index in policy[], or -1 for all zeroes */
};

static const struct cpuid_query queries[] = {
	{ 0x0, 0, 0 },
	{ 0x0, 0x77, 0 },		/* index ignored without SIG */
	{ 0x1, 0, 1 },
	{ 0x1, 0xffffffff, 1 },
	{ 0x7, 0, 2 },
	{ 0x7, 1, 3 },
	{ 0x7, 2, -1 },			/* SIG leaf, index not in the table */
	{ 0xd, 0, -1 },
	{ 0xd, 1, 4 },
	{ 0x2, 0, -1 },			/* below the max leaf but unset */
	{ 0xe, 0, -1 },			/* above the max leaf */
	{ 0x40000000, 0, 5 },
	{ 0x40000001, 0, -1 },
	{ 0x80000000, 0, -1 },
	{ 0x80000001, 0, 6 },
	{ 0x8000000a, 0, -1 },		/* SVM leaf: hidden unless set */
	{ 0x12345678, 0, -1 },
};

static void guest_cpuid(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(queries); i++) {
		const struct cpuid_query *q = &queries[i];
		struct cpuid_regs r = cpuid(q->function, q->index);
		uint32_t ea = 0, eb = 0, ec = 0, ed = 0;

		if (q->expect >= 0) {
			ea = policy[q->expect].eax;
			eb = policy[q->expect].ebx;
			ec = policy[q->expect].ecx;
			ed = policy[q->expect].edx;
		}
		GUEST_ASSERT_EQ(r.eax, ea);
		GUEST_ASSERT_EQ(r.ebx, eb);
		GUEST_ASSERT_EQ(r.ecx, ec);
		GUEST_ASSERT_EQ(r.edx, ed);
	}
	GUEST_SYNC(ARRAY_SIZE(queries));
	GUEST_DONE();
}

TEST(guest_sees_policy_and_zero_for_unset_leaves)
{
	struct vireo_vcpu *vcpu;
	struct vireo_nl_vm info;
	struct vireo_vm *vm;
	struct vireo_nl nl;
	int slot;

	vm = vm_create_with_one_vcpu(&vcpu, guest_cpuid);
	vm_set_cpuid(vm, policy, ARRAY_SIZE(policy));
	/* All CPUIDs are answered in the kernel: the first exit is the SYNC. */
	vcpu_run_expect_sync(vcpu, ARRAY_SIZE(queries));
	vcpu_run_expect_done(vcpu);

	/* ...and counted in the kernel-handled slot. */
	ASSERT_EQ(0, vireo_nl_open(&nl));
	ASSERT_EQ(0, vireo_nl_get_vm(&nl, vm->id, &info));
	slot = vireo_nl_exit_slot(&info, "kernel_cpuid");
	ASSERT_GE(slot, 32);
	EXPECT_GE(info.exits[slot], ARRAY_SIZE(queries));
	vireo_nl_close(&nl);
	vm_free(vm);
}

/* The first matching entry wins; later duplicates are hidden. */
static const struct vireo_cpuid_entry duplicates[] = {
	{ .function = 0x40000010, .eax = 1 },
	{ .function = 0x40000010, .eax = 2 },
	{ .function = 0x40000011, .index = 5, .flags = SIG, .eax = 3 },
	{ .function = 0x40000011, .eax = 4 },
};

static const struct vireo_cpuid_entry replacement[] = {
	{ .function = 0x40000010, .eax = 0x77 },
};

static void guest_cpuid_changes(void)
{
	GUEST_ASSERT_EQ(cpuid(0x40000010, 0).eax, 1);
	GUEST_ASSERT_EQ(cpuid(0x40000011, 5).eax, 3);
	GUEST_ASSERT_EQ(cpuid(0x40000011, 6).eax, 4);
	GUEST_SYNC(1);
	/* The host replaced the table while this vCPU existed. */
	GUEST_ASSERT_EQ(cpuid(0x40000010, 0).eax, 0x77);
	GUEST_ASSERT_EQ(cpuid(0x40000011, 5).eax, 0);
	GUEST_DONE();
}

TEST(first_match_wins_and_table_is_replaced_whole)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_cpuid_changes);
	vm_set_cpuid(vm, duplicates, ARRAY_SIZE(duplicates));
	vcpu_run_expect_sync(vcpu, 1);
	vm_set_cpuid(vm, replacement, ARRAY_SIZE(replacement));
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static void guest_cpuid_no_policy(void)
{
	struct cpuid_regs r = cpuid(0, 0);

	GUEST_ASSERT_EQ(r.eax | r.ebx | r.ecx | r.edx, 0);
	r = cpuid(1, 0);
	GUEST_ASSERT_EQ(r.eax | r.ebx | r.ecx | r.edx, 0);
	GUEST_DONE();
}

TEST(no_policy_reads_all_zeroes)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_cpuid_no_policy);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static struct vireo_cpuid *cpuid_alloc(uint32_t nent)
{
	struct vireo_cpuid *c = calloc(1, sizeof(*c) + nent *
				       sizeof(struct vireo_cpuid_entry));

	if (c)
		c->nent = nent;
	return c;
}

TEST(get_cpuid_roundtrip_and_e2big)
{
	struct vireo_cpuid *c;
	struct vireo_vm *vm;
	unsigned int i;

	vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	vm_set_cpuid(vm, policy, ARRAY_SIZE(policy));

	/* Too small: -E2BIG, and nent tells how many are needed. */
	c = cpuid_alloc(1);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_GET_CPUID, c));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(ARRAY_SIZE(policy), c->nent);
	free(c);

	c = cpuid_alloc(0);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_GET_CPUID, c));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(ARRAY_SIZE(policy), c->nent);
	free(c);

	/* Large enough: the table comes back as set. */
	c = cpuid_alloc(ARRAY_SIZE(policy) + 3);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, ioctl(vm->fd, VIREO_GET_CPUID, c));
	ASSERT_EQ(ARRAY_SIZE(policy), c->nent);
	for (i = 0; i < ARRAY_SIZE(policy); i++)
		EXPECT_EQ(0, memcmp(&policy[i], &c->entries[i],
				    sizeof(policy[i])));
	free(c);
	vm_free(vm);
}

TEST(set_cpuid_limits)
{
	struct vireo_cpuid *c;
	struct vireo_vm *vm;
	unsigned int i;
	int r;

	vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);

	c = cpuid_alloc(VIREO_MAX_CPUID_ENTRIES + 1);
	ASSERT_NE(NULL, c);
	for (i = 0; i < c->nent; i++)
		c->entries[i].function = i;
	r = ioctl(vm->fd, VIREO_SET_CPUID, c);
	ASSERT_EQ(-1, r);
	ASSERT_TRUE(errno == E2BIG || errno == EINVAL);

	/* Absurd nent must fail cleanly, not allocate or read gigabytes. */
	c->nent = 0xffffffff;
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_SET_CPUID, c));
	ASSERT_TRUE(errno == E2BIG || errno == EINVAL);

	/* Exactly the maximum is fine. */
	c->nent = VIREO_MAX_CPUID_ENTRIES;
	ASSERT_EQ(0, ioctl(vm->fd, VIREO_SET_CPUID, c));

	/* Reserved fields must be zero. */
	c->nent = 1;
	c->reserved = 1;
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_SET_CPUID, c));
	ASSERT_EQ(EINVAL, errno);
	c->reserved = 0;
	c->entries[0].reserved = 1;
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_SET_CPUID, c));
	ASSERT_EQ(EINVAL, errno);
	/* Only SIGNIFICANT_INDEX is a defined flag. */
	c->entries[0].reserved = 0;
	c->entries[0].flags = 1U << 1;
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_SET_CPUID, c));
	ASSERT_EQ(EINVAL, errno);

	/* GET_CPUID checks its header's reserved field too. */
	c->nent = VIREO_MAX_CPUID_ENTRIES;
	c->reserved = 1;
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_GET_CPUID, c));
	ASSERT_EQ(EINVAL, errno);

	/* nent == 0 empties the table. */
	c->nent = 0;
	c->reserved = 0;
	ASSERT_EQ(0, ioctl(vm->fd, VIREO_SET_CPUID, c));
	c->nent = 4;
	ASSERT_EQ(0, ioctl(vm->fd, VIREO_GET_CPUID, c));
	ASSERT_EQ(0, c->nent);
	free(c);
	vm_free(vm);
}

VIREO_TEST_MAIN
