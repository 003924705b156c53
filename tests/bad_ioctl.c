// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl surface refuses bad input cleanly: sizes, flags and reserved
 * fields of VIREO_CREATE_VM, unknown commands on every fd (ENOTTY), vCPU
 * ids, inconsistent or reserved special registers, bad user pointers
 * (EFAULT), misused mmaps; and reports what it should (API version, run
 * size, VM info, register round trips, hidden EFER.SVME, the RESET state).
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "vireo_test.h"

static int create_vm(int sys_fd, uint64_t ram, uint32_t flags,
		     uint32_t reserved)
{
	struct vireo_vm_config cfg = {
		.ram_bytes = ram, .flags = flags, .reserved = reserved,
	};

	return ioctl(sys_fd, VIREO_CREATE_VM, &cfg);
}

/* A page that faults on access, for EFAULT tests. */
static void *fault_page(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap");
	return p;
}

TEST(system_fd_basics)
{
	struct stat st;
	int fd = vireo_open_dev();

	ASSERT_EQ(VIREO_API_VERSION, ioctl(fd, VIREO_GET_API_VERSION, 0));
	ASSERT_EQ(1, VIREO_API_VERSION);
	ASSERT_EQ(4096, ioctl(fd, VIREO_GET_RUN_SIZE, 0));
	/* Their argument must be 0. */
	ASSERT_EQ(-1, ioctl(fd, VIREO_GET_API_VERSION, 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(fd, VIREO_GET_RUN_SIZE, 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_LE(sizeof(struct vireo_run), 4096);
	ASSERT_EQ(0, stat(VIREO_DEV_PATH, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	close(fd);
}

TEST(create_vm_validates_config)
{
	int fd = vireo_open_dev(), vm;

	/* Sizes: page multiple within [1 MiB, 64 GiB]. */
	EXPECT_EQ(-1, create_vm(fd, 0, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create_vm(fd, 4096, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create_vm(fd, VIREO_MIN_RAM_BYTES - 4096, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create_vm(fd, VIREO_MIN_RAM_BYTES + 1, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create_vm(fd, (16ULL << 20) + 2048, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create_vm(fd, VIREO_MAX_RAM_BYTES + 4096, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create_vm(fd, 1ULL << 63, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create_vm(fd, ~0ULL & ~4095ULL, 0, 0));
	EXPECT_EQ(EINVAL, errno);

	/* Flags outside VIREO_VM_FLAGS_ALL are refused; reserved must be 0. */
	EXPECT_EQ(-1, create_vm(fd, 16ULL << 20,
				1U << __builtin_ctz(~VIREO_VM_FLAGS_ALL), 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create_vm(fd, 16ULL << 20, 0x80000000, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, create_vm(fd, 16ULL << 20, 0, 1));
	EXPECT_EQ(EINVAL, errno);

	/* The smallest valid VM, and its fd is close-on-exec. */
	vm = create_vm(fd, VIREO_MIN_RAM_BYTES, 0, 0);
	ASSERT_GE(vm, 0);
	EXPECT_TRUE(fcntl(vm, F_GETFD) & FD_CLOEXEC);
	close(vm);
	close(fd);
}

TEST(efault_on_bad_pointers)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	void *bad = fault_page();
	int fd = vireo_open_dev();

	ASSERT_EQ(-1, ioctl(fd, VIREO_CREATE_VM, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, ioctl(fd, VIREO_CREATE_VM, bad));
	ASSERT_EQ(EFAULT, errno);

	vm = vm_create(16ULL << 20);
	vcpu = vm_vcpu_add(vm, 0, NULL);
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_GET_VM_INFO, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_SET_CPUID, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_GET_CPUID, bad));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_REGS, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_REGS, bad));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_SREGS, (void *)8));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, bad));
	ASSERT_EQ(EFAULT, errno);
	/* A kernel address is not a user pointer either. */
	ASSERT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_GET_REGS,
				   (void *)0xffffffff81000000ULL));
	ASSERT_EQ(EFAULT, errno);
	vm_free(vm);
	close(fd);
}

TEST(efault_cpuid_entries_cross_into_unmapped_page)
{
	struct vireo_cpuid *c;
	struct vireo_vm *vm;
	uint8_t *pages;

	vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_EQ(0, mprotect(pages + 4096, 4096, PROT_NONE));
	/* Header and first entry readable, the second entry is not. */
	c = (struct vireo_cpuid *)(pages + 4096 - sizeof(*c) -
				   sizeof(struct vireo_cpuid_entry));
	memset(c, 0, sizeof(*c) + sizeof(struct vireo_cpuid_entry));
	c->nent = 2;
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_SET_CPUID, c));
	ASSERT_EQ(EFAULT, errno);
	/* GET with room for 2 entries where the 2nd is unwritable. */
	c->nent = 2;
	vm_set_cpuid(vm, (struct vireo_cpuid_entry[2]){
			{ .function = 1 }, { .function = 2 } }, 2);
	ASSERT_EQ(-1, __vm_ioctl(vm, VIREO_GET_CPUID, c));
	ASSERT_EQ(EFAULT, errno);
	vm_free(vm);
}

TEST(unknown_ioctls_are_enotty)
{
	const unsigned long unknown[] = {
		_IO(VIREO_IOCTL_TYPE, 0x7f),
		_IO(VIREO_IOCTL_TYPE, 0xff),
		_IOR(VIREO_IOCTL_TYPE, 0x05, uint64_t),
		/* Right number, wrong size: not the same command. */
		_IOW(VIREO_IOCTL_TYPE, 0x01, uint32_t),
		_IOR(VIREO_IOCTL_TYPE, 0x20, uint32_t),
		_IOW(VIREO_IOCTL_TYPE, 0x11, uint32_t),	/* SET_CPUID has 8 */
		/* Another driver's type. */
		_IO('K', 0x01),
		_IOR(0xAE, 0x00, int),
	};
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	unsigned int i;
	int fd = vireo_open_dev();

	vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	vcpu = vm_vcpu_add(vm, 0, NULL);
	for (i = 0; i < ARRAY_SIZE(unknown); i++) {
		uint64_t scratch[64] = { 0 };

		EXPECT_EQ(-1, ioctl(fd, unknown[i], scratch));
		EXPECT_EQ(ENOTTY, errno);
		EXPECT_EQ(-1, ioctl(vm->fd, unknown[i], scratch));
		EXPECT_EQ(ENOTTY, errno);
		EXPECT_EQ(-1, ioctl(vcpu->fd, unknown[i], scratch));
		EXPECT_EQ(ENOTTY, errno);
		if (!_metadata->passed) {
			TH_LOG("command 0x%lx", unknown[i]);
			break;
		}
	}

	/* Valid commands on the wrong kind of fd are unknown there. */
	EXPECT_EQ(-1, ioctl(fd, VIREO_RUN, 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, VIREO_CREATE_VCPU, 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(vm->fd, VIREO_RUN, 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(vm->fd, VIREO_GET_API_VERSION, 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(vcpu->fd, VIREO_CREATE_VCPU, 1));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(vcpu->fd, VIREO_CREATE_VM, NULL));
	EXPECT_EQ(ENOTTY, errno);
	vm_free(vm);
	close(fd);
}

TEST(vcpu_ids)
{
	struct vireo_vm_info info;
	struct vireo_vm *vm;
	int fd0, fd63;

	vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_CREATE_VCPU, VIREO_MAX_VCPUS));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_CREATE_VCPU, 0xffffffffUL));
	ASSERT_EQ(EINVAL, errno);
	/* Must not be truncated to id 0. */
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_CREATE_VCPU, 1UL << 32));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_CREATE_VCPU, -1L));
	ASSERT_EQ(EINVAL, errno);

	fd0 = ioctl(vm->fd, VIREO_CREATE_VCPU, 0);
	ASSERT_GE(fd0, 0);
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_CREATE_VCPU, 0));
	ASSERT_EQ(EEXIST, errno);
	fd63 = ioctl(vm->fd, VIREO_CREATE_VCPU, VIREO_MAX_VCPUS - 1);
	ASSERT_GE(fd63, 0);
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_CREATE_VCPU, VIREO_MAX_VCPUS - 1));
	ASSERT_EQ(EEXIST, errno);

	vm_get_info(vm, &info);
	ASSERT_EQ(2, info.nr_vcpus);
	close(fd0);
	close(fd63);
	vm_free(vm);
}

