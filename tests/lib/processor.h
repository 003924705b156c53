/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86 instructions for guest code, as inline functions.
 */
#ifndef VIREO_TEST_PROCESSOR_H
#define VIREO_TEST_PROCESSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "exception.h"

#define X86_EFLAGS_IF		(1ULL << 9)

#define READ_ONCE(x)		(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile __typeof__(x) *)&(x) = (v))

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline void hlt(void)
{
	asm volatile("hlt" : : : "memory");
}

static inline void cli(void)
{
	asm volatile("cli" : : : "memory");
}

static inline void sti(void)
{
	asm volatile("sti" : : : "memory");
}

/*
 * STI, then one NOP in its interrupt shadow: an interrupt that is pending
 * is taken right after the NOP, before this returns.
 */
static inline void sti_nop(void)
{
	asm volatile("sti; nop" : : : "memory");
}

/*
 * STI; HLT: the HLT runs in the STI's interrupt shadow, so an interrupt
 * cannot slip in between the two and be missed by the HLT.  Returns after
 * the interrupt that ended the halt was handled; IF stays set.
 */
static inline void safe_halt(void)
{
	asm volatile("sti; hlt" : : : "memory");
}

static inline uint64_t get_rflags(void)
{
	uint64_t rflags;

	asm volatile("pushfq; popq %0" : "=r"(rflags) : : "memory");
	return rflags;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" : : : "memory");
}

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t function, uint32_t index)
{
	struct cpuid_regs r;

	asm volatile("cpuid"
		     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
		     : "a"(function), "c"(index) : "memory");
	return r;
}

/*
 * The hypercall instruction of the backend: VMMCALL (0f 01 d9) on SVM,
 * VMCALL (0f 01 c1) on VMX -- the other one is #UD there.  vm_create()
 * sets guest_hypercall_vmcall in each VM's copy from the host's vendor.
 */
extern uint8_t guest_hypercall_vmcall;

/* A hypercall: nr in RAX, args in RBX, RCX, RDX, RSI, RDI; RAX returned. */
static inline uint64_t guest_hypercall(uint64_t nr, uint64_t a0, uint64_t a1,
				       uint64_t a2, uint64_t a3, uint64_t a4)
{
	uint64_t ret;

	asm volatile("cmpb $0, guest_hypercall_vmcall(%%rip)\n\t"
		     "jne 1f\n\t"
		     ".byte 0x0f, 0x01, 0xd9\n\t"	/* VMMCALL */
		     "jmp 2f\n"
		     "1:\t.byte 0x0f, 0x01, 0xc1\n"	/* VMCALL */
		     "2:"
		     : "=a"(ret)
		     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3), "D"(a4)
		     : "memory", "cc");
	return ret;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return lo | ((uint64_t)hi << 32);
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr"
		     : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
		     : "memory");
}

/*
 * RDMSR that returns the vector of the exception it raised (0 if none)
 * instead of taking it; *val is written only on success, *error_code
 * (may be NULL) gets the exception's error code.
 */
static inline uint8_t __rdmsr_safe(uint32_t msr, uint64_t *val,
				   uint64_t *error_code)
{
	register uint64_t vector asm("r9");
	register uint64_t error asm("r10");
	uint32_t lo, hi;

	asm volatile(GUEST_ASM_SAFE("rdmsr")
		     : "=a"(lo), "=d"(hi), "=&r"(vector), "=&r"(error)
		     : "c"(msr) : "memory");
	if (error_code)
		*error_code = error;
	if (!vector)
		*val = lo | ((uint64_t)hi << 32);
	return vector;
}

static inline uint8_t rdmsr_safe(uint32_t msr, uint64_t *val)
{
	return __rdmsr_safe(msr, val, 0);
}

/*
 * An instruction that takes ECX and EDX:EAX (WRMSR, XSETBV), as a function
 * that returns the vector of the exception it raised (0 if none).
 */
#define DEFINE_ECX_EDX_EAX_SAFE(name, insn)					\
static inline uint8_t name(uint32_t ecx, uint64_t v, uint64_t *error_code)	\
{										\
	register uint64_t vector asm("r9");					\
	register uint64_t error asm("r10");					\
										\
	asm volatile(GUEST_ASM_SAFE(insn)					\
		     : "=&r"(vector), "=&r"(error)				\
		     : "c"(ecx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))	\
		     : "memory");						\
	if (error_code)								\
		*error_code = error;						\
	return vector;								\
}

DEFINE_ECX_EDX_EAX_SAFE(__wrmsr_safe, "wrmsr")
DEFINE_ECX_EDX_EAX_SAFE(__xsetbv_safe, "xsetbv")

static inline uint8_t wrmsr_safe(uint32_t msr, uint64_t v)
{
	return __wrmsr_safe(msr, v, 0);
}

static inline uint8_t xsetbv_safe(uint32_t xcr, uint64_t v)
{
	return __xsetbv_safe(xcr, v, 0);
}

static inline uint64_t xgetbv(uint32_t xcr)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr));
	return lo | ((uint64_t)hi << 32);
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return lo | ((uint64_t)hi << 32);
}

/* RDTSCP: the TSC, and TSC_AUX in *aux. */
static inline uint64_t rdtscp(uint32_t *aux)
{
	uint32_t lo, hi, c;

	asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(c) : : "memory");
	*aux = c;
	return lo | ((uint64_t)hi << 32);
}

/*
 * Guest time from the TSC (x86_guest.c).  vm_create() sets guest_tsc_khz
 * from VIREO_GET_TSC_KHZ: the guest TSC runs at the host TSC's rate.
 */
extern uint64_t guest_tsc_khz;

/* TSC ticks in @us microseconds, and microseconds in @ticks. */
uint64_t guest_us_to_tsc(uint64_t us);
uint64_t guest_tsc_to_us(uint64_t ticks);
/* Spin (interrupts as they are) for at least @us microseconds of TSC. */
void guest_udelay(uint64_t us);

/*
 * Spin until @cond holds or @ms milliseconds of guest TSC have passed;
 * evaluates to the final value of @cond.  Interrupts stay as they are, so
 * with IF set the handlers that make @cond true run meanwhile.
 */
#define guest_wait_until(cond, ms) ({					\
	uint64_t __wait_end = rdtsc() + guest_us_to_tsc((ms) * 1000ULL); \
	bool __wait_ok;							\
									\
	while (!(__wait_ok = (cond)) && rdtsc() < __wait_end)		\
		cpu_relax();						\
	__wait_ok;							\
})

#endif /* VIREO_TEST_PROCESSOR_H */
