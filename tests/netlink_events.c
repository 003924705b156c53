// SPDX-License-Identifier: GPL-2.0
/*
 * Events on the "events" multicast group: VM_CREATED and VM_DESTROYED
 * around a VM's life, VM_CRASHED after a triple fault.  (VM_STOPPED is
 * checked with STOP_VM in netlink_bad.)  VM_DESTROYED carries the VM's
 * final exit counts, VM_CRASHED the counts of the moment, VM_CREATED none.
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

#define GUEST_CPUIDS 7

static void guest_cpuid_then_done(void)
{
	unsigned int i;

	for (i = 0; i < GUEST_CPUIDS; i++)
		cpuid(0, 0);
	GUEST_SYNC(1);
	GUEST_DONE();
}

/*
 * The exit counts in VM_DESTROYED are the VM's last ones: the same as a
 * dump read after the vCPU's last exit, and no dump can read them after.
 */
TEST(destroyed_carries_final_exit_counts)
{
	struct vireo_nl_vm created, dumped, destroyed;
	struct vireo_vcpu *vcpu;
	struct vireo_nl ev, nl;
	struct vireo_vm *vm;
	int slot, i;
	uint32_t id;

	ASSERT_EQ(0, vireo_nl_events_open(&ev));
	ASSERT_EQ(0, vireo_nl_open(&nl));
	vm = vm_create_with_one_vcpu(&vcpu, guest_cpuid_then_done);
	id = vm->id;
	ASSERT_EQ(0, vireo_nl_wait_event_vm(&ev, VIREO_NL_EVENT_VM_CREATED, id,
					    EVENT_TIMEOUT_MS, &created));
	EXPECT_EQ(0, created.present & VIREO_NL_HAS_EXITS);
	EXPECT_EQ(id, created.vm_id);
	EXPECT_EQ(0, created.nr_vcpus);	/* sent before any vCPU exists */
	EXPECT_EQ(vm->ram_bytes, created.ram_bytes);

	vcpu_run_expect_sync(vcpu, 1);
	vcpu_run_expect_done(vcpu);
	ASSERT_EQ(0, vireo_nl_get_vm(&nl, id, &dumped));
	slot = vireo_nl_exit_slot(&dumped, "kernel_cpuid");
	ASSERT_GE(slot, 0);
	EXPECT_GE(dumped.exits[slot], GUEST_CPUIDS);

	vm_free(vm);
	ASSERT_EQ(0, vireo_nl_wait_event_vm(&ev, VIREO_NL_EVENT_VM_DESTROYED,
					    id, EVENT_TIMEOUT_MS, &destroyed));
	EXPECT_EQ(0, destroyed.malformed);
	ASSERT_NE(0, destroyed.present & VIREO_NL_HAS_EXITS);
	EXPECT_EQ(id, destroyed.vm_id);
	EXPECT_EQ(1, destroyed.nr_vcpus);
	for (i = 0; i < VIREO_NL_EXIT_SLOTS; i++) {
		EXPECT_STREQ(dumped.exit_names[i], destroyed.exit_names[i]);
		EXPECT_EQ(dumped.exits[i], destroyed.exits[i]);
	}
	EXPECT_EQ(-ENOENT, vireo_nl_get_vm(&nl, id, &dumped));
	vireo_nl_close(&nl);
	vireo_nl_close(&ev);
}

static void guest_crash(void)
{
	asm volatile("ud2");
}

TEST(crashed)
{
	struct vireo_nl_vm crashed;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	struct vireo_nl ev;

	ASSERT_EQ(0, vireo_nl_events_open(&ev));
	vm = vm_create_with_one_vcpu(&vcpu, guest_crash);
	vcpu_load_empty_idt(vcpu);	/* the #UD is a triple fault */
	ASSERT_EQ(0, __vcpu_run(vcpu));
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_SHUTDOWN);
	ASSERT_EQ(0, vireo_nl_wait_event_vm(&ev, VIREO_NL_EVENT_VM_CRASHED,
					    vm->id, EVENT_TIMEOUT_MS, &crashed));
	EXPECT_EQ(VIREO_VM_STATE_CRASHED, crashed.state);
	/* The counts of the moment: the shutdown exit is counted after. */
	ASSERT_NE(0, crashed.present & VIREO_NL_HAS_EXITS);
	EXPECT_LE(0, vireo_nl_exit_slot(&crashed, "shutdown"));
	vm_free(vm);
	vireo_nl_close(&ev);
}

VIREO_TEST_MAIN
