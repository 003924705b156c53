/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one header a test file includes: the kselftest harness, the VM
 * library, ucalls, guest helpers (instructions, APICs) and netlink.
 *
 * A test file ends with VIREO_TEST_MAIN (instead of TEST_HARNESS_MAIN):
 * without /dev/vireo the whole program is skipped the kselftest way
 * ("1..0 # SKIP ...", exit status 4).  Inside a TEST(), TEST_REQUIRE(cond)
 * skips that test with the condition as the reason.
 */
#ifndef VIREO_TEST_H
#define VIREO_TEST_H

#include "kselftest_harness.h"

#include "apic.h"
#include "exception.h"
#include "processor.h"
#include "ucall.h"
#include "vireo_nl.h"
#include "vireo_vm.h"

#define TEST_REQUIRE(cond) do {						\
	if (!(cond))							\
		SKIP(return, "requirement not met: %s", #cond);		\
} while (0)

/* Guest functions that contain global asm labels must not be duplicated. */
#define __guest_code	__attribute__((noinline, noclone, used))

#define VIREO_TEST_MAIN							\
	static void __attribute__((constructor))			\
	__constructor_order_last(void)					\
	{								\
		if (!__constructor_order)				\
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	}								\
	int main(int argc, char **argv)					\
	{								\
		if (!vireo_available()) {				\
			ksft_print_header();				\
			ksft_exit_skip("cannot open " VIREO_DEV_PATH	\
				       " (vireo.ko not loaded, or not root)\n"); \
		}							\
		return test_harness_run(argc, argv);			\
	}

#endif /* VIREO_TEST_H */
