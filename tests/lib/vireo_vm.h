/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMs and vCPUs for tests, in the shape of the KVM selftests library:
 *
 *	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
 *	vcpu_run(vcpu);
 *	switch (get_ucall(vcpu, &uc)) { ... }
 *	vm_free(vm);
 *
 * guest_code is a C function of the test binary; it runs in 64-bit mode at
 * CPL 0 with the layout described in x86.h.  Every helper asserts success
 * (TEST_ASSERT) unless its name starts with "__", which returns the raw
 * ioctl result with errno for negative tests.
 */
#ifndef VIREO_TEST_VM_H
#define VIREO_TEST_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vireo.h"
#include "elf_image.h"
#include "exception.h"
#include "test_util.h"
#include "ucall.h"
#include "x86.h"

#define VIREO_DEV_PATH		"/dev/vireo"
#define VM_DEFAULT_RAM_BYTES	(64ULL << 20)

struct vireo_vcpu {
	struct vireo_vm *vm;
	uint32_t id;
	int fd;
	struct vireo_run *run;
	size_t run_size;
};

struct vireo_vm {
	int sys_fd;		/* /dev/vireo */
	int fd;			/* VM fd */
	uint32_t id;		/* VIREO_GET_VM_INFO.vm_id */
	uint32_t flags;		/* VIREO_VM_FLAG_* it was created with */
	uint64_t tsc_khz;	/* VIREO_GET_TSC_KHZ, 0 if unknown */
	uint64_t ram_bytes;
	uint8_t *ram;		/* mmap of guest-physical 0..ram_bytes */
	struct elf_image image;	/* zero for a barebones VM */
	struct vireo_vcpu *vcpus[VIREO_MAX_VCPUS];
};

/* True if /dev/vireo can be opened (module loaded, caller privileged). */
bool vireo_available(void);
int vireo_open_dev(void);	/* asserts */

/* VM with RAM mapped but nothing loaded. */
struct vireo_vm *vm_create_barebones(uint64_t ram_bytes);
/* The same with VIREO_CREATE_VM flags (VIREO_VM_FLAG_*). */
struct vireo_vm *vm_create_barebones_flags(uint64_t ram_bytes,
					   uint32_t flags);
/*
 * VM with the test binary, page tables, GDT/TSS and the IDT of exception
 * and interrupt stubs loaded (exception.h); the guest's guest_tsc_khz
 * (processor.h) is set.
 */
struct vireo_vm *vm_create(uint64_t ram_bytes);
struct vireo_vm *vm_create_flags(uint64_t ram_bytes, uint32_t flags);
struct vireo_vm *vm_create_with_one_vcpu(struct vireo_vcpu **vcpu,
					 void *guest_code);
/*
 * vm_create_with_one_vcpu() for a VM with VIREO_VM_FLAG_IRQCHIP: in-kernel
 * LAPICs and I/O APIC (apic.h has the guest side), HLT sleeping in the
 * kernel, vCPUs other than 0 waiting for INIT/SIPI.
 */
struct vireo_vm *vm_create_irqchip_with_one_vcpu(struct vireo_vcpu **vcpu,
						 void *guest_code);
struct vireo_vm *vm_create_with_one_vcpu_ram(struct vireo_vcpu **vcpu,
					     void *guest_code,
					     uint64_t ram_bytes);
/* Close every fd and unmap everything: the VM is destroyed. */
void vm_free(struct vireo_vm *vm);

/* vCPU @id in 64-bit mode at guest_code (NULL: registers left as created). */
struct vireo_vcpu *vm_vcpu_add(struct vireo_vm *vm, uint32_t id,
			       void *guest_code);
/* Registers for guest_code(): RIP, the stack, long-mode sregs. */
void vcpu_setup_long_mode(struct vireo_vcpu *vcpu, void *guest_code);
/* Stack top used for vCPU @id (the initial RSP is this minus 8). */
uint64_t vm_stack_top(struct vireo_vm *vm, uint32_t id);

void vm_get_info(struct vireo_vm *vm, struct vireo_vm_info *info);
/*
 * A real-mode start-up routine at guest-physical @vector << 12 for an
 * application processor of an irqchip VM: a vCPU that a SIPI with @vector
 * starts (xapic_start_ap() in apic.h) runs "mov $SIPI_TRAMPOLINE_DATA, %ax;
 * out %ax, $SIPI_TRAMPOLINE_PORT", which its RUN returns as a 2-byte OUT,
 * then halts with interrupts off.  User space usually takes the vCPU over
 * there, e.g. with vcpu_setup_long_mode().  @vector is at least 0x10 (the
 * page must not hold the system tables of x86.h).
 */
