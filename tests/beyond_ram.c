// SPDX-License-Identifier: GPL-2.0
/*
 * The end of RAM is exact: the last byte of RAM is ordinary memory, the
 * first byte past it (and anything above) exits as MMIO at the exact gpa;
 * the host cannot mmap beyond ram_bytes.
 */
#include <sys/mman.h>

#include "vireo_test.h"

#define FAR_GPA	0xc0000000ULL	/* 3 GiB: mapped by the guest page tables */

static void guest_edges(uint64_t ram_bytes)
{
	volatile uint8_t *last = (volatile uint8_t *)(ram_bytes - 1);
	uint32_t v32;

	/* No exit for the last byte of RAM. */
	*last = 0x5a;
	GUEST_ASSERT_EQ(*last, 0x5a);
	GUEST_SYNC(1);

	v32 = *(volatile uint32_t *)ram_bytes;
	GUEST_ASSERT_EQ(v32, 0x12345678);
	*(volatile uint64_t *)(ram_bytes + 0x1000) = 0x1122334455667788ULL;
	*(volatile uint16_t *)(FAR_GPA + 2) = 0xbeef;
	GUEST_DONE();
}

static void check_edges(struct __test_metadata *_metadata, uint64_t ram)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	struct vireo_run *run;

	vm = vm_create_with_one_vcpu_ram(&vcpu, guest_edges, ram);
	run = vcpu->run;
	vcpu_args_set(vcpu, 1, ram);

	vcpu_run_expect_sync(vcpu, 1);
	ASSERT_EQ(0x5a, vm->ram[ram - 1]);

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_MMIO);
	ASSERT_EQ(ram, run->mmio.gpa);
	ASSERT_EQ(4, run->mmio.len);
	ASSERT_FALSE(run->mmio.is_write);
	run->mmio.data = 0x12345678;

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_MMIO);
	ASSERT_EQ(ram + 0x1000, run->mmio.gpa);
	ASSERT_EQ(8, run->mmio.len);
	ASSERT_TRUE(run->mmio.is_write);
	ASSERT_EQ(0x1122334455667788ULL, run->mmio.data);

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_MMIO);
	ASSERT_EQ(FAR_GPA + 2, run->mmio.gpa);
	ASSERT_EQ(2, run->mmio.len);
	ASSERT_TRUE(run->mmio.is_write);
	ASSERT_EQ(0xbeef, run->mmio.data);

	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

TEST(edge_at_16m)
{
	check_edges(_metadata, 16ULL << 20);
}

TEST(edge_at_page_not_mib_multiple)
{
	check_edges(_metadata, (33ULL << 20) + 4096);
}

TEST(edge_at_64m)
{
	check_edges(_metadata, 64ULL << 20);
}

TEST(host_mmap_beyond_ram_fails)
{
	uint64_t ram = 16ULL << 20;
	struct vireo_vm *vm;
	void *p;

	vm = vm_create_barebones(ram);

	/* One page too long. */
	p = mmap(NULL, ram + 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
		 vm->fd, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);

	/* Starting at ram_bytes. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vm->fd, ram);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);

	/* Crossing the end. */
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, vm->fd,
		 ram - 4096);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);

	/* The last page alone is fine. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vm->fd,
		 ram - 4096);
	ASSERT_NE(MAP_FAILED, p);
	((volatile uint8_t *)p)[4095] = 1;
	ASSERT_EQ(1, vm->ram[ram - 1]);
	ASSERT_EQ(0, munmap(p, 4096));
	vm_free(vm);
}

VIREO_TEST_MAIN
