// SPDX-License-Identifier: GPL-2.0
/*
 * Events on the "events" multicast group: VM_CREATED and VM_DESTROYED
 * around a VM's life, VM_CRASHED after a triple fault.  (VM_STOPPED is
 * checked with STOP_VM in netlink_bad.)
 */
#include "vireo_test.h"

#define EVENT_TIMEOUT_MS 5000

TEST(created_and_destroyed)
{
	struct vireo_vm *vm;
	struct vireo_nl ev;
	uint32_t id;

	ASSERT_EQ(0, vireo_nl_events_open(&ev));
	vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	id = vm->id;
	ASSERT_EQ(0, vireo_nl_wait_event(&ev, VIREO_NL_EVENT_VM_CREATED, id,
					 EVENT_TIMEOUT_MS));
	vm_free(vm);
	ASSERT_EQ(0, vireo_nl_wait_event(&ev, VIREO_NL_EVENT_VM_DESTROYED, id,
					 EVENT_TIMEOUT_MS));
	vireo_nl_close(&ev);
}

/* Destruction waits for the last reference: here the RAM mapping. */
TEST(destroyed_only_after_last_reference)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	struct vireo_nl ev;
	uint8_t *ram;
	uint64_t ram_bytes;
	uint32_t id;

	ASSERT_EQ(0, vireo_nl_events_open(&ev));
	vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	vcpu = vm_vcpu_add(vm, 0, NULL);
	id = vm->id;
	ASSERT_EQ(0, vireo_nl_wait_event(&ev, VIREO_NL_EVENT_VM_CREATED, id,
					 EVENT_TIMEOUT_MS));
	ram = vm->ram;
	ram_bytes = vm->ram_bytes;
	ram[100] = 42;

	/* Drop every fd and the run mapping, keep the RAM mapping. */
	ASSERT_EQ(0, munmap(vcpu->run, vcpu->run_size));
	ASSERT_EQ(0, close(vcpu->fd));
	ASSERT_EQ(0, close(vm->fd));
	ASSERT_EQ(0, close(vm->sys_fd));
	ASSERT_EQ(-ETIMEDOUT,
		  vireo_nl_wait_event(&ev, VIREO_NL_EVENT_VM_DESTROYED, id,
				      500));
	/* The memory is still the VM's memory. */
	ASSERT_EQ(42, ram[100]);
	ram[200] = 43;
	ASSERT_EQ(43, ram[200]);

	ASSERT_EQ(0, munmap(ram, ram_bytes));
	ASSERT_EQ(0, vireo_nl_wait_event(&ev, VIREO_NL_EVENT_VM_DESTROYED, id,
					 EVENT_TIMEOUT_MS));
	free(vcpu);
	free(vm);
	vireo_nl_close(&ev);
}

static void guest_crash(void)
{
	asm volatile("ud2");
}

TEST(crashed)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	struct vireo_nl ev;

	ASSERT_EQ(0, vireo_nl_events_open(&ev));
	vm = vm_create_with_one_vcpu(&vcpu, guest_crash);
	vcpu_load_empty_idt(vcpu);	/* the #UD is a triple fault */
	ASSERT_EQ(0, __vcpu_run(vcpu));
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_SHUTDOWN);
	ASSERT_EQ(0, vireo_nl_wait_event(&ev, VIREO_NL_EVENT_VM_CRASHED,
					 vm->id, EVENT_TIMEOUT_MS));
	vm_free(vm);
	vireo_nl_close(&ev);
}

VIREO_TEST_MAIN