#define SIPI_TRAMPOLINE_PORT	0x99
#define SIPI_TRAMPOLINE_DATA	0x1234
void vm_install_sipi_trampoline(struct vireo_vm *vm, uint8_t vector);

/* VIREO_IRQ_LINE: drive I/O APIC pin @pin to @level (irqchip VMs). */
void vm_irq_line(struct vireo_vm *vm, uint32_t pin, uint32_t level);
int __vm_irq_line(struct vireo_vm *vm, uint32_t pin, uint32_t level);
void vm_set_cpuid(struct vireo_vm *vm, const struct vireo_cpuid_entry *e,
		  unsigned int nent);

/* Guest-physical address -> host pointer; asserts [gpa, gpa+len) is RAM. */
void *addr_gpa2hva_range(struct vireo_vm *vm, uint64_t gpa, uint64_t len);
static inline void *addr_gpa2hva(struct vireo_vm *vm, uint64_t gpa)
{
	return addr_gpa2hva_range(vm, gpa, 1);
}
bool vm_gpa_in_ram(struct vireo_vm *vm, uint64_t gpa, uint64_t len);

/*
 * A global of the test binary lives at the same address in the guest;
 * these copy it between the host's copy and the guest's.
 */
#define sync_global_to_guest(vm, g) \
	memcpy(addr_gpa2hva_range(vm, (uint64_t)&(g), sizeof(g)), &(g), \
	       sizeof(g))
#define sync_global_from_guest(vm, g) \
	memcpy(&(g), addr_gpa2hva_range(vm, (uint64_t)&(g), sizeof(g)), \
	       sizeof(g))
/* The guest's copy of a global, as a host pointer of the right type. */
#define guest_global(vm, g) \
	((__typeof__(&(g)))addr_gpa2hva_range(vm, (uint64_t)&(g), sizeof(g)))

void vcpu_regs_get(struct vireo_vcpu *vcpu, struct vireo_regs *regs);
void vcpu_regs_set(struct vireo_vcpu *vcpu, const struct vireo_regs *regs);
void vcpu_sregs_get(struct vireo_vcpu *vcpu, struct vireo_sregs *sregs);
void vcpu_sregs_set(struct vireo_vcpu *vcpu, const struct vireo_sregs *s);
/* guest_code's integer arguments: RDI, RSI, RDX, RCX, R8, R9. */
void vcpu_args_set(struct vireo_vcpu *vcpu, unsigned int n, ...);

/* Raw VIREO_RUN: 0, or -1 with errno. */
int __vcpu_run(struct vireo_vcpu *vcpu);
/*
 * VIREO_RUN that must succeed; prints and skips over GUEST_PRINTF()s, and
 * fails the test on a guest exception no handler took (UCALL_UNHANDLED).
 */
void vcpu_run(struct vireo_vcpu *vcpu);
/*
 * vcpu_run(), then the exit must be a ucall: fails the test on any other
 * exit (with a decoded report) and on a guest assertion.  Returns the cmd.
 */
uint64_t vcpu_run_ucall(struct vireo_vcpu *vcpu, struct ucall *uc);
void vcpu_run_expect_sync(struct vireo_vcpu *vcpu, uint64_t stage);
void vcpu_run_expect_done(struct vireo_vcpu *vcpu);

const char *exit_reason_str(uint32_t reason);
/* One-line description of the last exit (reason, RIP, details). */
const char *vcpu_exit_describe(struct vireo_vcpu *vcpu, char *buf,
			       size_t len);
void __assert_exit_reason(struct vireo_vcpu *vcpu, uint32_t expected,
			  const char *file, int line);
#define TEST_ASSERT_EXIT_REASON(vcpu, expected) \
	__assert_exit_reason(vcpu, expected, __FILE__, __LINE__)

/* Raw ioctls for negative tests: return the ioctl result, errno kept. */
int __vm_ioctl(struct vireo_vm *vm, unsigned long cmd, void *arg);
int __vcpu_ioctl(struct vireo_vcpu *vcpu, unsigned long cmd, void *arg);

#endif /* VIREO_TEST_VM_H */
