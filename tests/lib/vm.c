// SPDX-License-Identifier: GPL-2.0
/*
 * VM and vCPU life cycle, registers and RUN for the Vireo selftests.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exception.h"
#include "processor.h"
#include "vireo_vm.h"

_Static_assert(GUEST_IDT_VECTORS == GUEST_NR_VECTORS,
	       "one IDT gate per exception or interrupt stub");
_Static_assert(GUEST_IDT_GPA + GUEST_IDT_VECTORS * 16 <= GUEST_SYSTEM_END,
	       "the IDT fits in the system area");

bool vireo_available(void)
{
	int fd = open(VIREO_DEV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int vireo_open_dev(void)
{
	int fd = open(VIREO_DEV_PATH, O_RDWR | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "cannot open %s", VIREO_DEV_PATH);
	return fd;
}

struct vireo_vm *vm_create_barebones_flags(uint64_t ram_bytes,
					   uint32_t flags)
{
	struct vireo_vm_config cfg = { .ram_bytes = ram_bytes, .flags = flags };
	struct vireo_vm_info info;
	struct vireo_vm *vm;
	int khz;

	vm = calloc(1, sizeof(*vm));
	TEST_ASSERT(vm, "out of memory");
	vm->sys_fd = vireo_open_dev();
	vm->fd = ioctl(vm->sys_fd, VIREO_CREATE_VM, &cfg);
	TEST_ASSERT(vm->fd >= 0,
		    "VIREO_CREATE_VM(ram_bytes=0x%llx, flags=0x%x) failed",
		    (unsigned long long)ram_bytes, flags);
	vm->flags = flags;
	vm->ram_bytes = ram_bytes;
	/* 0 (unknown) from a module without VIREO_GET_TSC_KHZ. */
	khz = ioctl(vm->sys_fd, VIREO_GET_TSC_KHZ, 0);
	vm->tsc_khz = khz > 0 ? khz : 0;
	vm->ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->fd, 0);
	TEST_ASSERT(vm->ram != MAP_FAILED, "mmap of guest RAM failed");
	vm_get_info(vm, &info);
	vm->id = info.vm_id;
	return vm;
}

struct vireo_vm *vm_create_barebones(uint64_t ram_bytes)
{
	return vm_create_barebones_flags(ram_bytes, 0);
}

struct vireo_vm *vm_create_flags(uint64_t ram_bytes, uint32_t flags)
{
	struct vireo_vm *vm = vm_create_barebones_flags(ram_bytes, flags);
	const void *self;
	size_t self_size;
	int r;

	/* The image sits at 4 MiB and the 64 stack slots at the top. */
	TEST_ASSERT(ram_bytes >= 16ULL << 20,
		    "guest RAM must be >= 16 MiB to hold the test binary");
	self = elf_self(&self_size);
	r = elf_load_buffer(self, self_size, vm->ram, ram_bytes,
			    GUEST_SYSTEM_END,
			    vm_stack_top(vm, VIREO_MAX_VCPUS - 1) -
			    GUEST_STACK_SIZE, &vm->image);
	TEST_ASSERT(!r, "cannot load the test binary into guest memory (%d): "
		    "is it a static non-PIE executable that fits in RAM?", r);
	TEST_ASSERT(vm->image.highest <= GUEST_FREE_GPA,
		    "test binary ends at 0x%llx, above GUEST_FREE_GPA",
		    (unsigned long long)vm->image.highest);

	r = x86_build_identity_map(vm->ram, ram_bytes, GUEST_PML4_GPA,
				   GUEST_PDPT_GPA, GUEST_PD_GPA,
				   GUEST_IDENTITY_MAP_BYTES);
	TEST_ASSERT(!r, "cannot build guest page tables");
	r = x86_build_gdt_tss(vm->ram, ram_bytes, GUEST_GDT_GPA,
			      GUEST_TSS_GPA, GUEST_IDT_GPA);
	TEST_ASSERT(!r, "cannot build the guest GDT");
	/* The stubs are in the image just loaded, at their link addresses. */
	r = x86_build_idt(vm->ram, ram_bytes, GUEST_IDT_GPA,
			  guest_exception_stubs, GUEST_IDT_VECTORS);
	TEST_ASSERT(!r, "cannot build the guest IDT");
	*guest_global(vm, guest_tsc_khz) = vm->tsc_khz;
	*guest_global(vm, guest_hypercall_vmcall) = host_cpu_is_intel();
	return vm;
}

