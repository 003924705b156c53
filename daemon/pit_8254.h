/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The 8254 PIT (pit_8254.c): its clock, replaceable by unit tests.
 */
#ifndef VIREOD_PIT_8254_H
#define VIREOD_PIT_8254_H

#include <stdint.h>

#define PIT_HZ			1193182		/* the PC's 14.31818 MHz / 12 */
/* Channel 0 interrupts no faster than this, whatever the guest programs. */
#define PIT_MIN_PERIOD_NS	100000

/*
 * Nanoseconds on a monotonic clock (CLOCK_MONOTONIC by default).  Tests
 * point this at a fake clock before they touch a PIT; it is read by vCPU
 * threads and by the channel-0 timer thread.
 */
extern int64_t (*pit_clock_ns)(void);

#endif
