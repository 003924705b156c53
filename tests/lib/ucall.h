/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest -> host calls ("ucalls").
 *
 * The guest fills a struct ucall on its own stack and executes
 * "outb %al, %dx" with DX = UCALL_PORT and RDI = the struct's address.
 * The host sees VIREO_EXIT_IO (OUT, port UCALL_PORT), reads RDI with
 * VIREO_GET_REGS and copies the struct out of guest memory (gva == gpa).
 * Strings (file name, assertion text, printf format) are pointers into the
 * binary's .rodata, which was loaded at the same addresses in the guest; the
 * host reads them through guest memory, bounded.
 *
 * Guest code (functions run by a vCPU) must not call libc, touch TLS or
 * use SSE: the test files and ucall_guest.c are compiled with
 * -mgeneral-regs-only -fno-stack-protector (see tests/Makefile).
 */
#ifndef VIREO_TEST_UCALL_H
#define VIREO_TEST_UCALL_H

#include <stddef.h>
#include <stdint.h>

#define UCALL_PORT	0x5c0
#define UCALL_MAX_ARGS	6

enum ucall_cmd {
	UCALL_NONE,	/* the exit was not a ucall */
	UCALL_SYNC,	/* args[0] = stage */
	UCALL_ASSERT,	/* file, line, text = expression, args = values */
	UCALL_DONE,
	UCALL_PRINTF,	/* text = format, args = values */
	UCALL_UNHANDLED, /* args = vector, error code, RIP, CR2 (exception.h) */
	UCALL_CMD_MAX,
};

struct ucall {
	uint64_t cmd;
	uint64_t nargs;
	uint64_t file;		/* guest address of __FILE__ */
	uint64_t line;
	uint64_t text;		/* guest address of a string, or 0 */
	uint64_t args[UCALL_MAX_ARGS];
};

/* ---- guest side (ucall_guest.c) ---------------------------------- */

void ucall(uint64_t cmd, const char *file, uint64_t line, const char *text,
	   int nargs, ...);
void __attribute__((noreturn))
ucall_fatal(uint64_t cmd, const char *file, uint64_t line, const char *text,
	    int nargs, ...);
/* printf-lite: %d %i %u %x %X %o %c %s %p with h/l/ll/z, width, precision. */
void guest_printf(const char *fmt, ...);
/* Where guest_code returns to: reports a failure (use GUEST_DONE()). */
void __attribute__((noreturn)) guest_code_returned(void);

#define GUEST_SYNC(stage) \
	ucall(UCALL_SYNC, __FILE__, __LINE__, 0, 1, (uint64_t)(stage))

#define GUEST_DONE() \
	ucall_fatal(UCALL_DONE, __FILE__, __LINE__, 0, 0)

#define GUEST_FAIL(text) \
	ucall_fatal(UCALL_ASSERT, __FILE__, __LINE__, text, 0)

#define GUEST_ASSERT(cond) do {						\
	if (!(cond))							\
		ucall_fatal(UCALL_ASSERT, __FILE__, __LINE__, #cond, 0);\
} while (0)

/* Unsigned 64-bit comparisons; both values are reported on failure. */
#define __GUEST_ASSERT_CMP(a, op, b) do {				\
	uint64_t __ga = (uint64_t)(a), __gb = (uint64_t)(b);		\
	if (!(__ga op __gb))						\
		ucall_fatal(UCALL_ASSERT, __FILE__, __LINE__,		\
			    #a " " #op " " #b, 2, __ga, __gb);		\
} while (0)

#define GUEST_ASSERT_EQ(a, b)	__GUEST_ASSERT_CMP(a, ==, b)
#define GUEST_ASSERT_NE(a, b)	__GUEST_ASSERT_CMP(a, !=, b)
#define GUEST_ASSERT_LT(a, b)	__GUEST_ASSERT_CMP(a, <, b)
#define GUEST_ASSERT_LE(a, b)	__GUEST_ASSERT_CMP(a, <=, b)

#define GUEST_PRINTF(fmt, ...) guest_printf(fmt, ##__VA_ARGS__)

/* ---- host side (ucall.c) ----------------------------------------- */

struct vireo_vcpu;
struct vireo_vm;

/*
 * If the last exit of @vcpu was a ucall, copy it to @uc and return its
 * command; otherwise zero @uc and return UCALL_NONE.
 */
uint64_t get_ucall(struct vireo_vcpu *vcpu, struct ucall *uc);

/* Copy a NUL-terminated guest string at @gva into @buf, bounded. */
const char *guest_string(struct vireo_vm *vm, uint64_t gva, char *buf,
			 size_t len);

/* Format a UCALL_PRINTF (or an assertion) into @buf. */
const char *ucall_format_printf(struct vireo_vm *vm, const struct ucall *uc,
				char *buf, size_t len);
const char *ucall_format_assert(struct vireo_vm *vm, const struct ucall *uc,
				char *buf, size_t len);

/* Fail the test with the guest's assertion ("file:line: expr (a vs b)"). */
void __attribute__((noreturn))
report_guest_assert(struct vireo_vm *vm, const struct ucall *uc,
		    const char *file, int line);

#define REPORT_GUEST_ASSERT(vm, uc) \
	report_guest_assert(vm, uc, __FILE__, __LINE__)

#endif /* VIREO_TEST_UCALL_H */