TEST(all_64_vcpus)
{
	struct vireo_vm_info info;
	struct vireo_vm *vm;
	unsigned int id;

	vm = vm_create(16ULL << 20);
	for (id = 0; id < VIREO_MAX_VCPUS; id++)
		vm_vcpu_add(vm, id, NULL);
	vm_get_info(vm, &info);
	ASSERT_EQ(VIREO_MAX_VCPUS, info.nr_vcpus);
	ASSERT_EQ(16ULL << 20, info.ram_bytes);
	ASSERT_EQ(vm->id, info.vm_id);
	ASSERT_EQ(-1, ioctl(vm->fd, VIREO_CREATE_VCPU, VIREO_MAX_VCPUS - 1));
	ASSERT_EQ(EEXIST, errno);
	vm_free(vm);
}

TEST(regs_and_sregs_round_trip)
{
	struct vireo_regs regs, back;
	struct vireo_sregs sregs, sback;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	uint64_t *r = (uint64_t *)&regs;
	unsigned int i;

	vm = vm_create(16ULL << 20);
	vcpu = vm_vcpu_add(vm, 0, NULL);

	for (i = 0; i < sizeof(regs) / 8; i++)
		r[i] = 0x0101010101010101ULL * (i + 1);
	regs.rip = 0x401000;
	regs.rsp = 0x3ff000;
	regs.rflags = 0x2 | (1 << 0) | (1 << 6);	/* CF, ZF */
	vcpu_regs_set(vcpu, &regs);
	vcpu_regs_get(vcpu, &back);
	ASSERT_EQ(0, memcmp(&regs, &back, sizeof(regs)));

	/* RFLAGS: reserved bits are refused, bit 1 is always set. */
	back = regs;
	back.rflags = 0x2 | (1 << 3);
	ASSERT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_REGS, &back));
	ASSERT_EQ(EINVAL, errno);
	back.rflags = 1ULL << 40;
	ASSERT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_REGS, &back));
	ASSERT_EQ(EINVAL, errno);
	back.rflags = 0;
	vcpu_regs_set(vcpu, &back);
	vcpu_regs_get(vcpu, &back);
	ASSERT_EQ(0x2, back.rflags);

	x86_sregs_long_mode(&sregs, GUEST_PML4_GPA);
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_sregs_get(vcpu, &sback);
	EXPECT_EQ(sregs.cr0, sback.cr0);
	EXPECT_EQ(sregs.cr3, sback.cr3);
	EXPECT_EQ(sregs.cr4, sback.cr4);
	/* EFER.SVME is the module's business: never shown. */
	EXPECT_EQ(sregs.efer, sback.efer);
	EXPECT_EQ(0, sback.efer & X86_EFER_SVME);
	EXPECT_EQ(sregs.cs.selector, sback.cs.selector);
	EXPECT_EQ(sregs.cs.l, sback.cs.l);
	EXPECT_EQ(sregs.cs.type, sback.cs.type);
	EXPECT_EQ(sregs.tr.base, sback.tr.base);
	EXPECT_EQ(sregs.tr.limit, sback.tr.limit);
	EXPECT_EQ(sregs.gdt.base, sback.gdt.base);
	EXPECT_EQ(sregs.gdt.limit, sback.gdt.limit);
	EXPECT_EQ(sregs.idt.limit, sback.idt.limit);
	vm_free(vm);
}