struct vireo_vm *vm_create(uint64_t ram_bytes)
{
	return vm_create_flags(ram_bytes, 0);
}

struct vireo_vm *vm_create_with_one_vcpu_ram(struct vireo_vcpu **vcpu,
					     void *guest_code,
					     uint64_t ram_bytes)
{
	struct vireo_vm *vm = vm_create(ram_bytes);

	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	return vm;
}

struct vireo_vm *vm_create_with_one_vcpu(struct vireo_vcpu **vcpu,
					 void *guest_code)
{
	return vm_create_with_one_vcpu_ram(vcpu, guest_code,
					   VM_DEFAULT_RAM_BYTES);
}

struct vireo_vm *vm_create_irqchip_with_one_vcpu(struct vireo_vcpu **vcpu,
						 void *guest_code)
{
	struct vireo_vm *vm = vm_create_flags(VM_DEFAULT_RAM_BYTES,
					      VIREO_VM_FLAG_IRQCHIP);

	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	return vm;
}

void vm_free(struct vireo_vm *vm)
{
	unsigned int i;

	if (!vm)
		return;
	for (i = 0; i < VIREO_MAX_VCPUS; i++) {
		struct vireo_vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		TEST_ASSERT(!munmap(vcpu->run, vcpu->run_size),
			    "munmap of vireo_run failed");
		TEST_ASSERT(!close(vcpu->fd), "close of vCPU fd failed");
		free(vcpu);
	}
	TEST_ASSERT(!munmap(vm->ram, vm->ram_bytes), "munmap of RAM failed");
	TEST_ASSERT(!close(vm->fd), "close of VM fd failed");
	TEST_ASSERT(!close(vm->sys_fd), "close of /dev/vireo failed");
	free(vm);
}

uint64_t vm_stack_top(struct vireo_vm *vm, uint32_t id)
{
	return align_down(vm->ram_bytes, 16) - GUEST_STACK_GUARD -
	       (uint64_t)id * GUEST_STACK_SIZE;
}

struct vireo_vcpu *vm_vcpu_add(struct vireo_vm *vm, uint32_t id,
			       void *guest_code)
{
	struct vireo_vcpu *vcpu;
	int run_size;

	TEST_ASSERT(id < VIREO_MAX_VCPUS && !vm->vcpus[id],
		    "bad or duplicate vCPU id %u", id);
	vcpu = calloc(1, sizeof(*vcpu));
	TEST_ASSERT(vcpu, "out of memory");
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, VIREO_CREATE_VCPU, (unsigned long)id);
	TEST_ASSERT(vcpu->fd >= 0, "VIREO_CREATE_VCPU(%u) failed", id);

	run_size = ioctl(vm->sys_fd, VIREO_GET_RUN_SIZE, 0);
	TEST_ASSERT(run_size >= (int)sizeof(struct vireo_run),
		    "VIREO_GET_RUN_SIZE returned %d", run_size);
	vcpu->run_size = run_size;
	vcpu->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap of vireo_run failed");
	vm->vcpus[id] = vcpu;

	if (guest_code)
		vcpu_setup_long_mode(vcpu, guest_code);
	return vcpu;
}

