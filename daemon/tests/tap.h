/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny TAP 13 producer for the daemon's host unit tests.
 *
 *	tap_start();
 *	ok(x == 1, "x is one");
 *	return tap_done();	// prints the plan, returns the exit status
 */
#ifndef VIREOD_TAP_H
#define VIREOD_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count;
static int tap_failed;

static inline void tap_start(void)
{
	printf("TAP version 13\n");
	fflush(stdout);
}

static inline __attribute__((format(printf, 4, 5)))
int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		printf("# failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_count);
	return tap_failed ? 1 : 0;
}

#endif
