// SPDX-License-Identifier: GPL-2.0
/*
 * The management plane's view of VMs: GET_VM (dump and doit) lists each VM
 * with the id of VIREO_GET_VM_INFO, the creator's pid, RAM, vCPUs, pages
 * present and per-reason exit counts that match what the guest did;
 * GET_STATS counts live and created VMs and their pages.
 */
#include <unistd.h>

#include "vireo_test.h"

#define NR_OUT	7
#define NR_HLT	3
#define PORT	0x99

static void guest_exits(void)
{
	int i;

	for (i = 0; i < NR_OUT; i++)
		outb(PORT, i);
	for (i = 0; i < NR_HLT; i++)
		hlt();
	GUEST_DONE();
}

TEST(vm_listed_with_owner_and_exit_counts)
{
	struct vireo_nl_vm before, after, doit;
	struct vireo_vm_info info;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	struct vireo_nl nl;
	unsigned int i;
	int slot;

	ASSERT_EQ(0, vireo_nl_open(&nl));
	vm = vm_create_with_one_vcpu(&vcpu, guest_exits);
	vm_get_info(vm, &info);

	ASSERT_EQ(0, vireo_nl_find_vm(&nl, vm->id, &before));
	ASSERT_EQ(0, before.malformed);
	ASSERT_TRUE(before.present & VIREO_NL_HAS_OWNER_PID);
	EXPECT_EQ(getpid(), before.owner_pid);
	EXPECT_EQ(VM_DEFAULT_RAM_BYTES, before.ram_bytes);
	EXPECT_EQ(1, before.nr_vcpus);
	EXPECT_EQ(VIREO_VM_STATE_RUNNABLE, before.state);
	for (i = 0; i < VIREO_EXIT_REASON_MAX; i++)
		EXPECT_EQ(0, before.exits[i]);

	for (i = 0; i < NR_OUT; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_IO);
		ASSERT_EQ(PORT, vcpu->run->io.port);
		ASSERT_EQ(i, vcpu->run->io.data);
	}
	for (i = 0; i < NR_HLT; i++) {
		vcpu_run(vcpu);
		TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_HLT);
	}
	vcpu_run_expect_done(vcpu);	/* one more IO exit */

	ASSERT_EQ(0, vireo_nl_find_vm(&nl, vm->id, &after));
	ASSERT_EQ(0, after.malformed);
	ASSERT_TRUE(after.present & VIREO_NL_HAS_EXITS);
	for (i = 0; i < VIREO_NL_EXIT_SLOTS; i++)
		if (after.exits[i])
			TH_LOG("exits[%u] (%s) = %llu", i, after.exit_names[i],
			       (unsigned long long)after.exits[i]);
	/* Slots below 32 are the exit reasons, by their documented names. */
	EXPECT_STREQ("io", after.exit_names[VIREO_EXIT_IO]);
	EXPECT_STREQ("hlt", after.exit_names[VIREO_EXIT_HLT]);
	EXPECT_GE(after.exits[VIREO_EXIT_IO], NR_OUT + 1);
	EXPECT_GE(after.exits[VIREO_EXIT_HLT], NR_HLT);
	/* The guest's first touches of its pages were mapped in the kernel. */
	slot = vireo_nl_exit_slot(&after, "kernel_npf_map");
	ASSERT_GE(slot, 32);
	EXPECT_GT(after.exits[slot], 0);
	/* Nothing of what the guest did not do. */
	EXPECT_EQ(0, after.exits[VIREO_EXIT_MMIO]);
	EXPECT_EQ(0, after.exits[VIREO_EXIT_HYPERCALL]);
	EXPECT_EQ(0, after.exits[VIREO_EXIT_SHUTDOWN]);
	EXPECT_EQ(0, after.exits[VIREO_EXIT_UNKNOWN]);
	EXPECT_GE(vcpu->run->exit_count, NR_OUT + NR_HLT + 1);

	/* The doit form agrees with the dump and with VIREO_GET_VM_INFO. */
	ASSERT_EQ(0, vireo_nl_get_vm(&nl, vm->id, &doit));
	EXPECT_EQ(vm->id, doit.vm_id);
	EXPECT_EQ(after.owner_pid, doit.owner_pid);
	EXPECT_EQ(after.ram_bytes, doit.ram_bytes);
	EXPECT_EQ(after.nr_vcpus, doit.nr_vcpus);
	EXPECT_EQ(after.exits[VIREO_EXIT_IO], doit.exits[VIREO_EXIT_IO]);
	vm_get_info(vm, &info);
	EXPECT_EQ(info.pages_present, doit.pages_present);
	EXPECT_GT(doit.pages_present, 0);

	vm_free(vm);
	vireo_nl_close(&nl);
}