void vcpu_setup_long_mode(struct vireo_vcpu *vcpu, void *guest_code)
{
	struct vireo_vm *vm = vcpu->vm;
	uint64_t top = vm_stack_top(vm, vcpu->id);
	struct vireo_sregs sregs;
	struct vireo_regs regs;
	uint64_t ret_addr = (uint64_t)guest_code_returned;

	TEST_ASSERT(vm->image.nr_load, "VM has no guest image (barebones?)");
	TEST_ASSERT(top - GUEST_STACK_SIZE >= vm->image.highest,
		    "stack of vCPU %u overlaps the guest image", vcpu->id);

	x86_sregs_long_mode(&sregs, GUEST_PML4_GPA);
	vcpu_sregs_set(vcpu, &sregs);

	/* Enter guest_code as if called: RSP % 16 == 8, [RSP] = return. */
	memcpy(addr_gpa2hva_range(vm, top - 8, 8), &ret_addr, 8);
	memset(&regs, 0, sizeof(regs));
	regs.rip = (uint64_t)guest_code;
	regs.rsp = top - 8;
	regs.rflags = 0x2;
	vcpu_regs_set(vcpu, &regs);
}

void vm_get_info(struct vireo_vm *vm, struct vireo_vm_info *info)
{
	memset(info, 0, sizeof(*info));
	TEST_ASSERT(!ioctl(vm->fd, VIREO_GET_VM_INFO, info),
		    "VIREO_GET_VM_INFO failed");
}

void vm_set_cpuid(struct vireo_vm *vm, const struct vireo_cpuid_entry *e,
		  unsigned int nent)
{
	struct vireo_cpuid *c;

	c = calloc(1, sizeof(*c) + nent * sizeof(*e));
	TEST_ASSERT(c, "out of memory");
	c->nent = nent;
	memcpy(c->entries, e, nent * sizeof(*e));
	TEST_ASSERT(!ioctl(vm->fd, VIREO_SET_CPUID, c),
		    "VIREO_SET_CPUID(nent=%u) failed", nent);
	free(c);
}

void vm_install_sipi_trampoline(struct vireo_vm *vm, uint8_t vector)
{
	/* 16-bit code: the vCPU starts at CS = vector << 8, IP = 0. */
	const uint8_t code[] = {
		0xb8, SIPI_TRAMPOLINE_DATA & 0xff,
		SIPI_TRAMPOLINE_DATA >> 8,	/* mov $DATA, %ax */
		0xe7, SIPI_TRAMPOLINE_PORT,	/* out %ax, $PORT */
		0xf4,				/* 1: hlt */
		0xeb, 0xfd,			/* jmp 1b */
	};
	uint64_t gpa = (uint64_t)vector << 12;

	TEST_ASSERT(gpa >= GUEST_SYSTEM_END,
		    "SIPI vector 0x%x would overwrite the system tables",
		    vector);
	memcpy(addr_gpa2hva_range(vm, gpa, sizeof(code)), code, sizeof(code));
}

int __vm_irq_line(struct vireo_vm *vm, uint32_t pin, uint32_t level)
{
	struct vireo_irq_line line = { .pin = pin, .level = level };

	return ioctl(vm->fd, VIREO_IRQ_LINE, &line);
}

void vm_irq_line(struct vireo_vm *vm, uint32_t pin, uint32_t level)
{
	TEST_ASSERT(!__vm_irq_line(vm, pin, level),
		    "VIREO_IRQ_LINE(pin=%u, level=%u) failed", pin, level);
}

bool vm_gpa_in_ram(struct vireo_vm *vm, uint64_t gpa, uint64_t len)
{
	return gpa < vm->ram_bytes && len <= vm->ram_bytes - gpa;
}

void *addr_gpa2hva_range(struct vireo_vm *vm, uint64_t gpa, uint64_t len)
{
	TEST_ASSERT(vm_gpa_in_ram(vm, gpa, len),
		    "gpa range 0x%llx+0x%llx outside guest RAM (0x%llx bytes)",
		    (unsigned long long)gpa, (unsigned long long)len,
		    (unsigned long long)vm->ram_bytes);
	return vm->ram + gpa;
}

int __vm_ioctl(struct vireo_vm *vm, unsigned long cmd, void *arg)
{
	return ioctl(vm->fd, cmd, arg);
}