static void guest_done(void)
{
	GUEST_DONE();
}

TEST(efer_svme_hidden_after_running)
{
	struct vireo_sregs sregs;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_done);
	vcpu_run_expect_done(vcpu);
	vcpu_sregs_get(vcpu, &sregs);
	ASSERT_EQ(0, sregs.efer & X86_EFER_SVME);
	ASSERT_EQ(X86_EFER_LME | X86_EFER_LMA, sregs.efer);
	vm_free(vm);
}

TEST(set_sregs_validates)
{
	struct vireo_sregs good, bad, now;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create(16ULL << 20);
	vcpu = vm_vcpu_add(vm, 0, NULL);
	x86_sregs_long_mode(&good, GUEST_PML4_GPA);
	vcpu_sregs_set(vcpu, &good);

	/* EFER.LMA without LME. */
	bad = good;
	bad.efer = X86_EFER_LMA;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	/* EFER.LMA without CR0.PG. */
	bad = good;
	bad.cr0 &= ~X86_CR0_PG;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	/* Reserved words. */
	bad = good;
	bad.reserved[0] = 1;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = good;
	bad.reserved[3] = 1ULL << 63;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	/* Padding of a segment and of a descriptor table. */
	bad = good;
	bad.cs.padding = 1;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = good;
	bad.gdt.padding[2] = 1;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	/* EFER.SVME belongs to the module. */
	bad = good;
	bad.efer |= X86_EFER_SVME;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	/* CR4.VMXE (bit 13): the guest gets no nested virtualization. */
	bad = good;
	bad.cr4 |= 1ULL << 13;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	/* Long mode without PAE. */
	bad = good;
	bad.cr4 &= ~X86_CR4_PAE;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	/* A 64-bit code segment with D set. */
	bad = good;
	bad.cs.db = 1;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	/* Out-of-range segment fields. */
	bad = good;
	bad.ss.dpl = 4;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = good;
	bad.ds.type = 16;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);
	bad = good;
	bad.es.present = 2;
	EXPECT_EQ(-1, __vcpu_ioctl(vcpu, VIREO_SET_SREGS, &bad));
	EXPECT_EQ(EINVAL, errno);

	/* A refused SET_SREGS changed nothing. */
	vcpu_sregs_get(vcpu, &now);
	EXPECT_EQ(good.efer, now.efer);
	EXPECT_EQ(good.cr0, now.cr0);
	EXPECT_EQ(good.cr3, now.cr3);
	vm_free(vm);
}

