// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-side timing from the TSC (processor.h).  Everything in this file
 * runs inside the guest: no libc, no TLS, no SSE (built with the guest
 * flags, see Makefile).
 */
#include "processor.h"
#include "ucall.h"

/* Written by vm_create() into each VM's copy. */
uint64_t guest_tsc_khz;
uint8_t guest_hypercall_vmcall;

uint64_t guest_us_to_tsc(uint64_t us)
{
	GUEST_ASSERT(guest_tsc_khz);
	return us * guest_tsc_khz / 1000;
}

uint64_t guest_tsc_to_us(uint64_t ticks)
{
	GUEST_ASSERT(guest_tsc_khz);
	return ticks * 1000 / guest_tsc_khz;
}

void guest_udelay(uint64_t us)
{
	uint64_t end = rdtsc() + guest_us_to_tsc(us);

	while (rdtsc() < end)
		cpu_relax();
}