TEST(dump_lists_every_vm_once)
{
	static struct vireo_nl_vm vms[256];
	struct vireo_nl_stats st;
	struct vireo_vm *vm[3];
	struct vireo_nl nl;
	int n, i, j, seen;

	ASSERT_EQ(0, vireo_nl_open(&nl));
	for (i = 0; i < 3; i++)
		vm[i] = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	ASSERT_NE(vm[0]->id, vm[1]->id);
	ASSERT_NE(vm[1]->id, vm[2]->id);
	ASSERT_NE(vm[0]->id, vm[2]->id);

	n = vireo_nl_dump_vms(&nl, vms, ARRAY_SIZE(vms));
	ASSERT_GE(n, 3);
	ASSERT_LE(n, ARRAY_SIZE(vms));
	for (i = 0; i < 3; i++) {
		for (seen = 0, j = 0; j < n; j++)
			seen += vms[j].vm_id == vm[i]->id;
		EXPECT_EQ(1, seen) TH_LOG("VM %u listed %d times", vm[i]->id,
					  seen);
	}

	/* A destroyed VM leaves the list. */
	ASSERT_EQ(0, vireo_nl_get_stats(&nl, &st));
	vm_free(vm[1]);
	ASSERT_EQ(0, vireo_nl_wait_vms_live(&nl, st.vms_live - 1, 5000, &st));
	n = vireo_nl_dump_vms(&nl, vms, ARRAY_SIZE(vms));
	ASSERT_GE(n, 2);
	for (j = 0; j < n; j++)
		EXPECT_NE(vm[1]->id, vms[j].vm_id);
	vm_free(vm[0]);
	vm_free(vm[2]);
	vireo_nl_close(&nl);
}

TEST(stats_track_vm_lifetime)
{
	struct vireo_nl_stats base, live, end;
	struct vireo_vm *vm;
	struct vireo_nl nl;
	unsigned int i;

	ASSERT_EQ(0, vireo_nl_open(&nl));
	/* Let VMs of earlier tests finish their teardown. */
	vireo_nl_wait_vms_live(&nl, 0, 5000, &base);
	ASSERT_EQ(0, vireo_nl_get_stats(&nl, &base));
	ASSERT_EQ(0, base.malformed);
	ASSERT_EQ(VIREO_NL_STATS_ALL, base.present);
	EXPECT_TRUE(!strcmp(base.backend, "svm") ||
		    !strcmp(base.backend, "vmx")) TH_LOG("backend '%s'",
							 base.backend);

	vm = vm_create_barebones(16ULL << 20);
	for (i = 0; i < 100; i++)
		vm->ram[i * 4096ULL] = 1;
	ASSERT_EQ(0, vireo_nl_get_stats(&nl, &live));
	EXPECT_EQ(base.vms_live + 1, live.vms_live);
	EXPECT_EQ(base.vms_created + 1, live.vms_created);
	EXPECT_GE(live.guest_pages, base.guest_pages + 100);
	EXPECT_GE(live.table_pages, base.table_pages);

	vm_free(vm);
	vireo_nl_wait_stats_back(&nl, &base, 5000, &end);
	EXPECT_EQ(base.vms_live, end.vms_live);
	EXPECT_EQ(base.vms_created + 1, end.vms_created);
	EXPECT_EQ(base.guest_pages, end.guest_pages);
	EXPECT_EQ(base.table_pages, end.table_pages);
	vireo_nl_close(&nl);
}

VIREO_TEST_MAIN