int __vcpu_ioctl(struct vireo_vcpu *vcpu, unsigned long cmd, void *arg)
{
	return ioctl(vcpu->fd, cmd, arg);
}

void vcpu_regs_get(struct vireo_vcpu *vcpu, struct vireo_regs *regs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, VIREO_GET_REGS, regs),
		    "VIREO_GET_REGS failed");
}

void vcpu_regs_set(struct vireo_vcpu *vcpu, const struct vireo_regs *regs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, VIREO_SET_REGS, regs),
		    "VIREO_SET_REGS failed");
}

void vcpu_sregs_get(struct vireo_vcpu *vcpu, struct vireo_sregs *sregs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, VIREO_GET_SREGS, sregs),
		    "VIREO_GET_SREGS failed");
}

void vcpu_sregs_set(struct vireo_vcpu *vcpu, const struct vireo_sregs *s)
{
	TEST_ASSERT(!ioctl(vcpu->fd, VIREO_SET_SREGS, s),
		    "VIREO_SET_SREGS failed");
}

void vcpu_args_set(struct vireo_vcpu *vcpu, unsigned int n, ...)
{
	struct vireo_regs regs;
	__u64 *slot[] = { &regs.rdi, &regs.rsi, &regs.rdx,
			     &regs.rcx, &regs.r8, &regs.r9 };
	unsigned int i;
	va_list ap;

	TEST_ASSERT(n <= ARRAY_SIZE(slot), "at most 6 guest arguments");
	vcpu_regs_get(vcpu, &regs);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		*slot[i] = va_arg(ap, uint64_t);
	va_end(ap);
	vcpu_regs_set(vcpu, &regs);
}

int __vcpu_run(struct vireo_vcpu *vcpu)
{
	return ioctl(vcpu->fd, VIREO_RUN, 0);
}

void vcpu_run(struct vireo_vcpu *vcpu)
{
	char buf[1024];
	struct ucall uc;

	for (;;) {
		int r = __vcpu_run(vcpu);

		TEST_ASSERT(!r, "VIREO_RUN failed: %s",
			    vcpu_exit_describe(vcpu, buf, sizeof(buf)));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_PRINTF:
			break;
		case UCALL_UNHANDLED:
			report_guest_unhandled(&uc, __FILE__, __LINE__);
		default:
			return;
		}
		test_log("guest: %s",
			 ucall_format_printf(vcpu->vm, &uc, buf, sizeof(buf)));
	}
}

uint64_t vcpu_run_ucall(struct vireo_vcpu *vcpu, struct ucall *uc)
{
	char buf[512];
	uint64_t cmd;

	vcpu_run(vcpu);
	cmd = get_ucall(vcpu, uc);
	if (cmd == UCALL_ASSERT)
		REPORT_GUEST_ASSERT(vcpu->vm, uc);
	TEST_ASSERT(cmd != UCALL_NONE, "expected a ucall, got %s",
		    vcpu_exit_describe(vcpu, buf, sizeof(buf)));
	return cmd;
}

void vcpu_run_expect_sync(struct vireo_vcpu *vcpu, uint64_t stage)
{
	struct ucall uc;
	uint64_t cmd = vcpu_run_ucall(vcpu, &uc);

	TEST_ASSERT(cmd == UCALL_SYNC && uc.args[0] == stage,
		    "expected GUEST_SYNC(%llu), got ucall %llu (arg 0x%llx)",
		    (unsigned long long)stage, (unsigned long long)cmd,
		    (unsigned long long)uc.args[0]);
}

void vcpu_run_expect_done(struct vireo_vcpu *vcpu)
{
	struct ucall uc;
	uint64_t cmd = vcpu_run_ucall(vcpu, &uc);

	TEST_ASSERT(cmd == UCALL_DONE,
		    "expected GUEST_DONE(), got ucall %llu (arg 0x%llx)",
		    (unsigned long long)cmd, (unsigned long long)uc.args[0]);
}

