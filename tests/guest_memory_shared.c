// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM is module-owned memory that the host sees through mmap of the
 * VM fd: guest writes are visible in the mapping and host writes in the
 * guest, both ways and at once; two mappings alias; pages are allocated on
 * first touch and read as zero.
 */
#include <sys/mman.h>

#include "vireo_test.h"

#define BUF_GPA		GUEST_FREE_GPA
#define BUF_PAGES	16
#define PAGE		4096ULL

static void guest_writer_reader(void)
{
	volatile uint64_t *buf = (volatile uint64_t *)BUF_GPA;
	uint64_t i;

	/* Fresh RAM reads as zero. */
	for (i = 0; i < BUF_PAGES * PAGE / 8; i += 64)
		GUEST_ASSERT_EQ(buf[i], 0);
	/* Stage 1: guest writes a pattern, the host checks it. */
	for (i = 0; i < BUF_PAGES * PAGE / 8; i++)
		buf[i] = 0x6775657374000000ULL | i;
	GUEST_SYNC(1);
	/* Stage 2: the host rewrote every word, the guest checks. */
	for (i = 0; i < BUF_PAGES * PAGE / 8; i++)
		GUEST_ASSERT_EQ(buf[i], ~(0x686f737400000000ULL | i));
	GUEST_SYNC(2);
	GUEST_DONE();
}

TEST(writes_visible_both_ways)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint64_t *buf, i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_writer_reader);
	buf = addr_gpa2hva_range(vm, BUF_GPA, BUF_PAGES * PAGE);

	vcpu_run_expect_sync(vcpu, 1);
	for (i = 0; i < BUF_PAGES * PAGE / 8; i++) {
		if (buf[i] != (0x6775657374000000ULL | i)) {
			TH_LOG("word %llu at gpa 0x%llx: 0x%llx",
			       (unsigned long long)i,
			       (unsigned long long)(BUF_GPA + 8 * i),
			       (unsigned long long)buf[i]);
			ASSERT_TRUE(false);
		}
		buf[i] = ~(0x686f737400000000ULL | i);
	}
	vcpu_run_expect_sync(vcpu, 2);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

static uint64_t host_value = 0x1111;
static uint64_t guest_value;

static void guest_globals(void)
{
	/* Globals live at the same address in the guest. */
	GUEST_ASSERT_EQ(READ_ONCE(host_value), 0xabcdef);
	WRITE_ONCE(guest_value, 0x5eed);
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(READ_ONCE(host_value), 0xfedcba);
	GUEST_DONE();
}

TEST(sync_globals)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_globals);
	host_value = 0xabcdef;
	sync_global_to_guest(vm, host_value);
	vcpu_run_expect_sync(vcpu, 1);
	sync_global_from_guest(vm, guest_value);
	ASSERT_EQ(0x5eed, guest_value);
	host_value = 0xfedcba;
	sync_global_to_guest(vm, host_value);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

TEST(two_mappings_alias)
{
	struct vireo_vm *vm;
	uint8_t *second;
	uint64_t off = 3 * PAGE;

	vm = vm_create_barebones(8ULL << 20);
	second = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      vm->fd, off);
	ASSERT_NE(MAP_FAILED, second);
	vm->ram[off + 5] = 0xa5;
	ASSERT_EQ(0xa5, second[5]);
	second[PAGE + 7] = 0x5a;
	ASSERT_EQ(0x5a, vm->ram[off + PAGE + 7]);
	ASSERT_EQ(0, munmap(second, 2 * PAGE));
	/* The first mapping still works after the second is gone. */
	ASSERT_EQ(0xa5, vm->ram[off + 5]);
	vm_free(vm);
}

TEST(pages_allocated_on_first_touch_and_zeroed)
{
	struct vireo_vm_info info;
	struct vireo_vm *vm;
	uint64_t i, ram = 32ULL << 20;

	vm = vm_create_barebones(ram);
	vm_get_info(vm, &info);
	ASSERT_EQ(ram, info.ram_bytes);
	/* Nothing is backed until touched. */
	ASSERT_EQ(0, info.pages_present);

	/* Ten pages written from the host: ten pages present. */
	for (i = 0; i < 10; i++)
		vm->ram[i * 97 * PAGE + 123] = (uint8_t)(i + 1);
	vm_get_info(vm, &info);
	ASSERT_EQ(10, info.pages_present);

	/* Pages first read are zero; a read allocates like a write. */
	for (i = 0; i < 8; i++) {
		uint64_t *p = (uint64_t *)(vm->ram + ram - (i + 1) * PAGE);
		unsigned int w;

		for (w = 0; w < PAGE / 8; w++)
			ASSERT_EQ(0, p[w]);
	}
	vm_get_info(vm, &info);
	ASSERT_EQ(18, info.pages_present);

	/* The written bytes are still there, the rest of their pages zero. */
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(i + 1, vm->ram[i * 97 * PAGE + 123]);
		ASSERT_EQ(0, vm->ram[i * 97 * PAGE + 124]);
	}
	vm_free(vm);
}

VIREO_TEST_MAIN
