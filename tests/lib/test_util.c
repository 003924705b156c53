// SPDX-License-Identifier: GPL-2.0
/*
 * Assertion reporting and small host utilities for the Vireo selftests.
 */
#include <cpuid.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

void test_log(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "# %s\n", buf);
	fflush(stderr);
}

void test_assert_fail(const char *file, int line, const char *expr,
		      const char *fmt, ...)
{
	int saved_errno = errno;
	char msg[2048];
	char *p, *nl;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	fflush(stdout);
	fprintf(stderr, "# ==== Test Assertion Failure ====\n");
	fprintf(stderr, "#   %s:%d: %s\n", file, line, expr ? expr : "failed");
	/* Keep every line of a multi-line message inside the TAP comment. */
	for (p = msg; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		fprintf(stderr, "#   %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
	}
	if (saved_errno)
		fprintf(stderr, "#   last errno=%d (%s)\n", saved_errno,
			strerror(saved_errno));
	fflush(stderr);
	abort();
}

uint64_t meminfo_kib(const char *field)
{
	size_t flen = strlen(field);
	char line[256];
	uint64_t val = 0;
	bool found = false;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	TEST_ASSERT(f, "cannot open /proc/meminfo");
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			val = strtoull(line + flen + 1, NULL, 10);
			found = true;
			break;
		}
	}
	fclose(f);
	TEST_ASSERT(found, "/proc/meminfo has no field %s", field);
	return val;
}

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool host_cpu_is_intel(void)
{
	unsigned int eax, vendor[3];

	__cpuid(0, eax, vendor[0], vendor[2], vendor[1]);
	return !memcmp(vendor, "GenuineIntel", 12);
}