TEST(mmap_misuse)
{
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;
	void *p;

	vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	vcpu = vm_vcpu_add(vm, 0, NULL);

	/* A private mapping of RAM would silently diverge from the guest. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, vm->fd, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);

	/* A second mapping of the exit record shows the same page. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	vcpu->run->immediate_exit = 1;
	ASSERT_EQ(1, ((struct vireo_run *)p)->immediate_exit);
	ASSERT_EQ(0, munmap(p, 4096));
	/* The exit record: shared, offset 0, exactly one page. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
		 4096);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, vcpu->fd, 0);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);

	/* RUN's argument must be 0. */
	ASSERT_EQ(-1, ioctl(vcpu->fd, VIREO_RUN, 1));
	ASSERT_EQ(EINVAL, errno);
	vm_free(vm);
}

/* A vCPU nobody set up is in the RESET state and faults on its first fetch. */
TEST(fresh_vcpu_starts_at_reset_vector)
{
	struct vireo_sregs sregs;
	struct vireo_regs regs;
	struct vireo_vcpu *vcpu;
	struct vireo_vm *vm;

	vm = vm_create_barebones(VIREO_MIN_RAM_BYTES);
	vcpu = vm_vcpu_add(vm, 0, NULL);
	vcpu_regs_get(vcpu, &regs);
	vcpu_sregs_get(vcpu, &sregs);
	EXPECT_EQ(0xfff0, regs.rip);
	EXPECT_EQ(0x2, regs.rflags);
	EXPECT_EQ(0, regs.rax | regs.rdx | regs.rsp);
	EXPECT_EQ(0xf000, sregs.cs.selector);
	EXPECT_EQ(0xffff0000, sregs.cs.base);
	EXPECT_EQ(0x60000010, sregs.cr0);
	EXPECT_EQ(0, sregs.efer);

	/* 0xfffffff0 is above the 1 MiB of RAM and there is no ROM. */
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT_REASON(vcpu, VIREO_EXIT_INTERNAL_ERROR);
	EXPECT_EQ(VIREO_INTERNAL_GVA, vcpu->run->internal.suberror);
	EXPECT_EQ(0xfffffff0, vcpu->run->internal.gpa);
	EXPECT_EQ(0, vcpu->run->internal.ninsn);
	vm_free(vm);
}

VIREO_TEST_MAIN
