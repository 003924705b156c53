// SPDX-License-Identifier: GPL-2.0
/*
 * A guest exception with no IDT (limit 0) escalates to a triple fault:
 * RUN returns VIREO_EXIT_SHUTDOWN, the VM is stopped (a later RUN fails
 * with EIO), netlink reports it crashed, and the host goes on creating and
 * running VMs.  The library gives every VM an IDT that reports exceptions
 * as ucalls (exception.h, tested in exception.c), so these VMs load an
 * empty one first.
 */
#include "vireo_test.h"

static void guest_ud2(void)
{
	GUEST_SYNC(1);
	asm volatile("ud2");
	GUEST_DONE();
}

static void guest_noncanonical(void)
{
	GUEST_SYNC(1);
	*(volatile uint64_t *)0x8000000000000000ULL = 1;	/* #GP */
	GUEST_DONE();
}

static void guest_unmapped(void)
{
	GUEST_SYNC(1);
	*(volatile uint64_t *)(8ULL << 30) = 1;	/* #PF: not in the map */
	GUEST_DONE();
}

static void guest_done(void)
{
	GUEST_DONE();
}

static void expect_shutdown(struct __test_metadata *_metadata,
			    void *guest_code)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	struct vireo_nl nl;
	struct vireo_nl_vm info;
	char buf[512];
	int r;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vcpu_load_empty_idt(vcpu);
	vcpu_run_expect_sync(vcpu, 1);

	ASSERT_EQ(0, __vcpu_run(vcpu));
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_SHUTDOWN);
	TH_LOG("%s", vcpu_exit_describe(vcpu, buf, sizeof(buf)));

	/* The VM is stopped for good. */
	r = __vcpu_run(vcpu);
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EIO, errno);
	r = __vcpu_run(vcpu);
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EIO, errno);

	/* The management plane sees the crash. */
	ASSERT_EQ(0, vireo_nl_open(&nl));
	ASSERT_EQ(0, vireo_nl_get_vm(&nl, vm->id, &info));
	ASSERT_TRUE(info.present & VIREO_NL_HAS_STATE);
	ASSERT_EQ(VIREO_VM_STATE_CRASHED, info.state);
	ASSERT_GE(info.exits[VIREO_EXIT_SHUTDOWN], 1);
	vireo_nl_close(&nl);
	vm_free(vm);

	/* The host keeps going: a new VM runs normally. */
	vm = vm_create_with_one_vcpu(&vcpu, guest_done);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

TEST(ud2_without_idt)
{
	expect_shutdown(_metadata, guest_ud2);
}

TEST(gp_on_noncanonical_store)
{
	expect_shutdown(_metadata, guest_noncanonical);
}

TEST(page_fault_outside_identity_map)
{
	expect_shutdown(_metadata, guest_unmapped);
}

/* A crashed VM does not take its siblings down. */
TEST(other_vm_unaffected)
{
	struct vireo_vcpu *good_vcpu, *bad_vcpu;
	struct vireo_vm *good, *bad;

	good = vm_create_with_one_vcpu(&good_vcpu, guest_ud2);
	bad = vm_create_with_one_vcpu(&bad_vcpu, guest_ud2);
	vcpu_load_empty_idt(bad_vcpu);
	vcpu_run_expect_sync(bad_vcpu, 1);
	ASSERT_EQ(0, __vcpu_run(bad_vcpu));
	TEST_ASSERT_EXIT_REASON(bad_vcpu, VIREO_EXIT_SHUTDOWN);

	vcpu_run_expect_sync(good_vcpu, 1);
	vm_free(bad);
	vm_free(good);
}

VIREO_TEST_MAIN
