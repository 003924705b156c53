// SPDX-License-Identifier: GPL-2.0
/*
 * No leaks across VM lifetimes: after 100 VMs that each touch memory and run
 * a vCPU, and after VMs torn down in every order of their references, the
 * module's counters (live VMs, guest pages, table pages) are back to where
 * they were and MemAvailable has not dropped by more than a slack.
 */
#include <sys/mman.h>

#include "vireo_test.h"

#define NR_VMS		100
#define VM_RAM		(16ULL << 20)
#define SCRATCH_GPA	(8ULL << 20)	/* free in a 16 MiB VM */
#define SCRATCH_PAGES	16
#define SLACK_KIB	(16 * 1024)
#define SETTLE_MS	10000

static void guest_touch(uint64_t seed)
{
	volatile uint64_t *p = (volatile uint64_t *)SCRATCH_GPA;
	uint64_t i;

	for (i = 0; i < SCRATCH_PAGES; i++)
		p[i * 512] = seed + i;
	GUEST_SYNC(seed);
	GUEST_DONE();
}

static void one_vm(uint64_t seed)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint64_t *p;

	vm = vm_create_with_one_vcpu_ram(&vcpu, guest_touch, VM_RAM);
	vcpu_args_set(vcpu, 1, seed);
	vcpu_run_expect_sync(vcpu, seed);
	p = addr_gpa2hva_range(vm, SCRATCH_GPA, SCRATCH_PAGES * 4096);
	TEST_ASSERT(p[(SCRATCH_PAGES - 1) * 512] == seed + SCRATCH_PAGES - 1,
		    "guest write not visible in VM %llu",
		    (unsigned long long)seed);
	vcpu_run_expect_done(vcpu);
	vm_free(vm);
}

FIXTURE(leak)
{
	struct vireo_nl nl;
	struct vireo_nl_stats base;
};

FIXTURE_SETUP(leak)
{
	ASSERT_EQ(0, vireo_nl_open(&self->nl));
	/* Warm up (first-use allocations are not leaks), then settle. */
	one_vm(1);
	vireo_nl_wait_vms_live(&self->nl, 0, SETTLE_MS, &self->base);
	ASSERT_EQ(0, vireo_nl_get_stats(&self->nl, &self->base));
	TH_LOG("baseline: %u live, %llu created, %llu guest pages, %llu table pages",
	       self->base.vms_live,
	       (unsigned long long)self->base.vms_created,
	       (unsigned long long)self->base.guest_pages,
	       (unsigned long long)self->base.table_pages);
}

FIXTURE_TEARDOWN(leak)
{
	vireo_nl_close(&self->nl);
}

static void expect_back_to_base(struct __test_metadata *_metadata,
				FIXTURE_DATA(leak) *self,
				uint64_t created)
{
	struct vireo_nl_stats st;

	vireo_nl_wait_stats_back(&self->nl, &self->base, SETTLE_MS, &st);
	EXPECT_EQ(self->base.vms_live, st.vms_live);
	EXPECT_EQ(self->base.guest_pages, st.guest_pages);
	EXPECT_EQ(self->base.table_pages, st.table_pages);
	EXPECT_EQ(self->base.vms_created + created, st.vms_created);
}

TEST_F_TIMEOUT(leak, create_destroy_100_vms, 300)
{
	uint64_t avail0, avail1, i, t0 = now_ms();

	avail0 = meminfo_kib("MemAvailable");
	for (i = 0; i < NR_VMS; i++)
		one_vm(1000 + i);
	expect_back_to_base(_metadata, self, NR_VMS);
	avail1 = meminfo_kib("MemAvailable");
	TH_LOG("%d VMs in %llu ms; MemAvailable %llu -> %llu KiB", NR_VMS,
	       (unsigned long long)(now_ms() - t0),
	       (unsigned long long)avail0, (unsigned long long)avail1);
	EXPECT_LT(avail0, avail1 + SLACK_KIB);
}

/* The pieces that hold a VM, released in different orders. */
enum piece { RAM_MAP, RUN_MAP, VCPU_FD, VM_FD, SYS_FD, NR_PIECES };

static void release(struct vireo_vm *vm, struct vireo_vcpu *vcpu,
		    enum piece p)
{
	switch (p) {
	case RAM_MAP:
		TEST_ASSERT(!munmap(vm->ram, vm->ram_bytes), "munmap RAM");
		break;
	case RUN_MAP:
		TEST_ASSERT(!munmap(vcpu->run, vcpu->run_size), "munmap run");
		break;
	case VCPU_FD:
		TEST_ASSERT(!close(vcpu->fd), "close vCPU");
		break;
	case VM_FD:
		TEST_ASSERT(!close(vm->fd), "close VM");
		break;
	case SYS_FD:
		TEST_ASSERT(!close(vm->sys_fd), "close /dev/vireo");
		break;
	default:
		break;
	}
}

TEST_F_TIMEOUT(leak, teardown_in_any_order, 120)
{
	static const enum piece orders[][NR_PIECES] = {
		{ RAM_MAP, RUN_MAP, VCPU_FD, VM_FD, SYS_FD },
		{ VM_FD, VCPU_FD, SYS_FD, RUN_MAP, RAM_MAP },
		{ SYS_FD, VM_FD, RAM_MAP, VCPU_FD, RUN_MAP },
		{ VCPU_FD, VM_FD, SYS_FD, RUN_MAP, RAM_MAP },
		{ SYS_FD, VCPU_FD, VM_FD, RAM_MAP, RUN_MAP },
	};
	unsigned int o, k;

	for (o = 0; o < ARRAY_SIZE(orders); o++) {
		unsigned int holders = NR_PIECES - 1;	/* all but SYS_FD */
		bool ram_mapped = true;
		struct vireo_nl_stats st;
		struct vireo_vcpu *vcpu;
		struct vireo_vm *vm;

		vm = vm_create_with_one_vcpu_ram(&vcpu, guest_touch, VM_RAM);
		vcpu_args_set(vcpu, 1, o);
		vcpu_run_expect_sync(vcpu, o);
		for (k = 0; k < NR_PIECES; k++) {
			enum piece p = orders[o][k];

			/* While anything but /dev/vireo holds it, it lives... */
			if (holders) {
				ASSERT_EQ(0, vireo_nl_get_stats(&self->nl, &st));
				ASSERT_EQ(self->base.vms_live + 1, st.vms_live)
					TH_LOG("order %u, before releasing piece %u",
					       o, k);
			}
			/* ...and its memory, while mapped, is intact. */
			if (ram_mapped)
				ASSERT_EQ(o, *(volatile uint64_t *)
					  (vm->ram + SCRATCH_GPA));
			release(vm, vcpu, p);
			if (p == RAM_MAP)
				ram_mapped = false;
			if (p != SYS_FD)
				holders--;
		}
		free(vcpu);
		free(vm);
		expect_back_to_base(_metadata, self, o + 1);
		if (!_metadata->passed) {
			TH_LOG("teardown order %u leaked", o);
			break;
		}
	}
}

VIREO_TEST_MAIN
