/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The MC146818 RTC/CMOS (rtc_mc146818.c): its clock, replaceable by tests.
 */
#ifndef VIREOD_RTC_MC146818_H
#define VIREOD_RTC_MC146818_H

#include <stdint.h>

/*
 * Wall-clock nanoseconds since the Unix epoch (CLOCK_REALTIME by default).
 * Tests point this at a fake clock before they touch an RTC.
 */
extern int64_t (*rtc_clock_ns)(void);

#endif