const char *exit_reason_str(uint32_t reason)
{
	static const char * const names[] = {
		[VIREO_EXIT_NONE] = "NONE",
		[VIREO_EXIT_IO] = "IO",
		[VIREO_EXIT_MMIO] = "MMIO",
		[VIREO_EXIT_HLT] = "HLT",
		[VIREO_EXIT_HYPERCALL] = "HYPERCALL",
		[VIREO_EXIT_SHUTDOWN] = "SHUTDOWN",
		[VIREO_EXIT_INTR] = "INTR",
		[VIREO_EXIT_UNKNOWN] = "UNKNOWN",
		[VIREO_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[VIREO_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[VIREO_EXIT_STOPPED] = "STOPPED",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "(invalid)";
}

const char *vcpu_exit_describe(struct vireo_vcpu *vcpu, char *buf,
			       size_t len)
{
	struct vireo_run *run = vcpu->run;
	char sym[128], detail[256] = "";
	unsigned int i, n;

	switch (run->exit_reason) {
	case VIREO_EXIT_IO:
		snprintf(detail, sizeof(detail),
			 " %s port=0x%x size=%u data=0x%llx",
			 run->io.direction == VIREO_IO_OUT ? "OUT" : "IN",
			 run->io.port, run->io.size,
			 (unsigned long long)run->io.data);
		break;
	case VIREO_EXIT_MMIO:
		snprintf(detail, sizeof(detail),
			 " %s gpa=0x%llx len=%u data=0x%llx",
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.gpa, run->mmio.len,
			 (unsigned long long)run->mmio.data);
		break;
	case VIREO_EXIT_HYPERCALL:
		snprintf(detail, sizeof(detail), " nr=0x%llx",
			 (unsigned long long)run->hypercall.nr);
		break;
	case VIREO_EXIT_SHUTDOWN:
	case VIREO_EXIT_UNKNOWN:
	case VIREO_EXIT_FAIL_ENTRY:
		snprintf(detail, sizeof(detail),
			 "%s hw_exit_code=0x%llx info1=0x%llx info2=0x%llx int_info=0x%llx",
			 run->exit_reason == VIREO_EXIT_SHUTDOWN ?
				" (guest triple fault)" : "",
			 (unsigned long long)run->hw.hw_exit_code,
			 (unsigned long long)run->hw.info1,
			 (unsigned long long)run->hw.info2,
			 (unsigned long long)run->hw.int_info);
		break;
	case VIREO_EXIT_INTERNAL_ERROR:
		n = snprintf(detail, sizeof(detail),
			     " suberror=%u gpa=0x%llx insn[%u]=",
			     run->internal.suberror,
			     (unsigned long long)run->internal.gpa,
			     run->internal.ninsn);
		for (i = 0; i < run->internal.ninsn && i < 16 &&
			    n < sizeof(detail) - 4; i++)
			n += snprintf(detail + n, sizeof(detail) - n, "%02x ",
				      run->internal.insn[i]);
		break;
	}
	snprintf(buf, len, "exit %s (%u) at rip=0x%llx <%s> exit_count=%llu%s",
		 exit_reason_str(run->exit_reason), run->exit_reason,
		 (unsigned long long)run->rip,
		 elf_symbolize(run->rip, sym, sizeof(sym)),
		 (unsigned long long)run->exit_count, detail);
	return buf;
}

void __assert_exit_reason(struct vireo_vcpu *vcpu, uint32_t expected,
			  const char *file, int line)
{
	char buf[768];
	struct ucall uc;

	if (vcpu->run->exit_reason == expected)
		return;
	/* A failed guest assertion is the likeliest cause: say so. */
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_ASSERT:
		report_guest_assert(vcpu->vm, &uc, file, line);
	case UCALL_UNHANDLED:
		report_guest_unhandled(&uc, file, line);
	}
	test_assert_fail(file, line, "exit_reason == expected",
			 "expected exit %s, got %s", exit_reason_str(expected),
			 vcpu_exit_describe(vcpu, buf, sizeof(buf)));
}
