/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-side helpers shared by every test: assertions that end the test
 * process with a readable report, and small utilities.
 *
 * Tests run as children of the kselftest harness (one fork per TEST()).
 * A failed TEST_ASSERT() prints its report on stderr, every line starting
 * with "# " so that it nests inside the TAP stream, and abort()s: the
 * harness then reports the test as failed ("terminated by assertion").
 */
#ifndef VIREO_TEST_UTIL_H
#define VIREO_TEST_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]))
#endif

#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define __noreturn	__attribute__((noreturn))

void __noreturn __printf(4, 5)
test_assert_fail(const char *file, int line, const char *expr,
		 const char *fmt, ...);

/* Fail the test unless @cond holds; @fmt explains what was expected. */
#define TEST_ASSERT(cond, fmt, ...) do {				\
	if (!(cond))							\
		test_assert_fail(__FILE__, __LINE__, #cond,		\
				 fmt, ##__VA_ARGS__);			\
} while (0)

/* Compare two integers; both values are printed on failure. */
#define TEST_ASSERT_EQ(a, b) do {					\
	unsigned long long __ta = (unsigned long long)(a);		\
	unsigned long long __tb = (unsigned long long)(b);		\
	if (__ta != __tb)						\
		test_assert_fail(__FILE__, __LINE__, #a " == " #b,	\
				 "0x%llx != 0x%llx", __ta, __tb);	\
} while (0)

#define TEST_FAIL(fmt, ...) \
	test_assert_fail(__FILE__, __LINE__, NULL, fmt, ##__VA_ARGS__)

/* Print a diagnostic line that nests in the TAP stream ("# ..."). */
void __printf(1, 2) test_log(const char *fmt, ...);

/* A value of /proc/meminfo in KiB (e.g. "MemAvailable"); asserts it exists. */
uint64_t meminfo_kib(const char *field);

/* Monotonic clock in milliseconds. */
uint64_t now_ms(void);

/* The host CPU is Intel's (GenuineIntel): Vireo runs on its VMX backend. */
bool host_cpu_is_intel(void);

static inline uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

#endif /* VIREO_TEST_UTIL_H */
